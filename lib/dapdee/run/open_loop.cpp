#include "dapdee/run/open_loop.hpp"

#include <fmt/format.h>

#include <cmath>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <random>
#include <thread>

namespace dapdee::client {

std::vector<double> arrival_times(double fps, Arrivals arrivals, int n, uint64_t seed, double phase_ms) {
  std::vector<double> t;
  t.reserve(static_cast<size_t>(std::max(n, 0)));
  const double period = 1000.0 / fps;
  std::mt19937_64 gen(seed);
  double at = phase_ms;
  for (int i = 0; i < n; ++i) {
    if (arrivals == Arrivals::Periodic) {
      t.push_back(phase_ms + period * i);
      continue;
    }
    // Inversion of the exponential from 53 random bits: the same on every standard library.
    const double u = static_cast<double>(gen() >> 11) * 0x1.0p-53;
    at += -std::log1p(-u) * period;
    t.push_back(at);
  }
  return t;
}

namespace {

// A frame between its device part and its reply.
struct Pending {
  FrameTiming timing;
  double arrive_abs = 0, t1 = 0;  // on the sender's clock
  uint64_t ticket = 0;
};

// Hands frames from the device loop to the reply collector, in order.
class Handoff {
 public:
  void push(Pending p) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(p);
    cv_.notify_all();
  }
  void close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }
  // The next frame; false when the device loop has ended and nothing is left.
  bool pop(Pending& p) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return closed_ || !queue_.empty(); });
    if (queue_.empty()) return false;
    p = queue_.front();
    queue_.pop_front();
    return true;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool closed_ = false;
};

void sleep_until_ms(const ShapedSender& clock, double at_ms) {
  const double wait = at_ms - clock.now_ms();
  if (wait > 0) std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(wait));
}

// Completes an offloaded frame's timing from its reply and the link's times.
void complete(Pending& p, const Reply& r, const SendTimes& st, double origin, double delay_ms) {
  FrameTiming& f = p.timing;
  f.t_e = r.head.value("t_e_ms", 0.0);
  f.t_server = r.head.value("t_server_ms", 0.0);
  f.wait_edge = r.head.value("t_queue_ms", 0.0);
  f.wait_uplink = st.start_ms - st.offered_ms;
  f.t_t = st.last_delivered_ms - st.start_ms - delay_ms;
  f.t_late = st.last_delivered_ms - st.last_scheduled_ms;
  f.latency_ms = st.last_delivered_ms + f.t_server - p.arrive_abs;
  f.t_down = r.at_ms - st.last_delivered_ms - f.t_server;
  f.done_ms = r.at_ms - origin;
}

// Takes the replies in order as the device loop hands frames over.
void collect(Handoff& handoff, const StreamLink& link, double origin, const ReplyCheck& check,
             std::vector<FrameTiming>& out) {
  Pending p;
  while (handoff.pop(p)) {
    if (p.timing.offloaded) {
      Reply r = link.rx->next(link.timeout_s, link.where);
      if (r.type == MsgType::Error)
        throw Error(link.where, "the edge server answered: " +
                                    (r.head.is_object() ? r.head.value("error", std::string("?")) : "?"));
      if (r.type != MsgType::Result || r.head.value("frame", int64_t{-1}) != p.timing.index)
        throw Error(link.where, fmt::format("expected the result of frame {}", p.timing.index));
      complete(p, r, link.sender->wait(p.ticket), origin, link.delay_ms);
      if (check) check(p.timing.index, r.tensors);
    }
    out.push_back(p.timing);
  }
}

}  // namespace

std::vector<FrameTiming> run_open_loop(const std::vector<double>& arrivals, const DeviceStage& device,
                                       const StreamLink& link, int client, int plan, const ReplyCheck& check) {
  const double origin = link.sender->now_ms() + 5.0;  // the schedule starts a little after now
  Handoff handoff;
  std::vector<FrameTiming> out;
  std::exception_ptr failure;
  std::atomic<bool> failed{false};
  std::thread collector([&] {
    try {
      collect(handoff, link, origin, check, out);
    } catch (...) {
      failure = std::current_exception();
      failed = true;
    }
  });
  try {
    for (size_t i = 0; i < arrivals.size() && !failed; ++i) {
      Pending p;
      p.arrive_abs = origin + arrivals[i];
      sleep_until_ms(*link.sender, p.arrive_abs);  // an idle device waits for the frame; a busy one is late
      const double start = link.sender->now_ms();
      DeviceOut d = device(static_cast<int>(i));
      p.t1 = link.sender->now_ms();
      FrameTiming& f = p.timing;
      f.index = static_cast<int>(i);
      f.plan = plan;
      f.client = client;
      f.t_arrive = arrivals[i];
      f.wait_device = start - p.arrive_abs;
      f.t_ser = d.t_ser_ms;
      f.t_d = p.t1 - start - d.t_ser_ms;
      f.offloaded = d.offloaded;
      f.payload_bytes = d.payload_bytes;
      f.wire_bytes = d.bytes.size();
      if (d.offloaded) {
        p.ticket = link.sender->offer(d.bytes);
      } else {
        f.latency_ms = p.t1 - p.arrive_abs;
        f.done_ms = p.t1 - origin;
      }
      handoff.push(p);
    }
  } catch (...) {
    handoff.close();
    collector.join();
    throw;
  }
  handoff.close();
  collector.join();
  if (failure) std::rethrow_exception(failure);
  return out;
}

StreamMeta predict_stream(const Prediction& p, bool offloads, double fps, Arrivals arrivals, int clients,
                          uint64_t seed) {
  StreamMeta m;
  m.fps = fps;
  m.arrivals = arrivals_name(arrivals);
  m.seed = seed;
  m.clients = clients;
  StreamSpec spec;
  spec.fps = fps;
  spec.arrivals = arrivals;
  spec.clients = clients;
  const std::vector<Stage> stages = offloads ? device_edge_stages(p.T_d, p.T_t, p.T_e)
                                             : std::vector<Stage>{Stage{StageKind::Device, p.T_d, Sharing::Private}};
  const StreamOutcome o = stream_waiting(stages, spec, StreamDetail::Full);
  m.stable = o.stable;
  m.predicted_wait_ms = o.wait_ms;
  m.predicted_mean_ms = p.latency_ms + o.wait_ms;
  m.predicted_p95_ms = p.latency_ms + o.wait_p95_ms;
  m.p95_method = p95_method_name(o.p95_method);
  for (const auto& u : o.utilisation) {
    if (u.kind == StageKind::Device) m.utilisation_device = u.utilisation;
    if (u.kind == StageKind::Uplink) m.utilisation_uplink = u.utilisation;
    if (u.kind == StageKind::Edge) m.utilisation_edge = u.utilisation;
  }
  return m;
}

}  // namespace dapdee::client
