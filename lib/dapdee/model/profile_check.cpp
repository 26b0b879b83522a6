#include "dapdee/model/profile_check.hpp"

#include <fmt/format.h>

#include "dapdee/support/error.hpp"

namespace dapdee {

namespace {

std::string dims_text(const std::vector<int64_t>& d) {
  std::string s;
  for (size_t i = 0; i < d.size(); ++i) s += (i ? "x" : "") + std::to_string(d[i]);
  return s.empty() ? "(scalar)" : s;
}

// Throws when a recorded input differs from the DAG's; warns when nothing is recorded.
void check_inputs(const InputShapes& dag_inputs, const Profile& p, const std::string& role, std::vector<std::string>& warnings) {
  if (!p.records_inputs) {
    warnings.push_back(fmt::format("{}: the {} profile records no input shapes: cannot check that it was measured at the "
                                   "DAG's input size",
                                   p.source, role));
    return;
  }
  for (const auto& [name, dims] : dag_inputs) {
    for (const auto& [pname, pdims] : p.inputs) {
      if (pname != name || pdims == dims) continue;
      throw Error(p.source, fmt::format("the {} profile was measured with input '{}' of {} but the DAG's is {}: profile the "
                                        "model at the DAG's input size (dapdee-profile --input-shape {}={})",
                                        role, name, dims_text(pdims), dims_text(dims), name, dims_text(dims)));
    }
  }
}

double sum_over_dag(const Dag& dag, const Profile& p) {
  double s = 0;
  for (const auto& n : dag.nodes)
    if (auto it = p.ms.find(n.name); it != p.ms.end()) s += it->second;
  return s;
}

// Two reference-normalised profiles scaled to the same time of the same reference are in the
// same units, whatever the machines: then their difference cannot show which machine is faster.
void check_references(const Profile& device, const Profile& edge, std::vector<std::string>& warnings) {
  if (device.reference_scale_ms <= 0 || edge.reference_scale_ms <= 0) return;
  if (device.reference_model != edge.reference_model || device.reference_scale_ms != edge.reference_scale_ms) return;
  warnings.push_back(fmt::format("the device and edge profiles are both scaled to {} at {} ms (dapdee-profile --reference): "
                                 "unless each machine's reference-ms was its own quiet time, both machines look equally fast",
                                 device.reference_model, device.reference_scale_ms));
}

// A warning when both profiles were measured on one machine: the edge is meant to be another.
void check_machines(const Profile& device, const Profile& edge, std::vector<std::string>& warnings) {
  if (!same_machine(device.machine, edge.machine)) return;
  warnings.push_back(
      fmt::format("the device and edge profiles were measured on the same machine ({}): the edge is meant "
                  "to be a server; measure the edge profile there, or predict one (dapdee-profile predict "
                  "--device edge-t4)",
                  machine_summary(device.machine)));
}

}  // namespace

InputShapes dag_input_shapes(const Dag& dag) {
  InputShapes out;
  for (const auto& n : dag.nodes)
    if (is_input(n) && !n.outputs.empty()) out.emplace_back(n.name, n.outputs.front().shape);
  return out;
}

std::vector<std::string> check_profile_pair(const Dag& dag, const Profile& device, const Profile& edge) {
  std::vector<std::string> warnings;
  const InputShapes inputs = dag_input_shapes(dag);
  check_inputs(inputs, device, "device", warnings);
  check_inputs(inputs, edge, "edge", warnings);
  check_references(device, edge, warnings);
  check_machines(device, edge, warnings);
  for (const Profile* p : {&device, &edge})
    if (p->inconsistent)
      warnings.push_back(
          fmt::format("{}: the profile is marked inconsistent: its node sum ({:.3f} ms) and whole-model median "
                      "({:.3f} ms) differ by more than 10%; the plan charges the node sum",
                      p->source, p->consistency_node_sum_ms, p->consistency_whole_ms));
  const double d = sum_over_dag(dag, device), e = sum_over_dag(dag, edge);
  if (e > d)
    warnings.push_back(fmt::format("the edge profile ({}: {:.3f} ms over the DAG's nodes) is slower than the device profile "
                                   "({}: {:.3f} ms): are --device and --edge swapped?",
                                   edge.source, e, device.source, d));
  return warnings;
}

std::vector<std::string> check_profile_covers(const Dag& dag, const Profile& profile, const std::string& role,
                                              PartialProfile policy) {
  std::vector<std::string> missing;
  size_t computing = 0;
  for (const auto& n : dag.nodes) {
    if (is_input(n)) continue;
    ++computing;
    if (!profile.ms.contains(n.name)) missing.push_back(n.name);
  }
  const bool other_model = !profile.model.empty() && !dag.model.empty() && profile.model != dag.model;
  if (!other_model && missing.empty()) return {};
  std::string what =
      other_model ? fmt::format("the {} profile is for model '{}' but the DAG is '{}'", role, profile.model, dag.model)
                  : fmt::format("the {} profile (model '{}') does not time the whole DAG", role, dag.model);
  if (!missing.empty())
    what += fmt::format(": {} of the DAG's {} computing node(s) have no time (e.g. '{}')", missing.size(), computing,
                        missing.front());
  if (policy == PartialProfile::Warn)
    return {fmt::format("{}: {}; planned anyway with 0 ms for every missing node (--allow-partial-profile)",
                        profile.source, what)};
  throw Error(profile.source, what +
                                  ": profile this model (dapdee-profile, or dapdee-profile predict), or give "
                                  "--allow-partial-profile to plan with 0 ms for the missing nodes");
}

}  // namespace dapdee
