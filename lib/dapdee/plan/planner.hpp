// The DAPDEE planner: min-cut partitioning (LEMON Preflow on the extended graph G') with early
// exits, light load (latency) and heavy load (throughput), plus the baselines.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dapdee/model/dag.hpp"
#include "dapdee/model/profile.hpp"
#include "dapdee/plan/cut_block.hpp"
#include "dapdee/plan/plan_types.hpp"

namespace dapdee {

struct Candidate;

// Builds costs from two profiles; nodes missing from a profile cost 0 and are listed in
// `missing_*`. Throws Error(profile file, ...) when a profile names nodes the DAG lacks.
struct CostBuild {
  Costs costs;
  std::vector<std::string> missing_device, missing_edge;
};
CostBuild costs_from_profiles(const Dag& dag, const Profile& device, const Profile& edge);

// Settings fixed for a planner's lifetime.
struct PlannerOptions {
  long heavy_exact_limit = kDefaultHeavyExactLimit;  // partitions per block the exact heavy search enumerates
};

// Times of a partition given which nodes of G_k are on the device (exact recomputation).
struct Times {
  double t_d = 0, t_t = 0, t_e = 0;
  bool sends = false;
};
Times evaluate_partition(const Dag& dag, const Costs& costs, const std::vector<char>& in_gk,
                         const std::vector<char>& on_device, double bandwidth_mbps);

// The G_k of an exit: the union of the ancestors of its nodes.
std::vector<char> exit_subgraph(const Dag& dag, int exit);

// The planner of one DAG and its costs. Build once, then ask many questions; const methods are
// safe to call from several threads at once.
class Planner {
 public:
  // Prepares the per-exit extended graphs; the DAG must be finalized. Throws Error when the
  // costs do not match the DAG.
  Planner(const Dag& dag, Costs costs, PlannerOptions options = {});
  ~Planner();
  Planner(const Planner&) = delete;
  Planner& operator=(const Planner&) = delete;

  // The best plan for one exit under a mode (Light or Heavy) with a given method; heavy load
  // minimises T_max among the partitions whose latency meets `deadline_ms` (docs/COST-MODEL.md). Throws
  // Error for an unknown exit or Mode::Auto.
  Plan plan_exit(int exit, Method method, Mode mode, const Link& link, const HeavyOptions& heavy,
                 std::optional<double> deadline_ms = std::nullopt) const;

  // Algorithm 4 over the exits (choose_exit); `accuracies` (one per exit) overrides the DAG's
  // when given, as the online controller does. Throws as plan_exit.
  Plan plan(Method method, Mode mode, const Link& link, std::optional<double> deadline_ms,
            const HeavyOptions& heavy, const std::vector<std::optional<double>>* accuracies = nullptr) const;

  // The plan of an exit for a stream (docs/COST-MODEL.md, "Streams"). Dapdee: the partition of
  // least objective (mean latency, or its 95th percentile) among the stable ones, exact where the
  // heavy search enumerates every block (the objective grows with T_d, the bytes and T_e, so the
  // Pareto front it keeps holds an optimum); with no stable partition, the lowest T_max. Other
  // methods: their light plan, under the stream. Throws as plan_exit.
  Plan plan_stream(int exit, Method method, const Link& link, const HeavyOptions& heavy, const StreamSpec& spec) const;

  // The least-energy plan of an exit (docs/COST-MODEL.md, "Device energy"), its energy set.
  // Without a deadline: one minimum cut with energy capacities against device-only (exact).
  // With one: the least energy among the partitions that meet it, exact where the heavy search
  // enumerates every block, else the best of Lagrangian weighted cuts with a proven lower bound
  // (energy_lower_bound_mj); when none meets it, the fastest plan, meets_deadline false.
  // Throws as plan_exit.
  Plan plan_energy(int exit, const Link& link, const DevicePower& power, std::optional<double> deadline_ms) const;

  // The fastest plan of an exit whose energy is within `budget_mj`, exact and bounded as
  // plan_energy; when none is, the least-energy plan, meets_budget false. Throws as plan_exit.
  Plan plan_budget(int exit, const Link& link, const DevicePower& power, double budget_mj) const;

  // The (latency, energy) Pareto front of an exit, latency ascending, each plan's energy set;
  // exact where the heavy search enumerates every block (else the front of the enumerated
  // blocks and the light and least-energy plans). Throws as plan_exit.
  std::vector<Plan> energy_front(int exit, const Link& link, const DevicePower& power) const;

  // The plan of a given partition: V_d is `device_nodes` and all their ancestors (and the
  // inputs), the rest of G_k runs on the edge. Throws Error naming a node outside G_k.
  Plan plan_cut(int exit, const std::vector<int>& device_nodes, Mode mode, const Link& link) const;

  // Partitions enumerated by the exact heavy search of an exit (after the Pareto filter: kept),
  // and whether every block was within the limit. Enumerates on first use; never throws.
  struct HeavyStats {
    long enumerated = 0, kept = 0, largest_block = 0;
    bool exact = true;
  };
  HeavyStats heavy_stats(int exit) const;

  const Dag& dag() const { return dag_; }
  const Costs& costs() const { return costs_; }

  // The on-device marks of an optimal light partition that sends something (min cut), or an
  // empty vector when nothing can be sent. Used by the breakpoint search; throws as plan_exit.
  std::vector<char> light_cut(int exit, double bandwidth_mbps) const;

  // The plan of a partition given as on-device marks over the DAG. Never throws.
  Plan finish(int exit, Method method, Mode mode, const std::vector<char>& on_device, const Link& link) const;

 private:
  struct ExitGraph;
  enum class Pin { None, SendSomething };
  std::vector<char> min_cut(int exit, double bandwidth_mbps, const CutWeights& w, Pin pin) const;
  Plan light_mincut(int exit, const Link& link) const;
  Plan heavy_exact(int exit, const Link& link, std::optional<double> deadline) const;
  Plan stream_search(int exit, const Link& link, const HeavyOptions& heavy, const StreamSpec& spec) const;
  std::vector<char> candidate_marks(const ExitGraph& eg, const Candidate& c) const;
  Plan heavy_heuristic(int exit, const Link& link, const HeavyOptions& heavy, std::optional<double> deadline) const;
  Plan dsh_search(int exit, const Link& link, const HeavyOptions& heavy, std::optional<double> deadline,
                  const Plan& start) const;
  Plan chain_split(int exit, Mode mode, const Link& link) const;
  Plan least_energy_cut(int exit, const Link& link, const DevicePower& power, double lambda) const;
  Plan energy_heuristic(int exit, const Link& link, const DevicePower& power, std::optional<double> deadline,
                        std::optional<double> budget) const;
  double lower_bound(int exit, double bandwidth_mbps) const;
  const ExitGraph& enumerated(int exit) const;

  const Dag& dag_;
  Costs costs_;
  PlannerOptions options_;
  std::vector<std::unique_ptr<ExitGraph>> graphs_;
};

// Sets a plan's energy per frame: one frame alone, or (mode Stream) over the stream's arrival
// period. Never fails.
void apply_energy(Plan& p, const DevicePower& power, const Link& link);

// Puts a finished plan under a stream: its waiting at device, uplink and edge, latency_ms
// including the mean waiting (+inf when unstable), mode Stream. Never fails for spec.fps > 0.
void apply_stream(Plan& p, const StreamSpec& spec);

// Algorithm 4's exit choice over per-exit plans given by `plan_of` (called deepest first, each
// exit at most once). With every accuracy known: the most accurate exit whose plan meets the
// deadline (the deeper on ties); otherwise the deepest exit whose plan meets it. When none
// does: the fastest, meets_deadline=false. Methods without exits (dads, neurosurgeon,
// device-only, edge-only) take the final exit. Never throws by itself.
Plan choose_exit(Method method, int n_exits, const std::function<Plan(int)>& plan_of,
                 std::optional<double> deadline_ms, const std::vector<std::optional<double>>& accuracies = {});

// The same choice over plans held by the caller (no plan is copied): the chosen exit and whether
// its plan meets the deadline. Never throws by itself.
struct ExitChoice {
  int exit = 0;
  bool meets_deadline = true;
};
ExitChoice choose_exit_index(Method method, int n_exits, const std::function<const Plan&(int)>& plan_of,
                             std::optional<double> deadline_ms, const std::vector<std::optional<double>>& accuracies = {});

// The accuracies of a DAG's exits, in exit order.
std::vector<std::optional<double>> exit_accuracies(const Dag& dag);

// Metrics of Algorithm 4's load score; each is optional input, defaults are neutral.
struct LoadMetrics {
  double cpu = 0;          // device CPU use, 0..1
  double memory = 0;       // device memory use, 0..1
  double battery = 1;      // device battery level, 0..1 (low battery: heavy)
  double priority = 0.5;   // task priority, 0..1; 1.0 forces light
  double bandwidth_mbps = 0, delay_ms = 0;  // from the link
};

// The load score L in [0,1] (weights in docs/PLANNER.md); L < 0.4 means light load.
double load_score(const LoadMetrics& m);

// Resolves Auto to Light or Heavy from the metrics (priority 1.0 forces Light).
Mode resolve_mode(Mode requested, const LoadMetrics& m);

}  // namespace dapdee
