// dapdee-run's measurements and their report (`dapdee-run-report/1`), apart from the running.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dapdee {

// One frame, every time in ms. t_d on the device's clock, t_e and t_server on the edge's, t_t on
// the shaper's clock at the sender.
struct FrameTiming {
  int index = 0;
  int plan = 0;              // which plan (streaming mode: the plan line's number, from 1)
  double t_d = 0;            // device part
  double t_ser = 0;          // serialising the sent tensors into frames
  double t_t = 0;            // first byte offered to last byte delivered, less the delay
  double t_e = 0;            // edge part (forward)
  double t_server = 0;       // edge: last tensor received and decoded to result posted (its wait in the FIFO + t_e)
  double t_down = 0;         // the result's return (not in latency)
  double t_late = 0;         // the shaper's own lateness: last byte written after its scheduled time
  double latency_ms = 0;     // start to last byte delivered, plus t_server (device clock)
  double done_ms = 0;        // when the result arrived, since the run started
  uint64_t payload_bytes = 0;  // tensor data (raw_data) sent
  uint64_t wire_bytes = 0;     // everything sent for the frame: prefixes, headers, TensorProto fields
  bool offloaded = false;
  // Stream runs (--fps, dapdee-run load) only:
  int client = 0;          // which emulated device (load), from 0
  double t_arrive = -1;    // the frame's arrival, ms from the schedule's start (-1: not a stream run)
  double wait_device = 0;  // arrival to the device part's start
  double wait_uplink = 0;  // offered to the link until the link began it
  double wait_edge = 0;    // last tensor received until the edge began it (the shared FIFO)
};

// A stream run's arrivals and the stream model's prediction for them.
struct StreamMeta {
  double fps = 0;
  std::string arrivals;  // "periodic" | "poisson"
  uint64_t seed = 0;
  int clients = 1;
  double schedule_end_ms = 0;  // the last frame's arrival
  bool stable = true;          // the model's verdict (the prediction's latencies are null when false)
  double predicted_mean_ms = 0, predicted_p95_ms = 0, predicted_wait_ms = 0;
  std::string p95_method;
  double utilisation_device = 0, utilisation_uplink = 0, utilisation_edge = 0;
};

// A stream run's latency distribution (never fails on an empty list: zeros).
struct StreamSummary {
  double mean = 0, p50 = 0, p95 = 0, p99 = 0, achieved_fps = 0;
  double wait_device = 0, wait_uplink = 0, wait_edge = 0;  // means
  int queued_at_end = 0;                                   // frames arrived by the last arrival and not finished then
  size_t frames = 0;
};
StreamSummary summarize_stream(const std::vector<FrameTiming>& frames, double schedule_end_ms);

// The prediction a run is compared with (from the plan, rescaled to the link when it differs).
struct Prediction {
  double T_d = 0, T_t = 0, T_e = 0, latency_ms = 0, T_max = 0;
  std::string note;  // how it was derived
};

// Everything the report says besides the frames.
// clang-tidy 14 sees nlohmann::json's noexcept destructor allocate (it flattens nested values into
// a std::vector): library code, and nothing of ours throws there.
// NOLINTNEXTLINE(bugprone-exception-escape)
struct RunMeta {
  std::string model, digest, mode;  // mode: "sequential" or "pipeline"
  nlohmann::json plan;              // the plan object (the first plan in streaming mode)
  nlohmann::json link;              // bandwidth_mbps | trace, delay_ms, mtu, shaper
  int threads = 1, warmup = 0, plans_used = 1;
  double elapsed_ms = 0;            // first to last measured result (throughput)
  std::optional<double> max_abs_diff;  // the halves' output vs the whole model's (first frame)
  std::optional<Prediction> predicted;  // absent when several plans were used
  std::optional<StreamMeta> stream;     // --fps runs and dapdee-run load
};

// The median figures of a run (never fails on an empty list: zeros).
struct RunSummary {
  double T_d = 0, T_t = 0, T_e = 0, latency_ms = 0, t_ser = 0, t_server = 0, t_down = 0, t_late = 0, throughput_fps = 0;
  uint64_t payload_bytes = 0, wire_bytes = 0;
};
RunSummary summarize_run(const std::vector<FrameTiming>& frames, double elapsed_ms);

// The dapdee-run-report/1 JSON text (stable field order). Never fails.
std::string render_run_report(const RunMeta& meta, const std::vector<FrameTiming>& frames);

// One dapdee-metrics/1 line for the online controller after a frame (no newline). Never fails.
std::string metrics_line(const FrameTiming& f, double t_s, std::optional<double> bandwidth_mbps, std::optional<double> delay_ms);

}  // namespace dapdee
