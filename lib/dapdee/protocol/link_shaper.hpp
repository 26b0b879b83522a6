// A user-space uplink shaper: bytes leave in MTU-sized packets at the link's rate (or at a
// Mahimahi trace's delivery opportunities) and are delivered a fixed delay later.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dapdee/support/error.hpp"

namespace dapdee {

// One packet's schedule, in ms on the shaper's clock.
struct PacketTime {
  size_t bytes = 0;
  double depart_ms = 0;   // its last bit left the sender
  double deliver_ms = 0;  // depart + delay: handed to the receiver
};

// When a packet ready at some time has left the link. Implementations keep the link's state.
class LinkModel {
 public:
  virtual ~LinkModel() = default;
  // The departure time of a packet of `bytes` that is ready at `ready_ms` (FIFO). Never fails.
  virtual double depart(double ready_ms, size_t bytes) = 0;
  // What the link is, for the report ("8 Mbit/s", "trace X").
  virtual std::string describe() const = 0;
};

// A constant-rate link (token bucket one packet deep): a packet takes bytes*8/B after the link
// is free. Throws Error when the bandwidth is not positive and finite.
std::unique_ptr<LinkModel> rate_link(double bandwidth_mbps);

// A Mahimahi trace (one line per 1500-byte delivery opportunity, time in ms, looping with the
// last line's time as period); every packet uses the next free opportunity at or after it is
// ready, starting at `start_ms` on the shaper's clock. Parsed fails naming the bad line.
Parsed<std::unique_ptr<LinkModel>> trace_link(const std::string& text, const std::string& name, double start_ms = 0);

// The shaper's pure logic: cuts an offer into MTU packets and schedules them on the link.
class Shaper {
 public:
  // Throws Error for a negative delay or an MTU below 64 bytes.
  Shaper(std::unique_ptr<LinkModel> link, double delay_ms, size_t mtu = 1500);
  // Schedules `bytes` offered at `now_ms` (the injected clock) after everything offered before.
  std::vector<PacketTime> offer(size_t bytes, double now_ms);
  double delay_ms() const { return delay_ms_; }
  size_t mtu() const { return mtu_; }
  const LinkModel& link() const { return *link_; }

 private:
  std::unique_ptr<LinkModel> link_;
  double delay_ms_;
  size_t mtu_;
};

// When one offer went out, in ms on the sender's clock.
struct SendTimes {
  double offered_ms = 0;         // the first byte was offered to the link
  double start_ms = 0;           // the link began it: offered, or later when earlier offers held the link
  double last_scheduled_ms = 0;  // the last packet's scheduled delivery
  double last_delivered_ms = 0;  // the last packet was handed to the socket (>= scheduled)
  size_t bytes = 0;
};

// The real-time side: a thread writes each packet to the socket at its delivery time
// (steady clock). Offers are FIFO; wait() blocks until an offer is delivered.
class ShapedSender {
 public:
  // Starts the sender thread writing to `fd` (not owned).
  ShapedSender(int fd, Shaper shaper);
  ~ShapedSender();
  ShapedSender(const ShapedSender&) = delete;
  ShapedSender& operator=(const ShapedSender&) = delete;
  // Offers bytes now; returns a ticket for wait(). Throws Error when the socket failed before.
  uint64_t offer(const std::string& bytes);
  // Blocks until the ticket's last byte is written; throws Error when the socket write failed.
  SendTimes wait(uint64_t ticket);
  // Milliseconds since this sender started (the clock of every SendTimes).
  double now_ms() const;
  const Shaper& shaper() const { return shaper_; }

 private:
  struct Chunk {
    uint64_t ticket;
    double deliver_ms;
    std::string bytes;
    bool last;
  };
  void loop();
  int fd_;
  Shaper shaper_;
  std::chrono::steady_clock::time_point epoch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Chunk> queue_;
  std::vector<SendTimes> done_;  // per ticket
  uint64_t next_ticket_ = 0, delivered_ = 0;
  double link_free_ms_ = 0;  // when the last offer's last packet departs
  std::string failure_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace dapdee
