// The whole `dapdee-plan` job as a library call: read inputs, plan every point, return results.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dapdee/model/dag.hpp"
#include "dapdee/model/profile_check.hpp"
#include "dapdee/plan/breakpoints.hpp"
#include "dapdee/plan/planner.hpp"
#include "dapdee/plan/sweep.hpp"
#include "dapdee/plan/wire.hpp"

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
  long heavy_exact_limit = kDefaultHeavyExactLimit;  // partitions per block the exact heavy search enumerates
  int threads = 0;
  int shard_index = 1, shard_count = 1;  // --shard I/N
  long max_points = kDefaultMaxPoints;   // --max-points
  Wire wire;                             // --input-encoding, --wire-dtype, --result-downlink
  std::string fps;                       // --fps: a value, list or range ("" = one frame, no stream)
  std::string arrivals = "periodic";     // --arrivals
  int clients = 1;                       // --clients sharing the edge
  int percentile = 0;                    // --percentile 95: minimise the 95th percentile (0: the mean)
  std::string device_power;              // --device-power: a dapdee-power/1 file (else the device profile's "power")
  std::string objective = "latency";     // --objective latency|energy
  std::optional<double> energy_budget_mj;                   // --energy-budget
  PartialProfile partial_profile = PartialProfile::Refuse;  // --allow-partial-profile: Warn
  std::vector<std::string> follow_fields;                   // --follow --fields: each line's fields (empty: every one)
  // --breakpoints: the bandwidth map; --pareto: every exit's (latency, energy) front.
  enum class Output { Plans, Breakpoints, Pareto } output = Output::Plans;
};

// The planned points (or the breakpoint map) and what was noticed on the way.
struct PlanJobResult {
  Dag dag;
  Costs costs;  // the planner's costs (after the wire), for pictures
  std::vector<PlanPoint> points;
  std::vector<BandwidthInterval> breakpoints;  // --breakpoints: every exit's map, exit by exit
  long breakpoint_cuts = 0;                    // minimum cuts the breakpoint search solved
  std::vector<std::string> warnings;
};

// Parses the --breakpoints range "LO:HI" (HI may be "inf"); the failure says what is wrong.
Parsed<std::pair<double, double>> parse_bandwidth_range(const std::string& spec);

// Runs the job; throws Error naming the file or option at fault.
PlanJobResult run_plan_job(const PlanJob& job);

// Runs the job with the sweep handed to `emit` in order, in chunks of at most `chunk_points`
// points, as they are planned (r.points stays empty; r gets the DAG, costs and warnings first,
// or the breakpoint map, which is not streamed). Throws as run_plan_job, and what `emit` throws.
void run_plan_job_chunks(const PlanJob& job, PlanJobResult& r, size_t chunk_points,
                         const std::function<void(std::vector<PlanPoint>&)>& emit);

}  // namespace dapdee
