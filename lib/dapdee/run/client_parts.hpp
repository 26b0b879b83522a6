// dapdee-run's client pieces shared by a run (run_client.cpp) and the load generator
// (load_gen.cpp): the reply reader, a plan's device side, the emulated link and the prediction.
// Internal to the run subsystem.
#pragma once

#include <fmt/format.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "dapdee/protocol/link_shaper.hpp"
#include "dapdee/protocol/run_report.hpp"
#include "dapdee/protocol/tensor_wire.hpp"
#include "dapdee/run/cv_engine.hpp"
#include "dapdee/run/link_options.hpp"
#include "dapdee/split/split.hpp"

namespace dapdee::client {

// ---------------------------------------------------------------- replies from the edge server

// clang-tidy 14 sees nlohmann::json's noexcept destructor allocate (it flattens nested values into
// a std::vector): library code, and nothing of ours throws there.
// NOLINTNEXTLINE(bugprone-exception-escape)
struct Reply {
  MsgType type = MsgType::Error;
  nlohmann::json head;
  std::vector<HostTensor> tensors;
  double at_ms = 0;  // on the sender's clock
  std::string why;   // for a closed connection
  bool closed = false;
};

// Reads the server's replies on its own thread (a Result with its tensors is one Reply).
class Receiver {
 public:
  Receiver(int fd, uint32_t max_frame, const ShapedSender& clock) : fd_(fd), max_(max_frame), clock_(clock) {
    timeval tv{0, 300000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    thread_ = std::thread([this] { loop(); });
  }
  ~Receiver() {
    stop_ = true;
    thread_.join();
  }
  // The next reply; throws Error(where, ...) after `timeout_s` or when the connection closed.
  Reply next(double timeout_s, const std::string& where) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::duration<double>(timeout_s), [&] { return !queue_.empty(); }))
      throw Error(where, fmt::format("no reply from the edge server within {} s", timeout_s));
    Reply r = std::move(queue_.front());
    queue_.pop_front();
    if (r.closed) throw Error(where, "the edge server closed the connection: " + r.why);
    return r;
  }

 private:
  void push(Reply r) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(r));
    cv_.notify_all();
  }
  // Reads one frame, waiting out receive timeouts while running; false when the stream ended.
  bool read(Message& m, std::string& why) {
    for (;;) {
      const ReadStatus st = read_frame(fd_, m, max_, why, 60.0);
      if (st == ReadStatus::Ok) return true;
      if (st == ReadStatus::Timeout && !stop_) continue;
      if (st == ReadStatus::Truncated) why = fmt::format("closed in the middle of a frame ({})", why);
      return false;
    }
  }
  void loop() {
    Message m;
    std::string why;
    while (!stop_) {
      if (!read(m, why)) return push(Reply{MsgType::Error, {}, {}, 0, why, true});
      Reply r;
      r.type = m.type;
      r.head = nlohmann::json::parse(m.payload, nullptr, false);
      if (m.type == MsgType::Result) {
        const int k = r.head.is_object() ? r.head.value("tensors", 0) : 0;
        for (int i = 0; i < k; ++i) {
          if (!read(m, why)) return push(Reply{MsgType::Error, {}, {}, 0, why, true});
          auto t = decode_tensor(m.payload);
          if (!t.ok()) return push(Reply{MsgType::Error, {}, {}, 0, "a bad result tensor: " + t.message(), true});
          r.tensors.push_back(std::move(t).value());
        }
      }
      r.at_ms = clock_.now_ms();
      push(std::move(r));
    }
  }
  int fd_;
  uint32_t max_;
  const ShapedSender& clock_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Reply> queue_;
  std::thread thread_;
};

// One plan's device side, built once.
// clang-tidy 14 sees nlohmann::json's noexcept destructor allocate (it flattens nested values into
// a std::vector): library code, and nothing of ours throws there.
// NOLINTNEXTLINE(bugprone-exception-escape)
struct DevicePlan {
  int id = 0;
  std::string key;
  nlohmann::json plan;
  Partition partition;
  SplitParts parts;
  std::unique_ptr<CvPart> net;  // null when the device part holds no node
  Prediction predicted;
  WireEncoding input_encoding = WireEncoding::Float32;   // graph inputs sent as they are
  WireEncoding tensor_encoding = WireEncoding::Float32;  // intermediate tensors (wire_dtype)
  bool offloads() const { return !parts.edge.empty(); }
};

// The link the run emulates, with what the prediction must be rescaled by.
struct LinkSpec {
  std::optional<double> bandwidth_mbps;
  std::string trace_path, trace_text;
  double delay_ms = 0;
  size_t mtu = 1500;
  nlohmann::ordered_json describe() const {
    nlohmann::ordered_json j;
    if (bandwidth_mbps)
      j["bandwidth_mbps"] = *bandwidth_mbps;
    else
      j["trace"] = trace_path;
    j["delay_ms"] = delay_ms;
    j["mtu"] = mtu;
    j["shaper"] = "user-space (token bucket one MTU deep, delay at the sender; downlink unshaped)";
    return j;
  }
};

// A plan's wire (dapdee/wire.hpp's names) as the encodings dapdee-run sends: input_encoding
// uint8 as UINT8, jpeg:RATIO as UINT8 too (no JPEG encoder here: a warning says the bytes
// exceed the plan's), wire_dtype float16|int8 as FLOAT16|INT8. Throws Error(where) for an
// unknown name.
void wire_from_plan(const nlohmann::json& plan, const std::string& where, DevicePlan& d,
                    std::vector<std::string>& warnings);
// A wire encoding's name for the report. Never fails.
const char* encoding_name(WireEncoding e);
// A partition's identity (exit and sorted V_e). Never fails.
std::string plan_key(const Partition& p);
// A number member of a plan, or `fallback`. Never fails.
double number(const nlohmann::json& plan, const char* key, double fallback);
// The link to emulate: the options, else the plan's; throws Error when neither names a bandwidth
// or the trace cannot be read.
LinkSpec link_for(const LinkOptions& o, const nlohmann::json& plan);
// The shaper of a link; throws Error for a bad trace, rate, delay or MTU.
Shaper make_shaper(const LinkSpec& l);
// The plan's one-frame prediction on this link (T_t rescaled to the link's rate). Never fails.
Prediction predict(const nlohmann::json& plan, const LinkSpec& l, bool offloads);
// Reshapes OpenCV's output to the tensor's declared dims when only the layout of dims differs.
void declare_dims(HostTensor& t, const ModelSplitter& m);
// What a frame's device part kept: its input, the device exit's outputs, what it sent.
struct DeviceKeep {
  std::vector<HostTensor> inputs, device_exit;
};
// What a frame's device part produced: the bytes to send (empty when nothing is offloaded).
struct DeviceOut {
  std::string bytes;           // the Frame header and its Tensor frames
  uint64_t payload_bytes = 0;  // tensor data in them
  double t_ser_ms = 0;         // of the part's time, what serialising took
  bool offloaded = true;
};
// Runs frame `index`'s device part on its (seeded random) input and encodes what it sends as the
// plan's wire says. Throws Error when OpenCV fails or a frame exceeds `max_frame` bytes.
DeviceOut run_device_part(const ModelSplitter& m, const DevicePlan& p, int index, uint32_t max_frame, DeviceKeep& keep);
// The Frame header of frame `index` followed by already encoded Tensor frames. Never fails.
std::string frame_bytes(int index, size_t tensors, const std::string& tensor_frames, uint32_t max_frame);

// Connects to HOST:PORT and says hello for `model`; throws Error(where) when refused or broken.
int connect_and_hello(const std::string& host, int port, const ModelSplitter& model, uint32_t max_frame,
                      double timeout_s, const std::string& where);

}  // namespace dapdee::client
