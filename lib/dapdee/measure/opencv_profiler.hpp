// dapdee-profile's measurement: run an ONNX model with OpenCV DNN and time every layer.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace dapdee {

enum class Progress { Off, Bar };

// What to measure and how.
struct ProfileOptions {
  std::string model_path;
  int warmup = 3;
  int repeat = 20;
  int threads = 1;
  double budget_s = 0;              // > 0: after `repeat` runs, repeat until stable or this many s
  std::vector<std::pair<std::string, std::vector<int64_t>>> input_shapes;
  std::string command;              // recorded in the profile
  std::string reference_path;       // non-empty: alternate every run with this model and normalise by it
  double reference_ms = 0;          // with a reference: its time in the profile's units (0: its median here)
  int remeasure = 2;                // measure again, up to this many times, while node sum and whole disagree
  bool strict = false;              // still disagreeing: an error instead of a profile marked inconsistent
  Progress progress = Progress::Off;
};

// The profile as JSON text plus the figures a person wants to see on stderr.
struct ProfileRun {
  std::string json;
  std::vector<std::string> warnings;
  double total_median_ms = 0;
  double sum_node_median_ms = 0;
  int nodes_timed = 0, nodes_without_layer = 0;
  int runs = 0;                     // timed runs done (more than `repeat` when adaptive)
  bool stable = true;               // adaptive: the medians settled before the budget ran out
  double reference_median_ms = 0;   // with a reference: its measured median, and the model's before scaling
  double raw_total_median_ms = 0;
  bool consistent = true;  // node sum and whole-model median agree within 10%
  int measurements = 1;    // 1 + the re-measurements taken to get there
};

// Loads the model (refilling absent weights, rewriting known quirks), runs it `warmup + repeat`
// times (more, within `budget_s`, until the whole-model and node-sum medians of the two halves of
// the runs agree within 1%) with fusion disabled and maps every OpenCV layer back to its DAG node.
// With a reference model, each run of the model follows one of the reference, each run's times
// are divided by that reference run's time and multiplied by `reference_ms` (or the reference's
// median), so that a shared host's fast and slow periods cancel. Throws Error (model or reference
// path, ...) when a model cannot be read or OpenCV cannot run one of its ops (naming the op and
// the node). When the node sum and the whole-model median differ by more than 10%, the whole
// measurement is repeated, at most `remeasure` times; if they still differ the profile is marked
// inconsistent (its "consistency" object) with a warning, or, with `strict`, Error(model path,
// ...) is thrown and no profile is made.
ProfileRun profile_with_opencv(const ProfileOptions& options);

}  // namespace dapdee
