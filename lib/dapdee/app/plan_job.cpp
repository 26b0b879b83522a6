#include "dapdee/app/plan_job.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "dapdee/model/network.hpp"
#include "dapdee/model/profile.hpp"
#include "dapdee/model/profile_check.hpp"
#include "dapdee/support/io.hpp"
#include "dapdee/support/json_field.hpp"
#include "dapdee/support/suggest.hpp"

namespace dapdee {

namespace {

std::string name_list(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < 8; ++i) s += (i ? ", " : "") + names[i];
  if (names.size() > 8) s += fmt::format(", ... ({} in all)", names.size());
  return s;
}

void read_metrics(const std::string& path, LoadMetrics& m) {
  nlohmann::json storage;
  const JsonField root = parse_json_root(read_input(path), path, storage);
  reject_unknown_keys(root, {"cpu", "memory", "battery", "priority"});
  for (auto [key, dst] : {std::pair<const char*, double*>{"cpu", &m.cpu}, {"memory", &m.memory},
                          {"battery", &m.battery}, {"priority", &m.priority}})
    *dst = root.num_or(key, *dst, NumRange::unit());
}

// One warning for unknown accuracies (not one per exit), one when known ones fall with depth.
void exit_warnings(const Dag& dag, std::vector<std::string>& warnings) {
  if (dag.exits.size() < 2) return;
  std::vector<std::string> unknown;
  for (const auto& e : dag.exits)
    if (!e.accuracy) unknown.push_back(e.name);
  if (!unknown.empty()) {
    warnings.push_back(fmt::format("{} of {} exits have no known accuracy (null: {}); exits are chosen deepest first",
                                   unknown.size(), dag.exits.size(), name_list(unknown)));
    return;
  }
  for (size_t k = 1; k < dag.exits.size(); ++k)
    if (*dag.exits[k].accuracy < *dag.exits[k - 1].accuracy) {
      warnings.push_back(fmt::format("exit accuracies do not rise with depth ('{}' {} > '{}' {}); the most accurate exit "
                                     "that meets the deadline is chosen",
                                     dag.exits[k - 1].name, *dag.exits[k - 1].accuracy, dag.exits[k].name,
                                     *dag.exits[k].accuracy));
      return;
    }
}

// --breakpoints: every exit's (or the --exit's) map at the one delay of the job.
void run_breakpoints(const PlanJob& job, const SweepSpec& spec, const Planner& planner, PlanJobResult& r) {
  if (spec.networks.size() != 1 && !spec.delay_ms)
    throw UsageError("--breakpoints", "needs one delay: give --delay MS or a single --network");
  const double delay = spec.delay_ms.value_or(spec.networks.front().delay_ms);
  const auto range = parse_bandwidth_range(job.bandwidth.empty() ? "0.01:inf" : job.bandwidth).take("--bandwidth");
  for (int k = 0; k < static_cast<int>(r.dag.exits.size()); ++k) {
    if (spec.fixed_exit >= 0 && k != spec.fixed_exit) continue;
    long cuts = 0;
    for (auto& iv : light_breakpoints(planner, k, delay, range.first, range.second, &cuts)) r.breakpoints.push_back(std::move(iv));
    r.breakpoint_cuts += cuts;
  }
}

}  // namespace

Parsed<std::pair<double, double>> parse_bandwidth_range(const std::string& spec) {
  using R = Parsed<std::pair<double, double>>;
  const auto colon = spec.find(':');
  if (colon == std::string::npos || spec.find(':', colon + 1) != std::string::npos)
    return R::failure(fmt::format("'{}': --breakpoints takes a range LO:HI (HI may be inf)", spec));
  auto number = [](const std::string& t, bool allow_inf) -> std::optional<double> {
    if (allow_inf && t == "inf") return INFINITY;
    char* end = nullptr;
    const double v = std::strtod(t.c_str(), &end);
    if (t.empty() || *end != '\0' || !std::isfinite(v)) return std::nullopt;
    return v;
  };
  const auto lo = number(spec.substr(0, colon), false), hi = number(spec.substr(colon + 1), true);
  if (!lo || !hi) return R::failure(fmt::format("'{}': LO and HI must be numbers (HI may be inf)", spec));
  if (!(*lo >= 1e-6 && *hi > *lo))
    return R::failure(fmt::format("'{}': the range needs 1e-6 <= LO < HI Mbit/s", spec));
  return std::make_pair(*lo, *hi);
}

namespace {

// Mode, method, load metrics and the heavy search's settings, checked.
SweepSpec planner_spec(const PlanJob& job) {
  const auto mode = parse_mode(job.mode);
  if (!mode) throw Error("--mode", fmt::format("unknown mode '{}' (light, heavy, auto)", job.mode));
  const auto method = parse_method(job.method);
  if (!method)
    throw Error("--method", fmt::format("unknown method '{}' (dapdee, dads, neurosurgeon, edgent, device-only, edge-only)",
                                        job.method));
  SweepSpec spec;
  spec.method = *method;
  spec.mode = *mode;
  spec.heavy = job.heavy;
  spec.threads = job.threads;
  spec.shard_index = job.shard_index;
  spec.shard_count = job.shard_count;
  spec.max_points = job.max_points;
  spec.metrics = job.metrics;
  if (!job.metrics_path.empty()) read_metrics(job.metrics_path, spec.metrics);
  for (double x : {spec.metrics.cpu, spec.metrics.memory, spec.metrics.battery, spec.metrics.priority})
    if (!(x >= 0 && x <= 1)) throw Error("--cpu/--memory/--battery/--priority", "load metrics must be in [0, 1]");
  if (spec.heavy.grid < 2 || spec.heavy.max_rounds < 1 || !(spec.heavy.epsilon_ms >= 0) ||
      !(spec.heavy.alpha_min > 0 && spec.heavy.alpha_min <= spec.heavy.alpha_max) ||
      !(spec.heavy.gamma_min > 0 && spec.heavy.gamma_min <= spec.heavy.gamma_max))
    throw Error("heavy-load options", "need grid >= 2, rounds >= 1, epsilon >= 0 and 0 < min <= max for alpha and gamma");
  return spec;
}

// --fps and the stream's arrivals, clients and objective.
void stream_spec(const PlanJob& job, SweepSpec& spec) {
  if (job.fps.empty()) return;
  spec.fps = parse_values(job.fps).take("--fps");
  for (double f : spec.fps)
    if (!(f > 0 && std::isfinite(f)))
      throw Error("--fps", fmt::format("a frame rate must be > 0 frames/s (got {})", f));
  const auto arrivals = parse_arrivals(job.arrivals);
  if (!arrivals) throw Error("--arrivals", fmt::format("unknown arrivals '{}' (periodic, poisson)", job.arrivals));
  if (job.clients < 1) throw Error("--clients", "at least 1 client");
  if (job.percentile != 0 && job.percentile != 95) throw Error("--percentile", "only 95 (or the mean, by default)");
  spec.stream.arrivals = *arrivals;
  spec.stream.clients = job.clients;
  spec.stream.objective = job.percentile == 95 ? StreamObjective::P95 : StreamObjective::Mean;
}

// The device's power figures (--device-power, else the device profile's own) and the energy
// objective; the energy searches need power figures.
void power_spec(const PlanJob& job, SweepSpec& spec) {
  if (!job.device_power.empty()) {
    spec.power = read_power(job.device_power);
    if (!spec.power)
      throw Error(job.device_power, "holds no power figures (a dapdee-power/1 file, or a profile with \"power\")");
  } else if (job.device_profile != "-") {
    spec.power = read_power(job.device_profile);
  }
  if (job.objective != "latency" && job.objective != "energy")
    throw Error("--objective", fmt::format("unknown objective '{}' (latency, energy)", job.objective));
  spec.objective = job.objective == "energy" ? Objective::Energy : Objective::Latency;
  spec.energy_budget_mj = job.energy_budget_mj;
  if (spec.energy_budget_mj && !(*spec.energy_budget_mj > 0 && std::isfinite(*spec.energy_budget_mj)))
    throw Error("--energy-budget", fmt::format("a budget must be > 0 mJ (got {})", *spec.energy_budget_mj));
  const bool needs =
      spec.objective == Objective::Energy || spec.energy_budget_mj || job.output == PlanJob::Output::Pareto;
  if (needs && !spec.power)
    throw Error(job.device_profile,
                "the energy objective, --energy-budget and --pareto need the device's power figures: give "
                "--device-power FILE (e.g. profiles/power/rpi4.json) or a device profile with a \"power\" object");
}

// --pareto: every exit's (latency, energy) front at every link of the sweep, exit by exit.
std::vector<PlanPoint> run_pareto(const SweepSpec& spec, const Planner& planner, const Dag& dag) {
  std::vector<PlanPoint> points;
  std::vector<double> bandwidths = spec.bandwidths;
  for (const auto& net : spec.networks) {
    const double delay = spec.delay_ms.value_or(net.delay_ms);
    for (double b : bandwidths.empty() ? std::vector<double>{net.uplink_mbps} : bandwidths) {
      const Link link{b, delay};
      check_link(link.bandwidth_mbps, link.delay_ms, net.name);
      const DevicePower power = device_power(*spec.power, net.name);
      const int first = spec.fixed_exit >= 0 ? spec.fixed_exit : 0;
      const int last = spec.fixed_exit >= 0 ? spec.fixed_exit : static_cast<int>(dag.exits.size()) - 1;
      for (int k = first; k <= last; ++k)
        for (Plan& p : planner.energy_front(k, link, power))
          points.push_back(PlanPoint{net.name, link, std::nullopt, std::nullopt, std::nullopt, std::move(p)});
    }
  }
  return points;
}

// --bandwidth, or the windows of --bandwidth-trace (one point each, with its time).
void link_bandwidths(const PlanJob& job, SweepSpec& spec, PlanJobResult& r) {
  if (!job.bandwidth.empty() && job.output != PlanJob::Output::Breakpoints) {
    spec.bandwidths = parse_values(job.bandwidth).take("--bandwidth");
    for (double b : spec.bandwidths) check_link(b, 0, "--bandwidth");
  }
  if (job.bandwidth_trace.empty()) return;
  if (!spec.bandwidths.empty()) throw UsageError("--bandwidth-trace", "give either --bandwidth or --bandwidth-trace");
  if (!(job.trace_window_ms >= kMinTraceWindowMs && job.trace_window_ms <= kMaxTraceWindowMs))
    throw Error("--trace-window", fmt::format("must be {} to {} ms", kMinTraceWindowMs, kMaxTraceWindowMs));
  const auto windows = mahimahi_windows(read_input(job.bandwidth_trace), job.trace_window_ms).take(job.bandwidth_trace);
  int empty = 0;
  for (size_t i = 0; i < windows.size(); ++i) {
    // A window without any delivery opportunity sends nothing: a vanishing bandwidth says so.
    spec.bandwidths.push_back(windows[i] > 0 ? windows[i] : 1e-6);
    spec.trace_times_s.push_back(static_cast<double>(i) * job.trace_window_ms / 1000.0);
    empty += windows[i] <= 0;
  }
  if (empty > 0)
    r.warnings.push_back(fmt::format("{}: {} window(s) of {} ms have no delivery opportunity (planned at 1e-6 Mbit/s)",
                                     job.bandwidth_trace, empty, job.trace_window_ms));
  if (job.networks.empty()) spec.networks.push_back(Network{file_stem(job.bandwidth_trace), 1.0, 0.0});
}

// Delay, deadlines and networks; the delay must be known.
void link_and_deadlines(const PlanJob& job, SweepSpec& spec) {
  if (job.delay_ms) {
    check_link(1, *job.delay_ms, "--delay");
    spec.delay_ms = job.delay_ms;
  }
  if (!job.deadline.empty()) {
    spec.deadlines.clear();
    for (double d : parse_values(job.deadline).take("--deadline")) {
      if (!(d >= 0)) throw Error("--deadline", fmt::format("a deadline must be >= 0 ms (got {})", d));
      spec.deadlines.emplace_back(d);
    }
  }
  for (const auto& n : job.networks) spec.networks.push_back(resolve_network(n));
  if (spec.networks.empty() && job.output == PlanJob::Output::Breakpoints) {
    if (!job.delay_ms) throw UsageError("--breakpoints", "needs one delay: give --delay MS or a single --network");
    spec.networks.push_back(Network{"custom", 1.0, *job.delay_ms});
  }
  // The delay comes from --delay or the network: without either it is unknown, not 0 ms.
  if (job.networks.empty() && !spec.delay_ms && !spec.bandwidths.empty())
    throw UsageError("--delay", "give --delay MS (one-way delay) or --network NAME|FILE: the delay is unknown");
  if (spec.networks.empty()) {
    if (spec.bandwidths.empty()) throw UsageError("--network", "give --network NAME|FILE or --bandwidth MBPS");
    spec.networks.push_back(Network{"custom", spec.bandwidths.front(), 0.0});
  }
}

// The DAG and the profiles as the planner's costs, with the wire applied; warnings in r.
Costs load_costs(const PlanJob& job, PlanJobResult& r) {
  r.dag = parse_dag(read_input(job.dag_path), job.dag_path);
  const Profile dev = load_profile(job.device_profile);
  const Profile edge = load_profile(job.edge_profile);
  // Another model's profile, or one with nodes missing, refused before it is costed (or warned of).
  for (const auto& [p, role] : {std::pair{&dev, "device"}, {&edge, "edge"}})
    for (auto& w : check_profile_covers(r.dag, *p, role, job.partial_profile)) r.warnings.push_back(std::move(w));
  for (auto& w : check_profile_pair(r.dag, dev, edge)) r.warnings.push_back(std::move(w));
  CostBuild cb = costs_from_profiles(r.dag, dev, edge);
  exit_warnings(r.dag, r.warnings);
  apply_wire(r.dag, job.wire, cb.costs);
  if (job.wire.downlink_mbps) check_link(*job.wire.downlink_mbps, 0, "--result-downlink");
  return std::move(cb.costs);
}

// --exit (name or 1-based index) and --cut (node names) resolved against the DAG.
void exit_and_cut(const PlanJob& job, const Dag& dag, SweepSpec& spec) {
  if (!job.exit.empty()) {
    // A fixed exit: keep only that exit in the DAG the planner sees.
    int k = -1;
    for (size_t i = 0; i < dag.exits.size(); ++i)
      if (dag.exits[i].name == job.exit) k = static_cast<int>(i);
    if (k < 0) {
      char* end = nullptr;
      const long idx = std::strtol(job.exit.c_str(), &end, 10);
      if (*end == '\0' && idx >= 1 && idx <= static_cast<long>(dag.exits.size())) k = static_cast<int>(idx - 1);
    }
    if (k < 0) {
      std::vector<std::string> names;
      for (const auto& e : dag.exits) names.push_back(e.name);
      throw Error("--exit", fmt::format("unknown exit '{}' (exits: {})", job.exit, name_list(names)));
    }
    spec.fixed_exit = k;
  }
  if (job.cut.empty()) return;
  for (const auto& name : job.cut) {
    const int v = dag.find(name);
    if (v < 0) throw Error("--cut", fmt::format("'{}' is not a node of '{}'", name, dag.model));
    spec.cut_nodes.push_back(v);
  }
  if (spec.fixed_exit < 0) spec.fixed_exit = static_cast<int>(dag.exits.size()) - 1;
}

}  // namespace

void run_plan_job_chunks(const PlanJob& job, PlanJobResult& r, size_t chunk_points,
                         const std::function<void(std::vector<PlanPoint>&)>& emit) {
  // Check the cheap options first, so a typo fails before any file is read.
  SweepSpec spec = planner_spec(job);
  stream_spec(job, spec);
  link_bandwidths(job, spec, r);
  link_and_deadlines(job, spec);
  Costs costs = load_costs(job, r);
  power_spec(job, spec);  // after the profiles were read: a wrong file is named as such first
  exit_and_cut(job, r.dag, spec);
  Planner planner(r.dag, std::move(costs), PlannerOptions{job.heavy_exact_limit});
  r.costs = planner.costs();
  if (job.output == PlanJob::Output::Breakpoints) {
    run_breakpoints(job, spec, planner, r);
    return;
  }
  if (job.output == PlanJob::Output::Pareto) {
    std::vector<PlanPoint> front = run_pareto(spec, planner, r.dag);
    emit(front);
    return;
  }
  run_sweep_chunks(planner, spec, chunk_points, [&](std::vector<PlanPoint>& chunk) {
    for (auto& pt : chunk) {  // the wire's post-plan figures (T_down); the exit choice ignores T_down
      finish_wire(r.dag, job.wire, pt.link.delay_ms, pt.plan);
      if (pt.plan.t_down && pt.plan.stream && pt.plan.stream->stable) pt.plan.stream->latency_p95_ms += *pt.plan.t_down;
      if (!meets_deadline(pt.plan, pt.deadline_ms)) pt.plan.meets_deadline = false;
      if (!spec.power) continue;
      apply_energy(pt.plan, device_power(*spec.power, pt.network), pt.link);  // T_down included
      if (pt.plan.energy_budget_mj) pt.plan.meets_budget = pt.plan.energy->total() <= *pt.plan.energy_budget_mj;
    }
    emit(chunk);
  });
}

PlanJobResult run_plan_job(const PlanJob& job) {
  PlanJobResult r;
  // One chunk holds the whole sweep.
  run_plan_job_chunks(job, r, std::numeric_limits<size_t>::max(),
                      [&](std::vector<PlanPoint>& chunk) { r.points = std::move(chunk); });
  return r;
}

}  // namespace dapdee
