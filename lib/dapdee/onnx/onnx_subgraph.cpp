#include "dapdee/onnx/onnx_subgraph.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "dapdee/support/error.hpp"

namespace dapdee {

namespace {

// Names a subgraph (If/Loop/Scan body) reads from the enclosing scope.
void outer_refs(const onnx::GraphProto& g, std::vector<std::string>& out) {
  std::unordered_set<std::string> local;
  for (const auto& i : g.input()) local.insert(i.name());
  for (const auto& i : g.initializer()) local.insert(i.name());
  for (const auto& n : g.node())
    for (const auto& o : n.output()) local.insert(o);
  for (const auto& n : g.node()) {
    for (const auto& i : n.input())
      if (!i.empty() && !local.count(i)) out.push_back(i);
    for (const auto& a : n.attribute()) {
      std::vector<std::string> inner;
      if (a.has_g()) outer_refs(a.g(), inner);
      for (const auto& sg : a.graphs()) outer_refs(sg, inner);
      for (auto& s : inner)
        if (!local.count(s)) out.push_back(s);
    }
  }
}

// The graph's tensors by kind: produced by a node (-> node index), real inputs, initializers.
struct TensorIndex {
  std::unordered_map<std::string, int> producer;
  std::unordered_set<std::string> inputs, initializers;
  explicit TensorIndex(const onnx::GraphProto& g) {
    for (const auto& t : g.initializer()) initializers.insert(t.name());
    for (const auto& i : g.input())
      if (!initializers.count(i.name())) inputs.insert(i.name());
    for (int i = 0; i < g.node_size(); ++i)
      for (const auto& o : g.node(i).output())
        if (!o.empty()) producer.emplace(o, i);
  }
};

// Marks the nodes `tensor` needs in `keep`; true when it depends on some graph input.
bool mark_ancestors(const onnx::GraphProto& g, const TensorIndex& ix, const std::string& tensor,
                    std::vector<char>& keep) {
  std::vector<char> seen(g.node_size(), 0);
  std::vector<std::string> stack{tensor};
  bool reaches = false;
  while (!stack.empty()) {
    const std::string t = std::move(stack.back());
    stack.pop_back();
    if (ix.inputs.count(t)) reaches = true;
    const auto it = ix.producer.find(t);
    if (it == ix.producer.end() || seen[it->second]) continue;
    seen[it->second] = keep[it->second] = 1;
    for (auto& r : node_reads(g.node(it->second))) stack.push_back(std::move(r));
  }
  return reaches;
}

// Ops whose cost is weights times activations: the suggestion never merges through them.
bool weighted_op(const std::string& op) {
  static const std::set<std::string> ops = {"Conv", "ConvTranspose", "ConvInteger", "QLinearConv", "Gemm",
                                            "MatMul", "MatMulInteger", "QLinearMatMul", "Einsum", "LSTM",
                                            "GRU", "RNN", "Attention"};
  return ops.count(op) > 0;
}

// The suggestion's working state: producers, sizes, which nodes have (or follow) an unknown size.
struct Frontier {
  const StaticView& v;
  std::unordered_map<std::string, int> producer;  // non-folded producers
  std::vector<int> pos;                           // node -> topological position
  std::vector<char> dynamic;
  explicit Frontier(const StaticView& view) : v(view) {
    const auto& g = *v.graph;
    pos.assign(g.node_size(), -1);
    dynamic.assign(g.node_size(), 0);
    for (size_t k = 0; k < v.order->size(); ++k) pos[(*v.order)[k]] = static_cast<int>(k);
    for (int i = 0; i < g.node_size(); ++i)
      if (!(*v.folded)[i])
        for (const auto& o : g.node(i).output())
          if (!o.empty()) producer.emplace(o, i);
    for (int i : *v.order) {
      if ((*v.folded)[i]) continue;
      for (const auto& o : g.node(i).output()) dynamic[i] |= !o.empty() && !v.is_static(o);
      for (const auto& t : live_reads(i)) dynamic[i] |= producer.count(t) && dynamic[producer.at(t)];
    }
  }
  std::vector<std::string> live_reads(int node) const {
    std::vector<std::string> out;
    for (const auto& t : (*v.reads)[node])
      if (!v.is_constant(t) && std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
    return out;
  }
  int position(const std::string& t) const {
    const auto it = producer.find(t);
    return it == producer.end() ? -1 : pos[it->second];
  }
  bool mergeable(int node) const {
    const auto& n = v.graph->node(node);
    return !dynamic[node] && (n.domain().empty() || n.domain() == "ai.onnx") && !weighted_op(n.op_type());
  }
};

// The static tensors that the unknown-size part reads, plus the static graph outputs.
std::set<std::string> first_frontier(const Frontier& f) {
  const auto& g = *f.v.graph;
  std::set<std::string> front;
  for (int i : *f.v.order) {
    if ((*f.v.folded)[i] || !f.dynamic[i]) continue;
    for (const auto& t : f.live_reads(i)) {
      const auto it = f.producer.find(t);
      if (it == f.producer.end() || !f.dynamic[it->second]) front.insert(t);
    }
  }
  for (const auto& o : g.output()) {
    const auto it = f.producer.find(o.name());
    if (it != f.producer.end() && !f.dynamic[it->second]) front.insert(o.name());
  }
  return front;
}

// The tensors of `front` computable from `u` (plus constants) through mergeable nodes.
std::vector<std::string> covered_by(const Frontier& f, const std::string& u, const std::set<std::string>& front,
                                    const std::vector<int>& region) {
  std::unordered_set<std::string> from{u};
  std::vector<std::string> cover;
  if (front.count(u)) cover.push_back(u);
  for (int i : region) {
    const auto reads = f.live_reads(i);
    if (reads.empty() || !std::all_of(reads.begin(), reads.end(), [&](const std::string& t) { return from.count(t); }))
      continue;
    for (const auto& o : f.v.graph->node(i).output()) {
      if (o.empty() || o == u || !from.insert(o).second) continue;
      if (front.count(o)) cover.push_back(o);
    }
  }
  return cover;
}

// Mergeable nodes that lead to `front` through mergeable nodes only, in topological order.
std::vector<int> merge_region(const Frontier& f, const std::set<std::string>& front) {
  std::vector<char> in(f.v.graph->node_size(), 0);
  std::vector<std::string> stack(front.begin(), front.end());
  while (!stack.empty()) {
    const auto it = f.producer.find(stack.back());
    stack.pop_back();
    if (it == f.producer.end() || in[it->second] || !f.mergeable(it->second)) continue;
    in[it->second] = 1;
    for (auto& t : f.live_reads(it->second)) stack.push_back(std::move(t));
  }
  std::vector<int> region;
  for (int i : *f.v.order)
    if (in[i]) region.push_back(i);
  return region;
}

}  // namespace

std::vector<std::string> node_reads(const onnx::NodeProto& n) {
  std::vector<std::string> reads;
  for (const auto& i : n.input())
    if (!i.empty()) reads.push_back(i);
  for (const auto& a : n.attribute()) {
    if (a.has_g()) outer_refs(a.g(), reads);
    for (const auto& sg : a.graphs()) outer_refs(sg, reads);
  }
  return reads;
}

std::vector<std::string> restrict_to_outputs(onnx::ModelProto& model, const std::vector<std::string>& wanted,
                                             const std::string& where) {
  onnx::GraphProto& g = *model.mutable_graph();
  std::vector<std::string> names;
  for (const auto& n : wanted)
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  if (names.empty()) throw Error(where, "--outputs: no tensor named");
  const TensorIndex ix(g);
  std::vector<char> keep(g.node_size(), 0);
  for (const auto& t : names) {
    if (ix.inputs.count(t)) throw Error(where, fmt::format("--outputs: '{}' is a graph input, not computed by any node", t));
    if (ix.initializers.count(t)) throw Error(where, fmt::format("--outputs: '{}' is a constant (an initializer)", t));
    if (!ix.producer.count(t))
      throw Error(where, fmt::format("--outputs: the model has no tensor '{}' (no node produces it)", t));
    if (!mark_ancestors(g, ix, t, keep))
      throw Error(where, fmt::format("--outputs: tensor '{}' does not depend on the graph's input "
                                     "(it is computed from constants only)", t));
  }
  // Rebuild: the needed nodes in their order, the named tensors as outputs, the inputs still read.
  std::vector<onnx::NodeProto> nodes;
  std::unordered_set<std::string> read;
  for (int i = 0; i < g.node_size(); ++i)
    if (keep[i]) {
      for (auto& r : node_reads(g.node(i))) read.insert(std::move(r));
      nodes.push_back(std::move(*g.mutable_node(i)));
    }
  g.clear_node();
  for (auto& n : nodes) *g.add_node() = std::move(n);
  std::vector<onnx::ValueInfoProto> outs;
  for (const auto& t : names) {
    onnx::ValueInfoProto vi;
    vi.set_name(t);
    for (const auto& x : g.value_info())
      if (x.name() == t) vi = x;
    for (const auto& x : g.output())
      if (x.name() == t) vi = x;
    outs.push_back(std::move(vi));
  }
  g.clear_output();
  for (auto& o : outs) *g.add_output() = std::move(o);
  std::vector<std::string> dropped;
  std::vector<onnx::ValueInfoProto> inputs;
  for (auto& in : *g.mutable_input()) {
    if (ix.inputs.count(in.name()) && !read.count(in.name())) dropped.push_back(in.name());
    else inputs.push_back(std::move(in));
  }
  g.clear_input();
  for (auto& in : inputs) *g.add_input() = std::move(in);
  return dropped;
}

std::vector<std::string> suggest_static_outputs(const StaticView& view) {
  const Frontier f(view);
  std::set<std::string> front = first_frontier(f);
  for (const auto& t : front)
    if (!f.producer.count(t)) return {};  // the unknown size starts at a graph input: nothing to suggest
  // Merge: replace the tensors one tensor covers by it, the largest merge first, the nearest on ties.
  for (;;) {
    const std::vector<int> region = merge_region(f, front);
    std::set<std::string> candidates;
    for (int i : region)
      for (const auto& t : f.live_reads(i))
        if (f.producer.count(t) && !f.dynamic[f.producer.at(t)]) candidates.insert(t);
    std::string best;
    std::vector<std::string> best_cover;
    for (const auto& u : candidates) {
      auto cover = covered_by(f, u, front, region);
      const bool better = cover.size() > best_cover.size() ||
                          (cover.size() == best_cover.size() && !best.empty() && f.position(u) > f.position(best));
      if (cover.size() >= 2 && better) {
        best = u;
        best_cover = std::move(cover);
      }
    }
    if (best.empty()) break;
    for (const auto& t : best_cover) front.erase(t);
    front.insert(best);
  }
  std::vector<std::string> out(front.begin(), front.end());
  std::sort(out.begin(), out.end(), [&](const std::string& a, const std::string& b) {
    return std::make_pair(f.position(a), a) < std::make_pair(f.position(b), b);
  });
  return out;
}

namespace {

// True when `dims` contradicts a dimension the input declares (a value, not a symbol), or its rank.
bool contradicts(const onnx::ValueInfoProto& in, const std::vector<int64_t>& dims) {
  if (!in.type().tensor_type().has_shape()) return false;
  const auto& declared = in.type().tensor_type().shape().dim();
  if (declared.size() != static_cast<int>(dims.size())) return true;
  for (int d = 0; d < declared.size(); ++d)
    if (declared[d].has_dim_value() && declared[d].dim_value() != dims[d]) return true;
  return false;
}

// The shapes an exporter recorded for the traced input (graph outputs, value_info), forgotten so
// that shape inference derives them from a pinned shape that differs (a batch of 2 where the
// model was traced with 1). Element types stay. Never fails.
void forget_traced_shapes(onnx::GraphProto& g) {
  g.clear_value_info();
  for (auto& o : *g.mutable_output())
    if (o.type().has_tensor_type()) o.mutable_type()->mutable_tensor_type()->clear_shape();
}

}  // namespace

void pin_input_shapes(onnx::GraphProto& g, const std::vector<std::pair<std::string, std::vector<int64_t>>>& shapes,
                      const std::string& where) {
  std::unordered_set<std::string> initializers;
  for (const auto& t : g.initializer()) initializers.insert(t.name());
  std::vector<int> real_inputs;
  for (int i = 0; i < g.input_size(); ++i)
    if (!initializers.count(g.input(i).name())) real_inputs.push_back(i);
  bool contradicted = false;
  for (const auto& [name, dims] : shapes) {
    bool found = false;
    for (int i : real_inputs) {
      auto* in = g.mutable_input(i);
      if (in->name() != name) continue;
      found = true;
      contradicted = contradicted || contradicts(*in, dims);
      auto* shape = in->mutable_type()->mutable_tensor_type()->mutable_shape();
      shape->clear_dim();
      for (auto d : dims) shape->add_dim()->set_dim_value(d);
    }
    if (!found) {
      std::string names;
      for (int i : real_inputs) names += (names.empty() ? "" : ", ") + g.input(i).name();
      throw Error(where, fmt::format("--input-shape: the model has no input '{}' (inputs: {})", name, names));
    }
  }
  if (contradicted) forget_traced_shapes(g);
}

}  // namespace dapdee
