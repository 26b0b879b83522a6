#include "dapdee/run/load_gen.hpp"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

#include "dapdee/protocol/run_report.hpp"
#include "dapdee/run/client_parts.hpp"
#include "dapdee/run/edge_server.hpp"
#include "dapdee/run/open_loop.hpp"
#include "dapdee/run/split_check.hpp"
#include "dapdee/support/stats.hpp"

namespace dapdee {

using namespace client;  // NOLINT(google-build-using-namespace)

namespace {

// The device part, computed once: its bytes, its measured time and the whole model's answer.
struct Recorded {
  std::string tensor_frames;  // the Tensor frames (a frame header is prepended per frame)
  size_t tensors = 0;
  uint64_t payload_bytes = 0;
  double t_d_ms = 0;  // median of the warm-up runs
  bool offloaded = true;
  DeviceKeep keep;
};

Recorded record_device(const ModelSplitter& m, const DevicePlan& p, const LoadOptions& o) {
  Recorded r;
  std::vector<double> t;
  DeviceOut d;
  for (int i = 0; i < std::max(o.warmup, 1); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    d = run_device_part(m, p, 0, o.max_frame_bytes, r.keep);
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() - d.t_ser_ms);
  }
  r.t_d_ms = summarize(t).median;
  r.offloaded = d.offloaded;
  r.payload_bytes = d.payload_bytes;
  const std::string header = frame_bytes(0, 0, "", o.max_frame_bytes);  // the frame header of frame 0, to strip
  r.tensor_frames = d.bytes.substr(std::min(d.bytes.size(), header.size()));
  r.tensors = p.parts.sent.size();
  return r;
}

// The first result of any client is the reference; every later one must equal it.
class ResultCheck {
 public:
  void check(std::vector<HostTensor>& tensors) {
    std::lock_guard<std::mutex> lock(mu_);
    ++results_;
    if (!first_) {
      first_ = tensors;
      return;
    }
    bool same = first_->size() == tensors.size();
    for (size_t k = 0; same && k < tensors.size(); ++k)
      same = (*first_)[k].name == tensors[k].name && (*first_)[k].dims == tensors[k].dims &&
             (*first_)[k].data == tensors[k].data;
    if (!same) ++wrong_;
  }
  uint64_t results() const { return results_; }
  uint64_t wrong() const { return wrong_; }
  const std::optional<std::vector<HostTensor>>& first() const { return first_; }

 private:
  std::mutex mu_;
  std::optional<std::vector<HostTensor>> first_;
  uint64_t results_ = 0, wrong_ = 0;
};

// One emulated device: its connection, its uplink, its schedule.
std::vector<FrameTiming> run_client(int c, const ModelSplitter& m, const DevicePlan& p, const Recorded& rec,
                                    const LinkSpec& link, const std::pair<std::string, int>& server,
                                    const LoadOptions& o, ResultCheck& results) {
  const std::string where = fmt::format("{}:{} (client {})", server.first, server.second, c);
  const int fd = connect_and_hello(server.first, server.second, m, o.max_frame_bytes, o.timeout_s, where);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  ShapedSender sender(fd, make_shaper(link));
  Receiver rx(fd, o.max_frame_bytes, sender);
  if (p.offloads()) {  // the plan, as dapdee-run sends it
    sender.wait(sender.offer(
        encode_frame(MsgType::Plan, nlohmann::json{{"exit", p.partition.exit}, {"V_e", p.partition.v_e}}.dump())));
    const Reply r = rx.next(o.timeout_s, where);
    if (r.type != MsgType::Ok)
      throw Error(where, "the edge server refused the plan: " +
                             (r.head.is_object() ? r.head.value("error", std::string("?")) : "?"));
  }
  const double period = 1000.0 / o.fps;
  const auto arrivals = arrival_times(o.fps, o.arrivals, o.frames, o.seed + static_cast<uint64_t>(c),
                                      o.arrivals == Arrivals::Periodic ? period * c / o.clients : 0.0);
  const DeviceStage device = [&](int i) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double, std::milli>(rec.t_d_ms);
    DeviceOut d;
    d.offloaded = rec.offloaded;
    d.payload_bytes = rec.payload_bytes;
    if (rec.offloaded) d.bytes = frame_bytes(i, rec.tensors, rec.tensor_frames, o.max_frame_bytes);
    std::this_thread::sleep_until(until);  // the device is busy for its measured T_d
    return d;
  };
  const ReplyCheck check = [&](int, std::vector<HostTensor>& t) { results.check(t); };
  return run_open_loop(arrivals, device, StreamLink{&sender, &rx, link.delay_ms, o.timeout_s, where}, c, 1, check);
}

}  // namespace

namespace {

// The model, the plan's device side, the link and the recorded device part: what every client shares.
// clang-tidy 14 sees nlohmann::json's noexcept destructor allocate (it flattens nested values into
// a std::vector): library code, and nothing of ours throws there.
// NOLINTNEXTLINE(bugprone-exception-escape)
struct Shared {
  std::shared_ptr<ModelSplitter> model;
  nlohmann::json plan;
  DevicePlan p;
  LinkSpec link;
  Recorded rec;
};

void prepare(const LoadOptions& o, Shared& sh, std::vector<std::string>& warnings) {
  set_engine_threads(o.threads);
  sh.model = std::make_shared<ModelSplitter>(o.model_path, Weights::Refill);
  sh.plan = read_single_plan(o.plan_path);
  DevicePlan& p = sh.p;
  p.plan = sh.plan;
  p.partition = partition_from_plan(sh.plan, o.plan_path);
  wire_from_plan(sh.plan, o.plan_path, p, warnings);
  p.parts = sh.model->split(p.partition, o.plan_path);
  if (p.parts.device_nodes > 0) p.net = std::make_unique<CvPart>(p.parts.device, sh.model->path() + " (device part)");
  sh.link = link_for(o.link, sh.plan);
  sh.rec = record_device(*sh.model, p, o);
}

// An edge server on 127.0.0.1 for the load (no --connect), stopped when this goes.
class LocalServer {
 public:
  LocalServer(const LoadOptions& o, const std::shared_ptr<ModelSplitter>& model) {
    ServeOptions so;
    so.model_path = o.model_path;
    so.listen = "127.0.0.1:0";
    so.threads = o.threads;
    so.max_clients = o.clients;
    so.max_frame_bytes = o.max_frame_bytes;
    server_ = std::make_unique<EdgeServer>(so, model);
    thread_ = std::thread([this] { server_->serve(); });
  }
  ~LocalServer() {
    server_->stop();
    thread_.join();
  }
  LocalServer(const LocalServer&) = delete;
  LocalServer& operator=(const LocalServer&) = delete;
  int port() const { return server_->port(); }

 private:
  std::unique_ptr<EdgeServer> server_;
  std::thread thread_;
};

// Every client on its own thread; their frames in client order. Rethrows the first failure.
std::vector<FrameTiming> run_clients(const LoadOptions& o, const Shared& sh, const std::pair<std::string, int>& server,
                                     ResultCheck& results) {
  std::vector<std::vector<FrameTiming>> per(static_cast<size_t>(o.clients));
  std::vector<std::exception_ptr> failures(static_cast<size_t>(o.clients));
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(o.clients));
  for (int c = 0; c < o.clients; ++c)
    threads.emplace_back([&, c] {
      try {
        per[static_cast<size_t>(c)] = run_client(c, *sh.model, sh.p, sh.rec, sh.link, server, o, results);
      } catch (...) {
        failures[static_cast<size_t>(c)] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  for (const auto& f : failures)
    if (f) std::rethrow_exception(f);
  std::vector<FrameTiming> frames;
  for (auto& v : per) frames.insert(frames.end(), v.begin(), v.end());
  return frames;
}

// The first result against the whole model on the recorded input; nullopt without a result.
std::optional<double> check_whole(const Shared& sh, const ResultCheck& results) {
  if (!results.first() || sh.rec.keep.inputs.empty()) return std::nullopt;
  const Exit* exit = sh.model->exit(sh.p.partition.exit);
  const std::vector<std::string> outs =
      exit && !exit->outputs.empty() ? exit->outputs : std::vector<std::string>{sh.p.partition.exit};
  CvPart whole(sh.model->model().SerializeAsString(), sh.model->path() + " (whole)");
  const auto expected = whole.run(sh.rec.keep.inputs, outs);
  double worst = 0;
  for (size_t k = 0; k < outs.size() && k < results.first()->size(); ++k)
    worst = std::max(worst, max_abs_diff((*results.first())[k], expected[k]));
  return worst;
}

RunMeta load_meta(const LoadOptions& o, const Shared& sh, const std::vector<FrameTiming>& frames) {
  RunMeta meta;
  meta.model = sh.model->dag().model;
  meta.digest = sh.model->digest();
  meta.mode = "load";
  meta.plan = sh.plan;
  meta.link = sh.link.describe();
  meta.link["per_client"] = true;
  meta.threads = o.threads;
  meta.warmup = o.warmup;
  Prediction pred = predict(sh.plan, sh.link, sh.p.offloads());
  pred.note +=
      fmt::format("; T_d replayed: the device part measured once here ({:.3f} ms) and slept per frame", sh.rec.t_d_ms);
  meta.predicted = pred;
  meta.stream = predict_stream(pred, sh.p.offloads(), o.fps, o.arrivals, o.clients, o.seed);
  for (const auto& f : frames) meta.stream->schedule_end_ms = std::max(meta.stream->schedule_end_ms, f.t_arrive);
  return meta;
}

}  // namespace

LoadOutcome run_load(const LoadOptions& o) {
  LoadOutcome out;
  Shared sh;
  prepare(o, sh, out.warnings);
  std::optional<LocalServer> local;
  std::pair<std::string, int> server;
  if (o.connect.empty()) {
    local.emplace(o, sh.model);
    server = {"127.0.0.1", local->port()};
  } else {
    server = parse_endpoint(o.connect).take("--connect");
  }
  ResultCheck results;
  const std::vector<FrameTiming> frames = run_clients(o, sh, server, results);
  RunMeta meta = load_meta(o, sh, frames);
  meta.max_abs_diff = check_whole(sh, results);
  out.results = results.results();
  out.wrong = results.wrong();
  nlohmann::ordered_json report = nlohmann::ordered_json::parse(render_run_report(meta, frames));
  const auto offloaded = static_cast<uint64_t>(
      std::count_if(frames.begin(), frames.end(), [](const FrameTiming& f) { return f.offloaded; }));
  report["integrity"] = {{"frames", frames.size()},
                         {"offloaded", offloaded},
                         {"results", out.results},
                         {"wrong", out.wrong},
                         {"lost", offloaded - std::min(offloaded, out.results)},
                         {"rule", "every result must equal the first one bit for bit (same input, same edge part)"}};
  out.report_json = report.dump(1) + "\n";
  const StreamSummary s = summarize_stream(frames, meta.stream->schedule_end_ms);
  out.summary =
      fmt::format("{} clients x {} frames at {} fps ({}): mean {:.2f} ms, p95 {:.2f}, p99 {:.2f}, {} wrong; {}",
                  o.clients, o.frames, o.fps, arrivals_name(o.arrivals), s.mean, s.p95, s.p99, out.wrong,
                  meta.stream->stable ? fmt::format("predicted mean {:.2f}, p95 {:.2f}", meta.stream->predicted_mean_ms,
                                                    meta.stream->predicted_p95_ms)
                                      : std::string("predicted unstable"));
  return out;
}

}  // namespace dapdee
