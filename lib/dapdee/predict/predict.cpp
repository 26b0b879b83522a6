#include "dapdee/predict/predict.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "dapdee/model/profile_json.hpp"
#include "dapdee/support/error.hpp"
#include "dapdee/support/file_kind.hpp"
#include "dapdee/support/formats.hpp"
#include "dapdee/support/io.hpp"
#include "dapdee/support/json_field.hpp"
#include "dapdee/support/suggest.hpp"

namespace dapdee {

DeviceSpec parse_device_spec(const std::string& text, const std::string& where) {
  nlohmann::json storage;
  const JsonField root = parse_json_root_as(text, where, kDeviceSpecFormat, storage);
  reject_unknown_keys(root, {"format", "name", "peak_gflops", "memory_gbps", "efficiency", "node_overhead_ms",
                             "flop_convention", "source"});
  DeviceSpec s;
  s.name = root.str_or("name", "");
  s.source = root.str_or("source", "");
  // Bounds keep every predicted time finite: at most 1e9 GFLOP/s and GB/s, at least 1e-6.
  const NumRange rate{1e-6, 1e9, false, false};
  s.peak_gflops = root.num("peak_gflops", rate);
  s.memory_gbps = root.num("memory_gbps", rate);
  s.efficiency = root.num_or("efficiency", s.efficiency, NumRange{1e-6, 1.0, false, false});
  s.node_overhead_ms = root.num_or("node_overhead_ms", s.node_overhead_ms, NumRange{0.0, 1e6, false, false});
  return s;
}

ProfileDoc predicted_profile(const Dag& dag, const std::string& device, const std::string& runtime,
                             nlohmann::ordered_json predicted_from,
                             const std::function<nlohmann::ordered_json(int)>& node_entry) {
  ProfileDoc doc;
  doc.device = device;
  doc.model = dag.model;
  doc.runtime = runtime;
  doc.predicted = true;
  doc.about["predicted_from"] = std::move(predicted_from);
  double total = 0;
  for (size_t v = 0; v < dag.nodes.size(); ++v) {
    if (is_input(dag.nodes[v])) continue;
    nlohmann::ordered_json entry = node_entry(static_cast<int>(v));
    const double ms = entry["ms"].get<double>();
    if (!std::isfinite(ms) || ms < 0)  // never write "ms": null
      throw Error(fmt::format("node '{}': the predicted time is not a finite number of ms", dag.nodes[v].name));
    total += ms;
    doc.nodes[dag.nodes[v].name] = std::move(entry);
  }
  if (!std::isfinite(total)) throw Error("the predicted total is not a finite number of ms");
  doc.total_ms = total;
  return doc;
}

std::string predicted_profile_json(const Dag& dag, const std::string& device, const std::string& runtime,
                                   nlohmann::ordered_json predicted_from,
                                   const std::function<nlohmann::ordered_json(int)>& node_entry) {
  return profile_to_json(predicted_profile(dag, device, runtime, std::move(predicted_from), node_entry));
}

std::string predict_profile(const Dag& dag, const DeviceSpec& spec, const std::string& spec_path) {
  nlohmann::ordered_json from = {{"spec", spec_path},        {"peak_gflops", spec.peak_gflops},
                                 {"memory_gbps", spec.memory_gbps}, {"efficiency", spec.efficiency},
                                 {"node_overhead_ms", spec.node_overhead_ms}, {"source", spec.source}};
  return predicted_profile_json(dag, spec.name, "roofline prediction (dapdee-profile predict)", std::move(from), [&](int v) {
    const Node& n = dag.nodes[v];
    double bytes = static_cast<double>(n.params);
    for (const auto& t : n.outputs) bytes += static_cast<double>(t.bytes);
    for (int u : n.input_ids) bytes += static_cast<double>(dag.nodes[u].out_bytes);
    const double flops = 2.0 * static_cast<double>(n.macs) + static_cast<double>(n.ops);
    const double compute_ms = flops / (spec.peak_gflops * spec.efficiency * 1e9) * 1e3;
    const double memory_ms = bytes / (spec.memory_gbps * spec.efficiency * 1e9) * 1e3;
    const double ms = std::max(compute_ms, memory_ms) + spec.node_overhead_ms;
    return nlohmann::ordered_json{{"ms", ms}, {"bound", compute_ms >= memory_ms ? "compute" : "memory"}};
  });
}

}  // namespace dapdee
