// Per-node latency profiles (`dapdee-profile/1`) as the planner reads them, and what a profile
// records about its own limits (input shapes, machine, noise).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dapdee/model/machine.hpp"
#include "dapdee/support/formats.hpp"
#include "dapdee/support/stats.hpp"

namespace dapdee {

// Input dims a profile was measured at (graph input name -> dims).
using InputShapes = std::vector<std::pair<std::string, std::vector<int64_t>>>;

// Measured (or predicted) latency per DAG node name, in ms.
struct Profile {
  std::string device;
  std::string model;
  std::string source;  // file it came from
  std::unordered_map<std::string, double> ms;
  double total_ms = 0;
  InputShapes inputs;        // empty when the profile records none (older profiles)
  bool records_inputs = false;
  std::string reference_model;      // dapdee-profile --reference: the reference and the ms its
  double reference_scale_ms = 0;    // time was scaled to (0: not reference-normalised)
  bool inconsistent = false;        // dapdee-profile marked it: node sum and whole model differ by > 10%
  double consistency_node_sum_ms = 0, consistency_whole_ms = 0;  // the two figures it recorded then
  Machine machine;  // what it was measured on (unknown for predicted profiles)
};

// Parses a profile; throws Error(where, ...) on a wrong format or a negative / non-finite time.
Profile parse_profile(const std::string& text, const std::string& where);

// Reads a profile file ("-" for stdin).
Profile load_profile(const std::string& path);

// Median per-node CV above which a measured profile is called noisy (documented in
// docs/PROFILING.md: 2-12% per node is normal on a shared 2-core machine).
inline constexpr double kNoisyMedianCv = 0.15;
// Relative gap between the sum of node medians and the whole-model median that is warned about.
inline constexpr double kSumVsWholeTolerance = 0.10;
// p90 / p10 of the whole-model runs above which the machine is said to have changed speed during
// the measurement (a shared host's memory bandwidth: docs/PROFILING.md).
inline constexpr double kWholeSpreadTolerance = 1.10;

// The noise a measurement carries: per-node CV and node sum vs the whole model.
struct Noise {
  double median_cv = 0, p90_cv = 0;  // over the timed nodes
  double node_sum_ms = 0, whole_ms = 0;
  double whole_cv = 0;
  double whole_p10 = 0, whole_p90 = 0;  // over the whole-model runs
  // (node_sum / whole - 1) * 100; 0 when whole is 0.
  double sum_vs_whole_pct() const { return whole_ms > 0 ? 100.0 * (node_sum_ms / whole_ms - 1.0) : 0.0; }
  // p90 / p10 of the whole-model runs; 1 when p10 is 0 (no runs, or a summary without them).
  double whole_spread() const { return whole_p10 > 0 ? whole_p90 / whole_p10 : 1.0; }
};

// Noise of per-node summaries (nodes with a zero median are left out of the CVs). Never fails.
Noise measure_noise(const std::vector<Summary>& timed_nodes, double node_sum_ms, const Summary& whole);

// The warnings a profile's noise deserves (sum vs whole beyond 10%, median CV beyond the
// threshold, whole-model p90/p10 beyond 1.10), as sentences. Never fails.
std::vector<std::string> noise_warnings(const Noise& n);

// The "noise" object written into profiles. Never fails.
std::string noise_json(const Noise& n);

// Throws Error(profile source, ...) when a profile rejects `times` (negative or NaN ms); used by
// every writer before writing. `what` names the entry.
void check_time(double ms, const std::string& where, const std::string& what);

}  // namespace dapdee
