// Reading an ONNX model file with the importer's checks, for every tool that needs the model
// itself (import, split, the OpenCV profiler). Internal to lib/ (includes the ONNX protobuf header).
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

namespace dapdee {

// The whole model (weights included) of a file or "-" (stdin). Throws Error(path, ...) for a
// directory, an unreadable or empty file, one over 2 GiB, a protobuf that does not parse or is
// truncated, and a model without a graph.
onnx::ModelProto load_onnx_model(const std::string& path);

}  // namespace dapdee
