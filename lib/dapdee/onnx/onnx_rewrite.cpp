#include "dapdee/onnx/onnx_rewrite.hpp"

#include "dapdee/onnx/onnx_types.hpp"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unordered_map>
#include <unordered_set>

#include "dapdee/onnx/fold.hpp"
#include "dapdee/support/error.hpp"

namespace dapdee {

using onnx::TensorProto;

namespace {

size_t numel(const TensorProto& t) { return element_count(t.dims()); }

bool has_inline_data(const TensorProto& t) {
  const size_t n = numel(t);
  if (t.data_location() == TensorProto::EXTERNAL) return false;
  if (n == 0) return true;
  return !t.raw_data().empty() || t.float_data_size() > 0 || t.double_data_size() > 0 ||
         t.int32_data_size() > 0;
}

// Loads external data into raw_data; false when the file is missing.
bool load_external(TensorProto& t, const std::string& dir, const std::string& where) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : t.external_data()) {
    if (kv.key() == "location") location = kv.value();
    if (kv.key() == "offset") offset = std::stoll(kv.value());
    if (kv.key() == "length") length = std::stoll(kv.value());
  }
  const auto path = std::filesystem::path(dir) / location;
  std::ifstream in(path, std::ios::binary);
  if (location.empty() || !in) return false;
  const size_t elem = t.data_type() == TensorProto::DOUBLE ? 8 : t.data_type() == TensorProto::FLOAT ? 4 : 2;
  const size_t want = length >= 0 ? static_cast<size_t>(length) : numel(t) * elem;
  std::string buf(want, '\0');
  in.seekg(offset);
  in.read(buf.data(), static_cast<std::streamsize>(want));
  if (static_cast<size_t>(in.gcount()) != want)
    throw Error(where, fmt::format("external data '{}' is shorter than tensor '{}'", location, t.name()));
  t.clear_external_data();
  t.set_data_location(TensorProto::DEFAULT);
  t.set_raw_data(std::move(buf));
  return true;
}

// SplitMix64: a tiny generator whose stream is fixed by its seed on every platform.
uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

uint64_t refill_seed(const std::string& name) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a 64 of the initializer's name, salted by the scheme
  for (const char c : std::string(kRefillScheme) + "/" + name) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

RewriteReport refill_weights(onnx::ModelProto& model, const std::string& dir, const std::string& where) {
  RewriteReport rep;
  auto* g = model.mutable_graph();
  // Roles of BatchNormalization inputs: 1 scale, 2 bias, 3 mean, 4 var.
  std::unordered_map<std::string, float> constant_fill;
  for (const auto& n : g->node()) {
    if (n.op_type() != "BatchNormalization") continue;
    for (int k = 1; k < n.input_size() && k <= 4; ++k) constant_fill[n.input(k)] = (k == 1 || k == 4) ? 1.0f : 0.0f;
  }
  // Identity outputs of BN stats point back to the initializer.
  for (const auto& n : g->node())
    if (n.op_type() == "Identity" && n.input_size() == 1 && constant_fill.count(n.output(0)))
      constant_fill[n.input(0)] = constant_fill[n.output(0)];
  for (auto& t : *g->mutable_initializer()) {
    const int32_t type = t.data_type();
    if (type != TensorProto::FLOAT && type != TensorProto::DOUBLE) continue;  // integers are shapes
    if (t.data_location() == TensorProto::EXTERNAL && load_external(t, dir, where)) continue;
    if (has_inline_data(t)) continue;
    const size_t n = numel(t);
    std::vector<float> v(n);
    if (auto it = constant_fill.find(t.name()); it != constant_fill.end()) {
      std::fill(v.begin(), v.end(), it->second);
    } else {
      size_t fan_in = 1;
      for (int d = 1; d < t.dims_size(); ++d) fan_in *= static_cast<size_t>(t.dims(d));
      if (t.dims_size() <= 1) fan_in = std::max<size_t>(n, 1);
      const float bound = 1.0f / std::sqrt(static_cast<float>(std::max<size_t>(fan_in, 1)));
      // Seeded from the name alone: a part refilled on its own gets the whole model's values.
      uint64_t state = refill_seed(t.name());
      for (auto& x : v) {
        const double unit = static_cast<double>(splitmix64(state) >> 11) * 0x1.0p-53;  // [0, 1)
        x = static_cast<float>((2.0 * unit - 1.0) * bound);
      }
    }
    t.clear_external_data();
    t.set_data_location(TensorProto::DEFAULT);
    t.clear_float_data();
    t.clear_double_data();
    t.set_data_type(TensorProto::FLOAT);
    t.set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)));
    ++rep.refilled;
  }
  return rep;
}

void rewrite_for_opencv(onnx::ModelProto& model, RewriteReport& rep) {
  auto* g = model.mutable_graph();
  std::unordered_map<std::string, const TensorProto*> inits;
  for (const auto& t : g->initializer()) inits[t.name()] = &t;
  std::unordered_map<std::string, fold::Value> constants;  // Constant node outputs
  for (const auto& n : g->node())
    if (n.op_type() == "Constant" && n.output_size() == 1)
      if (auto v = fold::evaluate(n, {}, 13)) constants[n.output(0)] = (*v)[0];
  std::vector<TensorProto> new_inits;
  google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
  for (auto& n : *g->mutable_node()) {
    if (n.op_type() == "Identity" && n.input_size() == 1 && inits.count(n.input(0))) {
      TensorProto copy = *inits.at(n.input(0));
      copy.set_name(n.output(0));
      new_inits.push_back(std::move(copy));
      ++rep.identity_rewrites;
      continue;
    }
    if (n.op_type() == "Clip" && n.input_size() > 1) {
      bool ok = true;
      float bounds[2] = {-INFINITY, INFINITY};
      for (int k = 1; k < n.input_size() && k <= 2; ++k) {
        if (n.input(k).empty()) continue;
        std::optional<fold::Value> v;
        if (auto it = inits.find(n.input(k)); it != inits.end()) v = fold::from_tensor(*it->second);
        else if (auto c = constants.find(n.input(k)); c != constants.end()) v = c->second;
        if (!v || v->numel() != 1) {
          ok = false;
          break;
        }
        bounds[k - 1] = static_cast<float>(v->is_float() ? v->f[0] : static_cast<double>(v->i[0]));
      }
      if (ok) {
        onnx::NodeProto c = n;
        while (c.input_size() > 1) c.mutable_input()->RemoveLast();
        for (int k = 0; k < 2; ++k) {
          if (!std::isfinite(bounds[k])) continue;
          auto* a = c.add_attribute();
          a->set_name(k == 0 ? "min" : "max");
          a->set_type(onnx::AttributeProto::FLOAT);
          a->set_f(bounds[k]);
        }
        *kept.Add() = std::move(c);
        ++rep.clip_rewrites;
        continue;
      }
    }
    *kept.Add() = n;
  }
  if (rep.clip_rewrites > 0) {
    // Attribute-style Clip exists only up to opset 10; OpenCV reads the attributes either way.
    // (The opset number is left as it is: OpenCV 4.6 accepts min/max attributes at any opset.)
  }
  g->mutable_node()->Swap(&kept);
  for (auto& t : new_inits) *g->add_initializer() = std::move(t);
}

}  // namespace dapdee
