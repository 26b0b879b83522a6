#include "dapdee/profile.hpp"

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "dapdee/error.hpp"
#include "dapdee/io.hpp"

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
  const nlohmann::json j = parse_json(text, where);
  if (!j.is_object() || j.value("format", "") != kProfileFormat)
    throw Error(where, fmt::format("not a {} file", kProfileFormat));
  Profile p;
  p.source = where;
  p.device = j.value("device", "");
  p.model = j.value("model", "");
  if (!j.contains("nodes") || !j["nodes"].is_object()) throw Error(where, "missing object 'nodes'");
  for (auto it = j["nodes"].begin(); it != j["nodes"].end(); ++it) {
    const auto& v = it.value();
    if (!v.is_object() || !v.contains("ms") || !v["ms"].is_number())
      throw Error(where, fmt::format("nodes['{}']: missing number 'ms'", it.key()));
    const double ms = v["ms"].get<double>();
    check_time(ms, where, fmt::format("nodes['{}']", it.key()));
    p.ms.emplace(it.key(), ms);
  }
  if (j.contains("total_ms")) {
    if (!j["total_ms"].is_number()) throw Error(where, "'total_ms' must be a number");
    p.total_ms = j["total_ms"].get<double>();
    check_time(p.total_ms, where, "total_ms");
  }
  if (j.contains("inputs")) {
    p.inputs = parse_inputs(j["inputs"], where);
    p.records_inputs = true;
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
  return w;
}

std::string noise_json(const Noise& n) {
  nlohmann::ordered_json j = {{"median_node_cv", n.median_cv},       {"p90_node_cv", n.p90_cv},
                              {"node_sum_ms", n.node_sum_ms},        {"whole_ms", n.whole_ms},
                              {"whole_cv", n.whole_cv},              {"sum_vs_whole_pct", n.sum_vs_whole_pct()},
                              {"noisy_median_cv", kNoisyMedianCv},   {"sum_vs_whole_tolerance_pct", 100 * kSumVsWholeTolerance}};
  return j.dump();
}

Machine this_machine() {
  Machine m{"unknown", std::thread::hardware_concurrency()};
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      const auto p = line.find(':');
      m.cpu = p == std::string::npos ? line : line.substr(p + 2);
      break;
    }
  return m;
}

}  // namespace dapdee
