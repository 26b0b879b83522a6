#include "dapdee/import/model_import.hpp"
#include "dapdee/import/onnx_import.hpp"
#include "dapdee/onnx/onnx_model.hpp"

#include <fmt/format.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <queue>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "dapdee/import/op_cost.hpp"
#include "dapdee/model/exit_groups.hpp"
#include "dapdee/onnx/fold.hpp"
#include "dapdee/onnx/infer_guard.hpp"
#include "dapdee/onnx/onnx_subgraph.hpp"
#include "dapdee/onnx/onnx_types.hpp"
#include "dapdee/support/io.hpp"
#include "dapdee/support/json_field.hpp"

namespace dapdee {

using onnx::TensorProto;

namespace {

struct Meta {
  int32_t type = 0;
  bool tensor = false;
  bool has_rank = false;
  std::vector<int64_t> dims;  // -1: unknown
  bool known() const {
    return tensor && has_rank && std::all_of(dims.begin(), dims.end(), [](int64_t d) { return d >= 0; });
  }
};

Meta meta_of(const onnx::TypeProto& tp) {
  Meta m;
  if (!tp.has_tensor_type()) return m;
  m.tensor = true;
  m.type = tp.tensor_type().elem_type();
  if (tp.tensor_type().has_shape()) {
    m.has_rank = true;
    for (const auto& d : tp.tensor_type().shape().dim())
      m.dims.push_back(d.has_dim_value() && d.dim_value() >= 0 ? d.dim_value() : -1);
  }
  return m;
}

Meta meta_of(const fold::Value& v) {
  Meta m;
  m.tensor = true;
  m.type = v.type;
  m.has_rank = true;
  m.dims = v.dims;
  return m;
}

// Bytes of a tensor with a static shape; -1 when it would not fit in 2^62 bytes.
int64_t tensor_bytes(const Meta& m) {
  int64_t n = element_type(m.type).size;
  for (auto d : m.dims)
    if (__builtin_mul_overflow(n, d, &n) || n > (int64_t{1} << 62)) return -1;
  return n;
}

constexpr const char* kDataDependent = "its size depends on data or on a shape computation that could not be folded";

bool nondeterministic(const std::string& op) {
  return op == "RandomNormal" || op == "RandomUniform" || op == "RandomNormalLike" ||
         op == "RandomUniformLike" || op == "Multinomial" || op == "Bernoulli";
}

bool has_subgraph(const onnx::NodeProto& n) {
  for (const auto& a : n.attribute())
    if (a.has_g() || a.graphs_size() > 0) return true;
  return false;
}

std::string derive_name(const onnx::NodeProto& n, int idx) { return fmt::format("{}_{}", n.op_type(), idx); }

}  // namespace

Parsed<std::pair<std::string, std::vector<int64_t>>> parse_input_shape(const std::string& spec) {
  const auto eq = spec.rfind('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
    return Parsed<std::pair<std::string, std::vector<int64_t>>>::failure(
        fmt::format("--input-shape '{}': expected NAME=D1xD2x...", spec));
  std::vector<int64_t> dims;
  std::string rest = spec.substr(eq + 1);
  size_t p = 0;
  while (p <= rest.size()) {
    size_t q = rest.find_first_of("x,", p);
    if (q == std::string::npos) q = rest.size();
    const std::string tok = rest.substr(p, q - p);
    char* end = nullptr;
    const long long v = std::strtoll(tok.c_str(), &end, 10);
    if (tok.empty() || *end != '\0' || v < 0)
      return Parsed<std::pair<std::string, std::vector<int64_t>>>::failure(
          fmt::format("--input-shape '{}': '{}' is not a dimension", spec, tok));
    dims.push_back(v);
    p = q + 1;
  }
  return std::make_pair(spec.substr(0, eq), dims);
}

namespace {

// The declarations of the exits, highest precedence first: --exits, the sidecar beside the model,
// metadata_props. With --outputs the model's own declarations name outputs that are cut off: only
// --exits counts.
std::vector<ExitDeclarations> exit_declarations(const onnx::ModelProto& model, const ImportOptions& opt,
                                                std::vector<std::string>& warnings) {
  std::vector<ExitDeclarations> decls;
  if (!opt.exits_path.empty())
    decls.push_back(parse_exit_declarations(read_input(opt.exits_path), opt.exits_path, ExitSource::Option));
  const std::string sidecar = sidecar_path(opt.model_path);
  std::error_code ec;
  const bool has_sidecar = !sidecar.empty() && std::filesystem::is_regular_file(sidecar, ec);
  if (!opt.outputs.empty()) {
    if (has_sidecar || !model.metadata_props().empty())
      warnings.emplace_back("--outputs: the model's own exit declarations (sidecar, metadata_props) are not used");
    return decls;
  }
  if (has_sidecar) decls.push_back(parse_exit_declarations(read_input(sidecar), sidecar, ExitSource::Sidecar));
  ExitDeclarations meta;
  meta.source = ExitSource::Metadata;
  meta.where = opt.model_path;
  for (const auto& p : model.metadata_props()) {
    if (p.key() == "dapdee.exits") {
      ExitDeclarations d = parse_exit_declarations(p.value(), opt.model_path, ExitSource::Metadata);
      meta.groups = meta.groups || d.groups;
      for (auto& e : d.exits) meta.exits.push_back(std::move(e));
    } else if (p.key().rfind("dapdee.accuracy.", 0) == 0) {
      add_metadata_accuracy(meta, p.key().substr(16), p.value());
    }
  }
  if (!meta.exits.empty()) decls.push_back(std::move(meta));
  return decls;
}

}  // namespace

std::string sidecar_path(const std::string& model_path) {
  if (model_path.empty() || model_path == "-") return {};
  std::filesystem::path p(model_path);
  if (p.extension() == ".onnx") p.replace_extension();
  return p.string() + ".exits.json";
}

namespace {

// The model's default-domain opset; throws when it imports none.
int64_t default_opset(const onnx::ModelProto& model, const std::string& where) {
  int64_t opset = -1;
  for (const auto& o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
  if (opset < 0) throw Error(where, "model imports no default-domain opset");
  return opset;
}

// Indices of the graph inputs that are not initializers: the model's real inputs. Never fails.
std::vector<int> real_input_indices(const onnx::GraphProto& g, const std::unordered_set<std::string>& initializers) {
  std::vector<int> real;
  for (int i = 0; i < g.input_size(); ++i)
    if (!initializers.count(g.input(i).name())) real.push_back(i);
  return real;
}

// A node's name, or one derived from its op and index when it has none.
std::string node_label(const onnx::NodeProto& n, int i) { return n.name().empty() ? derive_name(n, i) : n.name(); }

// `s` for a message: bytes outside printable ASCII (control bytes, invalid or any UTF-8) as \xNN.
// Never fails.
std::string printable(const std::string& s) {
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '\\')
      out += ch;
    else
      out += fmt::format("\\x{:02x}", c);
  }
  return out;
}

// True for the default domain's names ("" and "ai.onnx").
bool default_domain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

// The opset the model imports for `domain` (-1 when none). Never fails.
int64_t domain_opset(const onnx::ModelProto& model, const std::string& domain) {
  for (const auto& o : model.opset_import())
    if (o.domain() == domain || (default_domain(o.domain()) && default_domain(domain))) return o.version();
  return -1;
}

// Every node's op must be an operator: of the default domain at `opset` (else an error naming the
// node, the op type and the opset), or of another domain (without a schema here: a warning, its
// output sizes must come from shape inference or value_info). Throws Error(where).
void check_op_types(const onnx::ModelProto& model, int64_t opset, const std::string& where,
                    std::vector<std::string>& warnings) {
  const auto& g = model.graph();
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& n = g.node(i);
    const std::string label = printable(node_label(n, i)), op = printable(n.op_type());
    if (default_domain(n.domain())) {
      if (!onnx::OpSchemaRegistry::Schema(n.op_type(), static_cast<int>(opset), ""))
        throw Error(where, fmt::format("node '{}': op type '{}' is not an operator of the default domain at opset {}",
                                       label, op, opset));
      continue;
    }
    const int64_t version = domain_opset(model, n.domain());
    if (version >= 0 && onnx::OpSchemaRegistry::Schema(n.op_type(), static_cast<int>(version), n.domain())) continue;
    warnings.push_back(
        fmt::format("node '{}': op '{}' of custom domain '{}' is imported without a cost (0 MACs); its "
                    "output sizes come from shape inference or the graph's value_info",
                    label, op, printable(n.domain())));
  }
}

// The graph's structure, fixed after --input-shape and --outputs.
struct GraphIndex {
  std::unordered_set<std::string> initializers;
  std::vector<int> real_inputs;                 // graph input indices that are not initializers
  std::vector<std::vector<std::string>> reads;  // per ONNX node: the tensors it reads
  std::vector<int> order;                       // ONNX node indices, topological, lowest index first
};

// tensor -> index of the node producing it; throws for a duplicate node name, a tensor produced
// twice, or a tensor both an initializer and a node output.
std::unordered_map<std::string, int> index_producers(const onnx::GraphProto& g, const GraphIndex& ix,
                                                     const std::string& where) {
  std::unordered_map<std::string, int> producer;
  std::unordered_set<std::string> seen_names;
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& node = g.node(i);
    if (!node.name().empty() && !seen_names.insert(node.name()).second)
      throw Error(where, fmt::format("duplicate node name '{}'", node.name()));
    for (const auto& o : node.output()) {
      if (o.empty()) continue;
      if (!producer.emplace(o, i).second)
        throw Error(where, fmt::format("tensor '{}' is produced by two nodes ('{}' and '{}')", o,
                                       g.node(producer[o]).name(), node.name()));
      if (ix.initializers.count(o))
        throw Error(where, fmt::format("tensor '{}' is both an initializer and a node output", o));
    }
  }
  return producer;
}

// Fills ix.reads; the successors of each node (each reader once) and its count of producers.
// Throws for a tensor that nothing produces.
void link_readers(const onnx::GraphProto& g, const std::unordered_map<std::string, int>& producer, GraphIndex& ix,
                  std::vector<std::vector<int>>& succ, std::vector<int>& indeg, const std::string& where) {
  std::unordered_set<std::string> graph_inputs;
  for (int i : ix.real_inputs) graph_inputs.insert(g.input(i).name());
  const int n_nodes = g.node_size();
  ix.reads.assign(n_nodes, {});
  succ.assign(n_nodes, {});
  indeg.assign(n_nodes, 0);
  for (int i = 0; i < n_nodes; ++i) {
    ix.reads[i] = node_reads(g.node(i));
    std::unordered_set<int> deps;
    for (const auto& t : ix.reads[i]) {
      auto it = producer.find(t);
      if (it != producer.end()) {
        if (deps.insert(it->second).second) {
          succ[it->second].push_back(i);
          ++indeg[i];
        }
      } else if (!ix.initializers.count(t) && !graph_inputs.count(t)) {
        throw Error(where, fmt::format("node '{}' reads tensor '{}' that nothing produces", node_label(g.node(i), i), t));
      }
    }
  }
}

// Kahn's algorithm taking the lowest ready index first (a stable order); throws naming a node on a
// cycle.
std::vector<int> topological_order(const onnx::GraphProto& g, const std::vector<std::vector<int>>& succ,
                                   std::vector<int> indeg, const std::string& where) {
  const int n_nodes = g.node_size();
  std::vector<int> order;
  order.reserve(n_nodes);
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int i = 0; i < n_nodes; ++i)
    if (indeg[i] == 0) ready.push(i);
  while (!ready.empty()) {
    const int v = ready.top();
    ready.pop();
    order.push_back(v);
    for (int w : succ[v])
      if (--indeg[w] == 0) ready.push(w);
  }
  if (static_cast<int>(order.size()) != n_nodes) {
    for (int i = 0; i < n_nodes; ++i)
      if (indeg[i] > 0)
        throw Error(where, fmt::format("the graph has a cycle through node '{}'", node_label(g.node(i), i)));
  }
  return order;
}

// Applies --outputs to a copy of the model (`cut`) and indexes what remains (the input shapes are
// pinned already: OnnxModel); throws as the phases above and as restrict_to_outputs.
GraphIndex index_graph(const onnx::ModelProto& whole, const ImportOptions& opt, ImportResult& result,
                       std::optional<onnx::ModelProto>& cut) {
  const std::string& where = opt.model_path;
  GraphIndex ix;
  for (const auto& t : whole.graph().initializer()) ix.initializers.insert(t.name());
  if (!opt.outputs.empty()) {  // the subgraph that ends at the named tensors
    cut = whole;
    for (const auto& d : restrict_to_outputs(*cut, opt.outputs, where))
      result.warnings.push_back(fmt::format("--outputs: input '{}' is not needed for these outputs; left out", d));
  }
  const onnx::GraphProto& g = cut ? cut->graph() : whole.graph();
  ix.real_inputs = real_input_indices(g, ix.initializers);
  const auto producer = index_producers(g, ix, where);
  std::vector<std::vector<int>> succ;
  std::vector<int> indeg;
  link_readers(g, producer, ix, succ, indeg, where);
  ix.order = topological_order(g, succ, std::move(indeg), where);
  return ix;
}

// What constant folding knows; grows round by round.
struct FoldState {
  std::unordered_map<std::string, fold::Value> values;  // evaluated constants (small initializers, folded outputs)
  std::unordered_set<std::string> constants;            // tensors that are constant, evaluated or not
  std::vector<char> folded;                              // per ONNX node: folded away
  std::unordered_map<std::string, Meta> meta;            // per tensor: type and dims from the last inference
  std::vector<char> over_cap;                            // per ONNX node: refused by a folding cap (warned once)
  size_t folded_elements = 0;                            // elements of the values folded so far
  std::vector<std::string> warnings;                     // the nodes left unfolded by a cap
};

// The most elements the folded values of one model may hold together (kMaxElements each): past
// it the next nodes stay unfolded, so that many large constants cannot exhaust memory and time.
constexpr size_t kMaxFoldedElements = 8 * fold::kMaxElements;

// Above this many elements a folded value goes to shape inference by type and dims only: its
// values never size anything, and copying them into every round's model costs seconds.
constexpr size_t kInferenceValueElements = 4096;

// Adds a folded value to the inference model: an initializer holding it, or (when large) a graph
// input of its type and dims. Never fails.
void add_folded(const fold::Value& v, const std::string& name, onnx::GraphProto& wg) {
  if (v.numel() <= kInferenceValueElements) {
    fold::to_tensor(v, name, wg.add_initializer());
    return;
  }
  auto* tt = wg.add_input()->mutable_type()->mutable_tensor_type();
  wg.mutable_input(wg.input_size() - 1)->set_name(name);
  tt->set_elem_type(v.type);
  for (int64_t d : v.dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
}

// IR < 4: shape inference reads only the initializers that are graph inputs too, so every
// initializer of the working copy (folded values above all) is declared as one. Never fails.
void declare_initializers_as_inputs(onnx::GraphProto& wg) {
  std::unordered_set<std::string> inputs;
  for (const auto& in : wg.input()) inputs.insert(in.name());
  for (const auto& t : wg.initializer()) {
    if (inputs.count(t.name())) continue;
    auto* in = wg.add_input();
    in->set_name(t.name());
    auto* tt = in->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(t.data_type());
    for (int64_t d : t.dims()) tt->mutable_shape()->add_dim()->set_dim_value(d);
  }
}

// The value_info entries of the outputs of ops without a schema (custom domains): their declared
// shapes, which shape inference cannot compute. Never fails.
void declare_custom_outputs(const onnx::GraphProto& g, onnx::GraphProto& wg) {
  std::unordered_set<std::string> custom;
  for (const auto& n : g.node())
    if (!n.domain().empty() && n.domain() != "ai.onnx")
      for (const auto& o : n.output()) custom.insert(o);
  for (const auto& vi : g.value_info())
    if (custom.count(vi.name())) *wg.add_value_info() = vi;
}

// The model for one round of shape inference: every node whose outputs are all evaluated is
// replaced by initializers holding them; external data is dropped (inference needs no weights).
onnx::ModelProto inference_model(const onnx::ModelProto& model, const GraphIndex& ix, const FoldState& st) {
  const onnx::GraphProto& g = model.graph();
  onnx::ModelProto work;
  *work.mutable_opset_import() = model.opset_import();
  work.set_ir_version(model.ir_version());
  for (const auto& f : model.functions()) *work.add_functions() = f;
  auto* wg = work.mutable_graph();
  *wg->mutable_input() = g.input();
  *wg->mutable_output() = g.output();
  declare_custom_outputs(g, *wg);
  *wg->mutable_initializer() = g.initializer();
  for (auto& t : *wg->mutable_initializer())
    if (t.data_location() == TensorProto::EXTERNAL) {
      t.clear_external_data();
      t.set_data_location(TensorProto::DEFAULT);
    }
  for (int i : ix.order) {
    const auto& node = g.node(i);
    bool all_known = st.folded[i];
    for (const auto& o : node.output())
      if (!o.empty() && !st.values.count(o)) all_known = false;
    if (!all_known) {
      *wg->add_node() = node;
      continue;
    }
    for (const auto& o : node.output())
      if (!o.empty()) add_folded(st.values.at(o), o, *wg);
  }
  if (model.ir_version() < 4) declare_initializers_as_inputs(*wg);
  return work;
}

// libonnx shape inference (lenient, with data propagation) in place, behind the guard of what it
// crashes on; throws when it fails or the guard refuses a node (naming it).
void infer_shapes(onnx::ModelProto& work, const std::string& where) {
  hide_incomplete_constants(work);  // libonnx 1.12 reads constants' values unchecked (fuzz/crashes/onnx)
  std::vector<std::string> problems;
  try {
    problems = infer_shapes_guarded(work);
  } catch (const std::exception& e) {
    throw Error(where, fmt::format("shape inference failed: {}", e.what()));
  }
  if (!problems.empty()) throw Error(where, problems.front());
}

// Type and dims of every tensor after inference: inputs, value_info, outputs (a known shape wins),
// initializers, then the evaluated values. Never fails.
std::unordered_map<std::string, Meta> collect_meta(const onnx::GraphProto& wg,
                                                   const std::unordered_map<std::string, fold::Value>& values) {
  std::unordered_map<std::string, Meta> meta;
  for (const auto& v : wg.input()) meta[v.name()] = meta_of(v.type());
  for (const auto& v : wg.value_info()) meta[v.name()] = meta_of(v.type());
  for (const auto& v : wg.output()) {
    Meta m = meta_of(v.type());
    auto it = meta.find(v.name());
    if (it == meta.end() || (!it->second.known() && m.known())) meta[v.name()] = m;
  }
  for (const auto& t : wg.initializer()) {
    Meta m;
    m.tensor = true;
    m.type = t.data_type();
    m.has_rank = true;
    m.dims.assign(t.dims().begin(), t.dims().end());
    meta[t.name()] = m;
  }
  for (const auto& [name, v] : values) meta[name] = meta_of(v);
  return meta;
}

bool is_shape_like(const std::string& op) { return op == "Shape" || op == "Size"; }

// True when the node computes a constant: a deterministic default-domain op without subgraphs whose
// inputs are all constant (Shape and Size: whose input has static dims).
bool computes_constant(const onnx::NodeProto& node, const std::vector<std::string>& reads, FoldState& st) {
  const std::string& op = node.op_type();
  if (!node.domain().empty() && node.domain() != "ai.onnx") return false;
  if (nondeterministic(op) || has_subgraph(node)) return false;
  if (is_shape_like(op)) {
    const auto it = st.meta.find(node.input(0));
    return st.constants.count(node.input(0)) || (it != st.meta.end() && it->second.known());
  }
  bool is_const = true;
  for (const auto& t : reads) is_const = is_const && st.constants.count(t);
  return is_const;
}

// Marks node i as refused by a folding cap, with a warning naming it (`what` passes `cap`); false.
bool refuse_over_cap(const onnx::NodeProto& node, int i, FoldState& st, const std::string& what, size_t cap) {
  st.over_cap[i] = 1;
  st.warnings.push_back(fmt::format("node '{}' ({}): {} passes the folding cap of {} elements; left unfolded",
                                    printable(node_label(node, i)), printable(node.op_type()), what, cap));
  return false;
}

// Evaluates constant node i, whose inputs have values; true when it added values, false when it
// could not or a cap refused it (with a warning). Throws Error(where) for a fault of the model in
// the constant subgraph.
bool evaluate_constant(const onnx::NodeProto& node, int i, int64_t opset, FoldState& st, const std::string& where) {
  std::vector<const fold::Value*> ins;
  fold::Value dims_only;  // Shape and Size read only the static dims of their input
  if (is_shape_like(node.op_type()) && !st.values.count(node.input(0))) {
    const Meta& m = st.meta[node.input(0)];
    if (!m.known()) return false;
    dims_only.type = m.type;
    dims_only.dims = m.dims;
    ins.push_back(&dims_only);
  }
  for (size_t k = ins.size(); k < static_cast<size_t>(node.input_size()); ++k) {
    const std::string& t = node.input(static_cast<int>(k));
    if (t.empty()) {
      ins.push_back(nullptr);
      continue;
    }
    auto it = st.values.find(t);
    if (it == st.values.end()) return false;
    ins.push_back(&it->second);
  }
  std::optional<std::vector<fold::Value>> outs;
  size_t over = 0;
  try {
    outs = fold::evaluate(node, ins, opset, &over);
  } catch (const Error& e) {  // a fault of the model in a constant subgraph, naming the node
    throw Error(where, e.what());
  }
  if (over > 0) return refuse_over_cap(node, i, st, fmt::format("its result of {} elements", over), fold::kMaxElements);
  if (!outs || static_cast<int>(outs->size()) < node.output_size()) return false;
  size_t elements = 0;
  for (const auto& v : *outs) elements += v.numel();
  if (st.folded_elements + elements > kMaxFoldedElements)
    return refuse_over_cap(node, i, st,
                           fmt::format("its result of {} elements after {} folded", elements, st.folded_elements),
                           kMaxFoldedElements);
  st.folded_elements += elements;
  for (int k = 0; k < node.output_size(); ++k)
    if (!node.output(k).empty()) st.values[node.output(k)] = std::move((*outs)[k]);
  return true;
}

// One pass over the nodes in order: marks the constant ones folded and evaluates what can be; true
// when new values appeared.
bool fold_pass(const onnx::GraphProto& g, const GraphIndex& ix, int64_t opset, FoldState& st,
               const std::string& where) {
  bool new_values = false;
  for (int i : ix.order) {
    const auto& node = g.node(i);
    if (!computes_constant(node, ix.reads[i], st)) continue;
    if (!st.folded[i]) {
      st.folded[i] = 1;
      for (const auto& o : node.output())
        if (!o.empty()) st.constants.insert(o);
    }
    bool outs_known = true;
    for (const auto& o : node.output())
      if (!o.empty() && !st.values.count(o)) outs_known = false;
    if (outs_known || st.over_cap[i]) continue;
    if (evaluate_constant(node, i, opset, st, where)) new_values = true;
  }
  return new_values;
}

// Shape inference and constant folding alternate until no new value appears (at most 64 rounds);
// st.meta holds the last inference. Throws when inference or a constant evaluation fails.
FoldState fold_to_fixed_point(const onnx::ModelProto& model, const GraphIndex& ix, int64_t opset,
                              ImportResult& result, const std::string& where) {
  const onnx::GraphProto& g = model.graph();
  FoldState st;
  for (const auto& t : g.initializer())
    if (auto v = fold::from_tensor(t)) st.values.emplace(t.name(), std::move(*v));
  st.constants = ix.initializers;
  st.folded.assign(g.node_size(), 0);
  st.over_cap.assign(g.node_size(), 0);
  for (int round = 0; round < 64; ++round) {
    onnx::ModelProto work = inference_model(model, ix, st);
    ++result.inference_rounds;
    infer_shapes(work, where);
    st.meta = collect_meta(work.graph(), st.values);
    if (!fold_pass(g, ix, opset, st, where)) break;
  }
  for (auto& w : st.warnings) result.warnings.push_back(std::move(w));
  return st;
}

// The count of folded nodes and the evaluated outputs of folded nodes (16-bit floats left out).
void record_folded(const onnx::GraphProto& g, const FoldState& st, ModelImport& out) {
  for (int i = 0; i < g.node_size(); ++i) {
    out.result.folded_nodes += st.folded[i];
    if (!st.folded[i]) continue;
    for (const auto& o : g.node(i).output()) {
      const auto it = st.values.find(o);
      if (o.empty() || it == st.values.end()) continue;
      if (it->second.type == TensorProto::FLOAT16 || it->second.type == TensorProto::BFLOAT16) continue;
      fold::to_tensor(it->second, o, &out.folded[o]);
    }
  }
}

// Where each tensor lives in the DAG.
struct DagIndex {
  std::unordered_map<std::string, int> tensor_node;  // tensor -> DAG node id
  std::vector<int> dag_onnx;                         // DAG node id -> ONNX node index (-1 for Input)
};

// One DAG node of op Input per real graph input, named after it. Never fails.
void add_input_nodes(const onnx::GraphProto& g, const GraphIndex& ix, Dag& dag, DagIndex& di,
                     std::unordered_set<std::string>& used_names) {
  for (int i : ix.real_inputs) {
    const auto& in = g.input(i);
    Node n;
    n.name = in.name();
    n.op = kInputOp;
    used_names.insert(n.name);
    di.tensor_node[in.name()] = static_cast<int>(dag.nodes.size());
    dag.nodes.push_back(std::move(n));
  }
  di.dag_onnx.assign(dag.nodes.size(), -1);
}

// One DAG node per computing (not folded) ONNX node, in order, with its computed inputs; throws for
// an op that makes data from nothing or a node that reads no computed tensor.
void add_computing_nodes(const onnx::GraphProto& g, const GraphIndex& ix, const FoldState& st, Dag& dag,
                         DagIndex& di, std::unordered_set<std::string>& used_names, ImportResult& result,
                         const std::string& where) {
  for (int i : ix.order) {
    if (st.folded[i]) continue;
    const auto& node = g.node(i);
    if (nondeterministic(node.op_type()) && ix.reads[i].empty())
      throw Error(where, fmt::format("node '{}': op {} makes data from nothing; not supported", node.name(),
                                     node.op_type()));
    Node n;
    n.name = node_label(node, i);
    while (used_names.count(n.name)) n.name += "_";
    used_names.insert(n.name);
    n.op = node.domain().empty() || node.domain() == "ai.onnx" ? node.op_type() : node.domain() + "." + node.op_type();
    std::unordered_set<int> seen;
    for (const auto& t : ix.reads[i]) {
      if (st.constants.count(t)) continue;
      auto it = di.tensor_node.find(t);
      if (it == di.tensor_node.end()) continue;  // cannot happen: checked by link_readers
      if (seen.insert(it->second).second) n.inputs.push_back(dag.nodes[it->second].name);
    }
    if (n.inputs.empty())
      throw Error(where, fmt::format("node '{}' ({}) reads no computed tensor but could not be folded", n.name, n.op));
    const int id = static_cast<int>(dag.nodes.size());
    for (const auto& o : node.output())
      if (!o.empty()) di.tensor_node[o] = id;
    result.onnx_to_dag[i] = n.name;
    dag.nodes.push_back(std::move(n));
    di.dag_onnx.push_back(i);
  }
}

// The DAG's nodes (Input nodes first, then the computing nodes in order) and the ONNX node tables
// of the result; throws as add_computing_nodes.
DagIndex build_nodes(const onnx::GraphProto& g, const GraphIndex& ix, const FoldState& st, const ImportOptions& opt,
                     ImportResult& result) {
  const std::string& where = opt.model_path;
  Dag& dag = result.dag;
  dag.model = opt.model_name.empty() ? file_stem(where) : opt.model_name;
  if (where == "-" && opt.model_name.empty() && !g.name().empty()) dag.model = g.name();
  dag.source = where == "-" ? "-" : std::filesystem::path(where).filename().string();
  DagIndex di;
  std::unordered_set<std::string> used_names;
  add_input_nodes(g, ix, dag, di, used_names);
  result.onnx_to_dag.assign(g.node_size(), "");
  for (int i = 0; i < g.node_size(); ++i) {
    result.onnx_names.push_back(node_label(g.node(i), i));
    result.onnx_ops.push_back(g.node(i).op_type());
  }
  add_computing_nodes(g, ix, st, dag, di, used_names, result, where);
  return di;
}

// Everything the size and cost annotation reads.
struct Annotation {
  const onnx::GraphProto& g;
  const GraphIndex& ix;
  const FoldState& st;
  const DagIndex& di;
  int64_t opset;
  const std::string& where;
  std::unordered_map<std::string, int> consumer;  // tensor -> first DAG node reading it (for messages)
  std::unordered_set<std::string> graph_outputs;  // the graph's outputs
  std::vector<std::string>& warnings;
};

// True when the tensor has static dims and an element type of fixed size.
bool has_static_size(const FoldState& st, const std::string& t) {
  const auto mt = st.meta.find(t);
  return mt != st.meta.end() && mt->second.known() && element_type(mt->second.type).size > 0;
}

// Why tensor `t` (output of DAG node prod_id) has no static shape: an op without a schema, a
// dynamic input dimension, a value that is no tensor, or a data-dependent size.
std::string why_unknown(const Annotation& a, const std::string& t, int prod_id) {
  std::string why;
  if (prod_id >= 0 && a.di.dag_onnx[prod_id] >= 0) {
    const auto& pn = a.g.node(a.di.dag_onnx[prod_id]);
    const std::string domain = pn.domain() == "ai.onnx" ? "" : pn.domain();
    if (!onnx::OpSchemaRegistry::Schema(pn.op_type(), static_cast<int>(a.opset), domain)) {
      const int64_t max_opset = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map().at("").second;
      why = fmt::format("op '{}'{} is not supported (no schema in opset {}, max {})", printable(pn.op_type()),
                        domain.empty() ? "" : " of domain '" + printable(domain) + "'", a.opset, max_opset);
      if (!domain.empty())
        why += fmt::format(
            "; declare the shape of '{}' in the graph's value_info (a ValueInfoProto of that name with "
            "its elem_type and every dim_value)",
            printable(t));
    }
  } else {
    why = "a dynamic input dimension: pin it with --input-shape NAME=D1xD2x...";
  }
  if (why.empty()) why = kDataDependent;
  const auto it = a.st.meta.find(t);
  if (it != a.st.meta.end() && !it->second.tensor) why = "it is not a tensor (sequence, map or optional type)";
  return why;
}

// The --outputs suggestion for a data-dependent size ("" when there is none). Never fails.
std::string outputs_hint(const Annotation& a) {
  StaticView view;
  view.graph = &a.g;
  view.order = &a.ix.order;
  view.reads = &a.ix.reads;
  view.folded = &a.st.folded;
  view.is_constant = [&](const std::string& t) { return a.st.constants.count(t) > 0; };
  view.is_static = [&](const std::string& t) { return has_static_size(a.st, t); };
  const auto cut = suggest_static_outputs(view);
  std::string list;
  for (const auto& t : cut) list += (list.empty() ? "" : ",") + t;
  if (cut.empty()) return "";
  return fmt::format("; to import the network up to its nearest tensors of static size, leaving the "
                     "data-dependent part out, add --outputs {}", list);
}

// Throws the error for a consumed tensor without a static size, saying why and what may help.
[[noreturn]] void throw_unsized(const Annotation& a, const Dag& dag, const std::string& o, const Meta& m,
                                const TensorInfo& ti, int id) {
  const std::string reader = dag.nodes[a.consumer.at(o)].name;
  const std::string why = m.known() ? fmt::format("element type {} has no fixed size", ti.dtype)
                                    : why_unknown(a, o, id);
  const std::string hint = why == kDataDependent ? outputs_hint(a) : "";
  throw Error(a.where, fmt::format("tensor '{}' (output of '{}', read by '{}') has no static size: {}{}", o,
                                   dag.nodes[id].name, reader, why, hint));
}

// A graph output without a static size: an error for the output of a custom-domain op (its size
// must be declared), else a warning that it counts 0 bytes, saying why.
void unsized_graph_output(const Annotation& a, const Dag& dag, const std::string& o, const Meta& m,
                          const TensorInfo& ti, int id) {
  const std::string why =
      m.known() ? fmt::format("element type {} has no fixed size", ti.dtype) : why_unknown(a, o, id);
  const int onnx_id = a.di.dag_onnx[id];
  if (onnx_id >= 0 && !default_domain(a.g.node(onnx_id).domain()) && !m.known())
    throw Error(a.where, fmt::format("graph output '{}' (of node '{}') has no static size: {}", printable(o),
                                     printable(dag.nodes[id].name), why));
  a.warnings.push_back(fmt::format("graph output '{}' (of node '{}') has no static size ({}); it counts 0 bytes",
                                   printable(o), printable(dag.nodes[id].name), why));
}

// The output tensors of DAG node `id` with their types, shapes and bytes, and its out_bytes; throws
// for a consumed tensor without a static size or one impossibly large.
void annotate_outputs(const Annotation& a, Dag& dag, int id) {
  Node& n = dag.nodes[id];
  std::vector<std::string> outs;
  if (a.di.dag_onnx[id] < 0) outs.push_back(n.name);
  else
    for (const auto& o : a.g.node(a.di.dag_onnx[id]).output()) outs.push_back(o);
  for (const auto& o : outs) {
    if (o.empty()) continue;
    TensorInfo ti;
    ti.name = o;
    const auto it = a.st.meta.find(o);
    const Meta m = it == a.st.meta.end() ? Meta{} : it->second;
    ti.dtype = element_type(m.type).name;
    ti.shape = m.dims;
    ti.consumed = a.consumer.count(o) > 0;
    const bool sized = m.known() && element_type(m.type).size > 0;
    if (ti.consumed && !sized) throw_unsized(a, dag, o, m, ti, id);
    if (!sized && a.graph_outputs.count(o)) unsized_graph_output(a, dag, o, m, ti, id);
    ti.bytes = sized ? tensor_bytes(m) : 0;
    if (ti.bytes < 0) throw Error(a.where, fmt::format("tensor '{}' (output of '{}') is impossibly large", o, n.name));
    if (ti.consumed) n.out_bytes += ti.bytes;
    n.outputs.push_back(std::move(ti));
  }
}

// The shape of one operand as op_cost reads it: static dims when known, constant or not.
OperandShape operand_shape(const FoldState& st, const std::string& t) {
  OperandShape s;
  if (t.empty()) return s;
  const auto mt = st.meta.find(t);
  if (mt != st.meta.end() && mt->second.known()) {
    s.known = true;
    s.dims = mt->second.dims;
  }
  return s;
}

// The node's parameter bytes (its constant inputs of static shape), MACs and other operations.
// Never fails.
void annotate_cost(const FoldState& st, const onnx::NodeProto& node, Node& n) {
  std::vector<OperandShape> ins, outv;
  for (const auto& t : node.input()) {
    OperandShape s = operand_shape(st, t);
    if (!t.empty()) {
      s.constant = st.constants.count(t) > 0;
      if (s.constant && s.known) n.params += std::max<int64_t>(tensor_bytes(st.meta.at(t)), 0);
    }
    ins.push_back(std::move(s));
  }
  for (const auto& t : node.output()) outv.push_back(operand_shape(st, t));
  const OpCost c = op_cost(node, ins, outv);
  n.macs = c.macs;
  n.ops = c.ops;
}

// Throws when a Reshape with static input and output shapes changes the element count: a model
// whose target shape is a constant traced for another input shape (a batch of 1 pinned to 2).
// Shape inference takes such a constant as it is; the DAG would be silently wrong.
void check_reshape(const FoldState& st, const onnx::NodeProto& node, const std::string& name,
                   const std::string& where) {
  if (node.op_type() != "Reshape" || node.input_size() < 1 || node.output_size() < 1) return;
  const OperandShape in = operand_shape(st, node.input(0)), out = operand_shape(st, node.output(0));
  if (!in.known || !out.known || element_count(in.dims) == element_count(out.dims)) return;
  auto text = [](const std::vector<int64_t>& dims) {
    std::string s;
    for (size_t d = 0; d < dims.size(); ++d) s += (d ? "x" : "") + std::to_string(dims[d]);
    return s;
  };
  throw Error(where, fmt::format("node '{}' (Reshape): {} elements ({}) cannot become {} ({}): its target shape is a "
                                 "constant made for another input shape (e.g. exported with a batch of 1); export the "
                                 "model with a dynamic batch axis",
                                 name, element_count(in.dims), text(in.dims), element_count(out.dims), text(out.dims)));
}

// Sizes of every node's outputs (bytes sent when cut after it), parameters, MACs and operations;
// throws as annotate_outputs and check_reshape.
void annotate_sizes_and_costs(const onnx::GraphProto& g, const GraphIndex& ix, const FoldState& st, const DagIndex& di,
                              int64_t opset, Dag& dag, const std::string& where, std::vector<std::string>& warnings) {
  Annotation a{g, ix, st, di, opset, where, {}, {}, warnings};
  for (const auto& o : g.output()) a.graph_outputs.insert(o.name());
  for (size_t id = 0; id < dag.nodes.size(); ++id) {
    if (di.dag_onnx[id] < 0) continue;
    for (const auto& t : ix.reads[di.dag_onnx[id]])
      if (!st.constants.count(t)) a.consumer.emplace(t, static_cast<int>(id));
  }
  for (size_t id = 0; id < dag.nodes.size(); ++id) {
    annotate_outputs(a, dag, static_cast<int>(id));
    if (di.dag_onnx[id] < 0) continue;
    check_reshape(st, g.node(di.dag_onnx[id]), dag.nodes[id].name, where);
    annotate_cost(st, g.node(di.dag_onnx[id]), dag.nodes[id]);
  }
}

// Exits: groups of graph outputs, declared or by the default rule, ordered by depth; then the DAG's
// final validation. Throws for bad declarations or an invalid DAG.
void attach_exits(const onnx::ModelProto& model, const FoldState& st, const DagIndex& di, const ImportOptions& opt,
                  ImportResult& result) {
  const std::string& where = opt.model_path;
  Dag& dag = result.dag;
  if (auto problem = finalize_nodes(dag)) throw Error(where, *problem);
  std::vector<GraphOutput> outputs;
  for (const auto& o : model.graph().output()) {
    GraphOutput go;
    go.name = o.name();
    const auto it = di.tensor_node.find(o.name());
    if (!st.constants.count(o.name()) && it != di.tensor_node.end() && !is_input(dag.nodes[it->second]))
      go.node = it->second;
    const auto m = st.meta.find(o.name());
    go.static_shape = m != st.meta.end() && m->second.known();
    if (go.static_shape) go.dims = m->second.dims;
    outputs.push_back(std::move(go));
  }
  ExitGrouping grouping = group_exits(dag, outputs, exit_declarations(model, opt, result.warnings), where);
  dag.exits = std::move(grouping.exits);
  result.exit_rule = std::move(grouping.rule);
  for (auto& w : grouping.warnings) result.warnings.push_back(std::move(w));
  if (auto problem = finalize(dag)) throw Error(where, *problem);
}

}  // namespace

namespace {

// The options of an import of `model`: its path and pins; throws Error(path) when the options
// name another file or other pins.
ImportOptions options_for(const OnnxModel& model, const ImportOptions& options) {
  ImportOptions opt = options;
  if (!opt.model_path.empty() && opt.model_path != model.path())
    throw Error(model.path(), fmt::format("internal: an import of this model with options for '{}'", opt.model_path));
  if (!opt.input_shapes.empty() && opt.input_shapes != model.pins())
    throw Error(model.path(), "internal: an import with other --input-shape pins than the model's");
  opt.model_path = model.path();
  opt.input_shapes = model.pins();
  return opt;
}

}  // namespace

ModelImport import_model(const OnnxModel& model, const ImportOptions& options) {
  const ImportOptions opt = options_for(model, options);
  const std::string& where = opt.model_path;
  ModelImport out;
  ImportResult& result = out.result;
  result.warnings = model.warnings();
  const int64_t opset = default_opset(model.weightless(), where);
  std::optional<onnx::ModelProto> cut;  // --outputs: the subgraph
  const GraphIndex ix = index_graph(model.weightless(), opt, result, cut);
  const onnx::ModelProto& m = cut ? *cut : model.weightless();
  check_op_types(m, opset, where, result.warnings);
  const FoldState st = fold_to_fixed_point(m, ix, opset, result, where);
  record_folded(m.graph(), st, out);
  const DagIndex di = build_nodes(m.graph(), ix, st, opt, result);
  annotate_sizes_and_costs(m.graph(), ix, st, di, opset, result.dag, where, result.warnings);
  attach_exits(m, st, di, opt, result);
  return out;
}

ImportResult import_onnx(const ImportOptions& opt) {
  const OnnxModel model(opt.model_path, FloatWeights::Strip, opt.input_shapes);
  return import_model(model, opt).result;
}

namespace {

// Bottlenecks: nodes whose output alone crosses the cut after some topological prefix (every
// node after the prefix reads, of the prefix, only that node), smallest tensor first, ties in
// topological order; nodes of no bytes are left out. These are the good cut candidates.
std::vector<int> bottleneck_nodes(const Dag& dag) {
  const size_t n = dag.nodes.size();
  std::vector<size_t> last_use(n, 0);
  for (size_t v = 0; v < n; ++v)
    for (int u : dag.nodes[v].input_ids) last_use[u] = std::max(last_use[u], v);
  std::vector<std::vector<int>> dies_at(n);
  for (size_t u = 0; u < n; ++u)
    if (last_use[u] > u) dies_at[last_use[u]].push_back(static_cast<int>(u));
  std::vector<int> idx;
  std::set<int> live;  // nodes of the prefix 0..i read after i
  std::vector<char> listed(n, 0);
  for (size_t i = 0; i + 1 < n; ++i) {
    for (int u : dies_at[i]) live.erase(u);
    if (last_use[i] > i) live.insert(static_cast<int>(i));
    if (live.size() != 1) continue;
    const int u = *live.begin();
    if (!listed[u] && dag.nodes[u].out_bytes > 0) idx.push_back(u);
    listed[u] = 1;
  }
  std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return dag.nodes[a].out_bytes < dag.nodes[b].out_bytes; });
  return idx;
}

}  // namespace

std::string dag_summary(const Dag& dag) {
  int64_t macs = 0, ops = 0, params = 0;
  std::map<std::string, int> op_count;
  for (const auto& n : dag.nodes) {
    macs += n.macs;
    ops += n.ops;
    params += n.params;
    op_count[n.op]++;
  }
  std::string s = fmt::format("model {} ({}): {} nodes, {:.3f} GMACs, {:.3f} G other ops, {:.2f} MB of parameters\n",
                              dag.model, dag.source, dag.nodes.size(), macs / 1e9, ops / 1e9, params / 1e6);
  std::string ops_line;
  std::vector<std::pair<int, std::string>> byc;
  byc.reserve(op_count.size());
  for (auto& [k, v] : op_count) byc.emplace_back(-v, k);
  std::sort(byc.begin(), byc.end());
  for (size_t k = 0; k < byc.size() && k < 10; ++k)
    ops_line += fmt::format("{}{} x{}", k ? ", " : "", byc[k].second, -byc[k].first);
  s += "ops: " + ops_line + (byc.size() > 10 ? ", ..." : "") + "\n";
  const std::vector<int> idx = bottleneck_nodes(dag);
  s += "smallest tensors that alone cross a cut (bottlenecks, candidate cuts):\n";
  for (size_t k = 0; k < idx.size() && k < 5; ++k) {
    const Node& n = dag.nodes[idx[k]];
    std::string shape;
    for (const auto& t : n.outputs)
      if (t.consumed) {
        for (size_t d = 0; d < t.shape.size(); ++d) shape += (d ? "x" : "") + std::to_string(t.shape[d]);
        break;
      }
    s += fmt::format("  {:>12} B  {:<14} {}  ({})\n", n.out_bytes, shape, n.name, n.op);
  }
  s += "exits (shallowest first):\n";
  for (size_t k = 0; k < dag.exits.size(); ++k) {
    const Exit& e = dag.exits[k];
    const auto anc = ancestors_of(dag, e.node_ids);
    int64_t m = 0;
    int cnt = 0;
    for (size_t v = 0; v < dag.nodes.size(); ++v)
      if (anc[v]) {
        m += dag.nodes[v].macs;
        ++cnt;
      }
    s += fmt::format("  {}. {:<16} node {:<40} {:>5} nodes {:>9.3f} GMACs  accuracy {}\n", k + 1, e.name, e.node, cnt,
                     m / 1e9, e.accuracy ? fmt::format("{:.4f}", *e.accuracy) : "null");
    if (e.outputs.size() > 1 || e.outputs.front() != e.name) {
      std::string outs, nodes;
      for (const auto& o : e.outputs) outs += (outs.empty() ? "" : ", ") + o;
      for (const auto& n : e.nodes) nodes += (nodes.empty() ? "" : ", ") + n;
      s += fmt::format("     outputs {} (nodes {})\n", outs, nodes);
    }
  }
  return s;
}

}  // namespace dapdee
