#include "dapdee/protocol/run_report.hpp"

#include <fmt/format.h>

#include "dapdee/support/formats.hpp"
#include "dapdee/support/stats.hpp"

namespace dapdee {

namespace {

double median_of(const std::vector<FrameTiming>& f, double FrameTiming::*field) {
  std::vector<double> v;
  v.reserve(f.size());
  for (const auto& x : f) v.push_back(x.*field);
  return summarize(v).median;
}

// Rounds to 1 us / 0.001% so reports stay readable; never changes a figure's meaning.
double r3(double x) { return std::round(x * 1000.0) / 1000.0; }

double error_pct(double measured, double predicted) {
  return predicted > 0 ? r3((measured / predicted - 1.0) * 100.0) : 0.0;
}

}  // namespace

RunSummary summarize_run(const std::vector<FrameTiming>& frames, double elapsed_ms) {
  RunSummary s;
  s.T_d = median_of(frames, &FrameTiming::t_d);
  s.T_t = median_of(frames, &FrameTiming::t_t);
  s.T_e = median_of(frames, &FrameTiming::t_e);
  s.latency_ms = median_of(frames, &FrameTiming::latency_ms);
  s.t_ser = median_of(frames, &FrameTiming::t_ser);
  s.t_server = median_of(frames, &FrameTiming::t_server);
  s.t_down = median_of(frames, &FrameTiming::t_down);
  s.t_late = median_of(frames, &FrameTiming::t_late);
  if (frames.size() > 1 && elapsed_ms > 0) s.throughput_fps = static_cast<double>(frames.size() - 1) * 1000.0 / elapsed_ms;
  for (const auto& f : frames) {
    s.payload_bytes = std::max(s.payload_bytes, f.payload_bytes);
    s.wire_bytes = std::max(s.wire_bytes, f.wire_bytes);
  }
  return s;
}

std::string render_run_report(const RunMeta& meta, const std::vector<FrameTiming>& frames) {
  const RunSummary s = summarize_run(frames, meta.elapsed_ms);
  nlohmann::ordered_json j;
  j["format"] = kRunReportFormat;
  j["model"] = meta.model;
  j["model_digest"] = meta.digest;
  j["plan"] = meta.plan;
  j["plans_used"] = meta.plans_used;
  j["link"] = meta.link;
  j["mode"] = meta.mode;
  j["threads"] = meta.threads;
  j["warmup_frames"] = meta.warmup;
  nlohmann::ordered_json fr = nlohmann::ordered_json::array();
  for (const auto& f : frames)
    fr.push_back({{"index", f.index}, {"plan", f.plan}, {"t_d", r3(f.t_d)}, {"t_ser", r3(f.t_ser)}, {"t_t", r3(f.t_t)},
                  {"t_e", r3(f.t_e)}, {"t_server", r3(f.t_server)}, {"t_down", r3(f.t_down)},
                  {"t_late", r3(f.t_late)}, {"latency_ms", r3(f.latency_ms)}, {"wire_bytes", f.wire_bytes}});
  j["frames"] = std::move(fr);
  j["measured"] = {{"T_d", r3(s.T_d)},           {"T_t", r3(s.T_t)},
                   {"T_e", r3(s.T_e)},           {"latency_ms", r3(s.latency_ms)},
                   {"throughput_fps", r3(s.throughput_fps)}, {"t_ser", r3(s.t_ser)},
                   {"t_server", r3(s.t_server)}, {"t_down", r3(s.t_down)}, {"t_late", r3(s.t_late)},
                   {"frames", frames.size()}};
  if (meta.predicted) {
    const Prediction& p = *meta.predicted;
    const double fps = p.T_max > 0 ? 1000.0 / p.T_max : 0;
    j["predicted"] = {{"T_d", r3(p.T_d)}, {"T_t", r3(p.T_t)}, {"T_e", r3(p.T_e)}, {"latency_ms", r3(p.latency_ms)},
                      {"T_max", r3(p.T_max)}, {"throughput_fps", r3(fps)}, {"note", p.note}};
    nlohmann::ordered_json e = {{"T_d", error_pct(s.T_d, p.T_d)}, {"T_t", error_pct(s.T_t, p.T_t)},
                                {"T_e", error_pct(s.T_e, p.T_e)}, {"latency_ms", error_pct(s.latency_ms, p.latency_ms)}};
    if (meta.mode == "pipeline") e["throughput_fps"] = error_pct(s.throughput_fps, fps);
    j["error_pct"] = std::move(e);
  }
  const uint64_t overhead = s.wire_bytes > s.payload_bytes ? s.wire_bytes - s.payload_bytes : 0;
  j["framing"] = {{"payload_bytes", s.payload_bytes},
                  {"wire_bytes", s.wire_bytes},
                  {"overhead_bytes", overhead},
                  {"overhead_pct", s.payload_bytes ? r3(100.0 * static_cast<double>(overhead) / static_cast<double>(s.payload_bytes)) : 0.0},
                  {"explanation",
                   "t_t covers every byte sent for a frame: a 5-byte prefix (length, type) per frame, the frame header "
                   "(JSON: frame index, tensor count) and per tensor its TensorProto fields (name, dims, data_type, "
                   "raw_data tag and length) around the raw float data; the plan counts the raw data only"}};
  if (meta.max_abs_diff) j["check"] = {{"max_abs_diff_vs_whole_model", *meta.max_abs_diff}};
  return j.dump(1) + "\n";
}

std::string metrics_line(const FrameTiming& f, double t_s, std::optional<double> bandwidth_mbps, std::optional<double> delay_ms) {
  nlohmann::ordered_json j;
  j["format"] = kMetricsFormat;
  j["t_s"] = r3(t_s);
  if (bandwidth_mbps) j["bandwidth_mbps"] = r3(*bandwidth_mbps);
  if (delay_ms) j["delay_ms"] = r3(*delay_ms);
  j["measured_latency_ms"] = r3(f.latency_ms);
  j["measured_t_d"] = r3(f.t_d);
  j["measured_t_t"] = r3(f.t_t);
  j["measured_t_e"] = r3(f.t_e);
  return j.dump();
}

}  // namespace dapdee
