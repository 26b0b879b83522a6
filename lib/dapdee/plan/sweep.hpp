// Sweeps over networks, bandwidths and deadlines, run on all cores with deterministic output.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dapdee/model/network.hpp"
#include "dapdee/plan/plan_types.hpp"
#include "dapdee/plan/planner.hpp"
#include "dapdee/support/error.hpp"

namespace dapdee {

// Parses "A:B:N" (N points, inclusive), "A:B:Nlog" (log-spaced) or "a,b,c" or "a".
// The failure says what is wrong.
Parsed<std::vector<double>> parse_values(const std::string& spec);

// Default cap on the points of one sweep (or shard): --max-points raises it.
inline constexpr long kDefaultMaxPoints = 5000000;

// The [begin, end) point indices of shard `index` (1-based) of `count` over `total` points:
// contiguous, in order, sizes differing by at most one. Never fails for 1 <= index <= count.
std::pair<size_t, size_t> shard_range(size_t total, int index, int count);

// What to sweep: every network x bandwidth x frame rate x deadline, in that nesting order.
struct SweepSpec {
  std::vector<Network> networks;
  std::vector<double> bandwidths;             // empty: each network's own uplink
  std::vector<double> trace_times_s;          // when set, bandwidths[i] is a trace window from this time
  std::optional<double> delay_ms;             // overrides the networks' delay
  std::vector<std::optional<double>> deadlines{std::nullopt};
  Method method = Method::Dapdee;
  Mode mode = Mode::Light;
  LoadMetrics metrics;                        // for Mode::Auto (bandwidth/delay come per point)
  HeavyOptions heavy;
  int threads = 0;                            // 0: all cores
  int fixed_exit = -1;                        // >= 0: plan this exit only (no exit search)
  std::vector<int> cut_nodes;                 // non-empty: evaluate this partition (dapdee-plan --cut)
  int shard_index = 1, shard_count = 1;       // plan the shard_index-th of shard_count contiguous parts
  long max_points = kDefaultMaxPoints;        // refuse a (shard of a) sweep with more points
  std::vector<double> fps;                    // non-empty: plan for streams at each rate (nested in the bandwidths)
  StreamSpec stream;                          // arrivals, clients and objective of those streams (its fps unused)
  std::optional<PowerModel> power;            // the device's power figures: every plan reports its energy
  Objective objective = Objective::Latency;   // Energy: the least-energy plans (under the deadline)
  std::optional<double> energy_budget_mj;     // the fastest plans within this energy
};

// Plans every point of the spec's shard; light plans depend on (network, bandwidth) and are
// reused across deadlines. Throws Error for an invalid bandwidth or delay, or a shard of more
// than max_points points.
std::vector<PlanPoint> run_sweep(const Planner& planner, const SweepSpec& spec);

// The same sweep, handed to `emit` in order as chunks of at most `chunk_points` points (one
// pair's deadlines at least), so a caller can write it out without holding it all; `emit` is
// called at least once (with an empty chunk for an empty sweep). Throws as run_sweep, and
// whatever `emit` throws.
void run_sweep_chunks(const Planner& planner, const SweepSpec& spec, size_t chunk_points,
                      const std::function<void(std::vector<PlanPoint>&)>& emit);

}  // namespace dapdee
