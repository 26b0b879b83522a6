#include "dapdee/ort_import.hpp"

#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "dapdee/error.hpp"
#include "dapdee/io.hpp"
#include "dapdee/json_field.hpp"
#include "dapdee/stats.hpp"

namespace dapdee {

OrtImport import_ort_trace(const std::string& text, const std::string& where, const Dag& dag,
                           const std::string& device_name) {
  nlohmann::json storage;
  const JsonField root = parse_json_root(text, where, storage);
  const JsonField events = root.raw().is_object() && root.has("traceEvents") ? root.at("traceEvents") : root;
  if (!events.raw().is_array()) throw Error(where, "not an ONNX Runtime trace (expected an array of events)");

  // Kernel key -> durations (ms) per occurrence, and its op.
  std::map<std::string, std::vector<double>> durations;
  std::map<std::string, std::string> op_of;
  OrtImport out;
  static const std::string kSuffix = "_kernel_time";
  for (const auto& e : events.items()) {
    if (!e.raw().is_object() || e.str_or("cat", "") != "Node") continue;
    const std::string name = e.str_or("name", "");
    if (name.size() <= kSuffix.size() || name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) continue;
    const std::string key = name.substr(0, name.size() - kSuffix.size());
    // Durations are microseconds: negative ones are refused, and 1e15 us (31 years) bounds sums.
    durations[key].push_back(e.num("dur", NumRange{0.0, 1e15, false, false}) / 1000.0);
    if (const auto args = e.find("args"); args && args->raw().is_object()) op_of[key] = args->str_or("op_name", "");
    ++out.events;
  }
  if (out.events == 0) throw Error(where, "no 'Node' kernel events: not an ONNX Runtime profiling trace");

  std::unordered_map<std::string, int> tensor_producer;
  for (size_t i = 0; i < dag.nodes.size(); ++i)
    for (const auto& t : dag.nodes[i].outputs) tensor_producer[t.name] = static_cast<int>(i);
  std::vector<int> consumers(dag.nodes.size(), 0);
  for (const auto& n : dag.nodes)
    for (int u : n.input_ids) ++consumers[u];

  const size_t n = dag.nodes.size();
  std::vector<std::vector<double>> per_node(n);
  std::vector<char> own(n, 0);
  std::vector<std::string> fused_note(n);
  std::vector<std::string> unmatched;
  double unmatched_ms = 0;
  size_t runs = 0;
  for (const auto& [key, d] : durations) runs = std::max(runs, d.size());
  // Direct matches first, so fused kernels know which nodes have their own time.
  for (const auto& [key, d] : durations)
    if (int v = dag.find(key); v >= 0) own[v] = 1;
  for (const auto& [key, d] : durations) {
    int v = dag.find(key);
    std::vector<int> group;
    if (v >= 0) {
      group = {v};
    } else {
      std::string tensor = key;
      if (tensor.size() > 6 && tensor.compare(tensor.size() - 6, 6, "_nchwc") == 0) tensor.resize(tensor.size() - 6);
      auto it = tensor_producer.find(tensor);
      if (it == tensor_producer.end()) {
        unmatched.push_back(key);
        for (double x : d) unmatched_ms += x / static_cast<double>(runs);
        continue;
      }
      // The fused kernel ends at this node; walk up single-consumer predecessors without a
      // kernel of their own until the node of the kernel's op (e.g. Conv for Conv+Relu).
      group = {it->second};
      const std::string& op = op_of[key];
      int w = it->second;
      for (int step = 0; step < 4 && dag.nodes[w].op != op; ++step) {
        if (dag.nodes[w].input_ids.size() != 1) break;
        const int u = dag.nodes[w].input_ids[0];
        if (own[u] || consumers[u] != 1 || dag.nodes[u].op == "Input") break;
        group.push_back(u);
        w = u;
      }
    }
    double weight_sum = 0;
    for (int g : group) weight_sum += 2.0 * static_cast<double>(dag.nodes[g].macs) + static_cast<double>(dag.nodes[g].ops) + 1.0;
    for (int g : group) {
      const double share = (2.0 * static_cast<double>(dag.nodes[g].macs) + static_cast<double>(dag.nodes[g].ops) + 1.0) / weight_sum;
      auto& dst = per_node[g];
      if (dst.size() < d.size()) dst.resize(d.size(), 0.0);
      for (size_t r = 0; r < d.size(); ++r) dst[r] += d[r] * share;
      if (group.size() > 1) fused_note[g] = key;
    }
  }
  nlohmann::ordered_json jn = nlohmann::ordered_json::object();
  std::vector<std::string> missing;
  double total = 0;
  for (size_t v = 0; v < n; ++v) {
    if (dag.nodes[v].op == "Input") continue;
    if (per_node[v].empty()) {
      missing.push_back(dag.nodes[v].name);
      continue;
    }
    const Summary s = summarize(per_node[v]);
    nlohmann::ordered_json x = {{"ms", s.median}, {"mean", s.mean}, {"p10", s.p10}, {"p90", s.p90}, {"cv", s.cv}};
    if (!fused_note[v].empty()) x["fused_kernel"] = fused_note[v];
    jn[dag.nodes[v].name] = std::move(x);
    total += s.median;
    ++out.nodes_timed;
  }
  size_t computing = 0;
  for (const auto& node : dag.nodes) computing += node.op != "Input";
  if (2 * static_cast<size_t>(out.nodes_timed) < computing)
    throw Error(where, fmt::format("the trace times only {} of the {} nodes of the DAG of '{}' (e.g. kernel '{}' matches "
                                   "none): is it for another model?",
                                   out.nodes_timed, computing, dag.model, unmatched.empty() ? durations.begin()->first : unmatched.front()));
  if (!missing.empty())
    out.warnings.push_back(fmt::format("{} DAG node(s) have no kernel in the trace (e.g. '{}'); the planner counts them as 0 ms",
                                       missing.size(), missing.front()));
  if (!unmatched.empty())
    out.warnings.push_back(fmt::format("{} kernel(s) match no DAG node (e.g. '{}': folded constants or ORT's own layout reorders); "
                                       "{:.3f} ms per run left in unattributed_ms", unmatched.size(), unmatched.front(), unmatched_ms));
  out.runs = static_cast<int>(runs);
  nlohmann::ordered_json p;
  p["format"] = "dapdee-profile/1";
  p["device"] = device_name;
  p["model"] = dag.model;
  p["runtime"] = "ONNX Runtime (profiling trace)";
  p["predicted"] = false;
  p["source_trace"] = where;
  p["runs"] = runs;
  p["nodes"] = std::move(jn);
  p["total_ms"] = total;
  p["unattributed_ms"] = unmatched_ms;
  p["unmatched_kernels"] = unmatched;
  p["nodes_without_kernel"] = missing;
  out.json = p.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return out;
}

}  // namespace dapdee
