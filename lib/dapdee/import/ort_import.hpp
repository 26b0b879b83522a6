// ONNX Runtime profiling traces -> dapdee-profile/1 keyed by DAG node names.
#pragma once

#include <string>
#include <vector>

#include "dapdee/model/dag.hpp"

namespace dapdee {

// The converted profile and what the conversion noticed.
struct OrtImport {
  std::string json;
  std::vector<std::string> warnings;
  int events = 0, runs = 0, nodes_timed = 0, computing_nodes = 0;
  int kernels = 0, kernels_anchored = 0, kernels_matched = 0, kernels_attached = 0;
  double median_run_kernel_ms = 0;  // sum of the kernels of the median run (by that sum)
  double node_sum_ms = 0;           // sum of the node medians written
  double whole_ms = 0;              // median model_run duration (0 when the trace has none)
};

// How to read a trace.
struct OrtImportOptions {
  std::string device_name = "onnxruntime target";
  int skip_runs = 0;  // leading model_run's to ignore (warm-up runs profiled too)
};

// Converts a trace (`SessionOptions.enable_profiling` JSON: `cat: "Node"` events named
// `<kernel>_kernel_time` with `dur` in us, `cat: "Session"` `model_run` events). Every kernel is
// mapped to the DAG nodes it covers (docs/PROFILING.md: by node name, by output tensor name with
// ORT's suffixes, by op and output shape in execution order for ORT's generated names, layout
// reorders to their neighbour) and its time split by arithmetic cost. Throws Error(where, ...)
// on a malformed trace, a negative duration, or one that matches no node of the DAG (a trace
// for another model).
OrtImport import_ort_trace(const std::string& trace_text, const std::string& where, const Dag& dag,
                           const OrtImportOptions& options);

// Same, with default options and a device name.
OrtImport import_ort_trace(const std::string& trace_text, const std::string& where, const Dag& dag,
                           const std::string& device_name);

}  // namespace dapdee
