// dapdee-plan: min-cut partitioning with early exits, one point or sweeps.
#include <fmt/format.h>

#include "../common/cli.hpp"
#include "dapdee/error.hpp"
#include "dapdee/io.hpp"
#include "dapdee/plan_job.hpp"
#include "dapdee/render.hpp"

int main(int argc, char** argv) {
  CLI::App app{"dapdee-plan: choose the exit and the device/edge split of a DNN for a link and a deadline.\n"
               "Reads a dapdee-dag/1 DAG and two dapdee-profile/1 profiles; writes dapdee-plan/1."};
  dapdee::PlanJob job;
  std::string out = "-", format = "json";
  std::vector<std::string> fields;
  bool breakpoints = false;
  std::string shard;
  double delay = -1;
  app.add_option("DAG", job.dag_path, "DAG JSON from dapdee-import, or - for stdin")->required();
  app.add_option("--device", job.device_profile, "device profile (dapdee-profile/1)")->required();
  app.add_option("--edge", job.edge_profile, "edge profile (dapdee-profile/1)")->required();
  app.add_option("--network", job.networks, "preset (CAT1, 3G, 4G, WiFi, 5G) or network file; comma list sweeps")
      ->delimiter(',');
  app.add_option("--bandwidth", job.bandwidth, "uplink Mbit/s: a value, a list a,b,c or a range A:B:N[log]");
  app.add_option("--bandwidth-trace", job.bandwidth_trace, "replay a Mahimahi uplink trace (e.g. ../shared/traces/*.up), one plan per window");
  app.add_option("--trace-window", job.trace_window_ms, "window of --bandwidth-trace in ms")->capture_default_str();
  app.add_option("--delay", delay, "one-way network delay in ms (overrides the network's)");
  app.add_option("--deadline", job.deadline, "deadline in ms: a value, a list or a range A:B:N");
  app.add_option("--exit", job.exit, "plan this exit only (name or 1-based index) instead of searching");
  app.add_option("--cut", job.cut, "evaluate this partition: the named nodes and their ancestors on the device, "
                 "the rest of the exit's G_k on the edge (with --exit; default the final exit)")
      ->delimiter(',');
  app.add_option("--mode", job.mode, "light (latency), heavy (throughput) or auto (load score)");
  app.add_option("--method", job.method, "dapdee, dads, neurosurgeon, edgent, device-only, edge-only");
  app.add_option("--cpu", job.metrics.cpu, "auto mode: device CPU use 0..1");
  app.add_option("--memory", job.metrics.memory, "auto mode: device memory use 0..1");
  app.add_option("--battery", job.metrics.battery, "auto mode: battery level 0..1");
  app.add_option("--priority", job.metrics.priority, "auto mode: task priority 0..1 (1 forces light)");
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
      ->check(CLI::IsMember(known));
  app.add_option("--shard", shard,
                 "plan the I-th of N contiguous parts of the sweep (1 <= I <= N); the parts' outputs, "
                 "concatenated in order, are the whole sweep's (CSV header in part 1 only)")
      ->check([](const std::string& v) {
        int i = 0, n = 0;
        char tail = 0;
        return std::sscanf(v.c_str(), "%d/%d%c", &i, &n, &tail) == 2 && n >= 1 && i >= 1 && i <= n && n <= 1000000
                   ? std::string()
                   : std::string("--shard takes I/N with 1 <= I <= N");
      });
  app.add_option("--max-points", job.max_points, "refuse a sweep (or shard) of more points")
      ->capture_default_str()
      ->check(CLI::Range(1L, 2000000000L));
  app.add_option("--threads", job.threads, "worker threads for sweeps (default: all cores)");
  app.add_option("--format", format, "json (JSON Lines for sweeps), csv or table");
  app.add_option("-o,--output", out, "output file (default: stdout)");
  app.set_version_flag("--version", std::string("dapdee-plan ") + DAPDEE_VERSION);
  if (int rc = dapdee_tools::parse_args(app, argc, argv); rc >= 0) return rc;
  if (!shard.empty()) std::sscanf(shard.c_str(), "%d/%d", &job.shard_index, &job.shard_count);
  if (!shard.empty() && format == "table") {
    fmt::print(stderr, "dapdee-plan: error: --shard: a table is not shardable (use json or csv)\nRun with --help for more information.\n");
    return 2;
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
    if (!fmt_kind) throw dapdee::Error("--format", fmt::format("unknown format '{}' (json, csv, table)", format));
    if (breakpoints) job.output = dapdee::PlanJob::Output::Breakpoints;
    const dapdee::PlanJobResult r = dapdee::run_plan_job(job);
    for (const auto& w : r.warnings) fmt::print(stderr, "dapdee-plan: warning: {}\n", w);
    if (breakpoints) {
      fmt::print(stderr, "dapdee-plan: {} interval(s) from {} minimum cut(s)\n", r.breakpoints.size(), r.breakpoint_cuts);
      dapdee::write_output_atomic(out, dapdee::render_breakpoints(r.dag, r.breakpoints));
      return 0;
    }
    dapdee::write_output_atomic(out, dapdee::render_points(r.dag, r.points, *fmt_kind, fields,
                                                           job.shard_index > 1 ? dapdee::CsvHeader::Omit
                                                                               : dapdee::CsvHeader::Write));
  } catch (const dapdee::Error& e) {
    fmt::print(stderr, "dapdee-plan: error: {}{}\n", e.where().empty() ? "" : e.where() + ": ", e.what());
    return 1;
  }
  return 0;
}
