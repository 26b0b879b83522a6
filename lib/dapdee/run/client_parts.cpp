#include "dapdee/run/client_parts.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <unistd.h>

#include "dapdee/run/split_check.hpp"
#include "dapdee/support/io.hpp"

namespace dapdee::client {

// A plan's wire (dapdee/wire.hpp's names) as the encodings dapdee-run sends: input_encoding
// uint8 as UINT8, jpeg:RATIO as UINT8 too (no JPEG encoder here: a warning says the bytes
// exceed the plan's), wire_dtype float16|int8 as FLOAT16|INT8. Throws Error(where) for an
// unknown name.
void wire_from_plan(const nlohmann::json& plan, const std::string& where, DevicePlan& d,
                    std::vector<std::string>& warnings) {
  auto text = [&](const char* key) {
    return plan.contains(key) && plan[key].is_string() ? plan[key].get<std::string>() : std::string("float32");
  };
  const std::string in = text("input_encoding"), dt = text("wire_dtype");
  if (in == "uint8" || in.rfind("jpeg:", 0) == 0)
    d.input_encoding = WireEncoding::Uint8;
  else if (in != "float32")
    throw Error(where, fmt::format("unknown input_encoding '{}' (float32, uint8, jpeg:RATIO)", in));
  const std::string jpeg = fmt::format(
      "the plan assumes input_encoding {}, but dapdee-run has no JPEG encoder for arbitrary "
      "tensors: it sends the input as uint8, {} times the plan's bytes, and the measured "
      "T_t will exceed the predicted one",
      in, in.substr(5));
  if (in.rfind("jpeg:", 0) == 0 && std::find(warnings.begin(), warnings.end(), jpeg) == warnings.end())
    warnings.push_back(jpeg);
  const std::pair<const char*, WireEncoding> dtypes[] = {
      {"float32", WireEncoding::Float32}, {"float16", WireEncoding::Float16}, {"int8", WireEncoding::Int8}};
  const auto it = std::find_if(std::begin(dtypes), std::end(dtypes), [&](const auto& e) { return dt == e.first; });
  if (it == std::end(dtypes)) throw Error(where, fmt::format("unknown wire_dtype '{}' (float32, float16, int8)", dt));
  d.tensor_encoding = it->second;
}

const char* encoding_name(WireEncoding e) {
  switch (e) {
    case WireEncoding::Float32: return "float32";
    case WireEncoding::Float16: return "float16";
    case WireEncoding::Int8: return "int8 (symmetric, per-tensor scale)";
    case WireEncoding::Uint8: return "uint8 (per-tensor min/max affine)";
  }
  return "?";
}

std::string plan_key(const Partition& p) {
  std::vector<std::string> ve = p.v_e;
  std::sort(ve.begin(), ve.end());
  std::string k = p.exit;
  for (const auto& n : ve) k += "\n" + n;
  return k;
}

double number(const nlohmann::json& plan, const char* key, double fallback) {
  return plan.contains(key) && plan[key].is_number() ? plan[key].get<double>() : fallback;
}

LinkSpec link_for(const LinkOptions& o, const nlohmann::json& plan) {
  LinkSpec l;
  l.mtu = o.mtu;
  l.delay_ms = o.delay_ms ? *o.delay_ms : number(plan, "delay_ms", 0.0);
  if (!o.trace_path.empty()) {
    l.trace_path = o.trace_path;
    l.trace_text = read_input(o.trace_path);
    return l;
  }
  if (o.bandwidth_mbps)
    l.bandwidth_mbps = *o.bandwidth_mbps;
  else if (plan.contains("bandwidth_mbps") && plan["bandwidth_mbps"].is_number())
    l.bandwidth_mbps = plan["bandwidth_mbps"].get<double>();
  else
    throw Error("--bandwidth", "the plan names no bandwidth_mbps: give --bandwidth or --bandwidth-trace");
  return l;
}

Shaper make_shaper(const LinkSpec& l) {
  if (l.bandwidth_mbps) return Shaper(rate_link(*l.bandwidth_mbps), l.delay_ms, l.mtu);
  return Shaper(trace_link(l.trace_text, l.trace_path).take(l.trace_path), l.delay_ms, l.mtu);
}

Prediction predict(const nlohmann::json& plan, const LinkSpec& l, bool offloads) {
  Prediction p;
  p.T_d = number(plan, "T_d", 0);
  p.T_t = number(plan, "T_t", 0);
  p.T_e = number(plan, "T_e", 0);
  const double plan_bw = number(plan, "bandwidth_mbps", 0);
  p.note = "the plan's T_d, T_t, T_e";
  if (l.bandwidth_mbps && plan_bw > 0 && std::fabs(plan_bw - *l.bandwidth_mbps) > 1e-9) {
    p.T_t *= plan_bw / *l.bandwidth_mbps;
    p.note += fmt::format("; T_t rescaled from the plan's {} to the link's {} Mbit/s", plan_bw, *l.bandwidth_mbps);
  }
  if (!l.bandwidth_mbps) p.note += "; T_t at the plan's bandwidth (the trace varies)";
  p.latency_ms = p.T_d + p.T_t + p.T_e + (offloads ? l.delay_ms : 0.0);
  p.T_max = std::max({p.T_d, p.T_t, p.T_e});
  p.note += fmt::format("; latency = T_d + T_t + T_e + delay ({} ms) when something is sent", l.delay_ms);
  return p;
}

void declare_dims(HostTensor& t, const ModelSplitter& m) {
  const TensorInfo* info = m.tensor(t.name);
  if (info && !info->shape.empty() && element_count(info->shape) == t.data.size()) t.dims = info->shape;
}

namespace {

bool is_graph_input(const ModelSplitter& m, const std::string& tensor) {
  for (const auto& n : m.dag().nodes)
    if (is_input(n) && n.name == tensor) return true;
  return false;
}

// As the cost model (dapdee/wire.hpp): the wire's encodings apply to float32 tensors only;
// others (int64 indices) go as float32, exact for the values OpenCV hands over.
WireEncoding encoding_for(const ModelSplitter& m, const DevicePlan& p, const std::string& tensor) {
  const TensorInfo* info = m.tensor(tensor);
  if (info && !info->dtype.empty() && info->dtype != "float32" && info->dtype != "float") return WireEncoding::Float32;
  return is_graph_input(m, tensor) ? p.input_encoding : p.tensor_encoding;
}

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

std::string frame_bytes(int index, size_t tensors, const std::string& tensor_frames, uint32_t max_frame) {
  return encode_frame(MsgType::Frame, nlohmann::json{{"frame", index}, {"tensors", tensors}}.dump(), max_frame) +
         tensor_frames;
}

DeviceOut run_device_part(const ModelSplitter& m, const DevicePlan& p, int index, uint32_t max_frame,
                          DeviceKeep& keep) {
  keep.inputs = random_inputs(m, static_cast<uint64_t>(index) * 7919 + 1);  // the camera's frame
  keep.device_exit.clear();
  std::vector<std::string> wanted = p.parts.sent;
  for (const auto& o : p.parts.device_exit)
    if (!contains(wanted, o)) wanted.push_back(o);
  std::vector<HostTensor> sent;
  if (p.net) {
    for (auto& t : p.net->run(keep.inputs, wanted)) {
      declare_dims(t, m);
      if (contains(p.parts.device_exit, t.name)) keep.device_exit.push_back(t);
      if (contains(p.parts.sent, t.name)) sent.push_back(std::move(t));
    }
  } else {
    sent = keep.inputs;
  }
  DeviceOut d;
  d.offloaded = p.offloads();
  if (!d.offloaded) return d;
  const auto t0 = std::chrono::steady_clock::now();
  std::string tensors;
  for (const auto& t : sent) {
    const WireEncoding e = encoding_for(m, p, t.name);
    tensors += encode_frame(MsgType::Tensor, encode_tensor(t, e), max_frame);
    d.payload_bytes += t.data.size() * wire_element_bytes(e);
  }
  d.bytes = frame_bytes(index, sent.size(), tensors, max_frame);
  d.t_ser_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return d;
}

int connect_and_hello(const std::string& host, int port, const ModelSplitter& model, uint32_t max_frame,
                      double timeout_s, const std::string& where) {
  const int fd = connect_tcp(host, port, timeout_s);
  // The handshake goes unshaped, before the link starts.
  const std::string hello = encode_frame(
      MsgType::Hello,
      nlohmann::json{{"protocol", kRunProtocol}, {"model", model.dag().model}, {"digest", model.digest()}}.dump());
  auto fail = [&](const std::string& why) {
    ::close(fd);
    throw Error(where, why);
  };
  if (!write_all(fd, hello.data(), hello.size())) fail("the connection closed during the handshake");
  Message m;
  std::string why;
  if (read_frame(fd, m, max_frame, why) != ReadStatus::Ok) fail("no handshake reply: " + why);
  const auto j = nlohmann::json::parse(m.payload, nullptr, false);
  if (m.type != MsgType::Ok)
    fail("the edge server refused: " + (j.is_object() ? j.value("error", m.payload) : m.payload));
  set_socket_timeouts(fd, 0);
  return fd;
}

}  // namespace dapdee::client
