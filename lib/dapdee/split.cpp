#include "dapdee/split.hpp"

#include "dapdee/file_kind.hpp"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "dapdee/error.hpp"
#include "dapdee/io.hpp"
#include "dapdee/onnx_import.hpp"

namespace dapdee {

namespace {

onnx::ValueInfoProto value_info(const TensorInfo& t) {
  static const std::unordered_map<std::string, int> types = {
      {"float32", onnx::TensorProto::FLOAT}, {"uint8", onnx::TensorProto::UINT8},   {"int8", onnx::TensorProto::INT8},
      {"uint16", onnx::TensorProto::UINT16}, {"int16", onnx::TensorProto::INT16},   {"int32", onnx::TensorProto::INT32},
      {"int64", onnx::TensorProto::INT64},   {"bool", onnx::TensorProto::BOOL},     {"float16", onnx::TensorProto::FLOAT16},
      {"float64", onnx::TensorProto::DOUBLE}, {"uint32", onnx::TensorProto::UINT32}, {"uint64", onnx::TensorProto::UINT64},
      {"bfloat16", onnx::TensorProto::BFLOAT16}};
  onnx::ValueInfoProto v;
  v.set_name(t.name);
  auto* tt = v.mutable_type()->mutable_tensor_type();
  const auto it = types.find(t.dtype);
  tt->set_elem_type(it == types.end() ? onnx::TensorProto::FLOAT : it->second);
  for (auto d : t.shape) tt->mutable_shape()->add_dim()->set_dim_value(d);
  return v;
}

// Builds one part: the given ONNX nodes plus the constants they need, with inputs and outputs.
onnx::ModelProto make_part(const onnx::ModelProto& full, const std::vector<int>& nodes,
                           const std::vector<onnx::ValueInfoProto>& inputs, const std::vector<onnx::ValueInfoProto>& outputs,
                           const std::unordered_map<std::string, const onnx::TensorProto*>& folded_values,
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
      *g->add_initializer() = *it->second;
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

}  // namespace

SplitResult split_model(const SplitOptions& opt) {
  SplitResult r;
  if (opt.device_out.empty() || opt.edge_out.empty()) throw Error("--device-out/--edge-out", "both output files are needed");
  const std::string plan_text = read_input(opt.plan_path);
  if (const std::string hint = wrong_file_hint(plan_text, "dapdee-plan/1"); !hint.empty()) throw Error(opt.plan_path, hint);
  const nlohmann::json plan = parse_json(plan_text, opt.plan_path);
  if (!plan.is_object() || plan.value("format", "") != "dapdee-plan/1")
    throw Error(opt.plan_path, "not a single dapdee-plan/1 object (a sweep has one plan per line: pick one)");
  for (const char* key : {"V_d", "V_e", "exit"})
    if (!plan.contains(key)) throw Error(opt.plan_path, fmt::format("missing '{}'", key));

  ImportOptions iopt;
  iopt.model_path = opt.model_path;
  const ImportResult imp = import_onnx(iopt);
  const Dag& dag = imp.dag;
  if (plan.value("model", dag.model) != dag.model)
    r.warnings.push_back(fmt::format("the plan is for model '{}', the file is '{}'", plan.value("model", ""), dag.model));

  onnx::ModelProto full;
  if (!full.ParseFromString(read_input(opt.model_path))) throw Error(opt.model_path, "not a valid ONNX model");
  const auto& fg = full.graph();
  std::unordered_map<std::string, int> onnx_of;  // DAG name -> ONNX node index
  std::vector<char> folded(fg.node_size(), 0);
  for (size_t i = 0; i < imp.onnx_to_dag.size(); ++i) {
    if (imp.onnx_to_dag[i].empty()) folded[i] = 1;
    else onnx_of[imp.onnx_to_dag[i]] = static_cast<int>(i);
  }
  std::unordered_map<std::string, int> producer;
  for (int i = 0; i < fg.node_size(); ++i)
    for (const auto& o : fg.node(i).output()) producer[o] = i;
  std::vector<onnx::TensorProto> folded_storage(imp.folded_values.size());
  std::unordered_map<std::string, const onnx::TensorProto*> folded_values;
  for (size_t k = 0; k < imp.folded_values.size(); ++k) {
    folded_storage[k].ParseFromString(imp.folded_values[k].second);
    folded_values[imp.folded_values[k].first] = &folded_storage[k];
  }

  auto side = [&](const char* key, std::unordered_set<int>& dag_ids) {
    if (!plan[key].is_array()) throw Error(opt.plan_path, fmt::format("'{}' must be an array of node names", key));
    for (const auto& n : plan[key]) {
      const int v = n.is_string() ? dag.find(n.get<std::string>()) : -1;
      if (v < 0)
        throw Error(opt.plan_path, fmt::format("'{}' names node {} that {} lacks: a plan for another model?", key, n.dump(),
                                               opt.model_path));
      dag_ids.insert(v);
    }
  };
  std::unordered_set<int> vd, ve;
  side("V_d", vd);
  side("V_e", ve);
  const std::string exit_name = plan["exit"].is_string() ? plan["exit"].get<std::string>() : "";
  const Exit* exit = nullptr;
  for (const auto& e : dag.exits)
    if (e.name == exit_name) exit = &e;
  if (!exit) throw Error(opt.plan_path, fmt::format("exit '{}' is not an output of {}", exit_name, opt.model_path));
  for (int v : ve)
    for (int u : dag.nodes[v].input_ids)
      if (!vd.count(u) && !ve.count(u))
        throw Error(opt.plan_path, fmt::format("node '{}' reads '{}', which the plan puts nowhere", dag.nodes[v].name, dag.nodes[u].name));
  for (int v : vd)
    for (int u : dag.nodes[v].input_ids)
      if (!vd.count(u)) throw Error(opt.plan_path, fmt::format("V_d is not closed: '{}' needs '{}' from the edge", dag.nodes[v].name, dag.nodes[u].name));

  // Tensors sent: outputs of device nodes read by edge nodes.
  std::unordered_map<std::string, const TensorInfo*> tensor_info;
  for (const auto& n : dag.nodes)
    for (const auto& t : n.outputs) tensor_info[t.name] = &t;
  std::vector<onnx::ValueInfoProto> dev_in, dev_out, edge_in, edge_out;
  for (const auto& in : fg.input())
    if (dag.find(in.name()) >= 0 && dag.nodes[dag.find(in.name())].op == "Input") dev_in.push_back(in);
  std::vector<int> dev_nodes, edge_nodes;
  std::unordered_set<std::string> sent;
  for (int v : ve) {
    edge_nodes.push_back(onnx_of.at(dag.nodes[v].name));
    for (const auto& t : fg.node(edge_nodes.back()).input()) {
      const auto p = producer.find(t);
      const bool from_device_node = p != producer.end() && !folded[p->second] && vd.count(dag.find(imp.onnx_to_dag[p->second]));
      const bool graph_input = p == producer.end() && dag.find(t) >= 0 && dag.nodes[dag.find(t)].op == "Input";
      if ((from_device_node || graph_input) && sent.insert(t).second) r.sent.push_back(t);
    }
  }
  std::sort(r.sent.begin(), r.sent.end());
  for (const auto& t : r.sent) {
    const auto it = tensor_info.find(t);
    if (it == tensor_info.end()) throw Error(opt.model_path, fmt::format("tensor '{}' has no known type", t));
    dev_out.push_back(value_info(*it->second));
    edge_in.push_back(value_info(*it->second));
  }
  for (int v : vd)
    if (dag.nodes[v].op != "Input") dev_nodes.push_back(onnx_of.at(dag.nodes[v].name));
  const auto exit_info = tensor_info.find(exit->name);
  if (exit_info == tensor_info.end()) throw Error(opt.model_path, fmt::format("exit '{}' has no known type", exit->name));
  if (vd.count(exit->node_id)) dev_out.push_back(value_info(*exit_info->second));
  else edge_out.push_back(value_info(*exit_info->second));

  const auto device = make_part(full, dev_nodes, dev_in, dev_out, folded_values, folded, producer, fg.name() + "_device");
  r.device_nodes = static_cast<int>(dev_nodes.size());
  write_output_atomic(opt.device_out, device.SerializeAsString());
  if (!ve.empty()) {
    const auto edge = make_part(full, edge_nodes, edge_in, edge_out, folded_values, folded, producer, fg.name() + "_edge");
    r.edge_nodes = static_cast<int>(edge_nodes.size());
    write_output_atomic(opt.edge_out, edge.SerializeAsString());
    r.edge_written = true;
  } else {
    r.warnings.push_back("the plan runs everything on the device: no edge part written");
  }
  for (const auto& t : full.graph().initializer())
    if (t.data_location() == onnx::TensorProto::EXTERNAL) {
      r.warnings.push_back("the model keeps weights in an external data file; the parts refer to it by the same relative path");
      break;
    }
  return r;
}

}  // namespace dapdee
