// dapdee-plan: min-cut partitioning with early exits, one point or sweeps.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "../common/run_tool.hpp"
#include "dapdee/app/follow_job.hpp"
#include "dapdee/app/plan_job.hpp"
#include "dapdee/plan/wire.hpp"
#include "dapdee/render/render.hpp"
#include "dapdee/render/render_graph.hpp"
#include "dapdee/support/error.hpp"
#include "dapdee/support/io.hpp"
#include "dapdee/support/suggest.hpp"

namespace {

// The command line: the job, and what main reads before filling it in.
struct Args {
  dapdee::PlanJob job;
  std::string out = "-", format = "json";
  std::vector<std::string> fields;
  bool breakpoints = false, follow = false, pareto = false, allow_partial_profile = false;
  double energy_budget = 0;
  std::string shard;
  double delay = -1;
  std::string input_encoding = "float32", wire_dtype = "float32";
  double downlink = 0;
};

// Drops the blanks around one element of a comma list ("4G, 3G" -> "4G", "3G").
std::string trim(std::string s) {
  s.erase(0, s.find_first_not_of(" \t"));
  s.erase(s.find_last_not_of(" \t") + 1);
  return s;
}

// --input-encoding: accepted when the library parses it (jpeg:RATIO checks its ratio).
CLI::Validator input_encoding_check() {
  std::string list;
  for (const auto& n : dapdee::input_encoding_names()) list += (list.empty() ? "" : ", ") + n;
  return CLI::Validator(
      [](std::string& s) -> std::string {
        dapdee::Wire w;
        const auto r = dapdee::parse_input_encoding(s, w);
        return r.ok() ? std::string() : r.message();
      },
      "{" + list + "}");
}

// The DAG, the profiles, the link, the deadline and the exit.
void add_input_options(CLI::App& app, Args& a) {
  auto& job = a.job;
  app.add_option("DAG", job.dag_path, "DAG JSON from dapdee-import, or - for stdin")->required();
  app.add_option("--device", job.device_profile, "device profile (dapdee-profile/1)")->required();
  app.add_option("--edge", job.edge_profile, "edge profile (dapdee-profile/1)")->required();
  app.add_flag("--allow-partial-profile", a.allow_partial_profile,
               "plan with a profile of another model, or one that times only part of the DAG (0 ms for the "
               "missing nodes), with a warning instead of the error");
  app.add_option("--network", job.networks,
                 "preset (CAT1, 3G, 4G, WiFi, 5G) or network file; comma list sweeps (default: none, give "
                 "--bandwidth instead)")
      ->delimiter(',')
      ->transform(trim);
  app.add_option("--bandwidth", job.bandwidth,
                 "uplink Mbit/s: a value, a list a,b,c or a range A:B:N[log] (default: the network's)");
  app.add_option("--bandwidth-trace", job.bandwidth_trace,
                 "replay a Mahimahi uplink trace (e.g. ../shared/traces/*.up), one plan per window (default: none)");
  app.add_option("--trace-window", job.trace_window_ms, "window of --bandwidth-trace in ms")->capture_default_str();
  app.add_option("--delay", a.delay, "one-way network delay in ms (default: the network's)");
  app.add_option("--deadline", job.deadline, "deadline in ms: a value, a list or a range A:B:N (default: none)");
  app.add_option("--exit", job.exit,
                 "plan this exit only (name or 1-based index) instead of searching (default: search every exit)");
  app.add_option("--cut", job.cut,
                 "evaluate this partition instead of planning: the named nodes and their ancestors on the device, "
                 "the rest of the exit's G_k on the edge (with --exit, else the final exit) (default: none)")
      ->delimiter(',')
      ->transform(trim);
}

// Mode, method, load metrics and the heavy search.
void add_planner_options(CLI::App& app, Args& a) {
  auto& job = a.job;
  app.add_option("--mode", job.mode, "light (latency), heavy (throughput) or auto (load score)")
      ->check(dapdee_tools::choice(dapdee::parse_mode, dapdee::mode_names()))
      ->capture_default_str();
  app.add_option("--method", job.method, "the planning method (baselines: dads, neurosurgeon, edgent, device-only, edge-only)")
      ->check(dapdee_tools::choice(dapdee::parse_method, dapdee::method_names()))
      ->capture_default_str();
  app.add_option("--cpu", job.metrics.cpu, "auto mode: device CPU use 0..1")->capture_default_str();
  app.add_option("--memory", job.metrics.memory, "auto mode: device memory use 0..1")->capture_default_str();
  app.add_option("--battery", job.metrics.battery, "auto mode: battery level 0..1")->capture_default_str();
  app.add_option("--priority", job.metrics.priority, "auto mode: task priority 0..1 (1 forces light)")
      ->capture_default_str();
  app.add_option("--metrics", job.metrics_path,
                 "auto mode: JSON with cpu, memory, battery, priority (default: none, the options above)");
  app.add_option("--fps", job.fps,
                 "plan for a stream of frames/s per client: a value, a list or a range A:B:N[log]; the mean "
                 "latency with the waiting, over the stable partitions (default: one frame)");
  app.add_option("--arrivals", job.arrivals, "--fps: periodic (a camera) or poisson arrivals")
      ->check(dapdee_tools::choice(dapdee::parse_arrivals, dapdee::arrivals_names()))
      ->capture_default_str();
  app.add_option("--clients", job.clients, "--fps: devices sharing the edge server, each at --fps")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--percentile", job.percentile,
                 "--fps: minimise the 95th percentile of the latency (default: the mean)")
      ->check(CLI::IsMember({95}));
  app.add_option("--device-power", job.device_power,
                 "the device's power figures (dapdee-power/1, e.g. profiles/power/rpi4.json): every plan then "
                 "reports energy_mj (default: the device profile's \"power\" object, if any)");
  app.add_option("--objective", job.objective, "latency, or energy: the least device energy (under --deadline)")
      ->check(CLI::IsMember({"latency", "energy"}))
      ->capture_default_str();
  app.add_option("--energy-budget", a.energy_budget,
                 "the fastest plan whose device energy per frame is within this many mJ (default: none)")
      ->check(CLI::PositiveNumber);
  app.add_flag("--pareto", a.pareto, "write every exit's (latency, energy) Pareto front, one plan per point");
  app.add_option("--heavy-grid", job.heavy.grid, "heavy: grid points per axis and round (2..64)")
      ->check(CLI::Range(2, 64))
      ->capture_default_str();
  app.add_option("--heavy-rounds", job.heavy.max_rounds, "heavy: at most K refinement rounds (1..32)")
      ->check(CLI::Range(1, 32))
      ->capture_default_str();
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
}

// The wire of the cost model (docs/TOOLS.md, "The wire").
void add_wire_options(CLI::App& app, Args& a) {
  app.add_option("--input-encoding", a.input_encoding,
                 "bytes of the graph inputs when sent: float32, uint8 or jpeg:RATIO (RATIO: compression vs uint8)")
      ->check(input_encoding_check())
      ->capture_default_str();
  app.add_option("--wire-dtype", a.wire_dtype, "intermediate float tensors on the wire")
      ->check(dapdee_tools::choice(dapdee::parse_wire_dtype, dapdee::wire_dtype_names()))
      ->capture_default_str();
  app.add_option("--result-downlink", a.downlink,
                 "downlink Mbit/s: report T_down (exit outputs computed on the edge, sent back, plus the delay) "
                 "and add it to latency_ms (default: not modelled)")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            char* end = nullptr;
            const double x = std::strtod(v.c_str(), &end);
            return *end == '\0' && x > 0 && std::isfinite(x) ? std::string() : "'" + v + "' is not a bandwidth > 0 Mbit/s";
          },
          "MBPS > 0"));
}

// What is written and how: format, fields, shards, breakpoints, the online loop.
void add_output_options(CLI::App& app, Args& a) {
  app.add_flag("--breakpoints", a.breakpoints,
               "write the bandwidths where the light plan changes (dapdee-breakpoints/1); --bandwidth is then "
               "LO:HI (HI may be inf, default 0.01:inf), with one delay (--delay or one --network)");
  app.add_option("--fields", a.fields,
                 "JSON/CSV fields, comma list, or 'short' (no node lists) / 'all' (default: the format's set)")
      ->delimiter(',')
      ->transform(trim)
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            const auto names = dapdee::decision_field_names();
            if (std::find(names.begin(), names.end(), v) != names.end()) return {};
            return "'" + v + "' is no field" + dapdee::did_you_mean(v, names) +
                   " (the fields: docs/FORMATS.md, dapdee-plan/1)";
          },
          "FIELD"));
  app.add_option("--shard", a.shard,
                 "plan the I-th of N contiguous parts of the sweep (1 <= I <= N); the parts' outputs, "
                 "concatenated in order, are the whole sweep's (CSV header in part 1 only) (default: 1/1)")
      ->check([](const std::string& v) {
        int i = 0, n = 0;
        char tail = 0;
        return std::sscanf(v.c_str(), "%d/%d%c", &i, &n, &tail) == 2 && n >= 1 && i >= 1 && i <= n && n <= 1000000
                   ? std::string()
                   : std::string("--shard takes I/N with 1 <= I <= N");
      });
  app.add_option("--max-points", a.job.max_points, "refuse a sweep (or shard) of more points")
      ->capture_default_str()
      ->check(CLI::Range(1L, 2000000000L));
  app.add_option("--threads", a.job.threads, "worker threads for sweeps (0: all cores)")->capture_default_str();
  app.add_option("--format", a.format,
                 "json (JSON Lines for sweeps), csv, table, or one plan as a picture: dot (Graphviz) or trace "
                 "(Chrome trace events; heavy mode draws " +
                     std::to_string(dapdee::kTraceFrames) + " pipelined frames)")
      ->check(dapdee_tools::choice(dapdee::parse_format, dapdee::format_names()))
      ->capture_default_str();
  app.add_option("-o,--output", a.out, "output file, - for stdout")->capture_default_str();
  app.add_flag("--follow", a.follow,
               "online: read dapdee-metrics/1 samples on stdin, write one plan line per sample (mode auto)");
}

// Usage errors (exit 2) that need more than one option: shards of a table or a picture, a
// breakpoint range that is not LO:HI, options --breakpoints or --follow have no use for, two stdins.
void check_usage(const Args& a) {
  const auto& job = a.job;
  const bool picture = dapdee::is_picture(*dapdee::parse_format(a.format));
  if (!a.shard.empty() && (a.format == "table" || picture))
    dapdee_tools::usage_error("--shard: a " + a.format + " is not shardable (use json or csv)");
  int stdins = 0;  // --follow reads samples on stdin: follow_job says so for every other '-'
  for (const std::string* in : {&job.dag_path, &job.device_profile, &job.edge_profile, &job.metrics_path, &job.bandwidth_trace})
    stdins += *in == "-";
  for (const auto& n : job.networks) stdins += n == "-";
  if (stdins > 1) dapdee_tools::usage_error("only one input can be read from '-' (stdin); give the others as files");
  for (const auto& f : a.fields)
    if (!a.follow && dapdee::is_decision_field(f))
      dapdee_tools::usage_error("--fields " + f + ": t_s, replanned and trigger are fields of --follow lines only");
  if (a.follow && (a.input_encoding != "float32" || a.wire_dtype != "float32" || a.downlink > 0))
    dapdee_tools::usage_error("--follow plans with the float32 wire only (no --input-encoding, --wire-dtype, --result-downlink)");
  if (!a.breakpoints) return;
  if (a.format != "json" || !a.fields.empty())
    dapdee_tools::usage_error("--breakpoints writes dapdee-breakpoints/1 JSON Lines only (no --format, no --fields)");
  if (!job.bandwidth.empty())
    if (auto r = dapdee::parse_bandwidth_range(job.bandwidth); !r.ok()) dapdee_tools::usage_error("--bandwidth: " + r.message());
}

// The body: checks, the job, and what it writes.
// JSON Lines and CSV are written as the sweep is planned, in chunks, so a large sweep is never
// held whole; the file appears (renamed into place) only when the sweep is complete.
void write_streamed(const dapdee::PlanJob& job, const Args& a, dapdee::Format format) {
  constexpr size_t kChunkPoints = 4096;
  dapdee::PlanJobResult r;
  std::optional<dapdee::OutputStream> out;
  auto header = job.shard_index > 1 ? dapdee::CsvHeader::Omit : dapdee::CsvHeader::Write;
  dapdee::run_plan_job_chunks(job, r, kChunkPoints, [&](std::vector<dapdee::PlanPoint>& chunk) {
    if (!out) {
      for (const auto& w : r.warnings) fmt::print(stderr, "dapdee-plan: warning: {}\n", w);
      out.emplace(a.out);
    }
    out->write(dapdee::render_points(r.dag, chunk, format, a.fields, header));
    header = dapdee::CsvHeader::Omit;
  });
  out->commit();
}

// The stream's options go with --fps, and --fps with none of the one-frame modes.
void check_stream_usage(const CLI::App& app, const Args& a) {
  if (a.job.fps.empty() && (app.count("--arrivals") || app.count("--clients") || app.count("--percentile")))
    dapdee_tools::usage_error("--arrivals, --clients and --percentile go with --fps");
  if (!a.job.fps.empty() && (app.count("--mode") || a.follow || a.breakpoints))
    dapdee_tools::usage_error("--fps plans for a stream: give no --mode, --follow or --breakpoints with it");
}

// The energy options: no heavy mode, stream, online loop or fixed cut with an energy search.
void check_energy_usage(const CLI::App& app, const Args& a) {
  const bool search = a.job.objective == "energy" || app.count("--energy-budget") || a.pareto;
  if (!search) return;
  if (app.count("--mode") && a.job.mode != "light")
    dapdee_tools::usage_error(
        "--objective energy, --energy-budget and --pareto plan one frame: no --mode heavy or auto");
  if (!a.job.fps.empty() || a.follow || a.breakpoints || !a.job.cut.empty())
    dapdee_tools::usage_error(
        "--objective energy, --energy-budget and --pareto go with none of --fps, --follow, "
        "--breakpoints, --cut");
  if (a.pareto && (a.job.objective == "energy" || app.count("--energy-budget") || !a.job.deadline.empty()))
    dapdee_tools::usage_error(
        "--pareto writes the whole front: no --objective energy, --energy-budget or --deadline with it");
}

void run(CLI::App& app, Args& a) {
  auto& job = a.job;
  check_usage(a);
  check_stream_usage(app, a);
  check_energy_usage(app, a);
  if (app.count("--energy-budget")) job.energy_budget_mj = a.energy_budget;
  if (a.pareto) job.output = dapdee::PlanJob::Output::Pareto;
  if (!app.count("--network") && !app.count("--bandwidth") && !app.count("--bandwidth-trace") && !a.breakpoints &&
      !a.follow)
    dapdee_tools::usage_error("give --network NAME|FILE, --bandwidth MBPS or --bandwidth-trace FILE");
  std::vector<std::string> inputs{job.dag_path,        job.device_profile, job.edge_profile,
                                  job.bandwidth_trace, job.metrics_path,   job.device_power};
  inputs.insert(inputs.end(), job.networks.begin(), job.networks.end());
  dapdee::check_output_paths(inputs, {a.out});
  if (app.count("--delay")) job.delay_ms = a.delay;
  if (a.allow_partial_profile) job.partial_profile = dapdee::PartialProfile::Warn;
  if (!a.shard.empty()) std::sscanf(a.shard.c_str(), "%d/%d", &job.shard_index, &job.shard_count);
  if (a.breakpoints) job.output = dapdee::PlanJob::Output::Breakpoints;
  dapdee::parse_input_encoding(a.input_encoding, job.wire).take("--input-encoding");
  job.wire.dtype = *dapdee::parse_wire_dtype(a.wire_dtype);
  if (app.count("--result-downlink")) job.wire.downlink_mbps = a.downlink;
  const auto fmt_kind = *dapdee::parse_format(a.format);
  if (a.follow) {
    if (!app.count("--mode")) job.mode = "auto";
    job.follow_fields = a.fields;
    if (fmt_kind != dapdee::Format::Json) dapdee_tools::usage_error("--format: --follow writes JSON lines only");
    dapdee::run_follow(job, a.out, std::cin, std::cerr);
    return;
  }
  if (!a.breakpoints && (fmt_kind == dapdee::Format::Json || fmt_kind == dapdee::Format::Csv))
    return write_streamed(job, a, fmt_kind);
  const dapdee::PlanJobResult r = dapdee::run_plan_job(job);
  for (const auto& w : r.warnings) fmt::print(stderr, "dapdee-plan: warning: {}\n", w);
  if (a.breakpoints) {
    fmt::print(stderr, "dapdee-plan: {} interval(s) from {} minimum cut(s)\n", r.breakpoints.size(), r.breakpoint_cuts);
    dapdee::write_output_atomic(a.out, dapdee::render_breakpoints(r.dag, r.breakpoints));
    return;
  }
  if (dapdee::is_picture(fmt_kind)) {
    if (r.points.size() != 1)
      dapdee_tools::usage_error(fmt::format("--format {} draws one plan; this run planned {} points (a sweep): use "
                                            "json, csv or table, or give one network, bandwidth and deadline",
                                            a.format, r.points.size()));
    dapdee::write_output_atomic(a.out, dapdee::render_picture(r.dag, r.costs, r.points[0], fmt_kind));
    return;
  }
  const auto header = job.shard_index > 1 ? dapdee::CsvHeader::Omit : dapdee::CsvHeader::Write;
  dapdee::write_output_atomic(a.out, dapdee::render_points(r.dag, r.points, fmt_kind, a.fields, header));
}

int tool_main(int argc, char** argv) {
  CLI::App app{"dapdee-plan: choose the exit and the device/edge split of a DNN for a link and a deadline.\n"
               "Reads a dapdee-dag/1 DAG and two dapdee-profile/1 profiles; writes dapdee-plan/1."};
  Args a;
  add_input_options(app, a);
  add_planner_options(app, a);
  add_wire_options(app, a);
  add_output_options(app, a);
  app.set_version_flag("--version", std::string("dapdee-plan ") + DAPDEE_VERSION);
  return dapdee_tools::run_tool("dapdee-plan", app, argc, argv, [&] { run(app, a); });
}

}  // namespace

int main(int argc, char** argv) { return dapdee_tools::guarded_main("dapdee-plan", argc, argv, tool_main); }
