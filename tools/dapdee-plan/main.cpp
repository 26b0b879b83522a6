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
  app.add_option("--threads", job.threads, "worker threads for sweeps (default: all cores)");
  app.add_option("--format", format, "json (JSON Lines for sweeps), csv or table");
  app.add_option("-o,--output", out, "output file (default: stdout)");
  app.set_version_flag("--version", std::string("dapdee-plan ") + DAPDEE_VERSION);
  if (int rc = dapdee_tools::parse_args(app, argc, argv); rc >= 0) return rc;
  try {
    if (app.count("--delay")) job.delay_ms = delay;
    const auto fmt_kind = dapdee::parse_format(format);
    if (!fmt_kind) throw dapdee::Error("--format", fmt::format("unknown format '{}' (json, csv, table)", format));
    const dapdee::PlanJobResult r = dapdee::run_plan_job(job);
    for (const auto& w : r.warnings) fmt::print(stderr, "dapdee-plan: warning: {}\n", w);
    dapdee::write_output_atomic(out, dapdee::render_points(r.dag, r.points, *fmt_kind));
  } catch (const dapdee::Error& e) {
    fmt::print(stderr, "dapdee-plan: error: {}{}\n", e.where().empty() ? "" : e.where() + ": ", e.what());
    return 1;
  }
  return 0;
}
