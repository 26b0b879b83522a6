#include "dapdee/run/edge_server.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <future>
#include <list>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_map>

#include "dapdee/run/cv_engine.hpp"
#include "dapdee/split/split.hpp"

namespace dapdee {

namespace {

using Clock = std::chrono::steady_clock;
double ms_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

// One plan's edge part, built once and shared by every connection that names it.
struct EdgeEntry {
  Partition partition;
  SplitParts parts;
  std::unordered_map<std::string, std::vector<int64_t>> input_dims;
  std::unique_ptr<CvPart> net;
  std::mutex run_mu;  // OpenCV's Net is not reentrant
};

// One connection's outgoing side, shared by its reader, the worker and its writer thread.
struct Outbox {
  int fd = -1;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<std::string, bool>> queue;  // bytes, and whether they answer a frame
  size_t bytes = 0;
  int queued = 0;            // frames accepted and not yet answered on the wire
  bool reader_done = false;  // no more replies will be added by the reader
  bool broken = false;       // a write failed, or the outbox overflowed: the connection is over
};

// A frame whose tensors have all arrived, waiting for the edge in the FIFO queue.
struct Job {
  std::shared_ptr<Outbox> out;
  std::shared_ptr<EdgeEntry> plan;
  int64_t frame = 0;
  std::vector<HostTensor> inputs;
  Clock::time_point last_tensor;
};

}  // namespace

struct EdgeServer::Impl {
  ServeOptions opt;
  std::shared_ptr<const ModelSplitter> model;
  std::string model_dir;
  int listen_fd = -1, port = 0;
  std::atomic<bool> stopping{false};
  struct Conn {
    std::shared_ptr<Outbox> out;
    std::atomic<int> finished{0};  // threads ended: the connection is reaped at 2
    std::atomic<bool> done{false};
    std::thread reader, writer;
  };
  std::mutex conn_mu;
  std::list<Conn> conns;
  std::mutex cache_mu;
  std::map<std::string, std::shared_ptr<EdgeEntry>> cache;
  std::deque<std::string> cache_order;
  std::map<std::string, std::shared_future<std::shared_ptr<EdgeEntry>>> building;
  std::mutex queue_mu;
  std::condition_variable queue_cv;
  std::deque<Job> queue;
  std::thread worker;
  std::atomic<uint64_t> connections{0}, frames{0}, errors{0}, plans_built{0}, refused{0}, timed_out{0}, max_queue{0},
      throttled{0};

  std::shared_ptr<EdgeEntry> plan(const std::string& exit, std::vector<std::string> v_e);
  std::shared_ptr<EdgeEntry> build(const std::string& exit, const std::vector<std::string>& v_e);
  void handle(const std::shared_ptr<Outbox>& out);
  void write_loop(Outbox& out) const;
  void enqueue(Job job);
  void work();
  void compute(Job& job);
  void reap(bool all);
};

std::shared_ptr<EdgeEntry> EdgeServer::Impl::build(const std::string& exit, const std::vector<std::string>& v_e) {
  auto e = std::make_shared<EdgeEntry>();
  e->partition = model->complete(exit, v_e, "plan");
  if (e->partition.v_e.empty()) throw Error("plan", "the plan runs nothing on the edge");
  e->parts = model->split(e->partition, "plan");
  for (const auto& t : e->parts.sent) {
    const TensorInfo* info = model->tensor(t);
    e->input_dims[t] = info ? info->shape : std::vector<int64_t>{};
  }
  e->net = std::make_unique<CvPart>(e->parts.edge, model->path() + " (edge part)", model_dir);
  ++plans_built;
  return e;
}

// A cache miss builds outside the lock, so other clients' plans are not delayed by it; clients
// asking for a plan being built wait for that one build.
std::shared_ptr<EdgeEntry> EdgeServer::Impl::plan(const std::string& exit, std::vector<std::string> v_e) {
  std::sort(v_e.begin(), v_e.end());
  std::string key = exit;
  for (const auto& n : v_e) key += "\n" + n;
  std::promise<std::shared_ptr<EdgeEntry>> promise;
  {
    std::unique_lock<std::mutex> lock(cache_mu);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
    if (auto it = building.find(key); it != building.end()) {
      auto pending = it->second;
      lock.unlock();
      return pending.get();  // rethrows the builder's Error
    }
    building.emplace(key, promise.get_future().share());
  }
  std::shared_ptr<EdgeEntry> e;
  try {
    e = build(exit, v_e);
  } catch (...) {
    std::lock_guard<std::mutex> lock(cache_mu);
    promise.set_exception(std::current_exception());
    building.erase(key);
    throw;
  }
  std::lock_guard<std::mutex> lock(cache_mu);
  promise.set_value(e);
  building.erase(key);
  cache[key] = e;
  cache_order.push_back(key);
  while (static_cast<int>(cache_order.size()) > std::max(opt.max_cached_plans, 1)) {
    cache.erase(cache_order.front());  // connections using it keep their shared_ptr
    cache_order.pop_front();
  }
  return e;
}

void EdgeServer::Impl::enqueue(Job job) {
  std::lock_guard<std::mutex> lock(queue_mu);
  queue.push_back(std::move(job));
  max_queue = std::max<uint64_t>(max_queue, queue.size());
  queue_cv.notify_one();
}

// The edge: one server, FIFO over every client's complete frames.
void EdgeServer::Impl::work() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(queue_mu);
      queue_cv.wait(lock, [&] { return stopping || !queue.empty(); });
      if (stopping) return;
      job = std::move(queue.front());
      queue.pop_front();
    }
    compute(job);
  }
}

namespace {

// Adds bytes to a connection's outbox; an outbox past its bound marks the connection broken.
void post(Outbox& out, std::string bytes, bool answers_frame, size_t cap) {
  std::lock_guard<std::mutex> lock(out.mu);
  if (out.broken) return;
  out.bytes += bytes.size();
  out.queue.emplace_back(std::move(bytes), answers_frame);
  if (out.bytes > cap) {  // a client that does not read its replies is not buffered without end
    out.broken = true;
    ::shutdown(out.fd, SHUT_RDWR);
  }
  out.cv.notify_all();
}

}  // namespace

void EdgeServer::Impl::compute(Job& job) {
  {
    std::lock_guard<std::mutex> lock(job.out->mu);
    if (job.out->broken) return;
  }
  const Clock::time_point start = Clock::now();
  std::vector<HostTensor> outs;
  std::string reply;
  try {
    std::lock_guard<std::mutex> lock(job.plan->run_mu);
    outs = job.plan->net->run(job.inputs, job.plan->parts.edge_exit);
  } catch (const Error& e) {
    ++errors;
    reply =
        encode_frame(MsgType::Error,
                     nlohmann::json{{"error", fmt::format("frame {}: the edge part failed: {}", job.frame, e.what())},
                                    {"frame", job.frame}}
                         .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return post(*job.out, std::move(reply), true, opt.max_frame_bytes);
  }
  const Clock::time_point end = Clock::now();
  ++frames;
  reply = encode_frame(MsgType::Result, nlohmann::json{{"frame", job.frame},
                                                       {"t_e_ms", ms_between(start, end)},
                                                       {"t_queue_ms", ms_between(job.last_tensor, start)},
                                                       {"t_server_ms", ms_between(job.last_tensor, Clock::now())},
                                                       {"tensors", outs.size()}}
                                            .dump());
  for (const auto& o : outs) reply += encode_frame(MsgType::Tensor, encode_tensor(o), opt.max_frame_bytes);
  post(*job.out, std::move(reply), true, static_cast<size_t>(opt.max_queued_frames + 1) * opt.max_frame_bytes);
}

// Writes a connection's replies in order until its reader is done and nothing is left.
void EdgeServer::Impl::write_loop(Outbox& out) const {
  std::unique_lock<std::mutex> lock(out.mu);
  for (;;) {
    out.cv.wait(lock, [&] { return out.broken || !out.queue.empty() || (out.reader_done && out.queued == 0); });
    if (out.broken || out.queue.empty()) return;
    auto [bytes, answers] = std::move(out.queue.front());
    out.queue.pop_front();
    out.bytes -= bytes.size();
    lock.unlock();
    const bool ok = write_all(out.fd, bytes.data(), bytes.size());
    lock.lock();
    if (answers) --out.queued;
    if (!ok) {
      out.broken = true;
      ::shutdown(out.fd, SHUT_RDWR);
    }
    out.cv.notify_all();
  }
}

namespace {

// One connection's reading side and its handlers, dispatched by frame type.
class Session {
 public:
  Session(std::shared_ptr<Outbox> out, EdgeServer::Impl& server) : out_(std::move(out)), fd_(out_->fd), s_(server) {}
  void run();

 private:
  void send(MsgType t, const std::string& payload) {
    post(*out_, encode_frame(t, payload, s_.opt.max_frame_bytes), false, s_.opt.max_frame_bytes);
  }
  void error(const std::string& what) {
    ++s_.errors;
    // Client-given names may be invalid UTF-8: replaced, so the reply itself cannot throw.
    send(MsgType::Error, nlohmann::json{{"error", what}, {"frame", frame_}}.dump(-1, ' ', false,
                                                                              nlohmann::json::error_handler_t::replace));
  }
  void on_hello(const std::string& payload);
  void on_plan(const std::string& payload);
  void on_frame(const std::string& payload);
  void on_tensor(const std::string& payload);
  void submit();
  bool wait_for_room();
  std::string overdue(Clock::time_point now) const;

  std::shared_ptr<Outbox> out_;
  int fd_;
  EdgeServer::Impl& s_;
  bool hello_ = false;
  std::shared_ptr<EdgeEntry> plan_;
  int64_t frame_ = -1;
  int expected_ = 0, received_ = 0;
  bool frame_bad_ = false;
  std::vector<HostTensor> pending_;
  Clock::time_point opened_ = Clock::now(), frame_start_, last_seen_ = Clock::now();
};
// A string member of a client's JSON object, or `fallback` when absent or of another type.
std::string string_member(const nlohmann::json& j, const char* key, const std::string& fallback) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

void Session::on_hello(const std::string& payload) {
  const auto j = nlohmann::json::parse(payload, nullptr, false);
  if (!j.is_object() || string_member(j, "protocol", "") != kRunProtocol)
    return error(fmt::format("not a {} hello", kRunProtocol));
  const std::string digest = string_member(j, "digest", "");
  if (digest != s_.model->digest())
    return error(fmt::format("model digest mismatch: the server holds '{}' ({}), the client '{}' ({}); both sides "
                             "must load the same model file",
                             s_.model->dag().model, s_.model->digest(), string_member(j, "model", "?"), digest));
  hello_ = true;
  send(MsgType::Ok, nlohmann::json{{"model", s_.model->dag().model}, {"digest", s_.model->digest()},
                                   {"max_frame_bytes", s_.opt.max_frame_bytes}}.dump());
}

void Session::on_plan(const std::string& payload) {
  if (!hello_) return error("a plan before the hello");
  const auto j = nlohmann::json::parse(payload, nullptr, false);
  if (!j.is_object() || !j.contains("exit") || !j["exit"].is_string() || !j.contains("V_e") || !j["V_e"].is_array())
    return error("a plan frame needs 'exit' (string) and 'V_e' (array of node names)");
  std::vector<std::string> v_e;
  for (const auto& n : j["V_e"]) {
    if (!n.is_string()) return error("'V_e' must hold node names");
    v_e.push_back(n.get<std::string>());
  }
  try {
    plan_ = s_.plan(j["exit"].get<std::string>(), v_e);
  } catch (const Error& e) {
    plan_.reset();
    return error(std::string("cannot build the edge part: ") + e.what());
  }
  send(MsgType::Ok, nlohmann::json{{"inputs", plan_->parts.sent}, {"outputs", plan_->parts.edge_exit},
                                   {"edge_nodes", plan_->parts.edge_nodes}}.dump());
}

void Session::on_frame(const std::string& payload) {
  if (!plan_) return error("a frame before an accepted plan");
  const auto j = nlohmann::json::parse(payload, nullptr, false);
  if (!j.is_object() || !j.contains("frame") || !j["frame"].is_number_integer() || !j.contains("tensors") ||
      !j["tensors"].is_number_integer())
    return error("a frame header needs 'frame' and 'tensors' (integers)");
  if (expected_ > received_ && !frame_bad_) error(fmt::format("frame {} ended after {} of {} tensors", frame_, received_, expected_));
  const int64_t tensors = j["tensors"].get<int64_t>();
  if (tensors < 0 || tensors > (1 << 20)) return error(fmt::format("a frame of {} tensors", tensors));
  frame_ = j["frame"].get<int64_t>();
  expected_ = static_cast<int>(tensors);
  received_ = 0;
  frame_bad_ = false;
  frame_start_ = Clock::now();
  pending_.clear();
  if (expected_ != static_cast<int>(plan_->parts.sent.size())) {
    frame_bad_ = true;
    error(fmt::format("frame {} announces {} tensors; the plan's edge part reads {}", frame_, expected_, plan_->parts.sent.size()));
  }
}

void Session::on_tensor(const std::string& payload) {
  if (received_ >= expected_) return error("a tensor outside a frame");
  ++received_;
  if (frame_bad_) return;  // the frame was already answered with an error: skip its tensors
  auto t = decode_tensor(payload);
  auto fail = [&](const std::string& what) {
    frame_bad_ = true;
    pending_.clear();
    error(what);
  };
  if (!t.ok()) return fail(fmt::format("frame {}: {}", frame_, t.message()));
  HostTensor v = std::move(t).value();
  const auto want = plan_->input_dims.find(v.name);
  if (want == plan_->input_dims.end()) return fail(fmt::format("frame {}: tensor '{}' is not an input of the edge part", frame_, v.name));
  if (!want->second.empty() && want->second != v.dims)
    return fail(fmt::format("frame {}: tensor '{}' has dims {}, the edge part expects {}", frame_, v.name,
                            nlohmann::json(v.dims).dump(), nlohmann::json(want->second).dump()));
  for (const auto& p : pending_)
    if (p.name == v.name) return fail(fmt::format("frame {}: tensor '{}' sent twice", frame_, v.name));
  pending_.push_back(std::move(v));
  if (received_ == expected_) submit();
}

// A complete frame joins the edge's FIFO queue; its reply is counted until written.
void Session::submit() {
  {
    std::lock_guard<std::mutex> lock(out_->mu);
    ++out_->queued;
  }
  s_.enqueue(Job{out_, plan_, frame_, std::move(pending_), Clock::now()});
  pending_.clear();
}

// Waits while this client has --max-queued-frames unanswered (its socket then fills and TCP
// slows the client); false when the connection or the server ends meanwhile.
bool Session::wait_for_room() {
  std::unique_lock<std::mutex> lock(out_->mu);
  if (out_->queued < s_.opt.max_queued_frames) return !out_->broken;
  ++s_.throttled;
  while (!out_->broken && !s_.stopping && out_->queued >= s_.opt.max_queued_frames)
    out_->cv.wait_for(lock, std::chrono::milliseconds(200));
  return !out_->broken && !s_.stopping;
}

// Why the connection must end now (no hello, a frame too slow, idle), or "".
std::string Session::overdue(Clock::time_point now) const {
  const double frame_s = s_.opt.frame_timeout_s;
  if (!hello_ && ms_between(opened_, now) > frame_s * 1000.0) return fmt::format("no hello within {} s", frame_s);
  if (received_ < expected_ && ms_between(frame_start_, now) > frame_s * 1000.0)
    return fmt::format("frame {} did not arrive whole within {} s (--frame-timeout)", frame_, frame_s);
  if (ms_between(last_seen_, now) > s_.opt.idle_timeout_s * 1000.0)
    return fmt::format("idle for {} s (--idle-timeout)", s_.opt.idle_timeout_s);
  return "";
}

void Session::run() {
  const std::map<MsgType, std::function<void(const std::string&)>> handlers = {
      {MsgType::Hello, [this](const std::string& p) { on_hello(p); }},
      {MsgType::Plan, [this](const std::string& p) { on_plan(p); }},
      {MsgType::Frame, [this](const std::string& p) { on_frame(p); }},
      {MsgType::Tensor, [this](const std::string& p) { on_tensor(p); }},
  };
  set_socket_timeouts(fd_, 0.25);                                // reads wake 4 times a second to check the clocks
  const double send_s = std::max(s_.opt.frame_timeout_s, 0.25);  // a client that reads nothing this long is dropped
  timeval tv{static_cast<time_t>(send_s), static_cast<suseconds_t>(std::fmod(send_s, 1.0) * 1e6)};
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  Message m;
  std::string why;
  while (!s_.stopping && wait_for_room()) {
    const ReadStatus st = read_frame(fd_, m, s_.opt.max_frame_bytes, why, s_.opt.frame_timeout_s);
    const Clock::time_point now = Clock::now();
    if (st == ReadStatus::Timeout) {
      if (const std::string late = overdue(now); !late.empty()) {
        ++s_.timed_out;
        return error("closing: " + late);
      }
      continue;
    }
    if (st == ReadStatus::Closed || st == ReadStatus::Failed) return;
    if (st != ReadStatus::Ok) return error(why);  // the stream lost its framing: answer and hang up
    last_seen_ = now;
    const auto h = handlers.find(m.type);
    if (h == handlers.end()) error(fmt::format("a client does not send frames of type '{}'", static_cast<char>(m.type)));
    else h->second(m.payload);
    if (const std::string late = overdue(now); !late.empty()) {
      ++s_.timed_out;
      return error("closing: " + late);
    }
  }
}

}  // namespace

void EdgeServer::Impl::handle(const std::shared_ptr<Outbox>& out) {
  try {
    Session(out, *this).run();
  } catch (const std::exception& e) {  // a bug must not take the server down
    ++errors;
    post(*out, encode_frame(MsgType::Error, nlohmann::json{{"error", std::string("internal: ") + e.what()}}.dump()),
         false, opt.max_frame_bytes);
  }
  std::lock_guard<std::mutex> lock(out->mu);
  out->reader_done = true;
  out->cv.notify_all();
}

void EdgeServer::Impl::reap(bool all) {
  std::lock_guard<std::mutex> lock(conn_mu);
  for (auto it = conns.begin(); it != conns.end();) {
    if (all) {
      std::lock_guard<std::mutex> l(it->out->mu);
      it->out->broken = true;
      it->out->cv.notify_all();
      ::shutdown(it->out->fd, SHUT_RDWR);
    }
    if (all || it->done) {
      it->reader.join();
      it->writer.join();
      ::close(it->out->fd);
      it = conns.erase(it);
    } else {
      ++it;
    }
  }
}

EdgeServer::EdgeServer(const ServeOptions& options)
    : EdgeServer(options, std::make_shared<ModelSplitter>(options.model_path, Weights::Refill)) {}

EdgeServer::EdgeServer(const ServeOptions& options, std::shared_ptr<const ModelSplitter> model)
    : impl_(std::make_unique<Impl>()) {
  impl_->opt = options;
  impl_->model = std::move(model);
  const std::string dir = std::filesystem::path(options.model_path).parent_path().string();
  impl_->model_dir = dir.empty() ? "." : dir;
  const auto ep = parse_endpoint(options.listen).take("--listen");
  impl_->listen_fd = listen_tcp(ep.first, ep.second, impl_->port);
  set_engine_threads(options.threads);
}

EdgeServer::~EdgeServer() {
  stop();
  impl_->reap(true);
  if (impl_->listen_fd >= 0) ::close(impl_->listen_fd);
}

int EdgeServer::port() const { return impl_->port; }
const ModelSplitter& EdgeServer::model() const { return *impl_->model; }
ServeStats EdgeServer::stats() const {
  const Impl& s = *impl_;
  ServeStats st;
  st.connections = s.connections;
  st.frames = s.frames;
  st.errors = s.errors;
  st.plans_built = s.plans_built;
  st.refused = s.refused;
  st.timed_out = s.timed_out;
  st.max_queue = s.max_queue;
  st.throttled = s.throttled;
  return st;
}
void EdgeServer::stop() {
  impl_->stopping = true;
  std::lock_guard<std::mutex> lock(impl_->queue_mu);
  impl_->queue_cv.notify_all();
}

namespace {

// Tells a client past --max-clients why, and hangs up (bounded: a 1 s send timeout).
void refuse_busy(int fd) {
  const std::string f =
      encode_frame(MsgType::Error, nlohmann::json{{"error", "the server is busy (--max-clients)"}}.dump());
  set_socket_timeouts(fd, 1);
  write_all(fd, f.data(), f.size());
  ::close(fd);
}

}  // namespace

void EdgeServer::serve() {
  Impl& s = *impl_;
  s.worker = std::thread([&s] { s.work(); });
  while (!s.stopping) {
    pollfd p{s.listen_fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) {
      s.reap(false);
      continue;
    }
    const int fd = ::accept4(s.listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    s.reap(false);
    std::lock_guard<std::mutex> lock(s.conn_mu);
    if (static_cast<int>(s.conns.size()) >= s.opt.max_clients) {
      refuse_busy(fd);
      ++s.errors;
      ++s.refused;
      continue;
    }
    ++s.connections;
    auto& c = s.conns.emplace_back();
    c.out = std::make_shared<Outbox>();
    c.out->fd = fd;
    c.reader = std::thread([&s, &c] {
      s.handle(c.out);
      if (++c.finished == 2) c.done = true;
    });
    c.writer = std::thread([&s, &c] {
      s.write_loop(*c.out);
      if (++c.finished == 2) c.done = true;
    });
  }
  stop();
  s.worker.join();
  s.reap(true);
}

}  // namespace dapdee
