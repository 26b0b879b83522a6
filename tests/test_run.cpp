// dapdee-run: the shaper (injected clock, one real-time test), the wire format, the edge server's
// robustness, and the halves over the link against the whole model.
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <thread>

#include "dapdee/model/network.hpp"
#include "dapdee/protocol/link_shaper.hpp"
#include "dapdee/protocol/run_report.hpp"
#include "dapdee/protocol/tensor_wire.hpp"
#include "dapdee/split/split.hpp"
#include "onnx_builder.hpp"
#include "test_util.hpp"
#ifdef DAPDEE_HAVE_OPENCV
#include "dapdee/run/edge_server.hpp"
#include "dapdee/run/load_gen.hpp"
#include "dapdee/run/open_loop.hpp"
#include "dapdee/run/run_client.hpp"
#endif

using namespace test_util;

TEST_CASE("shaper: packets at the link rate, delivered a delay later (injected clock)", "[run][shaper]") {
  dapdee::Shaper s(dapdee::rate_link(8.0), 20.0, 1500);  // 8 Mbit/s: 1.5 ms per 1500-byte packet
  const auto a = s.offer(3000, 0.0);
  REQUIRE(a.size() == 2);
  CHECK(a[0].depart_ms == Approx(1.5).epsilon(1e-12));
  CHECK(a[1].depart_ms == Approx(3.0).epsilon(1e-12));
  CHECK(a[1].deliver_ms == Approx(23.0).epsilon(1e-12));
  const auto b = s.offer(100, 1.0);  // queued behind the first offer
  REQUIRE(b.size() == 1);
  CHECK(b[0].depart_ms == Approx(3.1).epsilon(1e-12));
  const auto c = s.offer(1500, 100.0);  // an idle link starts at the offer
  CHECK(c[0].depart_ms == Approx(101.5).epsilon(1e-12));
  dapdee::Shaper big(dapdee::rate_link(8.0), 20.0);
  const auto m = big.offer(1000000, 0.0);
  CHECK(m.size() == 667);  // 666 full packets and one of 1000 bytes
  CHECK(m.back().bytes == 1000);
  CHECK(m.back().deliver_ms == Approx(1020.0).epsilon(1e-12));
  CHECK_THROWS_AS(dapdee::rate_link(0), dapdee::Error);
  CHECK_THROWS_AS(dapdee::Shaper(dapdee::rate_link(1), -1), dapdee::Error);
}

TEST_CASE("shaper: a Mahimahi trace's delivery opportunities", "[run][shaper]") {
  // Two opportunities at 0 ms, one at 5, one at 10 (the period): 4 packets per 10 ms.
  auto link = dapdee::trace_link("0\n0\n5\n10\n", "t").take("t");
  dapdee::Shaper s(std::move(link), 2.0, 1500);
  const auto p = s.offer(6 * 1500, 0.0);
  REQUIRE(p.size() == 6);
  const std::vector<double> want = {0, 0, 5, 10, 10, 10};  // the second round starts at 10: 10+0, 10+0
  for (size_t k = 0; k < 6; ++k) CHECK(p[k].depart_ms == Approx(want[k]).margin(1e-12));
  CHECK(p[5].deliver_ms == Approx(12.0).margin(1e-12));
  CHECK(s.offer(1500, 0.0)[0].depart_ms == Approx(15.0).margin(1e-12));  // FIFO: behind the six
  // A packet ready at 33 takes the next opportunity at or after it (30 + 5 = 35).
  CHECK(s.offer(1500, 33.0)[0].depart_ms == Approx(35.0).margin(1e-12));
  CHECK_FALSE(dapdee::trace_link("5\n3\n", "bad").ok());
  CHECK_FALSE(dapdee::trace_link("", "empty").ok());
}

TEST_CASE("shaper: trace replay matches the trace's capacity", "[run][shaper]") {
  const std::string path = shared_dir() + "/traces/Verizon-LTE-short.up";
  if (!fs::exists(path)) DAPDEE_SKIP("../shared/traces/Verizon-LTE-short.up is absent");
  const std::string text = slurp(path);
  // Capacity of the first 10 s by the planner's reading of the trace.
  const auto windows = dapdee::mahimahi_windows(text, 10000.0).take(path);
  REQUIRE_FALSE(windows.empty());
  const double mbps = windows[0];
  // Offer that many bytes at t = 0: the last one leaves by the end of the window, not long before.
  const size_t bytes = static_cast<size_t>(mbps * 1e6 / 8.0 * 10.0);
  dapdee::Shaper s(dapdee::trace_link(text, path).take(path), 0.0);
  const auto p = s.offer(bytes, 0.0);
  INFO("capacity " << mbps << " Mbit/s, last departure " << p.back().depart_ms << " ms");
  CHECK(p.back().depart_ms <= 10000.0);
  CHECK(p.back().depart_ms >= 9500.0);
}

TEST_CASE("shaper: 1 MB at 8 Mbit/s + 20 ms arrives in about 1.02 s (real time)", "[realtime]") {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  size_t received = 0;
  std::thread reader([&] {
    char buf[65536];
    for (ssize_t k; (k = ::read(sv[1], buf, sizeof buf)) > 0;) received += static_cast<size_t>(k);
  });
  double took = 0;
  {
    dapdee::ShapedSender sender(sv[0], dapdee::Shaper(dapdee::rate_link(8.0), 20.0));
    const auto t = sender.wait(sender.offer(std::string(1000000, 'x')));
    took = t.last_delivered_ms - t.offered_ms;
  }
  ::shutdown(sv[0], SHUT_WR);
  reader.join();
  ::close(sv[0]);
  ::close(sv[1]);
  CHECK(received == 1000000);
  CHECK(took >= 1020.0);
  CHECK(took < 1020.0 * 1.15);  // loose: a shared machine
}

TEST_CASE("wire: frames and tensors round-trip, bad frames are refused without allocating", "[run][wire]") {
  dapdee::HostTensor t{"x", {1, 2, 3}, {1, 2, 3, 4, 5, 6}};
  const auto back = dapdee::decode_tensor(dapdee::encode_tensor(t)).take("t");
  CHECK(back.name == "x");
  CHECK(back.dims == t.dims);
  CHECK(back.data == t.data);
  CHECK_FALSE(dapdee::decode_tensor("\xff\xff garbage").ok());
  dapdee::HostTensor wrong{"y", {2, 2}, {1, 2, 3}};
  CHECK_FALSE(dapdee::decode_tensor(dapdee::encode_tensor(wrong)).ok());
  CHECK_THROWS_AS(dapdee::encode_frame(dapdee::MsgType::Tensor, std::string(100, 'a'), 50), dapdee::Error);

  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  const std::string f = dapdee::encode_frame(dapdee::MsgType::Tensor, dapdee::encode_tensor(t));
  REQUIRE(dapdee::write_all(sv[0], f.data(), f.size()));
  dapdee::Message m;
  std::string why;
  REQUIRE(dapdee::read_frame(sv[1], m, 1024, why) == dapdee::ReadStatus::Ok);
  CHECK(m.type == dapdee::MsgType::Tensor);
  // A length prefix claiming 4 GiB: refused at once, nothing allocated for it.
  const char huge[5] = {'\xff', '\xff', '\xff', '\xff', 'T'};
  REQUIRE(dapdee::write_all(sv[0], huge, 5));
  CHECK(dapdee::read_frame(sv[1], m, 1024, why) == dapdee::ReadStatus::TooLarge);
  ::close(sv[0]);
  ::close(sv[1]);
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  const char bad_type[6] = {0, 0, 0, 2, 'Z', 'q'};
  REQUIRE(dapdee::write_all(sv[0], bad_type, 6));
  CHECK(dapdee::read_frame(sv[1], m, 1024, why) == dapdee::ReadStatus::BadType);
  const char cut[6] = {0, 0, 0, 100, 'T', 'q'};
  REQUIRE(dapdee::write_all(sv[0], cut, 6));
  ::shutdown(sv[0], SHUT_WR);
  CHECK(dapdee::read_frame(sv[1], m, 1024, why) == dapdee::ReadStatus::Truncated);
  ::close(sv[0]);
  ::close(sv[1]);
  CHECK(dapdee::parse_endpoint("127.0.0.1:80").ok());
  CHECK_FALSE(dapdee::parse_endpoint("localhost").ok());
  CHECK_FALSE(dapdee::parse_endpoint("h:99999").ok());
}

TEST_CASE("wire: float16, int8 and uint8 tensors decode back to float32 within their step", "[run][wire]") {
  using dapdee::WireEncoding;
  // Half floats: exact values, round to nearest even, subnormals, overflow, infinities.
  CHECK(dapdee::float_to_half(1.0f) == 0x3c00);
  CHECK(dapdee::float_to_half(-2.0f) == 0xc000);
  CHECK(dapdee::float_to_half(65504.0f) == 0x7bff);
  CHECK(dapdee::float_to_half(65520.0f) == 0x7c00);                    // halfway to 2^16: rounds to infinity
  CHECK(dapdee::float_to_half(1.0f + 1.0f / 2048) == 0x3c00);          // a tie goes to even
  CHECK(dapdee::float_to_half(1.0f + 3.0f / 2048) == 0x3c02);
  CHECK(dapdee::float_to_half(std::ldexp(1.0f, -24)) == 0x0001);       // the smallest subnormal
  CHECK(dapdee::half_to_float(0x0001) == std::ldexp(1.0f, -24));
  CHECK(std::isinf(dapdee::half_to_float(0xfc00)));
  CHECK(std::isnan(dapdee::half_to_float(dapdee::float_to_half(NAN))));
  for (uint32_t h = 0; h < 0x7c00; ++h)  // every finite half survives the round trip
    REQUIRE(dapdee::float_to_half(dapdee::half_to_float(static_cast<uint16_t>(h))) == h);

  std::vector<float> v;
  for (int i = 0; i < 1000; ++i) v.push_back(static_cast<float>(std::sin(i * 0.37) * 7.5 + 2.0));
  const dapdee::HostTensor t{"x", {10, 100}, v};
  const double lo = *std::min_element(v.begin(), v.end()), hi = *std::max_element(v.begin(), v.end());
  double amax = 0;
  for (float x : v) amax = std::max(amax, static_cast<double>(std::fabs(x)));
  struct Case {
    WireEncoding e;
    size_t bytes;
    double step;  // the largest decoding error: half a quantisation step (half: 2^-11 relative)
  };
  for (const Case& c : {Case{WireEncoding::Float32, 4000, 0.0}, Case{WireEncoding::Float16, 2000, amax / 2048},
                        Case{WireEncoding::Int8, 1000, amax / 127 / 2}, Case{WireEncoding::Uint8, 1000, (hi - lo) / 255 / 2}}) {
    INFO("encoding " << static_cast<int>(c.e));
    onnx::TensorProto p;
    REQUIRE(p.ParseFromString(dapdee::encode_tensor(t, c.e)));
    CHECK(p.raw_data().size() == c.bytes);
    CHECK(dapdee::wire_element_bytes(c.e) * 1000 == c.bytes);
    const auto back = dapdee::decode_tensor(p.SerializeAsString()).take("t");
    REQUIRE(back.data.size() == v.size());
    CHECK(back.dims == t.dims);
    double worst = 0;
    for (size_t i = 0; i < v.size(); ++i) worst = std::max(worst, std::fabs(static_cast<double>(back.data[i]) - v[i]));
    CHECK(worst <= c.step * 1.0001 + 1e-7);
  }
  CHECK(dapdee::encode_tensor(t) == dapdee::encode_tensor(t, WireEncoding::Float32));
  // A quantised tensor without its scale, and a type the wire does not carry, are refused.
  onnx::TensorProto q;
  REQUIRE(q.ParseFromString(dapdee::encode_tensor(t, WireEncoding::Int8)));
  q.clear_doc_string();
  CHECK_THAT(dapdee::decode_tensor(q.SerializeAsString()).message(), Catch::Contains("no dapdee-quant/1 scale"));
  q.set_data_type(onnx::TensorProto::INT64);
  CHECK_THAT(dapdee::decode_tensor(q.SerializeAsString()).message(), Catch::Contains("data_type 7"));
  // A constant tensor quantises without dividing by zero.
  const dapdee::HostTensor c{"c", {3}, {2.5f, 2.5f, 2.5f}};
  for (auto e : {WireEncoding::Int8, WireEncoding::Uint8})
    CHECK(dapdee::decode_tensor(dapdee::encode_tensor(c, e)).take("c").data == std::vector<float>{2.5f, 2.5f, 2.5f});
}

TEST_CASE("run report: medians, error against the prediction, metrics lines", "[run][report]") {
  std::vector<dapdee::FrameTiming> f(3);
  for (int i = 0; i < 3; ++i) {
    f[i].index = i;
    f[i].t_d = 10 + i;
    f[i].t_t = 20;
    f[i].t_e = 5;
    f[i].latency_ms = 55 + i;
    f[i].payload_bytes = 1000;
    f[i].wire_bytes = 1050;
  }
  dapdee::RunMeta meta;
  meta.model = "m";
  meta.mode = "sequential";
  meta.plan = {{"format", "dapdee-plan/1"}};
  meta.predicted = dapdee::Prediction{10, 20, 5, 50, 20, ""};
  const auto j = nlohmann::json::parse(dapdee::render_run_report(meta, f));
  CHECK(j["format"] == "dapdee-run-report/1");
  CHECK(j["measured"]["T_d"].get<double>() == Approx(11));
  CHECK(j["error_pct"]["T_d"].get<double>() == Approx(10.0));
  CHECK(j["error_pct"]["latency_ms"].get<double>() == Approx(12.0));
  CHECK(j["framing"]["overhead_bytes"] == 50);
  const auto m = nlohmann::json::parse(dapdee::metrics_line(f[0], 1.5, 8.0, 20.0));
  CHECK(m["format"] == "dapdee-metrics/1");
  CHECK(m["t_s"] == 1.5);
  CHECK(m["measured_t_t"] == 20.0);
}

#ifdef DAPDEE_HAVE_OPENCV
namespace {

// A chain model with random weights and shaped outputs, saved in `d`.
std::string save_chain(const TempDir& d, bool weightless = false) {
  auto b = testing_onnx::chain_model();
  b.random_weights(3);
  auto* o = b.model().mutable_graph()->mutable_output(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
  o->add_dim()->set_dim_value(1);
  o->add_dim()->set_dim_value(10);
  if (weightless)
    for (auto& t : *b.model().mutable_graph()->mutable_initializer()) t.clear_raw_data();
  const std::string path = d / (weightless ? "chain_nw.onnx" : "chain.onnx");
  b.save(path);
  return path;
}

// A server on 127.0.0.1:0 running on its own thread for the test's duration.
struct TestServer {
  dapdee::EdgeServer server;
  std::thread thread;
  explicit TestServer(const std::string& model) : server(options(model)), thread([this] { server.serve(); }) {}
  ~TestServer() {
    server.stop();
    thread.join();
  }
  static dapdee::ServeOptions options(const std::string& model) {
    dapdee::ServeOptions o;
    o.model_path = model;
    o.listen = "127.0.0.1:0";
    o.max_frame_bytes = 1 << 20;
    o.frame_timeout_s = 1;
    return o;
  }
};

// A raw protocol client for the robustness tests.
struct RawClient {
  int fd;
  explicit RawClient(int port) : fd(dapdee::connect_tcp("127.0.0.1", port, 5.0)) {}
  ~RawClient() { ::close(fd); }
  void send(dapdee::MsgType t, const std::string& payload) {
    const std::string f = dapdee::encode_frame(t, payload);
    REQUIRE(dapdee::write_all(fd, f.data(), f.size()));
  }
  void send_raw(const std::string& bytes) { REQUIRE(dapdee::write_all(fd, bytes.data(), bytes.size())); }
  dapdee::Message reply() {
    dapdee::Message m;
    std::string why;
    const auto st = dapdee::read_frame(fd, m, 1 << 20, why);
    INFO(why);
    REQUIRE(st == dapdee::ReadStatus::Ok);
    return m;
  }
  std::string error() {
    const auto m = reply();
    REQUIRE(m.type == dapdee::MsgType::Error);
    return nlohmann::json::parse(m.payload)["error"].get<std::string>();
  }
  void hello(const std::string& digest) {
    send(dapdee::MsgType::Hello, nlohmann::json{{"protocol", "dapdee-run/1"}, {"digest", digest}}.dump());
  }
  void plan() {
    send(dapdee::MsgType::Plan, nlohmann::json{{"exit", "output"}, {"V_e", {"pool1", "flatten", "fc"}}}.dump());
  }
  void frame(int i, int n) { send(dapdee::MsgType::Frame, nlohmann::json{{"frame", i}, {"tensors", n}}.dump()); }
  // A good frame: one tensor r1 of 1x4x8x8; expects its result.
  void good_frame(int i) {
    frame(i, 1);
    send(dapdee::MsgType::Tensor, dapdee::encode_tensor({"r1", {1, 4, 8, 8}, std::vector<float>(256, 0.5f)}));
    const auto r = reply();
    REQUIRE(r.type == dapdee::MsgType::Result);
    CHECK(nlohmann::json::parse(r.payload)["frame"] == i);
    const auto t = reply();
    REQUIRE(t.type == dapdee::MsgType::Tensor);
    CHECK(dapdee::decode_tensor(t.payload).take("t").data.size() == 10);
  }
};

}  // namespace

TEST_CASE("edge server: handshake, plan, frames, and bad frames get error replies while it keeps serving", "[run][server]") {
  TempDir d;
  const std::string model = save_chain(d);
  TestServer ts(model);
  const std::string digest = ts.server.model().digest();
  {
    RawClient c(ts.server.port());
    c.hello("0000-wrong");
    CHECK_THAT(c.error(), Catch::Contains("digest mismatch"));
    c.plan();
    CHECK_THAT(c.error(), Catch::Contains("before the hello"));
    c.hello(digest);
    CHECK(c.reply().type == dapdee::MsgType::Ok);
    c.send(dapdee::MsgType::Plan, nlohmann::json{{"exit", "output"}, {"V_e", {"nope"}}}.dump());
    CHECK_THAT(c.error(), Catch::Contains("nope"));
    c.plan();
    CHECK(c.reply().type == dapdee::MsgType::Ok);
    c.good_frame(0);
    // Wrong tensor name.
    c.frame(1, 1);
    c.send(dapdee::MsgType::Tensor, dapdee::encode_tensor({"p1", {1, 4, 8, 8}, std::vector<float>(256)}));
    CHECK_THAT(c.error(), Catch::Contains("not an input"));
    // Wrong dims.
    c.frame(2, 1);
    c.send(dapdee::MsgType::Tensor, dapdee::encode_tensor({"r1", {1, 4, 4, 16}, std::vector<float>(256)}));
    CHECK_THAT(c.error(), Catch::Contains("expects"));
    // Not a TensorProto.
    c.frame(3, 1);
    c.send(dapdee::MsgType::Tensor, "\xff\xff\xff not protobuf");
    CHECK_THAT(c.error(), Catch::Contains("TensorProto"));
    // A tensor outside any frame, a frame type a client never sends.
    c.send(dapdee::MsgType::Tensor, dapdee::encode_tensor({"r1", {1, 4, 8, 8}, std::vector<float>(256)}));
    CHECK_THAT(c.error(), Catch::Contains("outside a frame"));
    c.send(dapdee::MsgType::Result, "{}");
    CHECK_THAT(c.error(), Catch::Contains("does not send"));
    c.good_frame(4);  // the same connection still works
  }
  {  // Client JSON of the wrong types or with invalid UTF-8: error replies, the connection lives on.
    RawClient c(ts.server.port());
    c.send(dapdee::MsgType::Hello, R"({"protocol": 7, "digest": "x"})");
    CHECK_THAT(c.error(), Catch::Contains("hello"));
    c.send(dapdee::MsgType::Hello, nlohmann::json{{"protocol", "dapdee-run/1"}, {"digest", digest}, {"model", 5}}.dump());
    CHECK(c.reply().type == dapdee::MsgType::Ok);
    c.plan();
    CHECK(c.reply().type == dapdee::MsgType::Ok);
    c.send(dapdee::MsgType::Frame, R"({"frame": 1, "tensors": 4294967297})");
    CHECK_THAT(c.error(), Catch::Contains("4294967297 tensors"));
    c.frame(2, 1);
    c.send(dapdee::MsgType::Tensor, dapdee::encode_tensor({"r\xff\xfe", {1, 4, 8, 8}, std::vector<float>(256)}));
    CHECK_THAT(c.error(), Catch::Contains("r"));
    c.good_frame(3);
  }
  {  // A length prefix above the limit: an error reply, then the server hangs up on that stream.
    RawClient c(ts.server.port());
    c.send_raw(std::string("\x7f\xff\xff\xff", 4) + "T");
    CHECK_THAT(c.error(), Catch::Contains("outside"));
  }
  {  // A truncated frame: the rest never comes (the frame timeout), then the writer gives up.
    RawClient c(ts.server.port());
    c.hello(digest);
    CHECK(c.reply().type == dapdee::MsgType::Ok);
    c.send_raw(std::string("\x00\x00\x01\x00", 4) + "T" + std::string(20, 'x'));
    CHECK_THAT(c.error(), Catch::Contains("rest of a frame"));
  }
  {  // A client killed in the middle of a frame.
    const int port = ts.server.port();
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      const int fd = dapdee::connect_tcp("127.0.0.1", port, 5.0);
      const std::string half = std::string("\x00\x00\x10\x00", 4) + "T" + std::string(100, 'x');
      dapdee::write_all(fd, half.data(), half.size());
      ::pause();
      ::_exit(0);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
  }
  RawClient after(ts.server.port());  // still serving
  after.hello(digest);
  CHECK(after.reply().type == dapdee::MsgType::Ok);
  after.plan();
  CHECK(after.reply().type == dapdee::MsgType::Ok);
  after.good_frame(0);
  CHECK(ts.server.stats().plans_built == 1);  // built once, served from the cache after
}

TEST_CASE("edge server: --max-cached-plans bounds the built edge parts, switching plans rebuilds the dropped one", "[run][server]") {
  TempDir d;
  const std::string model = save_chain(d);
  for (const int cap : {1, 2}) {
    INFO("max_cached_plans " << cap);
    auto o = TestServer::options(model);
    o.max_cached_plans = cap;
    dapdee::EdgeServer server(o);
    std::thread thread([&] { server.serve(); });
    {
      RawClient c(server.port());
      c.hello(server.model().digest());
      CHECK(c.reply().type == dapdee::MsgType::Ok);
      for (int i = 0; i < 4; ++i) {  // plan A (send r1), plan B (send p1), A, B
        if (i % 2 == 0) {
          c.plan();
          CHECK(c.reply().type == dapdee::MsgType::Ok);
          c.good_frame(i);
        } else {
          c.send(dapdee::MsgType::Plan, nlohmann::json{{"exit", "output"}, {"V_e", {"flatten", "fc"}}}.dump());
          CHECK(c.reply().type == dapdee::MsgType::Ok);
          c.frame(i, 1);
          c.send(dapdee::MsgType::Tensor, dapdee::encode_tensor({"p1", {1, 4, 4, 4}, std::vector<float>(64, 0.5f)}));
          REQUIRE(c.reply().type == dapdee::MsgType::Result);
          REQUIRE(c.reply().type == dapdee::MsgType::Tensor);
        }
      }
    }
    server.stop();
    thread.join();
    CHECK(server.stats().plans_built == (cap == 1 ? 4u : 2u));
  }
}

TEST_CASE("dapdee-run: the halves over the link equal the whole model", "[run][e2e]") {
  TempDir d;
  for (const bool weightless : {false, true}) {
    INFO((weightless ? "weightless (name-seeded refill)" : "with weights"));
    const std::string model = save_chain(d, weightless);
    spit(d / "plan.json", R"({"format":"dapdee-plan/1","model":"chain","exit":"output","bandwidth_mbps":50,"delay_ms":2,
      "V_d":["input","conv1","relu1"],"V_s":["relu1"],"V_e":["pool1","flatten","fc"],"T_d":0.1,"T_t":0.2,"T_e":0.1})");
    dapdee::RunOptions o;
    o.model_path = model;
    o.plan_path = d / "plan.json";
    o.frames = 3;
    o.warmup = 1;
    o.timeout_s = 10;
    const auto r = dapdee::run_plan(o);
    const auto j = nlohmann::json::parse(r.report_json);
    CHECK(j["format"] == "dapdee-run-report/1");
    CHECK(j["frames"].size() == 3);
    REQUIRE(j.contains("check"));
    CHECK(j["check"]["max_abs_diff_vs_whole_model"].get<double>() < 1e-4);
    // 256 floats (1 KiB) at 50 Mbit/s: 0.164 ms of payload, plus framing.
    CHECK(j["measured"]["T_t"].get<double>() >= 0.16);
    CHECK(j["framing"]["payload_bytes"] == 1024);
    CHECK(j["measured"]["latency_ms"].get<double>() >= 2.0);  // the delay is paid
  }
  // Pipelined: several frames in flight, every result still in order and equal to the whole's.
  dapdee::RunOptions o;
  o.model_path = d / "chain.onnx";
  o.plan_path = d / "plan.json";
  o.frames = 8;
  o.warmup = 0;
  o.timeout_s = 10;
  o.pipeline = dapdee::Pipeline::On;
  const auto j = nlohmann::json::parse(dapdee::run_plan(o).report_json);
  CHECK(j["mode"] == "pipeline");
  CHECK(j["frames"].size() == 8);
  CHECK(j["measured"]["throughput_fps"].get<double>() > 0);
  CHECK(j["error_pct"].contains("throughput_fps"));
  CHECK(j["check"]["max_abs_diff_vs_whole_model"].get<double>() < 1e-4);
}

TEST_CASE("dapdee-run sends what the plan says: float16, int8 tensors and a uint8 input", "[run][e2e][wire]") {
  TempDir d;
  const std::string model = save_chain(d);
  const std::string cut = R"("V_d":["input","conv1","relu1"],"V_s":["relu1"],"V_e":["pool1","flatten","fc"])";
  const std::string edge_only = R"("V_d":["input"],"V_s":["input"],"V_e":["conv1","relu1","pool1","flatten","fc"])";
  struct Case {
    std::string name, sets, wire;
    uint64_t payload;  // the plan's bytes: relu1 is 1x4x8x8 (256 floats), input 1x3x8x8 (192)
    double tolerance;  // of the halves' output against the whole model's (docs/TOOLS.md, "The wire")
    std::string sent_as;
  };
  const Case cases[] = {
      {"float32", cut, "", 1024, 1e-4, ""},
      {"float16", cut, R"(,"wire_dtype":"float16")", 512, 1e-2, "float16"},
      {"int8", cut, R"(,"wire_dtype":"int8")", 256, 5e-2, "int8 (symmetric, per-tensor scale)"},
      {"uint8 input", edge_only, R"(,"input_encoding":"uint8","wire_dtype":"float16")", 192, 5e-2, "float16"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    spit(d / "plan.json", R"({"format":"dapdee-plan/1","model":"chain","exit":"output","bandwidth_mbps":50,"delay_ms":1,)" + c.sets +
                              R"(,"T_d":0.1,"T_t":0.2,"T_e":0.1)" + c.wire + "}");
    dapdee::RunOptions o;
    o.model_path = model;
    o.plan_path = d / "plan.json";
    o.frames = 2;
    o.warmup = 0;
    o.timeout_s = 10;
    const auto r = dapdee::run_plan(o);
    CHECK(r.warnings.empty());
    const auto j = nlohmann::json::parse(r.report_json);
    CHECK(j["framing"]["payload_bytes"] == c.payload);
    REQUIRE(j.contains("check"));
    const double diff = j["check"]["max_abs_diff_vs_whole_model"].get<double>();
    CHECK(diff < c.tolerance);
    if (c.sent_as.empty()) CHECK_FALSE(j["link"].contains("sent_tensors_as"));
    else CHECK(j["link"]["sent_tensors_as"] == c.sent_as);
  }
  // jpeg:RATIO cannot be encoded for real: sent as uint8, with a warning saying so.
  spit(d / "plan.json", R"({"format":"dapdee-plan/1","model":"chain","exit":"output","bandwidth_mbps":50,"delay_ms":1,)" +
                            edge_only + R"(,"T_d":0.1,"T_t":0.2,"T_e":0.1,"input_encoding":"jpeg:10"})");
  dapdee::RunOptions o;
  o.model_path = model;
  o.plan_path = d / "plan.json";
  o.frames = 1;
  o.warmup = 0;
  o.timeout_s = 10;
  const auto r = dapdee::run_plan(o);
  REQUIRE(r.warnings.size() == 1);
  CHECK_THAT(r.warnings[0], Catch::Contains("no JPEG encoder"));
  CHECK(nlohmann::json::parse(r.report_json)["framing"]["payload_bytes"] == 192);
  spit(d / "plan.json", R"({"format":"dapdee-plan/1","model":"chain","exit":"output","bandwidth_mbps":50,)" + cut +
                            R"(,"wire_dtype":"bfloat16"})");
  CHECK_THROWS_WITH(dapdee::run_plan(o), Catch::Contains("unknown wire_dtype 'bfloat16'"));
}

TEST_CASE("dapdee-run: streaming plans switch between frames and metrics lines follow", "[run][stream]") {
  TempDir d;
  const std::string model = save_chain(d);
  const std::string fifo = d / "plans.fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  dapdee::RunOptions o;
  o.model_path = model;
  o.plan_stream = fifo;
  o.metrics_out = d / "metrics.jsonl";
  o.warmup = 0;
  o.timeout_s = 10;
  o.link.bandwidth_mbps = 100;
  o.link.delay_ms = 1;
  dapdee::RunOutcome r;
  std::string failure;
  std::thread runner([&] {
    try {
      r = dapdee::run_plan(o);
    } catch (const dapdee::Error& e) {
      failure = e.what();
    }
  });
  {
    std::ofstream plans(fifo);
    plans << R"({"format":"dapdee-plan/1","exit":"output","V_d":["input","conv1"],"V_s":["conv1"],"V_e":["relu1","pool1","flatten","fc"]})"
          << "\n" << std::flush;
    // Wait for a few frames with the first plan, then switch.
    auto lines_so_far = [&] {
      const std::string text = slurp(o.metrics_out);
      return std::count(text.begin(), text.end(), '\n');
    };
    for (int k = 0; k < 200 && lines_so_far() < 3; ++k)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    plans << R"({"format":"dapdee-plan/1","exit":"output","V_d":["input","conv1","relu1","pool1"],"V_s":["pool1"],"V_e":["flatten","fc"]})"
          << "\n" << std::flush;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }  // EOF ends the run
  runner.join();
  REQUIRE(failure.empty());
  const auto j = nlohmann::json::parse(r.report_json);
  CHECK(j["plans_used"] == 2);
  CHECK(j["frames"].front()["plan"] == 1);
  CHECK(j["frames"].back()["plan"] == 2);
  std::ifstream metrics(o.metrics_out);
  std::string line;
  size_t lines = 0;
  while (std::getline(metrics, line)) {
    const auto m = nlohmann::json::parse(line);
    CHECK(m["format"] == "dapdee-metrics/1");
    CHECK(m.contains("measured_latency_ms"));
    CHECK(m.contains("bandwidth_mbps"));
    ++lines;
  }
  CHECK(lines == j["frames"].size());
}

TEST_CASE("an exit of two outputs: split and run produce both, from either side", "[run][exit-group]") {
  TempDir d;
  testing_onnx::Builder b(13, "detector");
  b.input("input", {1, 3, 8, 8});
  testing_onnx::conv(b, "conv1", "input", "c1", 3, 4);
  b.node("Relu", {"c1"}, {"r1"}, "relu1");
  testing_onnx::conv(b, "boxes_conv", "r1", "boxes", 4, 4);
  b.node("GlobalAveragePool", {"r1"}, {"g"}, "pool");
  b.node("Flatten", {"g"}, {"f"}, "flatten");
  b.weight("fc.w", {10, 4});
  testing_onnx::Builder::attr_int(b.node("Gemm", {"f", "fc.w"}, {"scores"}, "fc"), "transB", 1);
  b.output("boxes").output("scores");
  for (auto& t : *b.model().mutable_graph()->mutable_initializer()) t.clear_raw_data();  // weightless: refilled
  const std::string model = d / "detector.onnx";
  b.save(model);
  const dapdee::ModelSplitter m(model, dapdee::Weights::Refill);
  if (m.dag().exits.size() != 1)
    DAPDEE_SKIP("this importer makes each graph output its own exit (grouping outputs of different shapes is not in yet)");
  REQUIRE(m.dag().exits[0].outputs.size() == 2);
  const std::string exit = m.dag().exits[0].name;
  const dapdee::Partition p{exit, {"input", "conv1", "relu1", "boxes_conv"}, {"pool", "flatten", "fc"}};
  const auto parts = m.split(p, "plan");
  CHECK(parts.device_exit == std::vector<std::string>{"boxes"});
  CHECK(parts.edge_exit == std::vector<std::string>{"scores"});
  spit(d / "plan.json", nlohmann::json{{"format", "dapdee-plan/1"}, {"exit", exit}, {"V_d", p.v_d}, {"V_e", p.v_e},
                                       {"bandwidth_mbps", 100}, {"delay_ms", 1}}.dump());
  const auto c = run(tool("dapdee-split") + " " + model + " --plan " + (d / "plan.json") + " --check");
  INFO(c.err);
  CHECK(c.code == 0);
  CHECK_THAT(c.out, Catch::Contains("boxes") && Catch::Contains("scores"));
  dapdee::RunOptions o;
  o.model_path = model;
  o.plan_path = d / "plan.json";
  o.frames = 2;
  o.warmup = 0;
  o.timeout_s = 10;
  const auto j = nlohmann::json::parse(dapdee::run_plan(o).report_json);
  CHECK(j["check"]["max_abs_diff_vs_whole_model"].get<double>() < 1e-4);
}

TEST_CASE("dapdee-run: a server that hangs up in the middle of a reply is a clear error", "[run][client]") {
  TempDir d;
  const std::string model = save_chain(d);
  spit(d / "plan.json", R"({"format":"dapdee-plan/1","exit":"output","V_d":["input","conv1"],"V_e":["relu1","pool1","flatten","fc"],"bandwidth_mbps":100})");
  int port = 0;
  const int lfd = dapdee::listen_tcp("127.0.0.1", 0, port);
  std::thread fake([lfd] {  // answers the hello and the plan, then half a result, then hangs up
    const int fd = ::accept(lfd, nullptr, nullptr);
    dapdee::set_socket_timeouts(fd, 5);
    dapdee::Message m;
    std::string why;
    for (int k = 0; k < 2; ++k) {
      if (dapdee::read_frame(fd, m, 1 << 20, why) != dapdee::ReadStatus::Ok) break;
      const std::string ok = dapdee::encode_frame(dapdee::MsgType::Ok, "{}");
      dapdee::write_all(fd, ok.data(), ok.size());
    }
    for (int k = 0; k < 2; ++k) dapdee::read_frame(fd, m, 1 << 20, why);  // the frame header and its tensor
    const std::string half = dapdee::encode_frame(dapdee::MsgType::Result, R"({"frame":0,"tensors":1})").substr(0, 12);
    dapdee::write_all(fd, half.data(), half.size());
    ::close(fd);
  });
  dapdee::RunOptions o;
  o.model_path = model;
  o.plan_path = d / "plan.json";
  o.frames = 1;
  o.warmup = 0;
  o.timeout_s = 10;
  o.connect = "127.0.0.1:" + std::to_string(port);
  std::string err;
  try {
    dapdee::run_plan(o);
  } catch (const dapdee::Error& e) {
    err = e.what();
  }
  fake.join();
  ::close(lfd);
  CHECK_THAT(err, Catch::Contains("closed"));
}

TEST_CASE("dapdee-run CLI: refused connection, lean plans, usage", "[run][cli]") {
  TempDir d;
  const std::string model = save_chain(d);
  spit(d / "plan.json", R"({"format":"dapdee-plan/1","exit":"output","V_d":["input","conv1"],"V_e":["relu1","pool1","flatten","fc"],"bandwidth_mbps":10})");
  // A port nobody listens on: bind one, close it, connect there.
  int port = 0;
  ::close(dapdee::listen_tcp("127.0.0.1", 0, port));
  const auto refused = run(tool("dapdee-run") + " " + model + " --plan " + (d / "plan.json") + " --frames 1 --connect 127.0.0.1:" +
                           std::to_string(port));
  CHECK(refused.code == 1);
  CHECK_THAT(refused.err, Catch::Contains("connection refused"));
  spit(d / "lean.json", R"({"format":"dapdee-plan/1","exit":"output","latency_ms":3})");
  const auto lean = run(tool("dapdee-run") + " " + model + " --plan " + (d / "lean.json") + " --frames 1 -o " + (d / "r.json"));
  CHECK(lean.code == 1);
  CHECK_THAT(lean.err, Catch::Contains("lacks 'V_d'"));
  CHECK_FALSE(fs::exists(d / "r.json"));
  CHECK(run(tool("dapdee-run") + " --help").code == 0);
  CHECK(run(tool("dapdee-run")).code == 2);
  CHECK(run(tool("dapdee-run") + " serve").code == 2);
  CHECK(run(tool("dapdee-run") + " " + model + " --plan " + (d / "plan.json") + " --frames 0").code == 2);
  CHECK(run(tool("dapdee-run") + " " + model + " --plan " + (d / "plan.json") + " --threads 0").code == 2);
  const auto neg = run(tool("dapdee-run") + " " + model + " --plan " + (d / "plan.json") + " --frames 1 --bandwidth -3");
  CHECK(neg.code == 1);
  CHECK_THAT(neg.err, Catch::Contains("positive"));
  const auto ok = run(tool("dapdee-run") + " " + model + " --plan " + (d / "plan.json") + " --frames 2 --warmup 0 --delay 1");
  CHECK(ok.code == 0);
  CHECK(nlohmann::json::parse(ok.out)["link"]["bandwidth_mbps"] == 10.0);
  CHECK(ok.err.find("on the wire") == std::string::npos);
  // A plan made for a float16 wire: the run sends float16 (conv1's 256 floats in 512 bytes), no warning.
  spit(d / "fp16.json", R"({"format":"dapdee-plan/1","exit":"output","V_d":["input","conv1"],"V_e":["relu1","pool1","flatten","fc"],"bandwidth_mbps":10,"wire_dtype":"float16"})");
  const auto fp16 = run(tool("dapdee-run") + " " + model + " --plan " + (d / "fp16.json") + " --frames 1 --warmup 0 --delay 1");
  CHECK(fp16.code == 0);
  CHECK(fp16.err.find("warning") == std::string::npos);
  CHECK(nlohmann::json::parse(fp16.out)["framing"]["payload_bytes"] == 512);
  CHECK(nlohmann::json::parse(fp16.out)["link"]["sent_tensors_as"] == "float16");
  // A trace of one opportunity per ms (12 Mbit/s): the sent 1 KiB frame (conv1's output) takes 1-2 ms.
  std::string trace;
  for (int t = 1; t <= 1000; ++t) trace += std::to_string(t) + "\n";
  spit(d / "trace.up", trace);
  const auto tr = run(tool("dapdee-run") + " " + model + " --plan " + (d / "plan.json") + " --frames 2 --warmup 0 --bandwidth-trace " +
                      (d / "trace.up"));
  REQUIRE(tr.code == 0);
  const auto tj = nlohmann::json::parse(tr.out);
  CHECK(tj["link"]["trace"] == d / "trace.up");
  // One 1500-byte opportunity per ms: the frame waits for the next one, anywhere in (0, 1] ms after
  // it is offered (the phase is random), so only a positive, bounded time can be asserted.
  CHECK(tj["measured"]["T_t"].get<double>() > 0.0);
  CHECK(tj["measured"]["T_t"].get<double>() < 50.0);
  // serve: loopback by default, stops on SIGINT with a summary.
  const auto sv = run("timeout --preserve-status -s INT 2 " + tool("dapdee-run") + " serve " + model + " --listen 127.0.0.1:0");
  CHECK(sv.code == 0);
  CHECK_THAT(sv.err, Catch::Contains("serving chain") && Catch::Contains("on 127.0.0.1:"));
  CHECK_THAT(sv.err, Catch::Contains("served 0 frames"));
}
#endif

// ---------------------------------------------------------------- streams (issue 22)

TEST_CASE("arrivals: periodic every 1000/F ms from the phase, Poisson gaps of mean 1000/F fixed by the seed",
          "[run][stream]") {
  using dapdee::Arrivals;
  const auto p = dapdee::client::arrival_times(20, Arrivals::Periodic, 5, 1, 12.5);
  REQUIRE(p.size() == 5);
  for (size_t i = 0; i < p.size(); ++i) CHECK(p[i] == Approx(12.5 + 50.0 * static_cast<double>(i)));
  const auto a = dapdee::client::arrival_times(10, Arrivals::Poisson, 20000, 7);
  const auto b = dapdee::client::arrival_times(10, Arrivals::Poisson, 20000, 7);
  const auto c = dapdee::client::arrival_times(10, Arrivals::Poisson, 20000, 8);
  CHECK(a == b);
  CHECK(a != c);
  double sum = 0, sq = 0, prev = 0;
  int short_gaps = 0;
  for (double t : a) {
    const double g = t - prev;
    REQUIRE(g >= 0);
    sum += g;
    sq += g * g;
    short_gaps += g < 100.0 * std::log(2.0) ? 1 : 0;  // below the median of an exponential of mean 100
    prev = t;
  }
  const double n = static_cast<double>(a.size()), mean = sum / n, sd = std::sqrt(sq / n - mean * mean);
  CHECK(mean == Approx(100.0).epsilon(0.03));  // 3 standard errors of the mean are 2.1%
  CHECK(sd == Approx(100.0).epsilon(0.05));    // an exponential's deviation equals its mean
  CHECK(short_gaps / n == Approx(0.5).margin(0.02));
}

namespace {

// The chain's plan at 1 Mbit/s: relu1 (1 KiB and its framing) takes about 9 ms on the link.
std::string slow_link_plan() {
  return R"({"format":"dapdee-plan/1","model":"chain","exit":"output","bandwidth_mbps":1,"delay_ms":1,
      "V_d":["input","conv1","relu1"],"V_s":["relu1"],"V_e":["pool1","flatten","fc"],"T_d":0.1,"T_t":8.2,"T_e":0.1})";
}

}  // namespace

TEST_CASE("dapdee-run --fps: frames released open loop, none waits below saturation, the link queue grows above it",
          "[run][e2e][stream]") {
  TempDir d;
  const std::string model = save_chain(d, false);
  spit(d / "plan.json", slow_link_plan());
  dapdee::RunOptions o;
  o.model_path = model;
  o.plan_path = d / "plan.json";
  o.frames = 12;
  o.warmup = 1;
  o.timeout_s = 20;
  o.fps = 25;  // every 40 ms: the link (about 9 ms) is free when each frame comes
  auto j = nlohmann::json::parse(dapdee::run_plan(o).report_json);
  CHECK(j["mode"] == "stream");
  REQUIRE(j["frames"].size() == 12);
  for (size_t i = 0; i < 12; ++i) {
    CHECK(j["frames"][i]["t_arrive"].get<double>() == Approx(40.0 * static_cast<double>(i)).margin(1e-3));
    CHECK(j["frames"][i]["wait_uplink"].get<double>() < 5.0);
  }
  CHECK(j["stream"]["predicted"]["stable"] == true);
  CHECK(j["stream"]["measured"]["queued_at_end"].get<int>() <= 1);
  CHECK(j["check"]["max_abs_diff_vs_whole_model"].get<double>() < 1e-4);

  o.fps = 250;  // every 4 ms: the link is saturated, each frame waits longer than the one before
  o.frames = 30;
  j = nlohmann::json::parse(dapdee::run_plan(o).report_json);
  CHECK(j["stream"]["predicted"]["stable"] == false);
  CHECK(j["stream"]["predicted"]["latency_mean_ms"].is_null());
  const auto& f = j["frames"];
  CHECK(f[29]["wait_uplink"].get<double>() > f[5]["wait_uplink"].get<double>() + 50.0);
  CHECK(f[29]["latency_ms"].get<double>() > f[29]["wait_uplink"].get<double>());
  CHECK(j["stream"]["measured"]["queued_at_end"].get<int>() > 5);
  CHECK(j["stream"]["measured"]["achieved_fps"].get<double>() < 200.0);
}

TEST_CASE("dapdee-run load: N replayed devices against one server, every result equal and checked",
          "[run][e2e][stream]") {
  TempDir d;
  const std::string model = save_chain(d, false);
  spit(d / "plan.json", R"({"format":"dapdee-plan/1","model":"chain","exit":"output","bandwidth_mbps":50,"delay_ms":1,
      "V_d":["input","conv1","relu1"],"V_s":["relu1"],"V_e":["pool1","flatten","fc"],"T_d":0.1,"T_t":0.2,"T_e":0.1})");
  dapdee::LoadOptions o;
  o.model_path = model;
  o.plan_path = d / "plan.json";
  o.clients = 3;
  o.fps = 40;
  o.frames = 10;
  o.arrivals = dapdee::Arrivals::Poisson;
  o.timeout_s = 20;
  const auto r = dapdee::run_load(o);
  CHECK(r.results == 30);
  CHECK(r.wrong == 0);
  const auto j = nlohmann::json::parse(r.report_json);
  CHECK(j["mode"] == "load");
  CHECK(j["integrity"]["lost"] == 0);
  CHECK(j["stream"]["clients"] == 3);
  REQUIRE(j["stream"]["per_client"].size() == 3);
  for (const auto& c : j["stream"]["per_client"]) CHECK(c["frames"] == 10);
  CHECK(j["check"]["max_abs_diff_vs_whole_model"].get<double>() < 1e-4);
  o.connect = "127.0.0.1:1";  // nothing listens there
  CHECK_THROWS_WITH(dapdee::run_load(o), Catch::Contains("cannot connect"));
}
