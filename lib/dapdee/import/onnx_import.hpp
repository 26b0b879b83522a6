// ONNX model -> DAG: the model read without weights (OnnxModel, onnx_model.hpp), shape inference
// plus constant folding, MAC counts.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "dapdee/import/import_types.hpp"
#include "dapdee/model/dag.hpp"
#include "dapdee/support/error.hpp"

namespace dapdee {

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
