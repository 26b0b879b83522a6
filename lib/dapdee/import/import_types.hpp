// What an import is asked to do and what it gives, shared by the import of a file
// (onnx_import.hpp) and of a model already read (model_import.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "dapdee/model/dag.hpp"

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

}  // namespace dapdee
