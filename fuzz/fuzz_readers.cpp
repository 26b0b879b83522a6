#include "fuzz_readers.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "dapdee/app/follow_job.hpp"
#include "dapdee/import/onnx_import.hpp"
#include "dapdee/import/ort_import.hpp"
#include "dapdee/model/dag.hpp"
#include "dapdee/model/metrics.hpp"
#include "dapdee/model/network.hpp"
#include "dapdee/model/profile.hpp"
#include "dapdee/predict/latency_model.hpp"
#include "dapdee/predict/predict.hpp"
#include "dapdee/support/error.hpp"
#include "dapdee/support/io.hpp"
#include "dapdee/support/json_field.hpp"
#ifdef DAPDEE_FUZZ_RUNTIME
#include "dapdee/run/run_client.hpp"
#endif
#include "dapdee/protocol/tensor_wire.hpp"
#include "dapdee/split/split.hpp"

#ifndef DAPDEE_SOURCE_DIR
#define DAPDEE_SOURCE_DIR "."
#endif

namespace dapdee_fuzz {

namespace fs = std::filesystem;

namespace {

// A private scratch folder for readers that take paths; removed at exit.
const fs::path& scratch() {
  static const fs::path dir = [] {
    std::string tmpl = (fs::temp_directory_path() / "dapdee-fuzz-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) std::abort();
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(scratch(), ec);
    });
    return fs::path(tmpl);
  }();
  return dir;
}

std::string put(const std::string& name, const std::string& data) {
  const std::string path = (scratch() / name).string();
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
  return path;
}

std::string source(const std::string& rel) { return std::string(DAPDEE_SOURCE_DIR) + "/" + rel; }

// The small fixed model the path-taking readers (exits sidecar, plan) pair the input with.
const std::string& fixed_model() {
  static const std::string path = source("models/ee_alexnet.onnx");
  return path;
}

const dapdee::Dag& fixed_dag() {
  static const dapdee::Dag dag =
      dapdee::parse_dag(dapdee::read_input(source("profiles/dags/ee_alexnet.dag.json")), "ee_alexnet.dag.json");
  return dag;
}

void read_onnx(const std::string& data) {
  dapdee::ImportOptions opt;
  opt.model_path = put("model.onnx", data);
  (void)dapdee::dag_to_json(dapdee::import_onnx(opt).dag);
}

void read_exits(const std::string& data) {
  dapdee::ImportOptions opt;
  opt.model_path = fixed_model();
  opt.exits_path = put("exits.json", data);
  (void)dapdee::import_onnx(opt);
}

void read_plan(const std::string& data) {
  dapdee::SplitOptions opt;
  opt.model_path = fixed_model();
  opt.plan_path = put("plan.json", data);
  opt.device_out = (scratch() / "device.onnx").string();
  opt.edge_out = (scratch() / "edge.onnx").string();
  (void)dapdee::split_model(opt);
}

void read_mahimahi(const std::string& data) {
  for (double window : {1000.0, 7.0}) (void)dapdee::mahimahi_windows(data, window);
}

// A property broken on input that was accepted: a finding, like a crash.
[[noreturn]] void finding(const char* reader, const std::string& what) {
  std::fprintf(stderr, "dapdee-fuzz: %s: %s\n", reader, what.c_str());
  std::abort();
}

// dapdee-metrics/1 lines, read as `dapdee-plan --follow` reads them (stop at a bad line) and
// as a tolerant reader would (warn and skip).
void read_metrics(const std::string& data) {
  {
    std::istringstream in(data);
    std::ostringstream warn;
    dapdee::MetricReader skip(in, "in", dapdee::BadSample::Skip, warn);
    while (skip.next()) {
    }
  }
  std::istringstream in(data);
  std::ostringstream warn;
  dapdee::MetricReader stop(in, "in", dapdee::BadSample::Stop, warn);
  while (stop.next()) {
  }
}

// The closed loop's planning half: samples in, plan lines out (the controller and the bandwidth
// estimator see every sample). Every line written must be a plan dapdee-run accepts.
void read_follow(const std::string& data) {
  static const dapdee::PlanJob job = [] {
    dapdee::PlanJob j;
    j.dag_path = source("profiles/dags/ee_alexnet.dag.json");
    j.device_profile = source("profiles/predicted/ee_alexnet.rpi4.json");
    j.edge_profile = source("profiles/predicted/ee_alexnet.edge-t4.json");
    j.networks = {"4G"};
    j.mode = "auto";
    j.deadline = "50";
    return j;
  }();
  std::istringstream in(data);
  std::ostringstream out, diag;
  try {
    dapdee::run_follow(job, in, out, diag);
  } catch (const dapdee::Error&) {
    // a bad sample stops the loop; the lines already written must still be good
  }
  std::istringstream lines(out.str());
  for (std::string line; std::getline(lines, line);) {
    try {
      (void)dapdee::partition_from_plan(dapdee::parse_json_bounded(line, "out"), "out");
    } catch (const dapdee::Error& e) {
      finding("follow", std::string("a plan line dapdee-run refuses: ") + e.what() + ": " + line.substr(0, 200));
    }
  }
}

// A TensorProto payload as the server reads it: what decodes must hold its dims' worth of
// values and survive encode -> decode unchanged.
void check_tensor(const std::string& payload) {
  auto t = dapdee::decode_tensor(payload);
  if (!t.ok()) return;
  const dapdee::HostTensor v = std::move(t).value();
  long double elements = 1;  // counted apart from the library's own (wrapping) product
  for (int64_t d : v.dims) elements *= static_cast<long double>(d);
  if (static_cast<long double>(v.data.size()) != elements) finding("wire", "a decoded tensor's data does not match its dims");
  auto back = dapdee::decode_tensor(dapdee::encode_tensor(v));
  if (!back.ok()) finding("wire", "a decoded tensor does not decode after encoding: " + back.message());
  const dapdee::HostTensor& w = back.value();
  if (w.name != v.name || w.dims != v.dims || w.data.size() != v.data.size() ||
      (!v.data.empty() && std::memcmp(w.data.data(), v.data.data(), v.data.size() * sizeof(float)) != 0))
    finding("wire", "a decoded tensor changes through encode -> decode");
}

// dapdee-run's frames: the bytes arrive on a socket and go through the frame decoder (with the
// default bound and a tiny one), every Tensor payload through the TensorProto reader.
void read_wire(const std::string& data) {
  for (uint32_t limit : {dapdee::kDefaultMaxFrameBytes, 64u}) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) std::abort();
    std::thread writer([&] {
      (void)dapdee::write_all(sv[0], data.data(), data.size());
      ::shutdown(sv[0], SHUT_WR);
    });
    dapdee::Message m;
    std::string why;
    dapdee::ReadStatus st;
    while ((st = dapdee::read_frame(sv[1], m, limit, why)) == dapdee::ReadStatus::Ok) {
      if (m.payload.size() + 1 > static_cast<size_t>(limit))
        finding("wire", "a frame over the bound was accepted");
      if (m.type == dapdee::MsgType::Tensor) check_tensor(m.payload);
    }
    if (st != dapdee::ReadStatus::Closed && why.empty()) finding("wire", "a failed read says nothing about why");
    ::close(sv[1]);
    writer.join();
    ::close(sv[0]);
  }
}

#ifdef DAPDEE_FUZZ_RUNTIME
// "127.0.0.1:PORT" of a TCP socket that is bound but never listens: connecting is refused at once.
const std::string& refused_endpoint() {
  static const std::string ep = [] {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      std::abort();
    return "127.0.0.1:" + std::to_string(ntohs(a.sin_port));  // fd stays open: the port stays taken
  }();
  return ep;
}

// dapdee-run --plan-stream: the plan lines are read and the first one checked before the run
// connects; the connection is refused, so every input ends in an Error.
void read_plan_stream(const std::string& data) {
  dapdee::RunOptions o;
  o.model_path = source("fuzz/corpus/onnx/fold_shape_ops.onnx");  // tiny: nothing checks the plan against it before connecting
  o.plan_stream = put("plans.jsonl", data);
  o.connect = refused_endpoint();
  o.warmup = 0;
  o.frames = 1;
  o.verify = dapdee::Verify::Off;
  o.timeout_s = 5;
  (void)dapdee::run_plan(o);
  finding("plan_stream", "a run against a refused connection succeeded");
}
#endif

}  // namespace

const std::vector<Reader>& readers() {
  static const std::vector<Reader> table = {
      {"onnx", read_onnx},
      {"dag", [](const std::string& d) { (void)dapdee::dag_to_json(dapdee::parse_dag(d, "in")); }},
      {"profile", [](const std::string& d) { (void)dapdee::parse_profile(d, "in"); }},
      {"network", [](const std::string& d) { (void)dapdee::parse_network(d, "in"); }},
      {"device_spec", [](const std::string& d) { (void)dapdee::predict_profile(fixed_dag(), dapdee::parse_device_spec(d, "in"), "in"); }},
      {"fit_model", [](const std::string& d) { (void)dapdee::predict_profile_with_model(fixed_dag(), dapdee::parse_latency_model(d, "in"), "in"); }},
      {"ort_trace", [](const std::string& d) { (void)dapdee::import_ort_trace(d, "in", fixed_dag(), "fuzz"); }},
      {"mahimahi", read_mahimahi},
      {"exits", read_exits},
      {"plan", read_plan},
      {"metrics", read_metrics},
      {"follow", read_follow},
      {"wire", read_wire},
#ifdef DAPDEE_FUZZ_RUNTIME
      {"plan_stream", read_plan_stream},
#endif
  };
  return table;
}

const Reader* find_reader(const std::string& name) {
  for (const auto& r : readers())
    if (name == r.name) return &r;
  return nullptr;
}

void run_one(const Reader& reader, const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    reader.read(text);
  } catch (const dapdee::Error&) {
    // The contract: bad input is refused with the project's error.
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dapdee-fuzz: %s: exception other than dapdee::Error: %s\n", reader.name, e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "dapdee-fuzz: %s: unknown exception\n", reader.name);
    std::abort();
  }
}

}  // namespace dapdee_fuzz
