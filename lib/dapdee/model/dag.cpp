#include "dapdee/model/dag.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "dapdee/support/error.hpp"
#include "dapdee/support/file_kind.hpp"
#include "dapdee/support/json_field.hpp"

namespace dapdee {

using ojson = nlohmann::ordered_json;

Exit single_exit(std::string name, std::string node, std::optional<double> accuracy) {
  Exit e;
  e.outputs = {name};
  e.nodes = {node};
  e.name = std::move(name);
  e.node = std::move(node);
  e.accuracy = accuracy;
  return e;
}

int Dag::find(const std::string& name) const {
  auto it = index.find(name);
  return it == index.end() ? -1 : it->second;
}

namespace {

// Finds a cycle among nodes given name->inputs; returns a readable path or empty.
std::string find_cycle(const std::vector<Node>& nodes) {
  std::unordered_map<std::string, int> pos;
  for (size_t i = 0; i < nodes.size(); ++i) pos.emplace(nodes[i].name, static_cast<int>(i));
  std::vector<int> state(nodes.size(), 0), parent(nodes.size(), -1);
  for (size_t root = 0; root < nodes.size(); ++root) {
    if (state[root]) continue;
    std::vector<std::pair<int, size_t>> stack{{static_cast<int>(root), 0}};
    state[root] = 1;
    while (!stack.empty()) {
      auto& [v, k] = stack.back();
      if (k < nodes[v].inputs.size()) {
        auto it = pos.find(nodes[v].inputs[k++]);
        if (it == pos.end()) continue;
        const int u = it->second;
        if (state[u] == 1) {
          std::vector<const std::string*> names{&nodes[u].name};  // the cycle, walked backwards
          for (int w = v; w != u && w >= 0; w = parent[w]) names.push_back(&nodes[w].name);
          std::string path = nodes[u].name;
          for (auto n = names.rbegin(); n != names.rend(); ++n) (path += " <- ") += **n;
          return path;
        }
        if (state[u] == 0) {
          state[u] = 1;
          parent[u] = v;
          stack.emplace_back(u, 0);
        }
      } else {
        state[v] = 2;
        stack.pop_back();
      }
    }
  }
  return {};
}

}  // namespace

std::optional<std::string> finalize_nodes(Dag& dag) {
  dag.index.clear();
  dag.index.reserve(dag.nodes.size());
  for (size_t i = 0; i < dag.nodes.size(); ++i) {
    Node& n = dag.nodes[i];
    if (n.name.empty()) return fmt::format("nodes[{}]: empty name", i);
    if (!dag.index.emplace(n.name, static_cast<int>(i)).second)
      return fmt::format("nodes[{}]: duplicate node name '{}'", i, n.name);
    if (n.out_bytes < 0 || n.macs < 0 || n.ops < 0 || n.params < 0)
      return fmt::format("nodes[{}] ('{}'): negative size", i, n.name);
  }
  for (size_t i = 0; i < dag.nodes.size(); ++i) {
    Node& n = dag.nodes[i];
    n.input_ids.clear();
    if (is_input(n) && !n.inputs.empty())
      return fmt::format("nodes[{}] ('{}'): an Input node has no inputs", i, n.name);
    if (!is_input(n) && n.inputs.empty())
      return fmt::format("nodes[{}] ('{}'): a computing node needs at least one input", i, n.name);
    std::unordered_set<int> seen;
    for (const auto& in : n.inputs) {
      const int j = dag.find(in);
      if (j < 0) return fmt::format("nodes[{}] ('{}'): input '{}' is not a node", i, n.name, in);
      if (j >= static_cast<int>(i)) {
        const std::string cycle = find_cycle(dag.nodes);
        if (!cycle.empty()) return fmt::format("cycle: {}", cycle);
        return fmt::format("nodes[{}] ('{}'): input '{}' comes later; nodes must be in topological order",
                           i, n.name, in);
      }
      if (seen.insert(j).second) n.input_ids.push_back(j);
    }
  }
  return std::nullopt;
}

std::optional<std::string> finalize(Dag& dag) {
  if (auto problem = finalize_nodes(dag)) return problem;
  if (dag.exits.empty()) return std::string("no exits: a DAG needs at least one exit");
  std::unordered_set<std::string> exit_names;
  for (size_t k = 0; k < dag.exits.size(); ++k) {
    Exit& e = dag.exits[k];
    if (!exit_names.insert(e.name).second) return fmt::format("exits[{}]: duplicate exit name '{}'", k, e.name);
    if (e.nodes.empty() && !e.node.empty()) e.nodes.push_back(e.node);
    if (e.nodes.empty()) return fmt::format("exits[{}] ('{}'): no nodes", k, e.name);
    if (e.outputs.empty()) e.outputs.push_back(e.name);
    e.node = e.nodes.front();
    e.node_ids.clear();
    for (const auto& name : e.nodes) {
      const int id = dag.find(name);
      if (id < 0) return fmt::format("exits[{}] ('{}'): node '{}' is not a node", k, e.name, name);
      if (std::find(e.node_ids.begin(), e.node_ids.end(), id) != e.node_ids.end())
        return fmt::format("exits[{}] ('{}'): node '{}' listed twice", k, e.name, name);
      e.node_ids.push_back(id);
    }
    e.node_id = e.node_ids.front();
    if (e.accuracy && !(*e.accuracy >= 0.0 && *e.accuracy <= 1.0))
      return fmt::format("exits[{}] ('{}'): accuracy {} is not in [0, 1]", k, e.name, *e.accuracy);
  }
  return std::nullopt;
}

namespace {

Node read_node(const JsonField& x) {
  x.expect_object();
  Node n;
  n.name = x.str("name");
  n.op = x.str("op");
  if (const auto in = x.find("inputs")) n.inputs = in->strings();
  n.out_bytes = x.int64_or("out_bytes", 0, 0);
  n.macs = x.int64_or("macs", 0, 0);
  n.ops = x.int64_or("ops", 0, 0);
  n.params = x.int64_or("params", 0, 0);
  if (const auto outs = x.find("outputs")) {
    for (const auto& o : outs->items()) {
      o.expect_object();
      TensorInfo t;
      t.name = o.str_or("name", "");
      t.dtype = o.str_or("dtype", "");
      if (const auto shape = o.find("shape"))
        for (const auto& d : shape->items()) t.shape.push_back(d.raw().is_number() ? d.int64(-1) : -1);
      t.bytes = o.int64_or("bytes", 0, 0);
      t.consumed = o.bool_or("consumed", false);
      n.outputs.push_back(std::move(t));
    }
  }
  return n;
}

Exit read_exit(const JsonField& x) {
  x.expect_object();
  Exit e;
  e.name = x.str("name");
  if (const auto o = x.find("outputs")) e.outputs = o->strings();
  if (const auto nd = x.find("nodes")) e.nodes = nd->strings();
  if (e.nodes.empty()) e.node = x.str("node");
  e.accuracy = x.num_opt("accuracy");
  return e;
}

}  // namespace

Dag parse_dag(const std::string& text, const std::string& where) {
  nlohmann::json storage;
  const JsonField root = parse_json_root_as(text, where, kDagFormat, storage);
  Dag dag;
  dag.model = root.str_or("model", "");
  dag.source = root.str_or("source", "");
  const auto nodes = root.at("nodes").items();
  dag.nodes.reserve(nodes.size());
  for (const auto& x : nodes) dag.nodes.push_back(read_node(x));
  if (const auto exits = root.find("exits"))
    for (const auto& x : exits->items()) dag.exits.push_back(read_exit(x));
  if (auto problem = finalize(dag)) throw Error(where, *problem);
  return dag;
}

std::string dag_to_json(const Dag& dag) {
  ojson j;
  j["format"] = kDagFormat;
  j["model"] = dag.model;
  j["source"] = dag.source;
  ojson nodes = ojson::array();
  for (const auto& n : dag.nodes) {
    ojson x;
    x["name"] = n.name;
    x["op"] = n.op;
    x["inputs"] = n.inputs;
    x["out_bytes"] = n.out_bytes;
    x["macs"] = n.macs;
    x["ops"] = n.ops;
    x["params"] = n.params;
    ojson outs = ojson::array();
    for (const auto& t : n.outputs) {
      ojson o;
      o["name"] = t.name;
      o["dtype"] = t.dtype;
      o["shape"] = t.shape;
      o["bytes"] = t.bytes;
      o["consumed"] = t.consumed;
      outs.push_back(std::move(o));
    }
    x["outputs"] = std::move(outs);
    nodes.push_back(std::move(x));
  }
  j["nodes"] = std::move(nodes);
  ojson exits = ojson::array();
  for (const auto& e : dag.exits) {
    ojson x;
    x["name"] = e.name;
    x["outputs"] = e.outputs;
    x["nodes"] = e.nodes;
    x["node"] = e.node;
    x["accuracy"] = e.accuracy ? ojson(*e.accuracy) : ojson(nullptr);
    exits.push_back(std::move(x));
  }
  j["exits"] = std::move(exits);
  return j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::vector<char> ancestors_of(const Dag& dag, int target) {
  return ancestors_of(dag, std::vector<int>{target});
}

std::vector<char> ancestors_of(const Dag& dag, const std::vector<int>& targets) {
  std::vector<char> mark(dag.nodes.size(), 0);
  int top = -1;
  for (int t : targets)
    if (t >= 0) {
      mark[t] = 1;
      top = std::max(top, t);
    }
  for (int v = top; v >= 0; --v) {
    if (!mark[v]) continue;
    for (int u : dag.nodes[v].input_ids) mark[u] = 1;
  }
  return mark;
}

}  // namespace dapdee
