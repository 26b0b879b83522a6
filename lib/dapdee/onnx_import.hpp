// ONNX model -> DAG: the model read without weights (OnnxModel, onnx_model.hpp), shape inference
// plus constant folding, MAC counts.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "dapdee/dag.hpp"
#include "dapdee/error.hpp"

namespace dapdee {

// What `dapdee-import` is asked to do.
struct ImportOptions {
  std::string model_path;   // ONNX file, or "-" for stdin
  std::vector<std::pair<std::string, std::vector<int64_t>>> input_shapes;  // --input-shape pins
  std::string exits_path;   // optional --exits file: exit groups and/or accuracies
  std::vector<std::string> outputs;  // --outputs: import only the subgraph ending at these tensors
  std::string model_name;   // optional; default: the file's stem
};

// The imported DAG plus the warnings met on the way (for stderr).
struct ImportResult {
  Dag dag;
  std::vector<std::string> warnings;
  std::string exit_rule;      // which rule made the exits (declared where, or the default rule)
  int folded_nodes = 0;       // ONNX nodes folded away as constant / shape computations
  int inference_rounds = 0;   // shape inference passes run
  std::vector<std::string> onnx_to_dag;  // per ONNX node index: its DAG node name, "" when folded
  std::vector<std::string> onnx_names;   // per ONNX node index: ONNX name (or derived), op
  std::vector<std::string> onnx_ops;
};

// Imports an ONNX model; throws Error(model_path, ...) for unreadable, malformed or unsupported
// models, for --outputs naming no usable tensor, and for any consumed tensor whose size cannot be
// made static (suggesting --outputs when the size depends on data); Error(declaration file, ...)
// for bad exit declarations (see group_exits).
ImportResult import_onnx(const ImportOptions& options);

// The sidecar beside a model: `dir/m.onnx` -> `dir/m.exits.json`; empty for stdin. Never fails.
std::string sidecar_path(const std::string& model_path);

// Parses "name=1x3x224x224"; the failure names what is wrong.
Parsed<std::pair<std::string, std::vector<int64_t>>> parse_input_shape(const std::string& spec);

// The human summary of a DAG: totals, the largest tensors, the exits.
std::string dag_summary(const Dag& dag);

}  // namespace dapdee
