#include "dapdee/dag.hpp"

#include <fmt/format.h>

#include "dapdee/file_kind.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "dapdee/error.hpp"

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
          std::string path = nodes[u].name;
          for (int w = v; w != u && w >= 0; w = parent[w]) path = nodes[w].name + " <- " + path;
          return nodes[u].name + " <- " + path;
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

int64_t get_size(const ojson& j, const char* key, const std::string& loc) {
  if (!j.contains(key)) return 0;
  const auto& v = j.at(key);
  if (!v.is_number_integer()) throw Error(fmt::format("{}: '{}' must be an integer", loc, key));
  const int64_t x = v.get<int64_t>();
  if (x < 0) throw Error(fmt::format("{}: '{}' is negative ({})", loc, key, x));
  return x;
}

std::string get_string(const ojson& j, const char* key, const std::string& loc) {
  if (!j.contains(key) || !j.at(key).is_string())
    throw Error(fmt::format("{}: missing string field '{}'", loc, key));
  return j.at(key).get<std::string>();
}

}  // namespace

Dag parse_dag(const std::string& text, const std::string& where) {
  ojson j;
  try {
    j = ojson::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    const std::string hint = wrong_file_hint(text, kDagFormat);
    throw Error(where, hint.empty() ? fmt::format("not valid JSON: {}", e.what()) : hint);
  }
  try {
    if (!j.is_object()) throw Error("not a JSON object");
    if (!j.contains("format") || j["format"] != kDagFormat) {
      if (const std::string hint = wrong_file_hint(text, kDagFormat); !hint.empty()) throw Error(hint);
      throw Error(fmt::format("not a {} file (format is {})", kDagFormat,
                              j.contains("format") ? j["format"].dump() : "missing"));
    }
    Dag dag;
    dag.model = j.value("model", "");
    dag.source = j.value("source", "");
    if (!j.contains("nodes") || !j["nodes"].is_array()) throw Error("missing array 'nodes'");
    const auto& jn = j["nodes"];
    dag.nodes.reserve(jn.size());
    for (size_t i = 0; i < jn.size(); ++i) {
      const auto& x = jn[i];
      std::string loc = fmt::format("nodes[{}]", i);
      if (!x.is_object()) throw Error(loc + ": not an object");
      Node n;
      n.name = get_string(x, "name", loc);
      loc += " ('" + n.name + "')";
      n.op = get_string(x, "op", loc);
      if (x.contains("inputs")) {
        if (!x["inputs"].is_array()) throw Error(loc + ": 'inputs' must be an array");
        for (const auto& s : x["inputs"]) {
          if (!s.is_string()) throw Error(loc + ": 'inputs' must hold node names");
          n.inputs.push_back(s.get<std::string>());
        }
      }
      n.out_bytes = get_size(x, "out_bytes", loc);
      n.macs = get_size(x, "macs", loc);
      n.ops = get_size(x, "ops", loc);
      n.params = get_size(x, "params", loc);
      if (x.contains("outputs") && x["outputs"].is_array()) {
        for (const auto& o : x["outputs"]) {
          TensorInfo t;
          t.name = o.value("name", "");
          t.dtype = o.value("dtype", "");
          if (o.contains("shape") && o["shape"].is_array())
            for (const auto& d : o["shape"]) t.shape.push_back(d.is_number_integer() ? d.get<int64_t>() : -1);
          t.bytes = get_size(o, "bytes", loc + " output");
          t.consumed = o.value("consumed", false);
          n.outputs.push_back(std::move(t));
        }
      }
      dag.nodes.push_back(std::move(n));
    }
    if (j.contains("exits")) {
      if (!j["exits"].is_array()) throw Error("'exits' must be an array");
      for (size_t k = 0; k < j["exits"].size(); ++k) {
        const auto& x = j["exits"][k];
        const std::string loc = fmt::format("exits[{}]", k);
        if (!x.is_object()) throw Error(loc + ": not an object");
        Exit e;
        e.name = get_string(x, "name", loc);
        for (const char* key : {"outputs", "nodes"}) {
          if (!x.contains(key)) continue;
          if (!x[key].is_array()) throw Error(fmt::format("{}: '{}' must be an array of names", loc, key));
          auto& dst = std::string(key) == "outputs" ? e.outputs : e.nodes;
          for (const auto& s : x[key]) {
            if (!s.is_string()) throw Error(fmt::format("{}: '{}' must be an array of names", loc, key));
            dst.push_back(s.get<std::string>());
          }
        }
        if (e.nodes.empty()) e.node = get_string(x, "node", loc);
        if (x.contains("accuracy") && !x["accuracy"].is_null()) {
          if (!x["accuracy"].is_number()) throw Error(loc + ": 'accuracy' must be a number or null");
          e.accuracy = x["accuracy"].get<double>();
        }
        dag.exits.push_back(std::move(e));
      }
    }
    if (auto problem = finalize(dag)) throw Error(*problem);
    return dag;
  } catch (const Error& e) {
    if (!e.where().empty()) throw;
    throw Error(where, e.what());
  } catch (const nlohmann::json::exception& e) {
    throw Error(where, fmt::format("malformed DAG: {}", e.what()));
  }
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
  return j.dump(1) + "\n";
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
