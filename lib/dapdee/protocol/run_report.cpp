#include "dapdee/protocol/run_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

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

StreamSummary summarize_stream(const std::vector<FrameTiming>& frames, double schedule_end_ms) {
  StreamSummary s;
  s.frames = frames.size();
  if (frames.empty()) return s;
  std::vector<double> lat;
  lat.reserve(frames.size());
  double first_done = INFINITY, last_done = -INFINITY, first_arrive = INFINITY;
  for (const auto& f : frames) {
    lat.push_back(f.latency_ms);
    s.wait_device += f.wait_device;
    s.wait_uplink += f.wait_uplink;
    s.wait_edge += f.wait_edge;
    first_done = std::min(first_done, f.done_ms);
    last_done = std::max(last_done, f.done_ms);
    first_arrive = std::min(first_arrive, f.t_arrive);
    if (f.t_arrive <= schedule_end_ms && f.t_arrive + f.latency_ms > schedule_end_ms) ++s.queued_at_end;
  }
  const double n = static_cast<double>(frames.size());
  s.wait_device /= n;
  s.wait_uplink /= n;
  s.wait_edge /= n;
  std::sort(lat.begin(), lat.end());
  for (double v : lat) s.mean += v / n;
  s.p50 = quantile_sorted(lat, 0.50);
  s.p95 = quantile_sorted(lat, 0.95);
  s.p99 = quantile_sorted(lat, 0.99);
  if (frames.size() > 1 && last_done > first_done) s.achieved_fps = (n - 1) * 1000.0 / (last_done - first_done);
  return s;
}

namespace {

nlohmann::ordered_json stream_measured(const StreamSummary& s) {
  return {{"latency_mean_ms", r3(s.mean)},       {"latency_p50_ms", r3(s.p50)},
          {"latency_p95_ms", r3(s.p95)},         {"latency_p99_ms", r3(s.p99)},
          {"achieved_fps", r3(s.achieved_fps)},  {"wait_device_ms", r3(s.wait_device)},
          {"wait_uplink_ms", r3(s.wait_uplink)}, {"wait_edge_ms", r3(s.wait_edge)},
          {"queued_at_end", s.queued_at_end},    {"frames", s.frames}};
}

// The stream's arrivals, its prediction and, with several clients, each client's figures.
void add_stream(nlohmann::ordered_json& j, const StreamMeta& m, const std::vector<FrameTiming>& frames) {
  nlohmann::ordered_json st = {{"fps", m.fps}, {"arrivals", m.arrivals}, {"seed", m.seed}, {"clients", m.clients}};
  st["predicted"] = {
      {"stable", m.stable},
      {"latency_mean_ms", m.stable ? nlohmann::ordered_json(r3(m.predicted_mean_ms)) : nullptr},
      {"latency_p95_ms", m.stable ? nlohmann::ordered_json(r3(m.predicted_p95_ms)) : nullptr},
      {"latency_p95_method", m.p95_method},
      {"wait_ms", m.stable ? nlohmann::ordered_json(r3(m.predicted_wait_ms)) : nullptr},
      {"utilisation",
       {{"device", r3(m.utilisation_device)}, {"uplink", r3(m.utilisation_uplink)}, {"edge", r3(m.utilisation_edge)}}}};
  const StreamSummary all = summarize_stream(frames, m.schedule_end_ms);
  st["measured"] = stream_measured(all);
  if (m.stable && m.predicted_mean_ms > 0)
    st["error_pct"] = {{"latency_mean_ms", error_pct(all.mean, m.predicted_mean_ms)},
                       {"latency_p95_ms", error_pct(all.p95, m.predicted_p95_ms)}};
  if (m.clients > 1) {
    nlohmann::ordered_json per = nlohmann::ordered_json::array();
    for (int c = 0; c < m.clients; ++c) {
      std::vector<FrameTiming> mine;
      for (const auto& f : frames)
        if (f.client == c) mine.push_back(f);
      nlohmann::ordered_json e = {{"client", c}};
      e.update(stream_measured(summarize_stream(mine, m.schedule_end_ms)));
      per.push_back(std::move(e));
    }
    st["per_client"] = std::move(per);
  }
  j["stream"] = std::move(st);
}

nlohmann::ordered_json frame_json(const FrameTiming& f, bool stream) {
  nlohmann::ordered_json e = {{"index", f.index}, {"plan", f.plan}};
  if (stream) {
    e["client"] = f.client;
    e["t_arrive"] = r3(f.t_arrive);
    e["wait_device"] = r3(f.wait_device);
  }
  e["t_d"] = r3(f.t_d);
  e["t_ser"] = r3(f.t_ser);
  if (stream) e["wait_uplink"] = r3(f.wait_uplink);
  e["t_t"] = r3(f.t_t);
  if (stream) e["wait_edge"] = r3(f.wait_edge);
  e["t_e"] = r3(f.t_e);
  e["t_server"] = r3(f.t_server);
  e["t_down"] = r3(f.t_down);
  e["t_late"] = r3(f.t_late);
  e["latency_ms"] = r3(f.latency_ms);
  e["wire_bytes"] = f.wire_bytes;
  return e;
}

}  // namespace

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
  for (const auto& f : frames) fr.push_back(frame_json(f, meta.stream.has_value()));
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
  if (meta.stream) add_stream(j, *meta.stream, frames);
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
