// The import of an OnnxModel already read (split and the OpenCV profiler import the model they
// then use whole). Internal to lib/ (ONNX protobuf types); the public onnx_import.hpp stays free
// of them.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <unordered_map>

#include "dapdee/import/import_types.hpp"
#include "dapdee/onnx/onnx_model.hpp"

namespace dapdee {

// The import of an OnnxModel and the folded constants as tensors (split copies them into the parts).
struct ModelImport {
  ImportResult result;
  // Evaluated outputs of folded nodes (16-bit floats left out): tensor name -> its value.
  std::unordered_map<std::string, onnx::TensorProto> folded;
};

// Imports `model` as import_onnx does (the same DAG for FloatWeights::Keep and Strip).
// `options.model_path` and `options.input_shapes` are the model's: empty, or equal to its path
// and pins (else Error(path, ...)). Throws as import_onnx.
ModelImport import_model(const OnnxModel& model, const ImportOptions& options);

}  // namespace dapdee
