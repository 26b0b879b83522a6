#include "dapdee/protocol/link_shaper.hpp"

#include <fmt/format.h>

#include <cmath>
#include <sstream>

#include "dapdee/protocol/tensor_wire.hpp"

namespace dapdee {

namespace {

class RateLink : public LinkModel {
 public:
  explicit RateLink(double mbps) : mbps_(mbps) {}
  double depart(double ready_ms, size_t bytes) override {
    free_ms_ = std::max(free_ms_, ready_ms) + static_cast<double>(bytes) * 8.0 / (mbps_ * 1000.0);
    return free_ms_;
  }
  std::string describe() const override { return fmt::format("{} Mbit/s", mbps_); }

 private:
  double mbps_;
  double free_ms_ = -INFINITY;
};

class TraceLink : public LinkModel {
 public:
  TraceLink(std::vector<double> opportunities, std::string name, double start_ms)
      : opp_(std::move(opportunities)), name_(std::move(name)), start_ms_(start_ms) {
    period_ = std::max(opp_.back(), 1.0);
  }
  // The next opportunity at or after ready_ms, one 1500-byte packet each; opportunities before
  // the packet was ready go unused (as in Mahimahi).
  double depart(double ready_ms, size_t) override {
    for (;;) {
      const double t = start_ms_ + static_cast<double>(round_) * period_ + opp_[next_];
      if (ready_ms - t > 2 * period_) {  // skip whole idle periods at once
        round_ += static_cast<uint64_t>((ready_ms - t) / period_) - 1;
        continue;
      }
      if (++next_ == opp_.size()) {
        next_ = 0;
        ++round_;
      }
      if (t >= ready_ms) return t;
    }
  }
  std::string describe() const override { return "trace " + name_; }

 private:
  std::vector<double> opp_;
  std::string name_;
  double start_ms_;
  double period_ = 1;
  size_t next_ = 0;
  uint64_t round_ = 0;
};

}  // namespace

std::unique_ptr<LinkModel> rate_link(double bandwidth_mbps) {
  if (!(bandwidth_mbps > 0) || !std::isfinite(bandwidth_mbps))
    throw Error("--bandwidth", fmt::format("the bandwidth must be a positive number of Mbit/s, not {}", bandwidth_mbps));
  return std::make_unique<RateLink>(bandwidth_mbps);
}

Parsed<std::unique_ptr<LinkModel>> trace_link(const std::string& text, const std::string& name, double start_ms) {
  using R = Parsed<std::unique_ptr<LinkModel>>;
  std::vector<double> opp;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    char* end = nullptr;
    const double t = std::strtod(line.c_str(), &end);
    if (end == line.c_str() || !std::isfinite(t) || t < 0 || (!opp.empty() && t < opp.back()))
      return R::failure(fmt::format("line {}: '{}' is not a non-decreasing time in ms", lineno, line));
    opp.push_back(t);
  }
  if (opp.empty()) return R::failure("the trace has no delivery opportunity");
  return R(std::make_unique<TraceLink>(std::move(opp), name, start_ms));
}

Shaper::Shaper(std::unique_ptr<LinkModel> link, double delay_ms, size_t mtu)
    : link_(std::move(link)), delay_ms_(delay_ms), mtu_(mtu) {
  if (!(delay_ms >= 0) || !std::isfinite(delay_ms)) throw Error("--delay", fmt::format("the delay must be >= 0 ms, not {}", delay_ms));
  if (mtu < 64) throw Error("--mtu", fmt::format("an MTU of {} bytes is too small (>= 64)", mtu));
}

std::vector<PacketTime> Shaper::offer(size_t bytes, double now_ms) {
  std::vector<PacketTime> out;
  for (size_t done = 0; done < bytes;) {
    const size_t b = std::min(mtu_, bytes - done);
    const double d = link_->depart(now_ms, b);
    out.push_back({b, d, d + delay_ms_});
    done += b;
  }
  return out;
}

ShapedSender::ShapedSender(int fd, Shaper shaper)
    : fd_(fd), shaper_(std::move(shaper)), epoch_(std::chrono::steady_clock::now()), thread_([this] { loop(); }) {}

ShapedSender::~ShapedSender() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

double ShapedSender::now_ms() const {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - epoch_).count();
}

uint64_t ShapedSender::offer(const std::string& bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!failure_.empty()) throw Error(failure_);
  const uint64_t ticket = next_ticket_++;
  const double now = now_ms();
  const auto packets = shaper_.offer(bytes.size(), now);
  SendTimes t;
  t.offered_ms = now;
  t.start_ms = std::max(now, link_free_ms_);
  if (!packets.empty()) link_free_ms_ = std::max(link_free_ms_, packets.back().depart_ms);
  t.bytes = bytes.size();
  t.last_scheduled_ms = packets.empty() ? now : packets.back().deliver_ms;
  done_.push_back(t);
  size_t at = 0;
  for (size_t k = 0; k < packets.size(); ++k) {
    queue_.push_back({ticket, packets[k].deliver_ms, bytes.substr(at, packets[k].bytes), k + 1 == packets.size()});
    at += packets[k].bytes;
  }
  if (packets.empty()) queue_.push_back({ticket, now, std::string(), true});
  cv_.notify_all();
  return ticket;
}

SendTimes ShapedSender::wait(uint64_t ticket) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return delivered_ > ticket || !failure_.empty(); });
  if (delivered_ <= ticket) throw Error(failure_);
  return done_[ticket];
}

void ShapedSender::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop_ and nothing left
    const auto due = epoch_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                  std::chrono::duration<double, std::milli>(queue_.front().deliver_ms));
    if (std::chrono::steady_clock::now() < due) {
      cv_.wait_until(lock, due, [&] { return stop_; });
      if (stop_) return;
      continue;
    }
    // Every packet due by now goes out in one write.
    std::string batch;
    std::vector<uint64_t> finished;
    const double now = now_ms();
    while (!queue_.empty() && queue_.front().deliver_ms <= now) {
      batch += queue_.front().bytes;
      if (queue_.front().last) finished.push_back(queue_.front().ticket);
      queue_.pop_front();
    }
    lock.unlock();
    // The batch is delivered when it is handed to the socket: a timestamp taken after write()
    // returns also counts this thread being descheduled, which the receiver does not wait for
    // (it made t_down negative on 2 busy cores).
    const double written = now_ms();
    const bool ok = write_all(fd_, batch.data(), batch.size());
    lock.lock();
    if (!ok) {
      failure_ = "the connection to the edge server broke while sending";
      queue_.clear();
      cv_.notify_all();
      return;
    }
    for (uint64_t t : finished) {
      done_[t].last_delivered_ms = std::max(written, done_[t].last_scheduled_ms);
      delivered_ = t + 1;
    }
    cv_.notify_all();
  }
}

}  // namespace dapdee
