#include "dapdee/plan/wire.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "dapdee/plan/cut_block.hpp"

namespace dapdee {

namespace {

int64_t elements(const TensorInfo& t) {
  int64_t n = 1;
  for (int64_t d : t.shape) n *= std::max<int64_t>(d, 1);
  return n;
}

struct DtypeInfo {
  WireDtype dtype;
  const char* name;
  double scale;  // bytes relative to float32
};
constexpr DtypeInfo kDtypes[] = {
    {WireDtype::Float32, "float32", 1.0}, {WireDtype::Float16, "float16", 0.5}, {WireDtype::Int8, "int8", 0.25}};

const DtypeInfo& dtype_info(WireDtype d) {
  for (const auto& i : kDtypes)
    if (i.dtype == d) return i;
  return kDtypes[0];
}

double dtype_scale(WireDtype d) { return dtype_info(d).scale; }

bool is_float32(const TensorInfo& t) { return t.dtype == "float32" || t.dtype == "float"; }

// Bytes of one graph-input tensor under the input encoding (an image: one byte per element
// as uint8); inputs that are not float32 (token ids) keep their size.
double input_bytes(const TensorInfo& t, const Wire& w) {
  if (!is_float32(t)) return static_cast<double>(t.bytes);
  switch (w.input) {
    case InputEncoding::Float32: return static_cast<double>(t.bytes);
    case InputEncoding::Uint8: return static_cast<double>(elements(t));
    case InputEncoding::Jpeg: return static_cast<double>(elements(t)) / w.jpeg_ratio;
  }
  return static_cast<double>(t.bytes);
}

}  // namespace

Parsed<bool> parse_input_encoding(const std::string& s, Wire& wire) {
  if (s == "float32") return wire.input = InputEncoding::Float32, true;
  if (s == "uint8") return wire.input = InputEncoding::Uint8, true;
  if (s.rfind("jpeg:", 0) == 0) {
    const std::string r = s.substr(5);
    char* end = nullptr;
    const double ratio = std::strtod(r.c_str(), &end);
    if (r.empty() || *end != '\0' || !std::isfinite(ratio) || ratio < 1)
      return Parsed<bool>::failure(fmt::format("'{}': jpeg:RATIO needs a compression ratio >= 1 relative to uint8 "
                                               "(e.g. jpeg:10)", s));
    wire.input = InputEncoding::Jpeg;
    wire.jpeg_ratio = ratio;
    return true;
  }
  return Parsed<bool>::failure(fmt::format("unknown input encoding '{}' (float32, uint8, jpeg:RATIO)", s));
}

std::vector<std::string> input_encoding_names() { return {"float32", "uint8", "jpeg:RATIO"}; }

std::optional<WireDtype> parse_wire_dtype(const std::string& s) {
  for (const auto& i : kDtypes)
    if (s == i.name) return i.dtype;
  return std::nullopt;
}

std::vector<std::string> wire_dtype_names() {
  std::vector<std::string> v;
  for (const auto& i : kDtypes) v.emplace_back(i.name);
  return v;
}

std::string input_encoding_name(const Wire& wire) {
  switch (wire.input) {
    case InputEncoding::Float32: return "float32";
    case InputEncoding::Uint8: return "uint8";
    case InputEncoding::Jpeg: return fmt::format("jpeg:{}", wire.jpeg_ratio);
  }
  return "?";
}

const char* wire_dtype_name(WireDtype d) { return dtype_info(d).name; }

void apply_wire(const Dag& dag, const Wire& wire, Costs& costs) {
  if (wire.input == InputEncoding::Float32 && wire.dtype == WireDtype::Float32) return;
  for (size_t v = 0; v < dag.nodes.size(); ++v) {
    const Node& node = dag.nodes[v];
    double b = 0;
    for (const auto& t : node.outputs) {
      if (!t.consumed) continue;
      if (is_input(node)) b += input_bytes(t, wire);
      else if (is_float32(t)) b += static_cast<double>(t.bytes) * dtype_scale(wire.dtype);
      else b += static_cast<double>(t.bytes);
    }
    // DAGs without tensor lists (older files) keep out_bytes, scaled as float32 when not an input.
    if (node.outputs.empty())
      b = static_cast<double>(node.out_bytes) * (is_input(node) ? 1.0 : dtype_scale(wire.dtype));
    costs.bytes[v] = b;
  }
}

double result_bytes_on_edge(const Dag& dag, const Plan& plan) {
  const Exit& e = dag.exits.at(static_cast<size_t>(plan.exit));
  const std::vector<int> heads = e.node_ids.empty() ? std::vector<int>{e.node_id} : e.node_ids;
  double b = 0;
  for (int v : plan.v_e) {
    if (std::find(heads.begin(), heads.end(), v) == heads.end()) continue;
    // The exit's named outputs; older DAGs name none: the head's tensors no node reads.
    for (const auto& t : dag.nodes[v].outputs) {
      const bool named = std::find(e.outputs.begin(), e.outputs.end(), t.name) != e.outputs.end();
      if (e.outputs.empty() ? !t.consumed : named) b += static_cast<double>(t.bytes);
    }
  }
  return b;
}

void finish_wire(const Dag& dag, const Wire& wire, double delay_ms, Plan& plan) {
  if (wire.input != InputEncoding::Float32) plan.input_encoding = input_encoding_name(wire);
  if (wire.dtype != WireDtype::Float32) plan.wire_dtype = wire_dtype_name(wire.dtype);
  if (!wire.downlink_mbps) return;
  plan.result_downlink_mbps = wire.downlink_mbps;
  const double bytes = result_bytes_on_edge(dag, plan);
  plan.t_down = bytes > 0 ? send_ms(bytes, *wire.downlink_mbps) + delay_ms : 0.0;
  plan.latency_ms += *plan.t_down;
}

}  // namespace dapdee
