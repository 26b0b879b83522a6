#include "dapdee/onnx_import.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <queue>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "dapdee/exit_groups.hpp"
#include "dapdee/fold.hpp"
#include "dapdee/infer_guard.hpp"
#include "dapdee/io.hpp"
#include "dapdee/json_field.hpp"
#include "dapdee/onnx_subgraph.hpp"
#include "dapdee/op_cost.hpp"

namespace dapdee {

using onnx::TensorProto;

namespace {

// Element size in bytes and a readable name; size 0 for types without a fixed size.
std::pair<int, const char*> dtype_info(int32_t t) {
  switch (t) {
    case TensorProto::FLOAT: return {4, "float32"};
    case TensorProto::UINT8: return {1, "uint8"};
    case TensorProto::INT8: return {1, "int8"};
    case TensorProto::UINT16: return {2, "uint16"};
    case TensorProto::INT16: return {2, "int16"};
    case TensorProto::INT32: return {4, "int32"};
    case TensorProto::INT64: return {8, "int64"};
    case TensorProto::BOOL: return {1, "bool"};
    case TensorProto::FLOAT16: return {2, "float16"};
    case TensorProto::DOUBLE: return {8, "float64"};
    case TensorProto::UINT32: return {4, "uint32"};
    case TensorProto::UINT64: return {8, "uint64"};
    case TensorProto::COMPLEX64: return {8, "complex64"};
    case TensorProto::COMPLEX128: return {16, "complex128"};
    case TensorProto::BFLOAT16: return {2, "bfloat16"};
    case TensorProto::STRING: return {0, "string"};
    default: return {0, "unknown"};
  }
}

bool is_float_type(int32_t t) {
  return t == TensorProto::FLOAT || t == TensorProto::DOUBLE || t == TensorProto::FLOAT16 ||
         t == TensorProto::BFLOAT16;
}

// Loads a model without keeping large float weights: parsed from a stream, then stripped.
onnx::ModelProto load_model(const std::string& path, std::vector<std::string>& warnings) {
  onnx::ModelProto model;
  bool ok = false;
  if (path == "-") {
    std::string data = read_input(path);
    if (data.empty()) throw Error(path, "empty input: not an ONNX model");
    google::protobuf::io::ArrayInputStream raw(data.data(), static_cast<int>(std::min<size_t>(data.size(), INT_MAX)));
    google::protobuf::io::CodedInputStream coded(&raw);
    coded.SetTotalBytesLimit(INT_MAX);
    ok = model.ParseFromCodedStream(&coded) && coded.ConsumedEntireMessage();
  } else {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) throw Error(path, "is a directory");
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) throw Error(path, fmt::format("cannot open: {}", std::strerror(errno)));
    const auto size = std::filesystem::file_size(path, ec);
    if (!ec && size == 0) {
      ::close(fd);
      throw Error(path, "empty file: not an ONNX model");
    }
    if (!ec && size > static_cast<uintmax_t>(INT_MAX))
      throw Error(path, "file over 2 GiB: protobuf cannot hold it; save the model with external data");
    {
      google::protobuf::io::FileInputStream raw(fd, 1 << 20);
      google::protobuf::io::CodedInputStream coded(&raw);
      coded.SetTotalBytesLimit(INT_MAX);
      ok = model.ParseFromCodedStream(&coded) && coded.ConsumedEntireMessage();
    }
    ::close(fd);
  }
  if (!ok) throw Error(path, "not a valid ONNX model (protobuf parse failed: truncated or not ONNX)");
  if (!model.has_graph() || (model.graph().node_size() == 0 && model.graph().input_size() == 0))
    throw Error(path, "not an ONNX model (no graph)");
  // Drop float weights: the DAG needs their dims only.
  const std::filesystem::path dir = path == "-" ? std::filesystem::current_path()
                                                : std::filesystem::path(path).parent_path();
  std::set<std::string> missing;
  for (auto& t : *model.mutable_graph()->mutable_initializer()) {
    if (t.data_location() == TensorProto::EXTERNAL) {
      for (const auto& kv : t.external_data())
        if (kv.key() == "location") {
          std::error_code ec;
          if (!std::filesystem::exists(dir / kv.value(), ec)) missing.insert(kv.value());
        }
      continue;
    }
    if (!is_float_type(t.data_type())) continue;
    size_t n = 1;
    for (auto d : t.dims()) n *= static_cast<size_t>(std::max<int64_t>(d, 0));
    if (n <= 4096) continue;
    t.clear_raw_data();
    t.clear_float_data();
    t.clear_double_data();
    t.clear_int32_data();
  }
  for (const auto& m : missing)
    warnings.push_back(fmt::format("external data file '{}' is missing; importing without weights", m));
  return model;
}

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
  int64_t n = dtype_info(m.type).first;
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
      warnings.push_back("--outputs: the model's own exit declarations (sidecar, metadata_props) are not used");
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

ImportResult import_onnx(const ImportOptions& opt) {
  const std::string& where = opt.model_path;
  ImportResult result;
  onnx::ModelProto model = load_model(where, result.warnings);
  onnx::GraphProto& g = *model.mutable_graph();

  int64_t opset = -1;
  for (const auto& o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
  if (opset < 0) throw Error(where, "model imports no default-domain opset");
  const int64_t max_opset = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map().at("").second;

  std::unordered_set<std::string> initializers;
  for (const auto& t : g.initializer()) initializers.insert(t.name());
  std::vector<int> real_inputs;
  for (int i = 0; i < g.input_size(); ++i)
    if (!initializers.count(g.input(i).name())) real_inputs.push_back(i);

  // --input-shape pins.
  for (const auto& [name, dims] : opt.input_shapes) {
    bool found = false;
    for (int i : real_inputs) {
      auto* in = g.mutable_input(i);
      if (in->name() != name) continue;
      found = true;
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

  // --outputs: the subgraph that ends at the named tensors.
  if (!opt.outputs.empty()) {
    for (const auto& d : restrict_to_outputs(model, opt.outputs, where))
      result.warnings.push_back(fmt::format("--outputs: input '{}' is not needed for these outputs; left out", d));
    real_inputs.clear();
    for (int i = 0; i < g.input_size(); ++i)
      if (!initializers.count(g.input(i).name())) real_inputs.push_back(i);
  }

  // Node names, producers, and a stable topological order.
  const int n_nodes = g.node_size();
  std::unordered_map<std::string, int> producer;  // tensor -> ONNX node index
  std::unordered_set<std::string> seen_names;
  for (int i = 0; i < n_nodes; ++i) {
    const auto& node = g.node(i);
    if (!node.name().empty() && !seen_names.insert(node.name()).second)
      throw Error(where, fmt::format("duplicate node name '{}'", node.name()));
    for (const auto& o : node.output()) {
      if (o.empty()) continue;
      if (!producer.emplace(o, i).second)
        throw Error(where, fmt::format("tensor '{}' is produced by two nodes ('{}' and '{}')", o,
                                       g.node(producer[o]).name(), node.name()));
      if (initializers.count(o)) throw Error(where, fmt::format("tensor '{}' is both an initializer and a node output", o));
    }
  }
  std::unordered_set<std::string> graph_inputs;
  for (int i : real_inputs) graph_inputs.insert(g.input(i).name());
  std::vector<std::vector<std::string>> reads(n_nodes);
  std::vector<std::vector<int>> succ(n_nodes);
  std::vector<int> indeg(n_nodes, 0);
  for (int i = 0; i < n_nodes; ++i) {
    reads[i] = node_reads(g.node(i));
    std::unordered_set<int> deps;
    for (const auto& t : reads[i]) {
      auto it = producer.find(t);
      if (it != producer.end()) {
        if (deps.insert(it->second).second) {
          succ[it->second].push_back(i);
          ++indeg[i];
        }
      } else if (!initializers.count(t) && !graph_inputs.count(t)) {
        throw Error(where, fmt::format("node '{}' reads tensor '{}' that nothing produces",
                                       g.node(i).name().empty() ? derive_name(g.node(i), i) : g.node(i).name(), t));
      }
    }
  }
  std::vector<int> order;
  order.reserve(n_nodes);
  {
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
          throw Error(where, fmt::format("the graph has a cycle through node '{}'",
                                         g.node(i).name().empty() ? derive_name(g.node(i), i) : g.node(i).name()));
    }
  }

  // Constant values known so far (small initializers with data, folded outputs).
  std::unordered_map<std::string, fold::Value> values;
  for (const auto& t : g.initializer())
    if (auto v = fold::from_tensor(t)) values.emplace(t.name(), std::move(*v));
  std::unordered_set<std::string> constants(initializers.begin(), initializers.end());
  std::vector<char> folded(n_nodes, 0);
  std::unordered_map<std::string, Meta> meta;

  for (int round = 0; round < 64; ++round) {
    // Shape inference over the graph with every evaluated constant turned into an initializer.
    onnx::ModelProto work;
    *work.mutable_opset_import() = model.opset_import();
    work.set_ir_version(model.ir_version());
    for (const auto& f : model.functions()) *work.add_functions() = f;
    auto* wg = work.mutable_graph();
    *wg->mutable_input() = g.input();
    *wg->mutable_output() = g.output();
    *wg->mutable_initializer() = g.initializer();
    for (auto& t : *wg->mutable_initializer())
      if (t.data_location() == TensorProto::EXTERNAL) {
        t.clear_external_data();
        t.set_data_location(TensorProto::DEFAULT);
      }
    for (int i : order) {
      const auto& node = g.node(i);
      bool all_known = folded[i];
      for (const auto& o : node.output())
        if (!o.empty() && !values.count(o)) all_known = false;
      if (!all_known) {
        *wg->add_node() = node;
        continue;
      }
      for (const auto& o : node.output())
        if (!o.empty()) fold::to_tensor(values.at(o), o, wg->add_initializer());
    }
    ++result.inference_rounds;
    hide_incomplete_constants(work);  // libonnx 1.12 reads constants' values unchecked (fuzz/crashes/onnx)
    try {
      onnx::ShapeInferenceOptions so(false, 0, true);
      onnx::shape_inference::InferShapes(work, onnx::OpSchemaRegistry::Instance(), so);
    } catch (const std::exception& e) {
      throw Error(where, fmt::format("shape inference failed: {}", e.what()));
    }
    meta.clear();
    for (const auto& v : wg->input()) meta[v.name()] = meta_of(v.type());
    for (const auto& v : wg->value_info()) meta[v.name()] = meta_of(v.type());
    for (const auto& v : wg->output()) {
      Meta m = meta_of(v.type());
      auto it = meta.find(v.name());
      if (it == meta.end() || (!it->second.known() && m.known())) meta[v.name()] = m;
    }
    for (const auto& t : wg->initializer()) {
      Meta m;
      m.tensor = true;
      m.type = t.data_type();
      m.has_rank = true;
      m.dims.assign(t.dims().begin(), t.dims().end());
      meta[t.name()] = m;
    }
    for (const auto& [name, v] : values) meta[name] = meta_of(v);

    // Fold what is constant; evaluate what can be.
    bool new_values = false;
    for (int i : order) {
      const auto& node = g.node(i);
      const std::string& op = node.op_type();
      if (!node.domain().empty() && node.domain() != "ai.onnx") continue;
      if (nondeterministic(op) || has_subgraph(node)) continue;
      bool is_const = true;
      const bool shape_like = op == "Shape" || op == "Size";
      if (shape_like) {
        const auto it = meta.find(node.input(0));
        is_const = constants.count(node.input(0)) || (it != meta.end() && it->second.known());
      } else {
        for (const auto& t : reads[i]) is_const = is_const && constants.count(t);
      }
      if (!is_const) continue;
      if (!folded[i]) {
        folded[i] = 1;
        for (const auto& o : node.output())
          if (!o.empty()) constants.insert(o);
      }
      bool outs_known = true;
      for (const auto& o : node.output())
        if (!o.empty() && !values.count(o)) outs_known = false;
      if (outs_known) continue;
      std::vector<const fold::Value*> ins;
      bool ready = true;
      fold::Value dims_only;  // Shape and Size read only the static dims of their input
      if (shape_like && !values.count(node.input(0))) {
        const Meta& m = meta[node.input(0)];
        if (!m.known()) continue;
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
        auto it = values.find(t);
        if (it == values.end()) {
          ready = false;
          break;
        }
        ins.push_back(&it->second);
      }
      if (!ready) continue;
      std::optional<std::vector<fold::Value>> outs;
      try {
        outs = fold::evaluate(node, ins, opset);
      } catch (const Error& e) {  // a fault of the model in a constant subgraph, naming the node
        throw Error(where, e.what());
      }
      if (!outs || static_cast<int>(outs->size()) < node.output_size()) continue;
      for (int k = 0; k < node.output_size(); ++k)
        if (!node.output(k).empty()) values[node.output(k)] = std::move((*outs)[k]);
      new_values = true;
    }
    if (!new_values) break;
  }
  for (int i = 0; i < n_nodes; ++i) {
    result.folded_nodes += folded[i];
    if (!folded[i]) continue;
    for (const auto& o : g.node(i).output()) {
      const auto it = values.find(o);
      if (o.empty() || it == values.end()) continue;
      if (it->second.type == TensorProto::FLOAT16 || it->second.type == TensorProto::BFLOAT16) continue;
      TensorProto t;
      fold::to_tensor(it->second, o, &t);
      result.folded_values.emplace_back(o, t.SerializeAsString());
    }
  }

  // Build the DAG.
  Dag& dag = result.dag;
  dag.model = opt.model_name.empty() ? file_stem(where) : opt.model_name;
  if (where == "-" && opt.model_name.empty() && !g.name().empty()) dag.model = g.name();
  dag.source = where == "-" ? "-" : std::filesystem::path(where).filename().string();
  std::unordered_map<std::string, int> tensor_node;  // tensor -> DAG node id
  std::vector<std::string> node_tensor_owner;
  std::unordered_set<std::string> used_names;
  for (int i : real_inputs) {
    const auto& in = g.input(i);
    Node n;
    n.name = in.name();
    n.op = "Input";
    used_names.insert(n.name);
    tensor_node[in.name()] = static_cast<int>(dag.nodes.size());
    dag.nodes.push_back(std::move(n));
  }
  result.onnx_to_dag.assign(n_nodes, "");
  for (int i = 0; i < n_nodes; ++i) {
    result.onnx_names.push_back(g.node(i).name().empty() ? derive_name(g.node(i), i) : g.node(i).name());
    result.onnx_ops.push_back(g.node(i).op_type());
  }
  std::vector<int> dag_onnx;  // DAG node id -> ONNX node index (-1 for Input)
  dag_onnx.assign(dag.nodes.size(), -1);
  for (int i : order) {
    if (folded[i]) continue;
    const auto& node = g.node(i);
    if (nondeterministic(node.op_type()) && reads[i].empty())
      throw Error(where, fmt::format("node '{}': op {} makes data from nothing; not supported", node.name(), node.op_type()));
    Node n;
    n.name = node.name().empty() ? derive_name(node, i) : node.name();
    while (used_names.count(n.name)) n.name += "_";
    used_names.insert(n.name);
    n.op = node.domain().empty() || node.domain() == "ai.onnx" ? node.op_type() : node.domain() + "." + node.op_type();
    std::unordered_set<int> seen;
    for (const auto& t : reads[i]) {
      if (constants.count(t)) continue;
      auto it = tensor_node.find(t);
      if (it == tensor_node.end()) continue;  // cannot happen: checked above
      if (seen.insert(it->second).second) n.inputs.push_back(dag.nodes[it->second].name);
    }
    if (n.inputs.empty())
      throw Error(where, fmt::format("node '{}' ({}) reads no computed tensor but could not be folded", n.name, n.op));
    const int id = static_cast<int>(dag.nodes.size());
    for (const auto& o : node.output())
      if (!o.empty()) tensor_node[o] = id;
    result.onnx_to_dag[i] = n.name;
    dag.nodes.push_back(std::move(n));
    dag_onnx.push_back(i);
  }
  // Which tensors DAG nodes consume, and by whom (for messages).
  std::unordered_map<std::string, int> consumer;
  for (size_t id = 0; id < dag.nodes.size(); ++id) {
    if (dag_onnx[id] < 0) continue;
    for (const auto& t : reads[dag_onnx[id]])
      if (!constants.count(t)) consumer.emplace(t, static_cast<int>(id));
  }
  auto describe_unknown = [&](const std::string& t, int prod_id) {
    std::string why;
    if (prod_id >= 0 && dag_onnx[prod_id] >= 0) {
      const auto& pn = g.node(dag_onnx[prod_id]);
      const std::string domain = pn.domain() == "ai.onnx" ? "" : pn.domain();
      if (!onnx::OpSchemaRegistry::Schema(pn.op_type(), static_cast<int>(opset), domain)) {
        why = fmt::format("op '{}'{} is not supported (no schema in opset {}, max {})", pn.op_type(),
                          domain.empty() ? "" : " of domain '" + domain + "'", opset, max_opset);
      }
    } else {
      why = "a dynamic input dimension: pin it with --input-shape NAME=D1xD2x...";
    }
    if (why.empty()) why = kDataDependent;
    const auto it = meta.find(t);
    if (it != meta.end() && !it->second.tensor) why = "it is not a tensor (sequence, map or optional type)";
    return why;
  };
  for (size_t id = 0; id < dag.nodes.size(); ++id) {
    Node& n = dag.nodes[id];
    std::vector<std::string> outs;
    if (dag_onnx[id] < 0) outs.push_back(n.name);
    else
      for (const auto& o : g.node(dag_onnx[id]).output()) outs.push_back(o);
    for (const auto& o : outs) {
      if (o.empty()) continue;
      TensorInfo ti;
      ti.name = o;
      const auto it = meta.find(o);
      const Meta m = it == meta.end() ? Meta{} : it->second;
      ti.dtype = dtype_info(m.type).second;
      ti.shape = m.dims;
      ti.consumed = consumer.count(o) > 0;
      const bool sized = m.known() && dtype_info(m.type).first > 0;
      if (ti.consumed && !sized) {
        const std::string reader = dag.nodes[consumer[o]].name;
        const std::string why = m.known() ? fmt::format("element type {} has no fixed size", ti.dtype)
                                          : describe_unknown(o, static_cast<int>(id));
        std::string hint;
        if (why == kDataDependent) {
          StaticView view;
          view.graph = &g;
          view.order = &order;
          view.reads = &reads;
          view.folded = &folded;
          view.is_constant = [&](const std::string& t) { return constants.count(t) > 0; };
          view.is_static = [&](const std::string& t) {
            const auto mt = meta.find(t);
            return mt != meta.end() && mt->second.known() && dtype_info(mt->second.type).first > 0;
          };
          const auto cut = suggest_static_outputs(view);
          std::string list;
          for (const auto& t : cut) list += (list.empty() ? "" : ",") + t;
          if (!cut.empty())
            hint = fmt::format("; to import the network up to its nearest tensors of static size, leaving the "
                               "data-dependent part out, add --outputs {}", list);
        }
        throw Error(where, fmt::format("tensor '{}' (output of '{}', read by '{}') has no static size: {}{}", o,
                                       n.name, reader, why, hint));
      }
      ti.bytes = sized ? tensor_bytes(m) : 0;
      if (ti.bytes < 0) throw Error(where, fmt::format("tensor '{}' (output of '{}') is impossibly large", o, n.name));
      if (ti.consumed) n.out_bytes += ti.bytes;
      n.outputs.push_back(std::move(ti));
    }
    if (dag_onnx[id] >= 0) {
      const auto& node = g.node(dag_onnx[id]);
      std::vector<OperandShape> ins, outv;
      for (const auto& t : node.input()) {
        OperandShape s;
        if (!t.empty()) {
          const auto mt = meta.find(t);
          if (mt != meta.end() && mt->second.known()) {
            s.known = true;
            s.dims = mt->second.dims;
          }
          s.constant = constants.count(t) > 0;
          if (s.constant && s.known) n.params += std::max<int64_t>(tensor_bytes(mt->second), 0);
        }
        ins.push_back(std::move(s));
      }
      for (const auto& t : node.output()) {
        OperandShape s;
        const auto mt = meta.find(t);
        if (!t.empty() && mt != meta.end() && mt->second.known()) {
          s.known = true;
          s.dims = mt->second.dims;
        }
        outv.push_back(std::move(s));
      }
      const OpCost c = op_cost(node, ins, outv);
      n.macs = c.macs;
      n.ops = c.ops;
    }
  }

  // Exits: groups of graph outputs, declared or by the default rule, ordered by depth.
  if (auto problem = finalize_nodes(dag)) throw Error(where, *problem);
  std::vector<GraphOutput> outputs;
  for (const auto& o : g.output()) {
    GraphOutput go;
    go.name = o.name();
    const auto it = tensor_node.find(o.name());
    if (!constants.count(o.name()) && it != tensor_node.end() && dag.nodes[it->second].op != "Input") go.node = it->second;
    const auto m = meta.find(o.name());
    go.static_shape = m != meta.end() && m->second.known();
    if (go.static_shape) go.dims = m->second.dims;
    outputs.push_back(std::move(go));
  }
  ExitGrouping grouping = group_exits(dag, outputs, exit_declarations(model, opt, result.warnings), where);
  dag.exits = std::move(grouping.exits);
  result.exit_rule = std::move(grouping.rule);
  for (auto& w : grouping.warnings) result.warnings.push_back(std::move(w));
  if (auto problem = finalize(dag)) throw Error(where, *problem);
  return result;
}

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
  for (auto& [k, v] : op_count) byc.emplace_back(-v, k);
  std::sort(byc.begin(), byc.end());
  for (size_t k = 0; k < byc.size() && k < 10; ++k)
    ops_line += fmt::format("{}{} x{}", k ? ", " : "", byc[k].second, -byc[k].first);
  s += "ops: " + ops_line + (byc.size() > 10 ? ", ..." : "") + "\n";
  std::vector<int> idx(dag.nodes.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int>(i);
  std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return dag.nodes[a].out_bytes > dag.nodes[b].out_bytes; });
  s += "largest tensors sent (candidate cuts):\n";
  for (size_t k = 0; k < idx.size() && k < 5; ++k) {
    const Node& n = dag.nodes[idx[k]];
    if (n.out_bytes == 0) break;
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
