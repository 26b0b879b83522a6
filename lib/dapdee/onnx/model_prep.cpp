#include "dapdee/onnx/model_prep.hpp"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <optional>
#include <unordered_set>

#include "dapdee/onnx/fold.hpp"
#include "dapdee/onnx/onnx_model.hpp"
#include "dapdee/onnx/onnx_rewrite.hpp"
#include "dapdee/onnx/onnx_types.hpp"
#include "dapdee/support/error.hpp"
#include "dapdee/support/io.hpp"

namespace dapdee {

std::string refilled_model_bytes(const std::string& path, int& refilled) {
  onnx::ModelProto model = OnnxModel(path, FloatWeights::Keep).release();  // the importer's checks
  const std::string dir = path == "-" ? "." : std::filesystem::path(path).parent_path().string();
  const RewriteReport rep = refill_weights(model, dir.empty() ? "." : dir, path);
  refilled = rep.refilled;
  std::string out;
  if (!model.SerializeToString(&out)) throw Error(path, "the refilled model is too large to serialise (2 GB protobuf limit)");
  return out;
}

namespace {

using onnx::TensorProto;

// Folds every node whose inputs are all constants (initializers, Constant nodes, small constant
// shape arithmetic such as the Expand of a class token) into initializers named after its
// outputs; returns the Expand nodes among them.
int fold_constant_nodes(onnx::ModelProto& model, const std::unordered_map<std::string, std::vector<int64_t>>& shapes,
                        int& folded_nodes) {
  auto* g = model.mutable_graph();
  std::unordered_map<std::string, fold::Value> values;
  for (const auto& t : g->initializer())
    if (auto v = fold::from_tensor(t)) values.emplace(t.name(), std::move(*v));
  int64_t opset = 13;
  for (const auto& o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
  std::vector<int> folded;
  for (int i = 0; i < g->node_size(); ++i) {
    const auto& n = g->node(i);
    std::vector<const fold::Value*> in;
    bool all = true;
    fold::Value dims_only;  // Shape/Size of a tensor whose static dims the import knows
    for (const auto& name : n.input()) {
      if (name.empty()) { in.push_back(nullptr); continue; }
      const auto sh = shapes.find(name);
      if ((n.op_type() == "Shape" || n.op_type() == "Size") && !values.count(name) && sh != shapes.end() && !sh->second.empty() &&
          std::all_of(sh->second.begin(), sh->second.end(), [](int64_t d) { return d > 0; })) {
        dims_only.type = TensorProto::FLOAT;
        dims_only.dims = sh->second;
        in.push_back(&dims_only);
        continue;
      }
      const auto it = values.find(name);
      if (it == values.end()) { all = false; break; }
      in.push_back(&it->second);
    }
    if (!all) continue;
    auto out = fold::evaluate(n, in, opset);
    if (!out || out->size() != static_cast<size_t>(n.output_size())) continue;
    for (int k = 0; k < n.output_size(); ++k) values[n.output(k)] = (*out)[k];
    folded.push_back(i);
  }
  int expands = 0;
  for (int i : folded) expands += g->node(i).op_type() == "Expand";
  // Only the folded tensors something still reads become initializers (OpenCV cannot read the
  // BOOL of an Equal feeding a folded Where).
  std::unordered_set<std::string> read;
  const std::unordered_set<int> dead(folded.begin(), folded.end());
  for (int i = 0; i < g->node_size(); ++i)
    if (!dead.count(i))
      for (const auto& x : g->node(i).input()) read.insert(x);
  for (const auto& o : g->output()) read.insert(o.name());
  for (auto it = folded.rbegin(); it != folded.rend(); ++it) {
    for (const auto& out : g->node(*it).output())
      if (read.count(out)) fold::to_tensor(values[out], out, g->add_initializer());
    g->mutable_node()->DeleteSubrange(*it, 1);
  }
  folded_nodes = static_cast<int>(folded.size());
  return expands;
}

std::optional<std::vector<float>> floats(const TensorProto& t) {
  if (t.data_type() != TensorProto::FLOAT) return std::nullopt;
  const size_t n = element_count(t.dims());  // checked against the data before anything is allocated
  const bool raw = t.raw_data().size() % 4 == 0 && t.raw_data().size() / 4 == n;
  if (!raw && static_cast<size_t>(t.float_data_size()) != n) return std::nullopt;
  std::vector<float> v(n);
  if (raw) std::memcpy(v.data(), t.raw_data().data(), 4 * n);
  else std::copy(t.float_data().begin(), t.float_data().end(), v.begin());
  return v;
}

// numpy broadcasting of `v` (dims `from`) to `to`.
std::vector<float> broadcast(const std::vector<float>& v, std::vector<int64_t> from, const std::vector<int64_t>& to) {
  from.insert(from.begin(), to.size() - std::min(to.size(), from.size()), 1);
  size_t total = 1;
  for (auto d : to) total *= static_cast<size_t>(d);
  std::vector<float> out(total);
  std::vector<size_t> idx(to.size(), 0);
  for (size_t k = 0; k < total; ++k) {
    size_t src = 0;
    for (size_t a = 0; a < to.size(); ++a) src = src * static_cast<size_t>(from[a]) + (from[a] == 1 ? 0 : idx[a]);
    out[k] = v[src];
    for (size_t a = to.size(); a-- > 0;) {
      if (++idx[a] < static_cast<size_t>(to[a])) break;
      idx[a] = 0;
    }
  }
  return out;
}

// Element-wise ops whose constant input has another shape than their output: the constant is
// broadcast to the output's shape (a new initializer, as others may share the original).
int broadcast_constants(onnx::ModelProto& model, const std::unordered_map<std::string, std::vector<int64_t>>& shapes) {
  static const std::unordered_set<std::string> ops = {"Add", "Sub", "Mul", "Div"};
  auto* g = model.mutable_graph();
  std::unordered_map<std::string, int> init;
  for (int i = 0; i < g->initializer_size(); ++i) init[g->initializer(i).name()] = i;
  int count = 0;
  for (auto& n : *g->mutable_node()) {
    if (!ops.count(n.op_type()) || n.input_size() != 2 || init.count(n.input(0)) == init.count(n.input(1))) continue;
    const auto out = shapes.find(n.output(0));
    if (out == shapes.end() || out->second.empty()) continue;
    const int c = init.count(n.input(0)) ? 0 : 1;
    const TensorProto& t = g->initializer(init[n.input(c)]);
    const std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
    size_t numel = 1;
    for (auto d : out->second) numel *= static_cast<size_t>(std::max<int64_t>(d, 1));
    const auto v = floats(t);
    if (dims == out->second || !v || dims.size() > out->second.size() || numel > (1u << 22) || v->size() <= 1) continue;
    TensorProto* b = g->add_initializer();
    b->set_name(n.name() + "/broadcast_constant");
    b->set_data_type(TensorProto::FLOAT);
    for (auto d : out->second) b->add_dims(d);
    const auto data = broadcast(*v, dims, out->second);
    b->set_raw_data(std::string(reinterpret_cast<const char*>(data.data()), 4 * data.size()));
    init[b->name()] = g->initializer_size() - 1;
    n.set_input(c, b->name());
    ++count;
  }
  return count;
}

// Erf(z) ~ tanh(z * (a + b z^2)): a = 2/sqrt(pi), b = a * 0.044715 * 2 (GELU's tanh form).
int replace_erf(onnx::ModelProto& model, const std::unordered_map<std::string, std::vector<int64_t>>& shapes) {
  auto* g = model.mutable_graph();
  int count = 0;
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (const auto& n : g->node()) {
    const auto sh = n.op_type() == "Erf" ? shapes.find(n.input(0)) : shapes.end();
    if (sh == shapes.end() || sh->second.empty()) {
      *nodes.Add() = n;
      continue;
    }
    const std::string p = n.name() + "/erf_approx/";
    const std::string& z = n.input(0);
    size_t numel = 1;
    for (auto d : sh->second) numel *= static_cast<size_t>(std::max<int64_t>(d, 1));
    auto constant = [&](const std::string& name, float value) {
      TensorProto* t = g->add_initializer();
      t->set_name(p + name);
      t->set_data_type(TensorProto::FLOAT);
      for (auto d : sh->second) t->add_dims(d);
      const std::vector<float> v(numel, value);
      t->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), 4 * v.size()));
      return t->name();
    };
    const double a = 2.0 / std::sqrt(M_PI), b = a * 0.044715 * 2;
    auto add = [&](const char* op, const std::vector<std::string>& in, const std::string& out, const std::string& name) {
      auto* m = nodes.Add();
      m->set_op_type(op);
      m->set_name(name);
      for (auto& x : in) m->add_input(x);
      m->add_output(out);
    };
    add("Mul", {z, z}, p + "z2", p + "Mul");
    add("Mul", {p + "z2", constant("b", static_cast<float>(b))}, p + "bz2", p + "Mul_1");
    add("Add", {p + "bz2", constant("a", static_cast<float>(a))}, p + "poly", p + "Add");
    add("Mul", {z, p + "poly"}, p + "arg", p + "Mul_2");
    add("Tanh", {p + "arg"}, n.output(0), n.name());
    ++count;
  }
  if (count) g->mutable_node()->Swap(&nodes);
  return count;
}

}  // namespace

TransformerRewrites rewrite_for_opencv_transformers(onnx::ModelProto& model,
                                                    const std::unordered_map<std::string, std::vector<int64_t>>& shapes) {
  TransformerRewrites r;
  r.expand = fold_constant_nodes(model, shapes, r.folded);
  r.erf = replace_erf(model, shapes);
  r.broadcast = broadcast_constants(model, shapes);
  return r;
}

}  // namespace dapdee
