// dapdee-run: a plan executed for real. The device part runs here, the sent tensors go through
// the user-space shaper to an edge server (remote, or started in-process on loopback), and every
// frame is timed against the plan's prediction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dapdee/plan/stream.hpp"
#include "dapdee/protocol/tensor_wire.hpp"
#include "dapdee/run/link_options.hpp"

namespace dapdee {

enum class Pipeline { Off, On };        // one frame at a time, or the three stages at once
enum class RunProgress { Off, Line };   // a progress line on stderr (terminals only)
enum class Verify { Off, On };          // compare the first frame's output with the whole model

// What to run.
struct RunOptions {
  std::string model_path;
  std::string plan_path;      // one dapdee-plan/1 object (FILE or -)
  std::string plan_stream;    // streaming mode: dapdee-plan/1 lines (FILE or -); the latest one runs
  std::string metrics_out;    // streaming mode: one dapdee-metrics/1 line per frame (FILE or -)
  std::string trace_out;      // --trace-out: when set, RunOutcome::trace_json holds the measured trace
  std::string connect;        // HOST:PORT of `dapdee-run serve`; empty: a server on 127.0.0.1 in-process
  std::optional<int> frames;  // measured frames (default 20; streaming: until the plan stream ends)
  int warmup = 2;             // frames run first and not measured
  int threads = 1;            // OpenCV threads (both sides in one-machine mode)
  int window = 3;             // --pipeline: frames in flight
  LinkOptions link;
  Pipeline pipeline = Pipeline::Off;
  RunProgress progress = RunProgress::Off;
  Verify verify = Verify::On;
  uint32_t max_frame_bytes = kDefaultMaxFrameBytes;
  double timeout_s = 60;      // waiting for a reply
  std::optional<double> fps;  // --fps: frames released open loop at this rate (after the warm-up)
  Arrivals arrivals = Arrivals::Periodic;
  uint64_t seed = 1;  // Poisson arrivals' generator
};

// The report and what to tell the user.
struct RunOutcome {
  std::string report_json;              // dapdee-run-report/1
  std::vector<std::string> warnings;
  std::string summary;                  // one line: predicted vs measured
  std::string trace_json;               // with trace_out: Chrome trace-event JSON of the measured frames
};

// Runs the plan; throws Error(where, ...) for a bad plan or model, a refused or broken
// connection ("connection refused", "closed mid-frame"), an error reply, or a reply timeout.
RunOutcome run_plan(const RunOptions& options);

}  // namespace dapdee
