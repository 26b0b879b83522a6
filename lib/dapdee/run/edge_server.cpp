#include "dapdee/run/edge_server.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
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

}  // namespace

struct EdgeServer::Impl {
  ServeOptions opt;
  std::shared_ptr<const ModelSplitter> model;
  std::string model_dir;
  int listen_fd = -1, port = 0;
  std::atomic<bool> stopping{false};
  struct Conn {
    int fd;
    std::atomic<bool> done{false};
    std::thread thread;
  };
  std::mutex conn_mu;
  std::list<Conn> conns;
  std::mutex cache_mu;
  std::map<std::string, std::shared_ptr<EdgeEntry>> cache;
  std::deque<std::string> cache_order;
  std::atomic<uint64_t> connections{0}, frames{0}, errors{0}, plans_built{0};

  std::shared_ptr<EdgeEntry> plan(const std::string& exit, std::vector<std::string> v_e);
  void handle(int fd);
  void reap(bool all);
};

std::shared_ptr<EdgeEntry> EdgeServer::Impl::plan(const std::string& exit, std::vector<std::string> v_e) {
  std::sort(v_e.begin(), v_e.end());
  std::string key = exit;
  for (const auto& n : v_e) key += "\n" + n;
  std::lock_guard<std::mutex> lock(cache_mu);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
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
  cache[key] = e;
  cache_order.push_back(key);
  while (static_cast<int>(cache_order.size()) > std::max(opt.max_cached_plans, 1)) {
    cache.erase(cache_order.front());  // connections using it keep their shared_ptr
    cache_order.pop_front();
  }
  return e;
}

namespace {

// One connection's state and its handlers, dispatched by frame type.
class Session {
 public:
  Session(int fd, EdgeServer::Impl& server) : fd_(fd), s_(server) {}
  void run();

 private:
  bool send(MsgType t, const std::string& payload) {
    const std::string f = encode_frame(t, payload, s_.opt.max_frame_bytes);
    return write_all(fd_, f.data(), f.size());
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
  void compute();

  int fd_;
  EdgeServer::Impl& s_;
  bool hello_ = false;
  std::shared_ptr<EdgeEntry> plan_;
  int64_t frame_ = -1;
  int expected_ = 0, received_ = 0;
  bool frame_bad_ = false;
  std::vector<HostTensor> pending_;
  Clock::time_point last_tensor_;
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
  pending_.clear();
  if (expected_ != static_cast<int>(plan_->parts.sent.size())) {
    frame_bad_ = true;
    error(fmt::format("frame {} announces {} tensors; the plan's edge part reads {}", frame_, expected_, plan_->parts.sent.size()));
  }
}

void Session::on_tensor(const std::string& payload) {
  if (received_ >= expected_) return error("a tensor outside a frame");
  ++received_;
  last_tensor_ = Clock::now();
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
  if (received_ == expected_) compute();
}

void Session::compute() {
  std::vector<HostTensor> outs;
  Clock::time_point t0, t1;
  try {
    std::lock_guard<std::mutex> lock(plan_->run_mu);
    t0 = Clock::now();
    outs = plan_->net->run(pending_, plan_->parts.edge_exit);
    t1 = Clock::now();
  } catch (const Error& e) {
    pending_.clear();
    return error(fmt::format("frame {}: the edge part failed: {}", frame_, e.what()));
  }
  pending_.clear();
  ++s_.frames;
  std::string reply = encode_frame(MsgType::Result, nlohmann::json{{"frame", frame_}, {"t_e_ms", ms_between(t0, t1)},
                                                                   {"t_server_ms", ms_between(last_tensor_, Clock::now())},
                                                                   {"tensors", outs.size()}}.dump());
  for (const auto& o : outs) reply += encode_frame(MsgType::Tensor, encode_tensor(o), s_.opt.max_frame_bytes);
  write_all(fd_, reply.data(), reply.size());
}

void Session::run() {
  const std::map<MsgType, std::function<void(const std::string&)>> handlers = {
      {MsgType::Hello, [this](const std::string& p) { on_hello(p); }},
      {MsgType::Plan, [this](const std::string& p) { on_plan(p); }},
      {MsgType::Frame, [this](const std::string& p) { on_frame(p); }},
      {MsgType::Tensor, [this](const std::string& p) { on_tensor(p); }},
  };
  constexpr double kPoll = 0.5;
  set_socket_timeouts(fd_, kPoll);
  const int patience = static_cast<int>(s_.opt.frame_timeout_s / kPoll);
  Message m;
  std::string why;
  while (!s_.stopping) {
    const ReadStatus st = read_frame(fd_, m, s_.opt.max_frame_bytes, why, patience);
    if (st == ReadStatus::Timeout) continue;
    if (st == ReadStatus::Closed || st == ReadStatus::Failed) return;
    if (st != ReadStatus::Ok) {  // the stream lost its framing: answer and hang up
      error(why);
      return;
    }
    const auto h = handlers.find(m.type);
    if (h == handlers.end()) error(fmt::format("a client does not send frames of type '{}'", static_cast<char>(m.type)));
    else h->second(m.payload);
  }
}

}  // namespace

void EdgeServer::Impl::handle(int fd) {
  try {
    Session(fd, *this).run();
  } catch (const std::exception& e) {  // a bug must not take the server down
    ++errors;
    const std::string f = encode_frame(MsgType::Error, nlohmann::json{{"error", std::string("internal: ") + e.what()}}.dump());
    write_all(fd, f.data(), f.size());
  }
}

void EdgeServer::Impl::reap(bool all) {
  std::lock_guard<std::mutex> lock(conn_mu);
  for (auto it = conns.begin(); it != conns.end();) {
    if (all) ::shutdown(it->fd, SHUT_RDWR);
    if (all || it->done) {
      it->thread.join();
      ::close(it->fd);
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
  return {impl_->connections.load(), impl_->frames.load(), impl_->errors.load(), impl_->plans_built.load()};
}
void EdgeServer::stop() { impl_->stopping = true; }

void EdgeServer::serve() {
  Impl& s = *impl_;
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
      const std::string f = encode_frame(MsgType::Error, nlohmann::json{{"error", "the server is busy (--max-clients)"}}.dump());
      set_socket_timeouts(fd, 1);
      write_all(fd, f.data(), f.size());
      ::close(fd);
      ++s.errors;
      continue;
    }
    ++s.connections;
    auto& c = s.conns.emplace_back();
    c.fd = fd;
    c.thread = std::thread([&s, &c] {
      s.handle(c.fd);
      c.done = true;
    });
  }
  s.reap(true);
}

}  // namespace dapdee
