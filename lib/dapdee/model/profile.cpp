#include "dapdee/model/profile.hpp"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "dapdee/model/network.hpp"
#include "dapdee/model/profile_json.hpp"
#include "dapdee/support/error.hpp"
#include "dapdee/support/file_kind.hpp"
#include "dapdee/support/io.hpp"
#include "dapdee/support/json_field.hpp"

namespace dapdee {

namespace {

// "inputs": [{"name": "input", "shape": [1, 3, 224, 224]}, ...]
InputShapes parse_inputs(const nlohmann::json& j, const std::string& where) {
  InputShapes out;
  if (!j.is_array()) throw Error(where, "'inputs' must be an array of {name, shape}");
  for (const auto& x : j) {
    if (!x.is_object() || !x.contains("name") || !x["name"].is_string() || !x.contains("shape") || !x["shape"].is_array())
      throw Error(where, "'inputs' entries need a string 'name' and an array 'shape'");
    std::vector<int64_t> dims;
    for (const auto& d : x["shape"]) {
      if (!d.is_number_integer()) throw Error(where, fmt::format("inputs['{}']: dims must be integers", x["name"].get<std::string>()));
      dims.push_back(d.get<int64_t>());
    }
    out.emplace_back(x["name"].get<std::string>(), std::move(dims));
  }
  return out;
}

}  // namespace

void check_time(double ms, const std::string& where, const std::string& what) {
  if (!std::isfinite(ms) || ms < 0) throw Error(where, fmt::format("{}: ms must be a finite number >= 0 (got {})", what, ms));
}

Profile parse_profile(const std::string& text, const std::string& where) {
  nlohmann::json storage;
  const JsonField root = parse_json_root_as(text, where, kProfileFormat, storage);
  Profile p;
  p.source = where;
  p.device = root.str_or("device", "");
  p.model = root.str_or("model", "");
  for (const auto& [name, v] : root.at("nodes").members()) p.ms.emplace(name, v.num("ms", NumRange::non_negative()));
  p.total_ms = root.num_or("total_ms", 0.0, NumRange::non_negative());
  if (root.has("inputs")) {
    p.inputs = parse_inputs(root.at("inputs").raw(), where);
    p.records_inputs = true;
  }
  p.machine = parse_machine(root);
  if (root.has("reference")) {
    const JsonField ref = root.at("reference");
    p.reference_model = ref.str_or("model", "");
    p.reference_scale_ms = ref.num("scale_ms", NumRange::positive());
  }
  const auto marked = [&] {
    if (!root.has("consistency")) return false;
    const nlohmann::json& c = root.at("consistency").raw();
    return c.is_object() && c.contains("consistent") && c["consistent"].is_boolean() && !c["consistent"].get<bool>();
  };
  if (marked()) {
    const JsonField c = root.at("consistency");
    p.inconsistent = true;
    p.consistency_node_sum_ms = c.num_or("node_sum_ms", 0.0, NumRange::non_negative());
    p.consistency_whole_ms = c.num_or("whole_ms", 0.0, NumRange::non_negative());
  }
  return p;
}

Profile load_profile(const std::string& path) { return parse_profile(read_input(path), path); }

Noise measure_noise(const std::vector<Summary>& timed_nodes, double node_sum_ms, const Summary& whole) {
  Noise n;
  std::vector<double> cvs;
  for (const auto& s : timed_nodes)
    if (s.median > 0) cvs.push_back(s.cv);
  const Summary c = summarize(cvs);
  n.median_cv = c.median;
  n.p90_cv = c.p90;
  n.node_sum_ms = node_sum_ms;
  n.whole_ms = whole.median;
  n.whole_cv = whole.cv;
  n.whole_p10 = whole.p10;
  n.whole_p90 = whole.p90;
  return n;
}

std::vector<std::string> noise_warnings(const Noise& n) {
  std::vector<std::string> w;
  if (n.whole_ms > 0 && std::abs(n.node_sum_ms / n.whole_ms - 1.0) > kSumVsWholeTolerance)
    w.push_back(fmt::format("the sum of node medians ({:.3f} ms) differs from the whole-model median ({:.3f} ms) by {:+.1f}% "
                            "(more than {:.0f}%): a noisy or shared machine, or time outside the nodes; measure again on a "
                            "quieter machine or with more --repeat",
                            n.node_sum_ms, n.whole_ms, n.sum_vs_whole_pct(), 100 * kSumVsWholeTolerance));
  if (n.median_cv > kNoisyMedianCv)
    w.push_back(fmt::format("the median per-node coefficient of variation is {:.1f}% (above {:.0f}%): the medians are "
                            "unstable; measure again on a quieter machine or with more --repeat",
                            100 * n.median_cv, 100 * kNoisyMedianCv));
  if (n.whole_spread() > kWholeSpreadTolerance)
    w.push_back(
        fmt::format("the slowest runs of the whole model took {:.2f}x the fastest (p90 {:.3f} ms, p10 {:.3f} ms; "
                    "above {:.2f}x): the machine changed speed during the measurement (a shared host); "
                    "measure again when {} passes",
                    n.whole_spread(), n.whole_p90, n.whole_p10, kWholeSpreadTolerance, quiet_check_command()));
  return w;
}

std::string noise_json(const Noise& n) {
  nlohmann::ordered_json j = {{"median_node_cv", n.median_cv},       {"p90_node_cv", n.p90_cv},
                              {"node_sum_ms", n.node_sum_ms},        {"whole_ms", n.whole_ms},
                              {"whole_cv", n.whole_cv},              {"sum_vs_whole_pct", n.sum_vs_whole_pct()},
                              {"noisy_median_cv", kNoisyMedianCv},   {"sum_vs_whole_tolerance_pct", 100 * kSumVsWholeTolerance},
                              {"whole_p90_over_p10", n.whole_spread()}, {"whole_spread_tolerance", kWholeSpreadTolerance}};
  return j.dump();
}

std::string profile_to_json(const ProfileDoc& doc) {
  nlohmann::ordered_json j;
  j["format"] = kProfileFormat;
  j["device"] = doc.device;
  j["model"] = doc.model;
  j["runtime"] = doc.runtime;
  j["predicted"] = doc.predicted;
  for (const auto& [key, value] : doc.about.items()) j[key] = value;
  j["nodes"] = doc.nodes;
  j["total_ms"] = doc.total_ms;
  for (const auto& [key, value] : doc.details.items()) j[key] = value;
  return j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace dapdee
