// dapdee-run: execute a plan over a shaped link and measure it against its prediction;
// `dapdee-run serve` is the edge server.
#include <fmt/format.h>
#include <unistd.h>

#include <csignal>

#include "../common/run_tool.hpp"
#include "dapdee/run/edge_server.hpp"
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
  fmt::print(stderr, "dapdee-run: served {} frames over {} connections, {} error replies, {} edge parts built\n", st.frames,
             st.connections, st.errors, st.plans_built);
  g_server = nullptr;
}

// The combinations of the client's options CLI11 cannot express; empty when they are fine.
std::string usage_problem(const dapdee::RunOptions& o, const std::string& out) {
  if (o.model_path.empty() || (o.plan_path.empty() == o.plan_stream.empty()))
    return "give MODEL and one of --plan or --plan-stream (or 'serve MODEL'); see --help";
  if (o.metrics_out == "-" && out == "-") return "--metrics-out - takes stdout: write the report with -o FILE";
  if (o.trace_out == "-" && (out == "-" || o.metrics_out == "-")) return "--trace-out - takes stdout: write the report with -o FILE";
  if (!o.metrics_out.empty() && o.plan_stream.empty()) return "--metrics-out goes with --plan-stream";
  return "";
}

int tool_main(int argc, char** argv) {
  CLI::App app{"dapdee-run: run a dapdee-plan/1 plan for real: the device part here, the edge part behind a TCP\n"
               "socket (a server started on 127.0.0.1 unless --connect), the sent tensors through a user-space\n"
               "shaped uplink; writes a dapdee-run-report/1 with measured T_d/T_t/T_e beside the predicted."};
  dapdee::RunOptions o;
  std::string out = "-";
  int frames = 20;
  double bandwidth = 0, delay = 0, max_frame_mb = 256;
  bool pipeline = false, no_verify = false;
  app.add_option("MODEL", o.model_path, "the ONNX model the plan was made for");
  app.add_option("--plan", o.plan_path, "one dapdee-plan/1 object (- for stdin)");
  app.add_option("--plan-stream", o.plan_stream, "streaming: dapdee-plan/1 lines (FILE or -); each frame runs the latest");
  app.add_option("--metrics-out", o.metrics_out, "streaming: one dapdee-metrics/1 line per frame (FILE, FIFO or -)");
  app.add_option("--connect", o.connect, "HOST:PORT of 'dapdee-run serve' (default: an in-process server on 127.0.0.1)");
  app.add_option("--frames", frames, "measured frames (default 20; with --plan-stream: until the stream ends)")
      ->check(CLI::Range(1, 1 << 30));
  app.add_option("--warmup", o.warmup, "frames run first and not measured")->capture_default_str()->check(CLI::Range(0, 1000));
  app.add_option("--threads", o.threads, "OpenCV threads")->capture_default_str()->check(CLI::Range(1, 256));
  app.add_option("--bandwidth", bandwidth, "uplink Mbit/s (default: the plan's bandwidth_mbps)");
  app.add_option("--delay", delay, "one-way delay in ms (default: the plan's delay_ms)");
  app.add_option("--bandwidth-trace", o.link.trace_path, "replay a Mahimahi uplink trace instead of a fixed rate");
  app.add_option("--mtu", o.link.mtu, "packet size in bytes")->capture_default_str()->check(CLI::Range(64, 65536));
  app.add_flag("--pipeline", pipeline, "stream frames through the three stages at once; measures throughput");
  app.add_option("--window", o.window, "--pipeline: frames in flight")->capture_default_str()->check(CLI::Range(1, 64));
  app.add_flag("--no-verify", no_verify, "skip comparing the first frame's output with the whole model's");
  app.add_option("--max-frame-mb", max_frame_mb, "largest frame in MiB")->capture_default_str();
  app.add_option("--timeout", o.timeout_s, "seconds to wait for a reply")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("-o,--output", out, "the run report (default: stdout)");
  app.add_option("--trace-out", o.trace_out,
                 "also write the measured frames as Chrome trace-event JSON (as dapdee-plan --format trace)");

  dapdee::ServeOptions so;
  auto* sv = app.add_subcommand("serve", "serve edge parts: hold the whole model, build each client's plan's edge part");
  sv->add_option("MODEL", so.model_path, "the ONNX model")->required();
  sv->add_option("--listen", so.listen, "HOST:PORT to listen on (loopback unless told)")->capture_default_str();
  sv->add_option("--threads", so.threads, "OpenCV threads")->capture_default_str()->check(CLI::Range(1, 256));
  sv->add_option("--max-clients", so.max_clients, "connections served at once")->capture_default_str()->check(CLI::Range(1, 1024));
  sv->add_option("--frame-timeout", so.frame_timeout_s, "seconds a started frame may take to arrive")->capture_default_str();
  sv->add_option("--max-cached-plans", so.max_cached_plans, "edge parts kept built (the oldest built is dropped first)")
      ->capture_default_str()->check(CLI::Range(1, 4096));
  double serve_max_mb = 256;
  sv->add_option("--max-frame-mb", serve_max_mb, "largest frame accepted, in MiB")->capture_default_str();
  app.set_version_flag("--version", std::string("dapdee-run ") + DAPDEE_VERSION);
  auto mb = [](double v) { return static_cast<uint32_t>(std::clamp(v, 0.001, 4095.0) * 1048576.0); };
  return dapdee_tools::run_tool("dapdee-run", app, argc, argv, [&] {
    if (sv->parsed()) {
      so.max_frame_bytes = mb(serve_max_mb);
      serve(so);
      return;
    }
    if (const std::string why = usage_problem(o, out); !why.empty()) dapdee_tools::usage_error(why);
    if (app.count("--frames")) o.frames = frames;
    if (app.count("--bandwidth")) o.link.bandwidth_mbps = bandwidth;
    if (app.count("--delay")) o.link.delay_ms = delay;
    o.pipeline = pipeline ? dapdee::Pipeline::On : dapdee::Pipeline::Off;
    o.verify = no_verify ? dapdee::Verify::Off : dapdee::Verify::On;
    o.progress = ::isatty(2) ? dapdee::RunProgress::Line : dapdee::RunProgress::Off;
    o.max_frame_bytes = mb(max_frame_mb);
    const dapdee::RunOutcome r = dapdee::run_plan(o);
    for (const auto& w : r.warnings) fmt::print(stderr, "dapdee-run: warning: {}\n", w);
    dapdee::write_output_atomic(out, r.report_json);
    if (!o.trace_out.empty()) dapdee::write_output_atomic(o.trace_out, r.trace_json);
    fmt::print(stderr, "dapdee-run: {}\n", r.summary);
  });
}

}  // namespace

int main(int argc, char** argv) { return dapdee_tools::guarded_main("dapdee-run", argc, argv, tool_main); }
