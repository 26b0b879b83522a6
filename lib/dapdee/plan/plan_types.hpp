// The planner's vocabulary, apart from the planner: methods and modes, per-node costs, the link,
// one plan and one planned point. The cut blocks, the sweeps and the renderers read these types
// without depending on the planner.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dapdee/plan/energy.hpp"
#include "dapdee/plan/stream.hpp"

namespace dapdee {

// Stream: planned for a frame rate (dapdee-plan --fps), never chosen by --mode.
enum class Mode { Light, Heavy, Auto, Stream };
enum class Method { Dapdee, Dads, Neurosurgeon, Edgent, DeviceOnly, EdgeOnly };

// Parses "light|heavy|auto" and method names; nullopt when unknown.
std::optional<Mode> parse_mode(const std::string& s);
std::optional<Method> parse_method(const std::string& s);
const char* mode_name(Mode m);
const char* method_name(Method m);
// Every name parse_mode / parse_method accepts, in order (for option validation). Never fail.
std::vector<std::string> mode_names();
std::vector<std::string> method_names();

// Per-node costs of one DAG: device and edge latency (ms) and bytes sent when cut after it.
struct Costs {
  std::vector<double> t_device;
  std::vector<double> t_edge;
  std::vector<double> bytes;
};

// The link of one plan.
struct Link {
  double bandwidth_mbps = 1;
  double delay_ms = 0;
};

// Default bound on the partitions enumerated per dominator block by the exact heavy search.
inline constexpr long kDefaultHeavyExactLimit = 100000;

// Search settings of the heavy-load (alpha, gamma) scan (paper's Algorithms 2 and 3).
struct HeavyOptions {
  double alpha_min = 0.05, alpha_max = 20;  // device-capacity weight range
  double gamma_min = 0.05, gamma_max = 20;  // edge-capacity weight range
  int grid = 7;                             // points per axis per round (log-spaced)
  double epsilon_ms = 1e-3;                 // refine while T_max improves by at least this
  int max_rounds = 4;                       // K
};

// How a heavy-load plan was searched: every partition (exact) or a heuristic with a bound.
enum class HeavySearch { None, Exact, Heuristic };
const char* heavy_search_name(HeavySearch h);

// Which candidate produced a plan (reported as `heavy_candidate`).
enum class Candidacy { Enumeration, Light, DeviceOnly, WeightedCut, TopologicalPrefix, Cut };
const char* candidacy_name(Candidacy c);

// One evaluated partition of G_k.
struct Plan {
  Method method = Method::Dapdee;
  Mode mode = Mode::Light;
  int exit = 0;                        // index into Dag::exits
  std::vector<int> v_d, v_s, v_e;      // node ids, ascending (topological)
  double t_d = 0, t_t = 0, t_e = 0;
  double latency_ms = 0, t_max = 0;
  double sent_bytes = 0;               // bytes of V_s's tensors
  std::optional<double> alpha, gamma;  // heavy-load weights, when a weighted cut produced it
  HeavySearch heavy_search = HeavySearch::None;
  Candidacy candidate = Candidacy::Light;
  std::optional<double> t_max_lower_bound;  // heuristic heavy plans: a proven bound on the optimum
  bool meets_deadline = true;
  // The wire (dapdee/plan/wire.hpp), set after planning: empty strings mean float32 (the default).
  std::string input_encoding, wire_dtype;
  std::optional<double> result_downlink_mbps, t_down;  // --result-downlink: T_down, in latency_ms
  // --fps: the stream's waiting; latency_ms then includes wait_ms (+inf when unstable).
  std::optional<StreamOutcome> stream;
  // Device energy (set when the device has power figures): per frame, by part.
  std::optional<EnergyBreakdown> energy;
  Objective objective = Objective::Latency;
  std::optional<double> energy_budget_mj;       // --energy-budget: the budget it was planned under
  bool meets_budget = true;                     // its energy is within energy_budget_mj
  std::optional<double> energy_lower_bound_mj;  // heuristic energy plans: a proven bound on the optimum
};

// What the exit rule compares: latency_ms, or under --fps --percentile 95 the 95th percentile
// of the latency; +inf for an unstable stream. Never fails.
double objective_ms(const Plan& p);

// Whether a plan meets a deadline (none given: every plan but an unstable stream): its
// objective_ms against it. Never fails.
bool meets_deadline(const Plan& p, std::optional<double> deadline_ms);

// One planned point with its context.
struct PlanPoint {
  std::string network;
  Link link;
  std::optional<double> deadline_ms;
  std::optional<double> load_score;  // set when the mode was chosen automatically
  std::optional<double> trace_time_s;  // start of the trace window this bandwidth comes from
  Plan plan;
};

}  // namespace dapdee
