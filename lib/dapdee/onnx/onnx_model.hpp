// The ONNX model as every tool that needs the model itself reads it (import, split, the OpenCV
// profiler): read and checked once, input shapes pinned once; the import, ModelSplitter and the
// profiler share it. Internal to lib/ (includes the ONNX protobuf header).
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace dapdee {

// What an OnnxModel keeps of its float weights.
enum class FloatWeights {
  Keep,   // every initializer's values, given back by release() (split, the OpenCV profiler)
  Strip,  // weights lose their values (the plain import: a regular file's weights are never held in memory)
};

// Float initializers over this many elements are weights: the import sees their type and shape only.
inline constexpr int64_t kWeightElements = 4096;

// True for a weight: a float initializer of over kWeightElements elements held in the file
// (external data is left alone). Never fails.
bool is_weight(const onnx::TensorProto& t);

using InputShapes = std::vector<std::pair<std::string, std::vector<int64_t>>>;

// An ONNX file or stdin ("-", read once) read with the importer's checks, its input shapes pinned.
// Whatever FloatWeights says, weightless() is the model as the import sees it (weights without
// values), so the import gives the same DAG either way.
class OnnxModel {
 public:
  // Reads `path` and pins `pins` (pin_input_shapes). Throws Error(path, ...) for a directory, an
  // unreadable or empty file, one over 2 GiB, a protobuf that does not parse or is truncated, a
  // model without a graph, and a pin naming no graph input.
  OnnxModel(std::string path, FloatWeights weights, InputShapes pins = {});

  // The file ("-" for stdin). Never fails.
  const std::string& path() const { return path_; }
  // The pinned input shapes. Never fails.
  const InputShapes& pins() const { return pins_; }
  // The model without the values of its weights (is_weight), pins applied. Never fails.
  const onnx::ModelProto& weightless() const { return model_; }
  // What reading found amiss but not fatal: external data files that are missing. Never fails.
  const std::vector<std::string>& warnings() const { return warnings_; }
  // The whole model, pins applied, with FloatWeights::Keep every weight's values back in place
  // (as in the file); the OnnxModel is left empty. Never fails.
  onnx::ModelProto release() &&;

 private:
  // The values of one weight, held aside (FloatWeights::Keep): the initializer's index, its raw
  // data (had_raw: the field was present) and its typed data.
  struct HeldValues {
    int index = 0;
    bool had_raw = false;
    std::string raw;
    google::protobuf::RepeatedField<float> floats;
    google::protobuf::RepeatedField<double> doubles;
    google::protobuf::RepeatedField<int32_t> int32s;
  };
  std::string path_;
  InputShapes pins_;
  onnx::ModelProto model_;
  std::vector<HeldValues> held_;
  std::vector<std::string> warnings_;
};

}  // namespace dapdee
