// The whole `dapdee-plan` job as a library call: read inputs, plan every point, return results.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dapdee/dag.hpp"
#include "dapdee/planner.hpp"
#include "dapdee/sweep.hpp"

namespace dapdee {

// Options of one dapdee-plan run, as given on the command line.
struct PlanJob {
  std::string dag_path;                 // "-" for stdin
  std::string device_profile, edge_profile;
  std::vector<std::string> networks;    // names or files; may be empty with a bandwidth
  std::string bandwidth;                // value, list or range ("" = the networks')
  std::string bandwidth_trace;          // Mahimahi uplink trace to replay window by window
  double trace_window_ms = 1000;
  std::optional<double> delay_ms;
  std::string deadline;                 // value, list or range ("" = none)
  std::string exit;                     // force one exit, by name or 1-based index ("" = search)
  std::vector<std::string> cut;         // evaluate the partition these nodes (and ancestors) on the device
  std::string mode = "light";
  std::string method = "dapdee";
  LoadMetrics metrics;
  std::string metrics_path;             // JSON with cpu, memory, battery, priority
  HeavyOptions heavy;
  int threads = 0;
};

// The planned points and what was noticed on the way.
struct PlanJobResult {
  Dag dag;
  std::vector<PlanPoint> points;
  std::vector<std::string> warnings;
};

// Runs the job; throws Error naming the file or option at fault.
PlanJobResult run_plan_job(const PlanJob& job);

}  // namespace dapdee
