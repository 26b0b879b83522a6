// ONNX Runtime profiling traces -> dapdee-profile/1 keyed by DAG node names.
#pragma once

#include <string>
#include <vector>

#include "dapdee/dag.hpp"

namespace dapdee {

// The converted profile and what the conversion noticed.
struct OrtImport {
  std::string json;
  std::vector<std::string> warnings;
  int events = 0, runs = 0, nodes_timed = 0;
};

// Converts a trace (`SessionOptions.enable_profiling` JSON: `cat: "Node"` events named
// `<node>_kernel_time` with `dur` in us). Kernels ORT fused (named after a tensor, e.g.
// `/conv1/Relu_output_0_nchwc`) are mapped to the nodes they cover and their time split by
// arithmetic cost. Throws Error(where, ...) on a malformed trace or one that matches no node of
// the DAG (a trace for another model).
OrtImport import_ort_trace(const std::string& trace_text, const std::string& where, const Dag& dag,
                           const std::string& device_name);

}  // namespace dapdee
