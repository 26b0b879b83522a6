#include "dapdee/run/run_client.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <onnx/onnx_pb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <set>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "dapdee/protocol/link_shaper.hpp"
#include "dapdee/run/client_parts.hpp"
#include "dapdee/run/open_loop.hpp"
#include "dapdee/protocol/run_report.hpp"
#include "dapdee/render/render.hpp"
#include "dapdee/render/render_graph.hpp"
#include "dapdee/run/cv_engine.hpp"
#include "dapdee/run/edge_server.hpp"
#include "dapdee/run/split_check.hpp"
#include "dapdee/split/split.hpp"
#include "dapdee/support/formats.hpp"
#include "dapdee/support/io.hpp"
#include "dapdee/support/json_writer.hpp"

namespace dapdee {

using namespace client;  // NOLINT(google-build-using-namespace)

namespace {

// ---------------------------------------------------------------- the plan stream

// Reads plan lines on a thread; the run takes the latest one before each frame.
class PlanFeed {
 public:
  explicit PlanFeed(const std::string& path) : path_(path) {
    fd_ = path == "-" ? 0 : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw Error(path, std::string("cannot open: ") + std::strerror(errno));
    thread_ = std::thread([this] { loop(); });
  }
  ~PlanFeed() {
    stop_ = true;
    thread_.join();
    if (fd_ > 0) ::close(fd_);
  }
  // The latest plan line (waits for the first); nullopt when the stream ended with no new line
  // since `seen` and `wait_new` asks for one. Throws Error for a bad line.
  std::optional<std::pair<int, nlohmann::json>> latest() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return count_ > 0 || eof_ || !failure_.empty(); });
    if (!failure_.empty()) throw Error(path_, failure_);
    if (count_ == 0) return std::nullopt;
    return std::make_pair(count_, latest_);
  }
  bool ended() {
    std::lock_guard<std::mutex> lock(mu_);
    return eof_;
  }

 private:
  void line(const std::string& text) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) return;
    const auto j = nlohmann::json::parse(text, nullptr, false);
    std::lock_guard<std::mutex> lock(mu_);
    if (j.is_discarded() || !j.is_object() || !j.contains("format") || j["format"] != kPlanFormat) {  // a number is no abort
      failure_ = fmt::format("line {}: not a {} object", count_ + 1, kPlanFormat);
    } else {
      try {
        partition_from_plan(j, path_);
        latest_ = j;
        ++count_;
      } catch (const Error& e) {
        failure_ = fmt::format("line {}: {}", count_ + 1, e.what());
      }
    }
    cv_.notify_all();
  }
  void loop() {
    std::string buf;
    char chunk[65536];
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      const ssize_t k = ::read(fd_, chunk, sizeof chunk);
      if (k <= 0) break;
      buf.append(chunk, static_cast<size_t>(k));
      for (size_t nl; (nl = buf.find('\n')) != std::string::npos; buf.erase(0, nl + 1)) line(buf.substr(0, nl));
    }
    if (!buf.empty()) line(buf);
    std::lock_guard<std::mutex> lock(mu_);
    eof_ = true;
    cv_.notify_all();
  }
  std::string path_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  nlohmann::json latest_;
  int count_ = 0;
  bool eof_ = false;
  std::string failure_;
  std::thread thread_;
};

// ---------------------------------------------------------------- the session

// A frame between its device part and its result.
struct InFlight {
  FrameTiming timing;
  double t0 = 0, t1 = 0, t2 = 0;
  double up0 = 0, up1 = 0, edge0 = 0, edge1 = 0;  // on the sender's clock, for --trace-out
  uint64_t ticket = 0;
  bool measured = false;
  std::vector<HostTensor> inputs, device_exit;
};

class RunSession {
 public:
  explicit RunSession(const RunOptions& o) : o_(o) {}
  RunOutcome run();

 private:
  void connect(const LinkSpec& link);
  DevicePlan& plan_for(const nlohmann::json& plan, int id);
  void switch_to(DevicePlan& p);
  void start_frame(DevicePlan& p, int index, bool measured);
  void finish_oldest();
  std::vector<double> stream_frames(DevicePlan& p, int frames);
  RunMeta report_meta(const nlohmann::json& first, const LinkSpec& link, const std::vector<double>& arrivals) const;
  void record(InFlight& f, const std::vector<HostTensor>& edge_out);
  void verify();
  void trace_frame(const InFlight& f);
  std::string trace() const;
  std::string where() const { return o_.connect.empty() ? "127.0.0.1 (in-process server)" : o_.connect; }

  const RunOptions& o_;
  std::shared_ptr<ModelSplitter> model_;
  std::unique_ptr<EdgeServer> local_;
  std::thread local_thread_;
  int fd_ = -1;
  std::unique_ptr<ShapedSender> sender_;
  std::unique_ptr<Receiver> rx_;
  std::map<std::string, std::unique_ptr<DevicePlan>> plans_;
  DevicePlan* current_ = nullptr;  // the plan the server holds for this connection
  std::deque<InFlight> in_flight_;
  std::vector<FrameTiming> frames_;
  std::optional<double> max_abs_diff_;
  struct Verified {
    int plan;
    std::vector<HostTensor> inputs, outputs;
  };
  std::optional<Verified> verify_;
  std::FILE* metrics_ = nullptr;
  double delay_ms_ = 0, first_done_ = -1, last_done_ = 0;
  std::optional<double> bw_estimate_;
  std::vector<std::string> warnings_;
  std::vector<TraceSlice> slices_;  // measured stages, from the first measured frame's start
  double trace_t0_ = -1;
  double trace_free_[4] = {0, 0, 0, 0};  // each stage's end so far, in trace time

 public:
  ~RunSession() {
    rx_.reset();
    sender_.reset();
    if (fd_ >= 0) ::close(fd_);
    if (local_) {
      local_->stop();
      local_thread_.join();
    }
    if (metrics_ && metrics_ != stdout) std::fclose(metrics_);
  }
};

void RunSession::connect(const LinkSpec& link) {
  std::string host = "127.0.0.1";
  int port = 0;
  if (o_.connect.empty()) {
    ServeOptions so;
    so.model_path = o_.model_path;
    so.listen = "127.0.0.1:0";
    so.threads = o_.threads;
    so.max_frame_bytes = o_.max_frame_bytes;
    local_ = std::make_unique<EdgeServer>(so, model_);
    port = local_->port();
    local_thread_ = std::thread([this] { local_->serve(); });
  } else {
    std::tie(host, port) = parse_endpoint(o_.connect).take("--connect");
  }
  fd_ = connect_and_hello(host, port, *model_, o_.max_frame_bytes, o_.timeout_s, where());
  sender_ = std::make_unique<ShapedSender>(fd_, make_shaper(link));
  rx_ = std::make_unique<Receiver>(fd_, o_.max_frame_bytes, *sender_);
}

DevicePlan& RunSession::plan_for(const nlohmann::json& plan, int id) {
  const std::string where = o_.plan_stream.empty() ? o_.plan_path : fmt::format("{} (plan line {})", o_.plan_stream, id);
  Partition p = partition_from_plan(plan, where);
  const std::string key = plan_key(p);
  if (auto it = plans_.find(key); it != plans_.end()) {
    it->second->id = id;
    it->second->plan = plan;
    wire_from_plan(plan, where, *it->second, warnings_);
    return *it->second;
  }
  auto d = std::make_unique<DevicePlan>();
  d->id = id;
  d->key = key;
  d->plan = plan;
  wire_from_plan(plan, where, *d, warnings_);
  d->parts = model_->split(p, where);
  d->partition = std::move(p);
  if (d->parts.device_nodes > 0) d->net = std::make_unique<CvPart>(d->parts.device, model_->path() + " (device part)");
  return *plans_.emplace(key, std::move(d)).first->second;
}

void RunSession::switch_to(DevicePlan& p) {
  if (current_ == &p || !p.offloads()) return;
  while (!in_flight_.empty()) finish_oldest();
  const std::string msg = encode_frame(MsgType::Plan, nlohmann::json{{"exit", p.partition.exit}, {"V_e", p.partition.v_e}}.dump());
  sender_->wait(sender_->offer(msg));
  const Reply r = rx_->next(o_.timeout_s, where());
  if (r.type != MsgType::Ok)
    throw Error(where(), "the edge server refused the plan: " + (r.head.is_object() ? r.head.value("error", std::string("?")) : "?"));
  current_ = &p;
}

void RunSession::start_frame(DevicePlan& p, int index, bool measured) {
  if (!p.offloads())
    while (!in_flight_.empty()) finish_oldest();
  InFlight f;
  f.measured = measured;
  f.timing.index = index;
  f.timing.plan = p.id;
  DeviceKeep keep;
  f.t0 = sender_->now_ms();
  DeviceOut d = run_device_part(*model_, p, index, o_.max_frame_bytes, keep);
  f.t2 = sender_->now_ms();
  f.t1 = f.t2 - d.t_ser_ms;
  f.inputs = std::move(keep.inputs);
  f.device_exit = std::move(keep.device_exit);
  f.timing.t_d = f.t1 - f.t0;
  if (!d.offloaded) {  // nothing to send: the frame ends on the device
    f.timing.latency_ms = f.timing.t_d;
    f.timing.done_ms = f.t1;
    if (f.measured) record(f, {});
    return;
  }
  f.timing.payload_bytes = d.payload_bytes;
  f.timing.wire_bytes = d.bytes.size();
  f.timing.offloaded = true;
  f.timing.t_ser = d.t_ser_ms;
  f.ticket = sender_->offer(d.bytes);
  in_flight_.push_back(std::move(f));
  const size_t window = o_.pipeline == Pipeline::On ? static_cast<size_t>(std::max(o_.window, 1)) : 1;
  while (in_flight_.size() >= window) finish_oldest();
}

void RunSession::finish_oldest() {
  InFlight f = std::move(in_flight_.front());
  in_flight_.pop_front();
  std::vector<HostTensor> edge_out;
  double done = sender_->now_ms();
  if (f.timing.offloaded) {
    Reply r = rx_->next(o_.timeout_s, where());
    if (r.type == MsgType::Error)
      throw Error(where(), "the edge server answered: " + (r.head.is_object() ? r.head.value("error", std::string("?")) : "?"));
    if (r.type != MsgType::Result || r.head.value("frame", int64_t{-1}) != f.timing.index)
      throw Error(where(), fmt::format("expected the result of frame {}", f.timing.index));
    const SendTimes st = sender_->wait(f.ticket);
    f.timing.t_e = r.head.value("t_e_ms", 0.0);
    f.timing.t_server = r.head.value("t_server_ms", 0.0);
    f.timing.t_t = st.last_delivered_ms - st.offered_ms - delay_ms_;
    f.timing.latency_ms = st.last_delivered_ms - f.t0 + f.timing.t_server;
    f.timing.t_down = r.at_ms - st.last_delivered_ms - f.timing.t_server;
    f.timing.t_late = st.last_delivered_ms - st.last_scheduled_ms;
    f.up0 = st.offered_ms;
    f.up1 = st.last_delivered_ms - delay_ms_;
    f.edge1 = st.last_delivered_ms + f.timing.t_server;  // the edge's interval placed on the sender's clock
    f.edge0 = f.edge1 - f.timing.t_e;
    done = r.at_ms;
    edge_out = std::move(r.tensors);
    if (f.timing.t_t > 0.05) bw_estimate_ = static_cast<double>(f.timing.wire_bytes) * 8.0 / (f.timing.t_t * 1000.0);
  }
  f.timing.done_ms = done;
  if (!f.measured) return;
  record(f, edge_out);
}

void RunSession::record(InFlight& f, const std::vector<HostTensor>& edge_out) {
  if (first_done_ < 0) first_done_ = f.timing.done_ms;
  last_done_ = f.timing.done_ms;
  frames_.push_back(f.timing);
  trace_frame(f);
  if (metrics_) {
    std::fputs((metrics_line(f.timing, f.timing.done_ms / 1000.0, bw_estimate_, delay_ms_) + "\n").c_str(), metrics_);
    std::fflush(metrics_);
  }
  if (o_.progress == RunProgress::Line)
    fmt::print(stderr, "\rdapdee-run: frame {} latency {:.1f} ms (t_d {:.1f}, t_t {:.1f}, t_e {:.1f})   ", frames_.size(),
               f.timing.latency_ms, f.timing.t_d, f.timing.t_t, f.timing.t_e);
  if (o_.verify == Verify::On && !verify_) {
    verify_ = Verified{f.timing.plan, f.inputs, f.device_exit};
    for (const auto& t : edge_out) verify_->outputs.push_back(t);
  }
}

void RunSession::trace_frame(const InFlight& f) {
  if (o_.trace_out.empty()) return;
  if (trace_t0_ < 0) trace_t0_ = f.t0;
  const int k = static_cast<int>(frames_.size()) - 1;
  // A stage starts when its resource is free: the FIFO link sends a frame after the previous one,
  // and the edge's interval (measured on its clock, placed after the last byte) never overlaps.
  // A slice that must wait is shifted with its measured duration, never cut (cutting could leave
  // a zero-length slice, which the trace leaves out: a pipelined frame without its edge stage).
  auto add = [&](const char* name, int tid, double start, double end) {
    const double dur = std::max(end - start, 0.0);
    start = std::max(start - trace_t0_, trace_free_[tid - 1]);
    slices_.push_back({name, tid, start, dur, k});
    trace_free_[tid - 1] = start + dur;
  };
  add("device", 1, f.t0, f.t1);
  if (!f.timing.offloaded) return;
  add("uplink", 2, f.up0, f.up1);
  add("edge", 3, f.edge0, f.edge1);
  add("downlink", 4, f.edge1, f.timing.done_ms);
}

// The measured frames as the trace dapdee-plan --format trace draws from a plan (same writer).
std::string RunSession::trace() const {
  const RunSummary s = summarize_run(frames_, last_done_ - first_done_);
  const std::string other = fmt::format(R"x("model":{},"source":"dapdee-run (measured)","mode":"{}","frames":{},)x"
                                        R"("T_d":{},"T_t":{},"T_e":{},"latency_ms":{},"T_down":{})",
                                        json_quote(model_->dag().model), o_.pipeline == Pipeline::On ? "pipeline" : "sequential",
                                        frames_.size(), s.T_d, s.T_t, s.T_e, s.latency_ms, s.t_down);
  return trace_json(other, "DAPDEE run (measured)", slices_, true);
}

void RunSession::verify() {
  // The halves against the whole model on the first measured frame's input (after the run).
  if (!verify_) return;
  const Exit* exit = nullptr;
  for (auto& [k, p] : plans_)
    if (p->id == verify_->plan) exit = model_->exit(p->partition.exit);
  if (!exit) return;
  const std::vector<std::string> outs = exit->outputs.empty() ? std::vector<std::string>{exit->name} : exit->outputs;
  CvPart whole(model_->model().SerializeAsString(), model_->path() + " (whole)");
  const auto expected = whole.run(verify_->inputs, outs);
  double worst = 0;
  for (size_t k = 0; k < outs.size(); ++k) {
    const HostTensor* got = nullptr;
    for (const auto& t : verify_->outputs) got = t.name == outs[k] ? &t : got;
    worst = std::max(worst, got ? max_abs_diff(*got, expected[k]) : INFINITY);
  }
  max_abs_diff_ = worst;
}

// "; at F fps (arrivals): mean M ms, p95 P (predicted ...)" for a stream run's summary line.
std::string stream_summary(const StreamMeta& m, const std::vector<FrameTiming>& frames) {
  const StreamSummary s = summarize_stream(frames, m.schedule_end_ms);
  const std::string predicted =
      m.stable ? fmt::format("predicted mean {:.2f}, p95 {:.2f}", m.predicted_mean_ms, m.predicted_p95_ms)
               : std::string("predicted unstable");
  return fmt::format("; at {} fps ({}): mean {:.2f} ms, p95 {:.2f}, achieved {:.2f} fps, {} queued at the end ({})",
                     m.fps, m.arrivals, s.mean, s.p95, s.achieved_fps, s.queued_at_end, predicted);
}

// --fps: the measured frames released on the arrival schedule (open loop); returns the schedule.
std::vector<double> RunSession::stream_frames(DevicePlan& p, int frames) {
  std::vector<double> arrivals = arrival_times(*o_.fps, o_.arrivals, frames, o_.seed);
  DeviceKeep first;
  const DeviceStage device = [&](int i) {
    DeviceKeep keep;
    DeviceOut d = run_device_part(*model_, p, i, o_.max_frame_bytes, keep);
    if (i == 0 && o_.verify == Verify::On) verify_ = Verified{p.id, keep.inputs, keep.device_exit};
    return d;
  };
  const ReplyCheck check = [&](int i, std::vector<HostTensor>& tensors) {
    if (i == 0 && verify_)
      for (const auto& t : tensors) verify_->outputs.push_back(t);
  };
  frames_ = run_open_loop(arrivals, device, StreamLink{sender_.get(), rx_.get(), delay_ms_, o_.timeout_s, where()}, 0,
                          p.id, check);
  for (const auto& f : frames_) {
    first_done_ = first_done_ < 0 ? f.done_ms : std::min(first_done_, f.done_ms);
    last_done_ = std::max(last_done_, f.done_ms);
  }
  return arrivals;
}

// The report's figures besides the frames: what ran, on which link, and the prediction.
RunMeta RunSession::report_meta(const nlohmann::json& first, const LinkSpec& link,
                                const std::vector<double>& arrivals) const {
  RunMeta meta;
  meta.model = model_->dag().model;
  meta.digest = model_->digest();
  meta.mode = o_.fps ? "stream" : o_.pipeline == Pipeline::On ? "pipeline" : "sequential";
  meta.plan = first;
  meta.link = link.describe();
  {  // what the first plan's tensors were sent as (dapdee/tensor_wire.hpp)
    DevicePlan w;
    std::vector<std::string> ignored;
    wire_from_plan(first, o_.plan_path, w, ignored);
    if (w.input_encoding != WireEncoding::Float32 ||
        w.tensor_encoding != WireEncoding::Float32) {  // default: as before
      meta.link["sent_input_as"] = encoding_name(w.input_encoding);
      meta.link["sent_tensors_as"] = encoding_name(w.tensor_encoding);
    }
  }
  meta.threads = o_.threads;
  meta.warmup = o_.warmup;
  meta.elapsed_ms = last_done_ - first_done_;
  meta.max_abs_diff = max_abs_diff_;
  std::set<int> used;
  for (const auto& f : frames_) used.insert(f.plan);
  meta.plans_used = static_cast<int>(used.size());
  if (used.size() <= 1) {
    const DevicePlan& only = *plans_.begin()->second;
    meta.predicted = predict(only.plan, link, only.offloads());
  }
  if (o_.fps && meta.predicted) {
    meta.stream = predict_stream(*meta.predicted, plans_.begin()->second->offloads(), *o_.fps, o_.arrivals, 1, o_.seed);
    meta.stream->schedule_end_ms = arrivals.empty() ? 0 : arrivals.back();
  }
  return meta;
}

RunOutcome RunSession::run() {
  set_engine_threads(o_.threads);
  model_ = std::make_shared<ModelSplitter>(o_.model_path, Weights::Refill);
  if (model_->refilled() > 0)
    warnings_.push_back(fmt::format("{} weight tensors were absent and refilled with synthetic values", model_->refilled()));
  std::unique_ptr<PlanFeed> feed;
  nlohmann::json first;
  if (!o_.plan_stream.empty()) {
    feed = std::make_unique<PlanFeed>(o_.plan_stream);
    const auto l = feed->latest();
    if (!l) throw Error(o_.plan_stream, "the plan stream ended before its first plan");
    first = l->second;
  } else {
    first = read_single_plan(o_.plan_path);
  }
  if (!o_.metrics_out.empty()) {
    metrics_ = o_.metrics_out == "-" ? stdout : std::fopen(o_.metrics_out.c_str(), "w");
    if (!metrics_) throw Error(o_.metrics_out, std::string("cannot open: ") + std::strerror(errno));
  }
  partition_from_plan(first, o_.plan_stream.empty() ? o_.plan_path : o_.plan_stream);  // names a missing field first
  const LinkSpec link = link_for(o_.link, first);
  delay_ms_ = link.delay_ms;
  connect(link);
  const int frames = o_.frames ? *o_.frames : (feed ? 1 << 30 : 20);
  int plan_id = 1;
  DevicePlan* p = &plan_for(first, plan_id);
  const int closed_loop = o_.fps ? o_.warmup : o_.warmup + frames;  // --fps: the warm-up only
  for (int i = 0; i < closed_loop; ++i) {
    if (feed) {
      if (i > 0 && feed->ended() && !o_.frames) break;
      const auto l = feed->latest();
      if (l && l->first != plan_id) p = &plan_for(l->second, plan_id = l->first);
    }
    switch_to(*p);
    start_frame(*p, i, i >= o_.warmup);
  }
  while (!in_flight_.empty()) finish_oldest();
  std::vector<double> arrivals;
  if (o_.fps) {
    switch_to(*p);
    arrivals = stream_frames(*p, frames);
  }
  if (o_.progress == RunProgress::Line) fmt::print(stderr, "\n");
  verify();

  const RunMeta meta = report_meta(first, link, arrivals);
  RunOutcome out;
  out.report_json = render_run_report(meta, frames_);
  out.warnings = warnings_;
  if (!o_.trace_out.empty()) out.trace_json = trace();
  const RunSummary s = summarize_run(frames_, meta.elapsed_ms);
  out.summary = fmt::format("{} frames: latency {:.2f} ms (T_d {:.2f}, T_t {:.2f}, T_e {:.2f}){}", frames_.size(), s.latency_ms,
                            s.T_d, s.T_t, s.T_e,
                            meta.predicted ? fmt::format("; predicted {:.2f} ms (T_d {:.2f}, T_t {:.2f}, T_e {:.2f})",
                                                         meta.predicted->latency_ms, meta.predicted->T_d,
                                                         meta.predicted->T_t, meta.predicted->T_e)
                                           : std::string());
  if (meta.stream) out.summary += stream_summary(*meta.stream, frames_);
  if (o_.pipeline == Pipeline::On && meta.predicted && meta.predicted->T_max > 0)
    out.summary += fmt::format("; throughput {:.2f} fps (predicted {:.2f})", s.throughput_fps, 1000.0 / meta.predicted->T_max);
  return out;
}

}  // namespace

RunOutcome run_plan(const RunOptions& options) {
  RunSession s(options);
  return s.run();
}

}  // namespace dapdee
