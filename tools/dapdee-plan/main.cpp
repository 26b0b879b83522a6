// dapdee-plan: min-cut partitioning with early exits, one point or sweeps.
#include <fmt/format.h>

#include <functional>

#include "../common/cli.hpp"
#include "dapdee/error.hpp"
#include "dapdee/io.hpp"
#include "dapdee/plan_job.hpp"
#include "dapdee/render.hpp"
#include "dapdee/render_graph.hpp"
#include "dapdee/wire.hpp"

namespace {

int usage_error(const std::string& problem) {
  fmt::print(stderr, "dapdee-plan: error: {}\nRun with --help for more information.\n", problem);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dapdee-plan: choose the exit and the device/edge split of a DNN for a link and a deadline.\n"
               "Reads a dapdee-dag/1 DAG and two dapdee-profile/1 profiles; writes dapdee-plan/1."};
  dapdee::PlanJob job;
  std::string out = "-", format = "json";
  std::vector<std::string> fields;
  bool breakpoints = false;
  double delay = -1;
  std::string input_encoding = "float32", wire_dtype = "float32";
  double downlink = 0;
  const std::function<std::string(std::string)> trim = [](std::string s) {
    s.erase(0, s.find_first_not_of(" \t"));
    s.erase(s.find_last_not_of(" \t") + 1);
    return s;
  };
  app.add_option("DAG", job.dag_path, "DAG JSON from dapdee-import, or - for stdin")->required();
  app.add_option("--device", job.device_profile, "device profile (dapdee-profile/1)")->required();
  app.add_option("--edge", job.edge_profile, "edge profile (dapdee-profile/1)")->required();
  app.add_option("--network", job.networks, "preset (CAT1, 3G, 4G, WiFi, 5G) or network file; comma list sweeps")
      ->delimiter(',')
      ->transform(trim);
  app.add_option("--bandwidth", job.bandwidth, "uplink Mbit/s: a value, a list a,b,c or a range A:B:N[log]");
  app.add_option("--bandwidth-trace", job.bandwidth_trace, "replay a Mahimahi uplink trace (e.g. ../shared/traces/*.up), one plan per window");
  app.add_option("--trace-window", job.trace_window_ms, "window of --bandwidth-trace in ms")->capture_default_str();
  app.add_option("--delay", delay, "one-way network delay in ms (overrides the network's)");
  app.add_option("--deadline", job.deadline, "deadline in ms: a value, a list or a range A:B:N");
  app.add_option("--exit", job.exit, "plan this exit only (name or 1-based index) instead of searching");
  app.add_option("--cut", job.cut, "evaluate this partition: the named nodes and their ancestors on the device, "
                 "the rest of the exit's G_k on the edge (with --exit; default the final exit)")
      ->delimiter(',')
      ->transform(trim);
  app.add_option("--mode", job.mode, "light (latency), heavy (throughput) or auto (load score)")->capture_default_str();
  app.add_option("--method", job.method, "dapdee, dads, neurosurgeon, edgent, device-only, edge-only")->capture_default_str();
  app.add_option("--cpu", job.metrics.cpu, "auto mode: device CPU use 0..1")->capture_default_str();
  app.add_option("--memory", job.metrics.memory, "auto mode: device memory use 0..1")->capture_default_str();
  app.add_option("--battery", job.metrics.battery, "auto mode: battery level 0..1")->capture_default_str();
  app.add_option("--priority", job.metrics.priority, "auto mode: task priority 0..1 (1 forces light)")->capture_default_str();
  app.add_option("--metrics", job.metrics_path, "auto mode: JSON with cpu, memory, battery, priority");
  app.add_option("--heavy-grid", job.heavy.grid, "heavy: grid points per axis and round")->capture_default_str();
  app.add_option("--heavy-rounds", job.heavy.max_rounds, "heavy: at most K refinement rounds")->capture_default_str();
  app.add_option("--heavy-epsilon", job.heavy.epsilon_ms, "heavy: refine while T_max improves by >= this (ms)")
      ->capture_default_str();
  app.add_option("--alpha-min", job.heavy.alpha_min, "heavy: smallest device weight")->capture_default_str();
  app.add_option("--alpha-max", job.heavy.alpha_max, "heavy: largest device weight")->capture_default_str();
  app.add_option("--gamma-min", job.heavy.gamma_min, "heavy: smallest edge weight")->capture_default_str();
  app.add_option("--gamma-max", job.heavy.gamma_max, "heavy: largest edge weight")->capture_default_str();
  app.add_option("--heavy-exact-limit", job.heavy_exact_limit,
                 "heavy: partitions per dominator block searched exactly; past it the search is heuristic "
                 "and reports T_max_lower_bound")
      ->capture_default_str()
      ->check(CLI::Range(1L, 100000000L));
  app.add_flag("--breakpoints", breakpoints,
               "write the bandwidths where the light plan changes (dapdee-breakpoints/1); --bandwidth is then "
               "LO:HI (HI may be inf, default 0.01:inf), with one delay (--delay or one --network)");
  const auto known = dapdee::plan_field_names();
  app.add_option("--fields", fields, "JSON/CSV fields, comma list, or 'short' (no node lists) / 'all'")
      ->delimiter(',')
      ->transform(trim)
      ->check(CLI::IsMember(known));
  app.add_option("--input-encoding", input_encoding,
                 "bytes of the graph inputs when sent: float32, uint8 or jpeg:RATIO (RATIO: compression vs uint8)")
      ->capture_default_str();
  app.add_option("--wire-dtype", wire_dtype, "intermediate float tensors on the wire: float32, float16 or int8")
      ->capture_default_str();
  app.add_option("--result-downlink", downlink,
                 "downlink Mbit/s: report T_down (exit outputs computed on the edge, sent back, plus the delay) "
                 "and add it to latency_ms (default: not modelled)");
  app.add_option("--threads", job.threads, "worker threads for sweeps (0: all cores)")->capture_default_str();
  app.add_option("--format", format,
                 "json (JSON Lines for sweeps), csv, table, or one plan as a picture: dot (Graphviz) or trace "
                 "(Chrome trace events; heavy mode draws " + std::to_string(dapdee::kTraceFrames) + " pipelined frames)")
      ->capture_default_str();
  app.add_option("-o,--output", out, "output file, - for stdout")->capture_default_str();
  app.set_version_flag("--version", std::string("dapdee-plan ") + DAPDEE_VERSION);
  if (int rc = dapdee_tools::parse_args(app, argc, argv); rc >= 0) return rc;
  {
    int stdins = 0;
    for (const std::string* in : {&job.dag_path, &job.device_profile, &job.edge_profile, &job.metrics_path, &job.bandwidth_trace})
      stdins += *in == "-";
    if (stdins > 1) return usage_error("only one input can be read from '-' (stdin); give the others as files");
  }
  if (breakpoints) {
    // Usage errors (exit 2): a range that is not LO:HI, or options --breakpoints has no use for.
    std::string problem;
    if (format != "json" || !fields.empty()) problem = "--breakpoints writes dapdee-breakpoints/1 JSON Lines only (no --format, no --fields)";
    else if (!job.bandwidth.empty())
      if (auto r = dapdee::parse_bandwidth_range(job.bandwidth); !r.ok()) problem = "--bandwidth: " + r.message();
    if (!problem.empty()) {
      fmt::print(stderr, "dapdee-plan: error: {}\nRun with --help for more information.\n", problem);
      return 2;
    }
  }
  try {
    if (app.count("--delay")) job.delay_ms = delay;
    const auto fmt_kind = dapdee::parse_format(format);
    if (!fmt_kind) throw dapdee::Error("--format", fmt::format("unknown format '{}' (json, csv, table, dot, trace)", format));
    if (fmt_kind == dapdee::Format::Dot || fmt_kind == dapdee::Format::Trace) {
      if (breakpoints) return usage_error("--format " + format + " draws one plan, not --breakpoints");
    }
    if (breakpoints) job.output = dapdee::PlanJob::Output::Breakpoints;
    dapdee::parse_input_encoding(input_encoding, job.wire).take("--input-encoding");
    dapdee::parse_wire_dtype(wire_dtype, job.wire).take("--wire-dtype");
    if (app.count("--result-downlink")) job.wire.downlink_mbps = downlink;
    const dapdee::PlanJobResult r = dapdee::run_plan_job(job);
    for (const auto& w : r.warnings) fmt::print(stderr, "dapdee-plan: warning: {}\n", w);
    if (breakpoints) {
      fmt::print(stderr, "dapdee-plan: {} interval(s) from {} minimum cut(s)\n", r.breakpoints.size(), r.breakpoint_cuts);
      dapdee::write_output_atomic(out, dapdee::render_breakpoints(r.dag, r.breakpoints));
      return 0;
    }
    if (fmt_kind == dapdee::Format::Dot || fmt_kind == dapdee::Format::Trace) {
      if (r.points.size() != 1)
        return usage_error(fmt::format("--format {} draws one plan; this run planned {} points (a sweep): use json, "
                                       "csv or table, or give one network, bandwidth and deadline", format, r.points.size()));
      dapdee::write_output_atomic(out, dapdee::render_picture(r.dag, r.costs, r.points[0], *fmt_kind));
      return 0;
    }
    dapdee::write_output_atomic(out, dapdee::render_points(r.dag, r.points, *fmt_kind, fields));
  } catch (const dapdee::Error& e) {
    fmt::print(stderr, "dapdee-plan: error: {}{}\n", e.where().empty() ? "" : e.where() + ": ", e.what());
    return 1;
  }
  return 0;
}
