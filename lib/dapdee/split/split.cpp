#include "dapdee/split/split.hpp"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "dapdee/import/model_import.hpp"
#include "dapdee/import/onnx_import.hpp"
#include "dapdee/onnx/onnx_model.hpp"
#include "dapdee/onnx/onnx_rewrite.hpp"
#include "dapdee/onnx/onnx_types.hpp"
#include "dapdee/split/plan_check.hpp"
#include "dapdee/support/error.hpp"
#include "dapdee/support/file_kind.hpp"
#include "dapdee/support/formats.hpp"
#include "dapdee/support/io.hpp"
#include "dapdee/support/json_field.hpp"

namespace dapdee {

namespace {

onnx::ValueInfoProto value_info(const TensorInfo& t) {
  onnx::ValueInfoProto v;
  v.set_name(t.name);
  auto* tt = v.mutable_type()->mutable_tensor_type();
  tt->set_elem_type(element_code(t.dtype, onnx::TensorProto::FLOAT));
  for (auto d : t.shape) tt->mutable_shape()->add_dim()->set_dim_value(d);
  return v;
}

// Builds one part: the given ONNX nodes plus the constants they need, with inputs and outputs.
onnx::ModelProto make_part(const onnx::ModelProto& full, const std::vector<int>& nodes,
                           const std::vector<onnx::ValueInfoProto>& inputs,
                           const std::vector<onnx::ValueInfoProto>& outputs,
                           const std::unordered_map<std::string, onnx::TensorProto>& folded_values,
                           const std::vector<char>& folded, const std::unordered_map<std::string, int>& producer,
                           const std::string& graph_name) {
  onnx::ModelProto part;
  part.set_ir_version(full.ir_version());
  *part.mutable_opset_import() = full.opset_import();
  part.set_producer_name("dapdee-split");
  for (const auto& f : full.functions()) *part.add_functions() = f;
  auto* g = part.mutable_graph();
  g->set_name(graph_name);
  const auto& fg = full.graph();
  std::unordered_map<std::string, const onnx::TensorProto*> inits;
  for (const auto& t : fg.initializer()) inits[t.name()] = &t;
  std::unordered_set<std::string> available;
  for (const auto& v : inputs) available.insert(v.name());
  // Constants the chosen nodes read, transitively through folded nodes.
  std::vector<int> chosen(nodes.begin(), nodes.end());
  std::unordered_set<int> in_part(nodes.begin(), nodes.end());
  std::unordered_set<std::string> added_inits;
  std::vector<std::string> stack;
  for (int i : nodes)
    for (const auto& t : fg.node(i).input()) stack.push_back(t);
  while (!stack.empty()) {
    const std::string t = stack.back();
    stack.pop_back();
    if (t.empty() || available.count(t) || added_inits.count(t)) continue;
    if (auto it = folded_values.find(t); it != folded_values.end()) {
      *g->add_initializer() = it->second;
      added_inits.insert(t);
      continue;
    }
    if (auto it = inits.find(t); it != inits.end()) {
      *g->add_initializer() = *it->second;
      added_inits.insert(t);
      continue;
    }
    const auto p = producer.find(t);
    if (p == producer.end() || in_part.count(p->second)) continue;
    if (!folded[p->second]) continue;  // a computed tensor of the other side: an input already
    in_part.insert(p->second);
    chosen.push_back(p->second);
    for (const auto& u : fg.node(p->second).input()) stack.push_back(u);
  }
  std::sort(chosen.begin(), chosen.end());  // the full model's (topological) order
  for (int i : chosen) *g->add_node() = fg.node(i);
  for (const auto& v : inputs) *g->add_input() = v;
  for (const auto& v : outputs) *g->add_output() = v;
  return part;
}

// Fills static shapes on the graph outputs from the import (OpenCV wants them).
void fill_output_shapes(onnx::ModelProto& m, const Dag& dag) {
  std::unordered_map<std::string, const TensorInfo*> shapes;
  for (const auto& n : dag.nodes)
    for (const auto& t : n.outputs) shapes[t.name] = &t;
  for (auto& o : *m.mutable_graph()->mutable_output()) {
    auto* tt = o.mutable_type()->mutable_tensor_type();
    const auto it = shapes.find(o.name());
    if (it == shapes.end() || it->second->shape.empty()) continue;
    if (tt->has_shape() && tt->shape().dim_size() == static_cast<int>(it->second->shape.size())) {
      bool all_static = true;
      for (const auto& d : tt->shape().dim()) all_static = all_static && d.has_dim_value();
      if (all_static) continue;
    }
    tt->mutable_shape()->clear_dim();
    for (auto d : it->second->shape) tt->mutable_shape()->add_dim()->set_dim_value(d);
  }
}

// 64-bit FNV-1a over 8-byte words (fast enough for 500 MB models), hex.
std::string model_digest(const onnx::ModelProto& m) {
  std::string bytes;
  google::protobuf::io::StringOutputStream sos(&bytes);
  {
    google::protobuf::io::CodedOutputStream cos(&sos);
    cos.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&cos);
  }
  uint64_t h = 0xcbf29ce484222325ull;
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, bytes.data() + i, 8);
    h = (h ^ w) * 0x100000001b3ull;
    h ^= h >> 29;
  }
  for (; i < bytes.size(); ++i) h = (h ^ static_cast<unsigned char>(bytes[i])) * 0x100000001b3ull;
  return fmt::format("{:016x}-{}", h, bytes.size());
}

}  // namespace

Partition partition_from_plan(const nlohmann::json& plan, const std::string& where) {
  const JsonField root(plan, where);
  root.expect_object();
  root.expect_format(kPlanFormat);
  for (const char* key : {"exit", "V_d", "V_e"})
    if (!root.has(key))
      throw Error(where, fmt::format("the plan lacks '{}' (a lean line from dapdee-plan --fields? "
                                     "keep exit, V_d, V_s and V_e in the fields)", key));
  if (root.has("model")) (void)root.str("model");  // a wrong type is an error, not a silent default
  Partition p;
  p.exit = root.str("exit");
  p.v_d = root.at("V_d").strings();
  p.v_e = root.at("V_e").strings();
  return p;
}

nlohmann::json read_single_plan(const std::string& path) {
  const std::string text = read_input(path);
  if (text.find("}\n{") != std::string::npos)
    throw Error(path, "not a single dapdee-plan/1 object (a sweep has one plan per line: pick one)");
  if (const std::string hint = wrong_file_hint(text, kPlanFormat); !hint.empty()) throw Error(path, hint);
  nlohmann::json j = parse_json_bounded(text, path);  // depth-bounded, the parser's message on failure
  const bool plan = j.is_object() && j.contains("format") && j["format"].is_string() && j["format"] == kPlanFormat;
  if (!plan) throw Error(path, "not a single dapdee-plan/1 object (a sweep has one plan per line: pick one)");
  return j;
}

struct ModelSplitter::Impl {
  std::string path;
  ImportResult imp;
  onnx::ModelProto full;
  std::vector<char> folded;
  std::unordered_map<std::string, int> onnx_of;   // DAG name -> ONNX node index
  std::unordered_map<std::string, int> producer;  // tensor -> ONNX node index
  std::unordered_map<std::string, onnx::TensorProto> folded_values;  // evaluated outputs of folded nodes
  std::unordered_map<std::string, const TensorInfo*> tensor_info;
  int refilled = 0;
  bool external = false;
  std::string digest;
};

ModelSplitter::ModelSplitter(const std::string& model_path, Weights weights) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.path = model_path;
  OnnxModel model(model_path, FloatWeights::Keep);  // read once: the import sees it without weights
  ModelImport mi = import_model(model, {});
  m.imp = std::move(mi.result);
  m.folded_values = std::move(mi.folded);
  m.full = std::move(model).release();
  const auto& fg = m.full.graph();
  if (static_cast<int>(m.imp.onnx_to_dag.size()) != fg.node_size()) throw Error(model_path, "the import and the model disagree");
  m.folded.assign(fg.node_size(), 0);
  for (size_t i = 0; i < m.imp.onnx_to_dag.size(); ++i) {
    if (m.imp.onnx_to_dag[i].empty()) m.folded[i] = 1;
    else m.onnx_of[m.imp.onnx_to_dag[i]] = static_cast<int>(i);
  }
  for (int i = 0; i < fg.node_size(); ++i)
    for (const auto& o : fg.node(i).output()) m.producer[o] = i;
  for (const auto& n : m.imp.dag.nodes)
    for (const auto& t : n.outputs) m.tensor_info[t.name] = &t;
  for (const auto& t : fg.initializer()) m.external = m.external || t.data_location() == onnx::TensorProto::EXTERNAL;
  fill_output_shapes(m.full, m.imp.dag);
  if (weights == Weights::Refill) {
    const std::string dir = std::filesystem::path(model_path).parent_path().string();
    m.refilled = refill_weights(m.full, dir.empty() ? "." : dir, model_path).refilled;
    m.external = false;
  }
  m.digest = model_digest(m.full);
}

ModelSplitter::~ModelSplitter() = default;
const Dag& ModelSplitter::dag() const { return impl_->imp.dag; }
const std::string& ModelSplitter::path() const { return impl_->path; }

void check_input_budget(const ModelSplitter& model) {
  int64_t total = 0;
  for (const auto& n : model.dag().nodes) {
    if (!is_input(n)) continue;
    const TensorInfo* t = model.tensor(n.name);
    if (!t) continue;
    const size_t elements = element_count(t->shape);
    const int64_t bytes = elements > static_cast<size_t>(kMaxCheckInputBytes) ? kMaxCheckInputBytes + 1
                                                                              : static_cast<int64_t>(elements) * 4;
    total += bytes;
    if (total > kMaxCheckInputBytes)
      throw Error(model.path(),
                  fmt::format("--check: input '{}' ({} elements) takes the random input past the cap of {} "
                              "MiB (float32); check a model with smaller inputs",
                              n.name, elements, kMaxCheckInputBytes >> 20));
  }
}
const onnx::ModelProto& ModelSplitter::model() const { return impl_->full; }
int ModelSplitter::refilled() const { return impl_->refilled; }
bool ModelSplitter::external_weights() const { return impl_->external; }
const TensorInfo* ModelSplitter::tensor(const std::string& name) const {
  const auto it = impl_->tensor_info.find(name);
  return it == impl_->tensor_info.end() ? nullptr : it->second;
}
const std::string& ModelSplitter::digest() const { return impl_->digest; }
const Exit* ModelSplitter::exit(const std::string& name) const {
  for (const auto& e : impl_->imp.dag.exits)
    if (e.name == name) return &e;
  return nullptr;
}

Partition ModelSplitter::complete(const std::string& exit_name, const std::vector<std::string>& v_e,
                                  const std::string& where) const {
  const Dag& dag = impl_->imp.dag;
  const Exit* e = exit(exit_name);
  if (!e) throw Error(where, fmt::format("exit '{}' is not an exit of {}", exit_name, impl_->path));
  std::unordered_set<std::string> edge(v_e.begin(), v_e.end());
  const auto anc = ancestors_of(dag, e->node_ids);
  Partition p{exit_name, {}, v_e};
  for (size_t v = 0; v < dag.nodes.size(); ++v)
    if ((anc[v] || is_input(dag.nodes[v])) && !edge.count(dag.nodes[v].name)) p.v_d.push_back(dag.nodes[v].name);
  return p;
}

namespace {

// The partition resolved to DAG indices and checked: known nodes and exit, V_d closed under
// predecessors, V_e reading only placed nodes, every exit node placed.
struct Resolved {
  std::unordered_set<int> vd, ve;
  const Exit* exit = nullptr;
};

Resolved resolve(const Dag& dag, const std::string& model_path, const Partition& p, const std::string& where) {
  Resolved r;
  auto side = [&](const char* key, const std::vector<std::string>& names, std::unordered_set<int>& ids) {
    for (const auto& n : names) {
      const int v = dag.find(n);
      if (v < 0)
        throw Error(where, fmt::format("'{}' names node '{}' that {} lacks: a plan for another model?", key, n, model_path));
      ids.insert(v);
    }
  };
  side("V_d", p.v_d, r.vd);
  side("V_e", p.v_e, r.ve);
  for (const auto& e : dag.exits)
    if (e.name == p.exit) r.exit = &e;
  if (!r.exit) throw Error(where, fmt::format("exit '{}' is not an output of {}", p.exit, model_path));
  validate_plan_sets(dag, r.vd, r.ve, *r.exit, where);
  for (int v : r.ve) {
    if (r.vd.count(v)) throw Error(where, fmt::format("node '{}' is in both V_d and V_e", dag.nodes[v].name));
    if (is_input(dag.nodes[v])) throw Error(where, fmt::format("input '{}' must run on the device", dag.nodes[v].name));
    for (int u : dag.nodes[v].input_ids)
      if (!r.vd.count(u) && !r.ve.count(u))
        throw Error(where, fmt::format("node '{}' reads '{}', which the plan puts nowhere", dag.nodes[v].name, dag.nodes[u].name));
  }
  for (int v : r.vd)
    for (int u : dag.nodes[v].input_ids)
      if (!r.vd.count(u))
        throw Error(where, fmt::format("V_d is not closed: '{}' needs '{}' from the edge", dag.nodes[v].name, dag.nodes[u].name));
  for (int x : r.exit->node_ids)
    if (!r.vd.count(x) && !r.ve.count(x)) throw Error(where, fmt::format("the plan puts exit node '{}' nowhere", dag.nodes[x].name));
  return r;
}

}  // namespace

SplitParts ModelSplitter::split(const Partition& p, const std::string& where) const {
  const Impl& m = *impl_;
  const Dag& dag = m.imp.dag;
  const auto& fg = m.full.graph();
  const Resolved res = resolve(dag, m.path, p, where);
  const auto& vd = res.vd;
  const auto& ve = res.ve;
  const Exit* exit = res.exit;

  SplitParts r;
  auto info = [&](const std::string& t) {
    const auto it = m.tensor_info.find(t);
    if (it == m.tensor_info.end()) throw Error(m.path, fmt::format("tensor '{}' has no known type", t));
    return value_info(*it->second);
  };
  std::vector<onnx::ValueInfoProto> dev_in, dev_out, edge_in, edge_out;
  for (const auto& in : fg.input())
    if (const int v = dag.find(in.name()); v >= 0 && is_input(dag.nodes[v]) && vd.count(v)) {
      dev_in.push_back(in);
      r.device_inputs.push_back(in.name());
    }
  std::vector<int> dev_nodes, edge_nodes;
  std::unordered_set<std::string> sent;
  for (int v : ve) {
    edge_nodes.push_back(m.onnx_of.at(dag.nodes[v].name));
    for (const auto& t : fg.node(edge_nodes.back()).input()) {
      const auto pr = m.producer.find(t);
      const bool from_device_node =
          pr != m.producer.end() && !m.folded[pr->second] && vd.count(dag.find(m.imp.onnx_to_dag[pr->second]));
      const bool graph_input = pr == m.producer.end() && dag.find(t) >= 0 && is_input(dag.nodes[dag.find(t)]);
      if ((from_device_node || graph_input) && sent.insert(t).second) r.sent.push_back(t);
    }
  }
  std::sort(r.sent.begin(), r.sent.end());
  std::sort(edge_nodes.begin(), edge_nodes.end());
  for (const auto& t : r.sent) {
    dev_out.push_back(info(t));
    edge_in.push_back(info(t));
  }
  for (int v : vd)
    if (!is_input(dag.nodes[v])) dev_nodes.push_back(m.onnx_of.at(dag.nodes[v].name));
  std::sort(dev_nodes.begin(), dev_nodes.end());
  // Every output of the exit, from the side that computes it.
  const std::vector<std::string> outs = exit->outputs.empty() ? std::vector<std::string>{exit->name} : exit->outputs;
  for (const auto& o : outs) {
    const auto pr = m.producer.find(o);
    const int v = pr == m.producer.end() ? dag.find(o) : dag.find(m.imp.onnx_to_dag[pr->second]);
    if (v >= 0 && ve.count(v)) {
      r.edge_exit.push_back(o);
      edge_out.push_back(info(o));
    } else {
      r.device_exit.push_back(o);
      if (!sent.count(o)) dev_out.push_back(info(o));
    }
  }
  r.device = make_part(m.full, dev_nodes, dev_in, dev_out, m.folded_values, m.folded, m.producer, fg.name() + "_device")
                 .SerializeAsString();
  r.device_nodes = static_cast<int>(dev_nodes.size());
  if (!ve.empty()) {
    r.edge = make_part(m.full, edge_nodes, edge_in, edge_out, m.folded_values, m.folded, m.producer, fg.name() + "_edge")
                 .SerializeAsString();
    r.edge_nodes = static_cast<int>(edge_nodes.size());
  }
  return r;
}

namespace {

// The split of `splitter`'s model along the plan read from opt.plan_path, written.
SplitResult split_along(const SplitOptions& opt, const nlohmann::json& plan, const Partition& p,
                        const ModelSplitter& splitter) {
  SplitResult r;
  const std::string plan_model =
      plan.contains("model") && plan["model"].is_string() ? plan["model"].get<std::string>() : splitter.dag().model;
  if (plan_model != splitter.dag().model)
    r.warnings.push_back(fmt::format("the plan is for model '{}', the file is '{}'", plan_model, splitter.dag().model));
  const SplitParts parts = splitter.split(p, opt.plan_path);
  r.sent = parts.sent;
  r.device_nodes = parts.device_nodes;
  r.edge_nodes = parts.edge_nodes;
  write_output_atomic(opt.device_out, parts.device);
  if (!parts.edge.empty()) {
    write_output_atomic(opt.edge_out, parts.edge);
    r.edge_written = true;
  } else {
    r.warnings.emplace_back("the plan runs everything on the device: no edge part written");
  }
  if (splitter.external_weights())
    r.warnings.emplace_back("the model keeps weights in an external data file; the parts refer to it by the same relative path");
  return r;
}

}  // namespace

namespace {

// The plan (`given`, or read here from opt.plan_path when null) and its partition, after checking
// that both outputs are named; the model (`splitter`, or read here after the plan when null) split
// along it.
SplitResult split_with(const SplitOptions& opt, const ModelSplitter* splitter, const nlohmann::json* given) {
  if (opt.device_out.empty() || opt.edge_out.empty())
    throw Error("--device-out/--edge-out", "both output files are needed");
  const nlohmann::json plan = given ? *given : read_single_plan(opt.plan_path);
  const Partition p = partition_from_plan(plan, opt.plan_path);
  if (splitter) return split_along(opt, plan, p, *splitter);
  return split_along(opt, plan, p, ModelSplitter(opt.model_path));
}

}  // namespace

SplitResult split_model(const SplitOptions& opt) { return split_with(opt, nullptr, nullptr); }

SplitResult split_model(const SplitOptions& opt, const ModelSplitter& splitter, const nlohmann::json& plan) {
  return split_with(opt, &splitter, &plan);
}

}  // namespace dapdee
