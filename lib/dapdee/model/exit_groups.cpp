#include "dapdee/model/exit_groups.hpp"

#include "dapdee/support/json_field.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "dapdee/support/error.hpp"

namespace dapdee {

namespace {

std::optional<double> accuracy_value(const nlohmann::json& v, const std::string& name, const std::string& where) {
  if (v.is_null()) return std::nullopt;
  if (v.is_number() && v.get<double>() >= 0 && v.get<double>() <= 1) return v.get<double>();
  throw Error(where, fmt::format("accuracy of exit '{}' must be a number in [0, 1] or null", name));
}

ExitDeclaration parse_entry(const nlohmann::json& e, size_t k, const std::string& where) {
  if (!e.is_object() || !e.contains("name") || !e["name"].is_string() || e["name"].get<std::string>().empty())
    throw Error(where, fmt::format("exits[{}]: each entry of 'exits' needs a non-empty string 'name'", k));
  ExitDeclaration d;
  d.name = e["name"].get<std::string>();
  if (e.contains("accuracy")) {
    d.accuracy_given = true;
    d.accuracy = accuracy_value(e["accuracy"], d.name, where);
  }
  if (e.contains("outputs")) {
    const auto& o = e["outputs"];
    if (!o.is_array() || o.empty())
      throw Error(where, fmt::format("exit '{}': 'outputs' must be a non-empty array of output names", d.name));
    for (const auto& t : o) {
      if (!t.is_string() || t.get<std::string>().empty())
        throw Error(where, fmt::format("exit '{}': 'outputs' must hold non-empty strings", d.name));
      if (std::find(d.outputs.begin(), d.outputs.end(), t.get<std::string>()) != d.outputs.end())
        throw Error(where, fmt::format("exit '{}' lists output '{}' twice", d.name, t.get<std::string>()));
      d.outputs.push_back(t.get<std::string>());
    }
  }
  return d;
}

std::string shape_text(const std::vector<int64_t>& dims) {
  std::string s;
  for (size_t d = 0; d < dims.size(); ++d) s += (d ? "x" : "") + std::to_string(dims[d]);
  return s.empty() ? "scalar" : s;
}

std::string source_text(const ExitDeclarations& d) {
  switch (d.source) {
    case ExitSource::Option: return fmt::format("--exits {}", d.where);
    case ExitSource::Sidecar: return fmt::format("the sidecar {}", d.where);
    case ExitSource::Metadata: return "the model's metadata_props (dapdee.exits)";
  }
  return {};
}

// A group before ordering: its exit and where its deepest node sits.
struct Group {
  Exit exit;
  int depth = 0, pos = 0, order = 0;
};

const GraphOutput* find_output(const std::vector<GraphOutput>& outputs, const std::string& name) {
  for (const auto& o : outputs)
    if (o.name == name) return &o;
  return nullptr;
}

// The groups a declaration fixes; entries without `outputs` stand for the output of their name.
std::vector<Group> declared_groups(const Dag& dag, const std::vector<GraphOutput>& outputs, const ExitDeclarations& d,
                                   std::vector<std::string>& warnings) {
  std::map<std::string, std::string> owner;  // output -> exit
  std::vector<Group> groups;
  for (const auto& e : d.exits) {
    Group g;
    g.exit.name = e.name;
    g.exit.outputs = e.outputs.empty() ? std::vector<std::string>{e.name} : e.outputs;
    for (const auto& out : g.exit.outputs) {
      const GraphOutput* o = find_output(outputs, out);
      if (!o) {
        std::string names;
        for (const auto& x : outputs) names += (names.empty() ? "" : ", ") + x.name;
        throw Error(d.where, fmt::format("exit '{}' names output '{}', which is not an output of the model "
                                         "(outputs: {})", e.name, out, names));
      }
      if (o->node < 0) throw Error(d.where, fmt::format("exit '{}': output '{}' is not computed by any node", e.name, out));
      if (auto [it, fresh] = owner.emplace(out, e.name); !fresh)
        throw Error(d.where, fmt::format("output '{}' is in two exits ('{}' and '{}'); an output belongs to one exit",
                                         out, it->second, e.name));
      const std::string& node = dag.nodes[o->node].name;
      if (std::find(g.exit.nodes.begin(), g.exit.nodes.end(), node) == g.exit.nodes.end()) g.exit.nodes.push_back(node);
    }
    groups.push_back(std::move(g));
  }
  for (const auto& o : outputs)
    if (o.node >= 0 && !owner.count(o.name))
      warnings.push_back(fmt::format("graph output '{}' is in no exit declared by {}; it is left out", o.name,
                                     source_text(d)));
  return groups;
}

// The default rule: outputs that all have one identical shape are one exit each, else one `final`.
std::vector<Group> default_groups(const Dag& dag, const std::vector<GraphOutput>& outputs, std::string& rule) {
  std::vector<const GraphOutput*> computed;
  for (const auto& o : outputs)
    if (o.node >= 0) computed.push_back(&o);
  const bool one_shape = std::all_of(computed.begin(), computed.end(), [&](const GraphOutput* o) {
    return o->static_shape && computed[0]->static_shape && o->dims == computed[0]->dims;
  });
  std::vector<Group> groups;
  if (one_shape) {
    for (const auto* o : computed) {
      Group g;
      g.exit = single_exit(o->name, dag.nodes[o->node].name);
      groups.push_back(std::move(g));
    }
    rule = computed.size() == 1 ? "default rule: one output, one exit"
                                : fmt::format("default rule: the {} outputs share one shape ({}), one exit each",
                                              computed.size(), shape_text(computed[0]->dims));
    return groups;
  }
  Group g;
  g.exit.name = "final";
  std::string shapes;
  for (const auto* o : computed) {
    g.exit.outputs.push_back(o->name);
    const std::string& node = dag.nodes[o->node].name;
    if (std::find(g.exit.nodes.begin(), g.exit.nodes.end(), node) == g.exit.nodes.end()) g.exit.nodes.push_back(node);
    shapes += fmt::format("{}{} {}", shapes.empty() ? "" : ", ", o->name,
                          o->static_shape ? shape_text(o->dims) : "unknown");
  }
  groups.push_back(std::move(g));
  rule = fmt::format("default rule: the outputs differ in shape ({}), one exit 'final' with all {}", shapes,
                     computed.size());
  return groups;
}

// Accuracies by exit name: the highest place that gives one wins. Names that are no exit are an
// error in the highest-precedence declaration and a warning elsewhere.
void apply_accuracies(std::vector<Group>& groups, const std::vector<ExitDeclarations>& declarations,
                      std::vector<std::string>& warnings) {
  std::set<std::string> done;
  for (size_t k = 0; k < declarations.size(); ++k) {
    const ExitDeclarations& d = declarations[k];
    for (const auto& e : d.exits) {
      auto g = std::find_if(groups.begin(), groups.end(), [&](const Group& x) { return x.exit.name == e.name; });
      if (g == groups.end()) {
        std::string names;
        for (const auto& x : groups) names += (names.empty() ? "" : ", ") + x.exit.name;
        const std::string msg = fmt::format("names exit '{}', which is not an exit of the model (exits: {}){}", e.name,
                                            names, d.groups ? "" : "; to group outputs, declare \"outputs\"");
        if (k == 0 && d.source != ExitSource::Metadata) throw Error(d.where, msg);
        warnings.push_back(fmt::format("{} {}; ignored", source_text(d), msg));
        continue;
      }
      if (!e.accuracy_given || done.count(e.name)) continue;
      done.insert(e.name);
      g->exit.accuracy = e.accuracy;
    }
  }
}

}  // namespace

ExitDeclarations parse_exit_declarations(const std::string& text, const std::string& where, ExitSource source) {
  const nlohmann::json j = parse_json_bounded(text, where);  // depth-bounded; names the parse error
  ExitDeclarations d;
  d.source = source;
  d.where = where;
  if (j.is_object() && j.contains("exits") && j["exits"].is_array()) {
    for (size_t k = 0; k < j["exits"].size(); ++k) d.exits.push_back(parse_entry(j["exits"][k], k, where));
  } else if (j.is_object() && !j.contains("exits")) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == "format" || it.key() == "model") continue;
      ExitDeclaration e;
      e.name = it.key();
      e.accuracy_given = true;
      e.accuracy = accuracy_value(it.value(), it.key(), where);
      d.exits.push_back(std::move(e));
    }
  } else {
    throw Error(where, "exits must be {\"exits\": [{\"name\", \"outputs\", \"accuracy\"}]} or {name: accuracy}");
  }
  std::set<std::string> names;
  for (const auto& e : d.exits) {
    if (!names.insert(e.name).second) throw Error(where, fmt::format("exit '{}' is declared twice", e.name));
    d.groups = d.groups || !e.outputs.empty();
  }
  return d;
}

void add_metadata_accuracy(ExitDeclarations& decl, const std::string& output, const std::string& value) {
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !(v >= 0 && v <= 1))
    throw Error(decl.where, fmt::format("metadata 'dapdee.accuracy.{}' = '{}' is not an accuracy in [0, 1]", output, value));
  auto it = std::find_if(decl.exits.begin(), decl.exits.end(), [&](const ExitDeclaration& e) { return e.name == output; });
  if (it == decl.exits.end()) {
    decl.exits.emplace_back();
    it = std::prev(decl.exits.end());
    it->name = output;
  }
  it->accuracy_given = true;
  it->accuracy = v;
}

ExitGrouping group_exits(const Dag& dag, const std::vector<GraphOutput>& outputs,
                         const std::vector<ExitDeclarations>& declarations, const std::string& dag_where) {
  ExitGrouping result;
  for (const auto& o : outputs)
    if (o.node < 0) result.warnings.push_back(fmt::format("graph output '{}' is not computed by any node; not an exit", o.name));
  if (std::none_of(outputs.begin(), outputs.end(), [](const GraphOutput& o) { return o.node >= 0; }))
    throw Error(dag_where, "the model has no output computed by a node: nothing to plan");
  std::vector<Group> groups;
  const auto grouping = std::find_if(declarations.begin(), declarations.end(),
                                     [](const ExitDeclarations& d) { return d.groups; });
  if (grouping != declarations.end()) {
    groups = declared_groups(dag, outputs, *grouping, result.warnings);
    result.rule = fmt::format("declared by {}: {} exit{}", source_text(*grouping), groups.size(),
                              groups.size() == 1 ? "" : "s");
  } else {
    groups = default_groups(dag, outputs, result.rule);
  }
  apply_accuracies(groups, declarations, result.warnings);
  const ExitDeclarations* used = grouping == declarations.end() ? nullptr : &*grouping;
  std::string acc_sources;
  for (const auto& d : declarations)
    if (&d != used) acc_sources += (acc_sources.empty() ? "" : ", ") + source_text(d);
  if (!acc_sources.empty()) result.rule += fmt::format("; accuracies {}from {}", used ? "also " : "", acc_sources);
  // Order by the depth of the deepest node, then its position, then the declaration order.
  std::vector<int> depth(dag.nodes.size(), 0);
  for (size_t v = 0; v < dag.nodes.size(); ++v)
    for (int u : dag.nodes[v].input_ids) depth[v] = std::max(depth[v], depth[u] + 1);
  for (size_t k = 0; k < groups.size(); ++k) {
    groups[k].order = static_cast<int>(k);
    groups[k].depth = groups[k].pos = -1;
    for (const auto& n : groups[k].exit.nodes) {
      const int id = dag.find(n);
      groups[k].depth = std::max(groups[k].depth, depth[id]);
      groups[k].pos = std::max(groups[k].pos, id);
    }
  }
  std::stable_sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) {
    return std::tie(a.depth, a.pos, a.order) < std::tie(b.depth, b.pos, b.order);
  });
  for (auto& g : groups) {
    g.exit.node = g.exit.nodes.front();
    result.exits.push_back(std::move(g.exit));
  }
  return result;
}

}  // namespace dapdee
