// dapdee-run: execute a plan over a shaped link and measure it against its prediction;
// `dapdee-run serve` is the edge server, `dapdee-run load` emulates many devices against one.
#include <fmt/format.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

#include "../common/run_tool.hpp"
#include "dapdee/run/edge_server.hpp"
#include "dapdee/run/load_gen.hpp"
#include "dapdee/run/run_client.hpp"
#include "dapdee/split/split.hpp"
#include "dapdee/support/error.hpp"
#include "dapdee/support/io.hpp"

namespace {

dapdee::EdgeServer* g_server = nullptr;
extern "C" void on_signal(int) {
  if (g_server) g_server->stop();
}

void serve(const dapdee::ServeOptions& so) {
  dapdee::EdgeServer server(so);
  g_server = &server;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  const std::string host = so.listen.substr(0, so.listen.rfind(':'));
  fmt::print(stderr, "dapdee-run: serving {} ({} nodes, digest {}) on {}:{}\n", server.model().dag().model,
             server.model().dag().nodes.size(), server.model().digest(), host, server.port());
  server.serve();
  const auto st = server.stats();
  fmt::print(stderr,
             "dapdee-run: served {} frames over {} connections, {} error replies, {} edge parts built; {} refused as "
             "busy, {} timed out, longest queue {} frames, {} throttled\n",
             st.frames, st.connections, st.errors, st.plans_built, st.refused, st.timed_out, st.max_queue,
             st.throttled);
  g_server = nullptr;
}

// The combinations of the client's options CLI11 cannot express; empty when they are fine.
std::string usage_problem(const dapdee::RunOptions& o, const std::string& out, bool stream_opts) {
  if (o.model_path.empty() || (o.plan_path.empty() == o.plan_stream.empty()))
    return "give MODEL and one of --plan or --plan-stream (or 'serve MODEL', 'load MODEL'); see --help";
  if (o.metrics_out == "-" && out == "-") return "--metrics-out - takes stdout: write the report with -o FILE";
  if (o.trace_out == "-" && (out == "-" || o.metrics_out == "-")) return "--trace-out - takes stdout: write the report with -o FILE";
  if (!o.metrics_out.empty() && o.plan_stream.empty()) return "--metrics-out goes with --plan-stream";
  if (stream_opts && !o.fps) return "--arrivals and --seed go with --fps";
  if (o.fps && (!o.plan_stream.empty() || o.pipeline == dapdee::Pipeline::On || !o.trace_out.empty()))
    return "--fps runs one plan open loop: it does not go with --plan-stream, --pipeline or --trace-out";
  return "";
}

// Refuses, before any frame runs, an output that would destroy an input or whose folder is missing.
void check_outputs(const std::vector<std::string>& inputs, const std::vector<std::string>& outputs) {
  dapdee::check_output_paths(inputs, outputs);
  for (const auto& out : outputs) {
    if (out.empty() || out == "-") continue;
    const auto dir = std::filesystem::path(out).parent_path();
    if (!dir.empty() && !std::filesystem::is_directory(dir))
      throw dapdee::Error(out, fmt::format("cannot write here: the folder '{}' does not exist", dir.string()));
  }
}

uint32_t megabytes(double v) { return static_cast<uint32_t>(std::clamp(v, 0.001, 4095.0) * 1048576.0); }

// The link options both the run and the load take.
void add_link_options(CLI::App* app, dapdee::LinkOptions& l, double& bandwidth, double& delay) {
  app->add_option("--bandwidth", bandwidth, "uplink Mbit/s (default: the plan's bandwidth_mbps)");
  app->add_option("--delay", delay, "one-way delay in ms (default: the plan's delay_ms)");
  app->add_option("--bandwidth-trace", l.trace_path, "replay a Mahimahi uplink trace instead of a fixed rate");
  app->add_option("--mtu", l.mtu, "packet size in bytes")->capture_default_str()->check(CLI::Range(64, 65536));
}

void set_link(const CLI::App* app, dapdee::LinkOptions& l, double bandwidth, double delay) {
  if (app->count("--bandwidth")) l.bandwidth_mbps = bandwidth;
  if (app->count("--delay")) l.delay_ms = delay;
}

// The stream options both the run (--fps) and the load take.
void add_stream_options(CLI::App* app, std::optional<double>& fps, dapdee::Arrivals& arrivals, uint64_t& seed) {
  app->add_option("--fps", fps, "frames a second, released open loop on the arrival schedule")
      ->check(CLI::PositiveNumber);
  app->add_option_function<std::string>(
         "--arrivals", [&arrivals](const std::string& s) { arrivals = *dapdee::parse_arrivals(s); },
         "periodic (a camera, the default) or poisson")
      ->check(dapdee_tools::choice(dapdee::parse_arrivals, dapdee::arrivals_names()));
  app->add_option("--seed", seed, "the Poisson arrivals' seed")->capture_default_str();
}

struct ClientCli {
  dapdee::RunOptions o;
  std::string out = "-";
  int frames = 20;
  double bandwidth = 0, delay = 0, max_frame_mb = 256;
  bool pipeline = false, no_verify = false;
};

void add_client_options(CLI::App& app, ClientCli& c) {
  dapdee::RunOptions& o = c.o;
  app.add_option("MODEL", o.model_path, "the ONNX model the plan was made for");
  app.add_option("--plan", o.plan_path, "one dapdee-plan/1 object (- for stdin)");
  app.add_option("--plan-stream", o.plan_stream, "streaming: dapdee-plan/1 lines (FILE or -); each frame runs the latest");
  app.add_option("--metrics-out", o.metrics_out, "streaming: one dapdee-metrics/1 line per frame (FILE, FIFO or -)");
  app.add_option("--connect", o.connect, "HOST:PORT of 'dapdee-run serve' (default: an in-process server on 127.0.0.1)");
  app.add_option("--frames", c.frames, "measured frames (default 20; with --plan-stream: until the stream ends)")
      ->check(CLI::Range(1, 1 << 30));
  app.add_option("--warmup", o.warmup, "frames run first and not measured")->capture_default_str()->check(CLI::Range(0, 1000));
  app.add_option("--threads", o.threads, "OpenCV threads")->capture_default_str()->check(CLI::Range(1, 256));
  add_link_options(&app, o.link, c.bandwidth, c.delay);
  app.add_flag("--pipeline", c.pipeline, "stream frames through the three stages at once; measures throughput");
  app.add_option("--window", o.window, "--pipeline: frames in flight")->capture_default_str()->check(CLI::Range(1, 64));
  add_stream_options(&app, o.fps, o.arrivals, o.seed);
  app.add_flag("--no-verify", c.no_verify, "skip comparing the first frame's output with the whole model's");
  app.add_option("--max-frame-mb", c.max_frame_mb, "largest frame in MiB")->capture_default_str();
  app.add_option("--timeout", o.timeout_s, "seconds to wait for a reply")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("-o,--output", c.out, "the run report (default: stdout)");
  app.add_option("--trace-out", o.trace_out,
                 "also write the measured frames as Chrome trace-event JSON (as dapdee-plan --format trace)");
}

void run_client(const CLI::App& app, ClientCli& c) {
  dapdee::RunOptions& o = c.o;
  o.pipeline = c.pipeline ? dapdee::Pipeline::On : dapdee::Pipeline::Off;
  if (const std::string why = usage_problem(o, c.out, app.count("--arrivals") + app.count("--seed") > 0); !why.empty())
    dapdee_tools::usage_error(why);
  if (app.count("--frames")) o.frames = c.frames;
  set_link(&app, o.link, c.bandwidth, c.delay);
  o.verify = c.no_verify ? dapdee::Verify::Off : dapdee::Verify::On;
  o.progress = ::isatty(2) ? dapdee::RunProgress::Line : dapdee::RunProgress::Off;
  o.max_frame_bytes = megabytes(c.max_frame_mb);
  check_outputs({o.model_path, o.plan_path, o.plan_stream}, {c.out, o.trace_out, o.metrics_out});
  const dapdee::RunOutcome r = dapdee::run_plan(o);
  for (const auto& w : r.warnings) fmt::print(stderr, "dapdee-run: warning: {}\n", w);
  dapdee::write_output_atomic(c.out, r.report_json);
  if (!o.trace_out.empty()) dapdee::write_output_atomic(o.trace_out, r.trace_json);
  fmt::print(stderr, "dapdee-run: {}\n", r.summary);
}

CLI::App* add_serve(CLI::App& app, dapdee::ServeOptions& so, double& max_mb) {
  auto* sv = app.add_subcommand("serve", "serve edge parts: hold the whole model, build each client's plan's edge part");
  sv->add_option("MODEL", so.model_path, "the ONNX model")->required();
  sv->add_option("--listen", so.listen, "HOST:PORT to listen on (loopback unless told)")->capture_default_str();
  sv->add_option("--threads", so.threads, "OpenCV threads")->capture_default_str()->check(CLI::Range(1, 256));
  sv->add_option("--max-clients", so.max_clients, "connections served at once")->capture_default_str()->check(CLI::Range(1, 1024));
  sv->add_option("--frame-timeout", so.frame_timeout_s,
                 "seconds a started frame (and the hello) may take to arrive whole")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sv->add_option("--idle-timeout", so.idle_timeout_s, "seconds a connection may stay silent after its hello")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sv->add_option("--max-queued-frames", so.max_queued_frames,
                 "per client: unanswered frames before the server stops reading it")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  sv->add_option("--max-cached-plans", so.max_cached_plans, "edge parts kept built (the oldest built is dropped first)")
      ->capture_default_str()->check(CLI::Range(1, 4096));
  sv->add_option("--max-frame-mb", max_mb, "largest frame accepted, in MiB")->capture_default_str();
  return sv;
}

struct LoadCli {
  dapdee::LoadOptions o;
  std::optional<double> fps;
  std::string out = "-";
  double bandwidth = 0, delay = 0, duration = 0;
};

CLI::App* add_load(CLI::App& app, LoadCli& l) {
  auto* ld =
      app.add_subcommand("load", "emulate --clients devices streaming one plan to one edge server (a load test)");
  ld->add_option("MODEL", l.o.model_path, "the ONNX model the plan was made for")->required();
  ld->add_option("--plan", l.o.plan_path, "one dapdee-plan/1 object (- for stdin)")->required();
  ld->add_option("--connect", l.o.connect,
                 "HOST:PORT of 'dapdee-run serve' (default: an in-process server on 127.0.0.1)");
  ld->add_option("--clients", l.o.clients, "emulated devices, each with its own connection and uplink")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  add_stream_options(ld, l.fps, l.o.arrivals, l.o.seed);
  ld->add_option("--frames", l.o.frames, "frames per client")->capture_default_str()->check(CLI::Range(1, 1 << 24));
  ld->add_option("--duration", l.duration, "seconds of arrivals (sets --frames to fps x duration)")
      ->check(CLI::PositiveNumber);
  ld->add_option("--warmup", l.o.warmup, "device-part runs whose median is the replayed T_d")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  ld->add_option("--threads", l.o.threads, "OpenCV threads")->capture_default_str()->check(CLI::Range(1, 256));
  add_link_options(ld, l.o.link, l.bandwidth, l.delay);
  ld->add_option("--timeout", l.o.timeout_s, "seconds to wait for a reply")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  ld->add_option("-o,--output", l.out, "the load report (default: stdout)");
  return ld;
}

void run_load(const CLI::App* ld, LoadCli& l) {
  if (!l.fps) dapdee_tools::usage_error("load needs --fps (frames a second per client)");
  if (ld->count("--duration") && ld->count("--frames"))
    dapdee_tools::usage_error("give --frames or --duration, not both");
  l.o.fps = *l.fps;
  if (ld->count("--duration")) l.o.frames = std::max(1, static_cast<int>(std::lround(l.duration * l.o.fps)));
  set_link(ld, l.o.link, l.bandwidth, l.delay);
  check_outputs({l.o.model_path, l.o.plan_path}, {l.out});
  const dapdee::LoadOutcome r = dapdee::run_load(l.o);
  for (const auto& w : r.warnings) fmt::print(stderr, "dapdee-run: warning: {}\n", w);
  dapdee::write_output_atomic(l.out, r.report_json);
  fmt::print(stderr, "dapdee-run: {}\n", r.summary);
  if (r.wrong > 0)
    throw dapdee::Error("load", fmt::format("{} of {} results differ from the first one", r.wrong, r.results));
}

int tool_main(int argc, char** argv) {
  CLI::App app{
      "dapdee-run: run a dapdee-plan/1 plan for real: the device part here, the edge part behind a TCP\n"
      "socket (a server started on 127.0.0.1 unless --connect), the sent tensors through a user-space\n"
      "shaped uplink; writes a dapdee-run-report/1 with measured T_d/T_t/T_e beside the predicted."};
  ClientCli c;
  add_client_options(app, c);
  dapdee::ServeOptions so;
  double serve_max_mb = 256;
  auto* sv = add_serve(app, so, serve_max_mb);
  LoadCli l;
  auto* ld = add_load(app, l);
  app.require_subcommand(0, 1);
  app.set_version_flag("--version", std::string("dapdee-run ") + DAPDEE_VERSION);
  return dapdee_tools::run_tool("dapdee-run", app, argc, argv, [&] {
    if (sv->parsed()) {
      so.max_frame_bytes = megabytes(serve_max_mb);
      return serve(so);
    }
    if (ld->parsed()) return run_load(ld, l);
    run_client(app, c);
  });
}

}  // namespace

int main(int argc, char** argv) { return dapdee_tools::guarded_main("dapdee-run", argc, argv, tool_main); }
