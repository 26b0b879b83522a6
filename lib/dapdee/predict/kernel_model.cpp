#include "dapdee/predict/kernel_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>

#include "dapdee/model/profile_json.hpp"
#include "dapdee/predict/predict.hpp"
#include "dapdee/support/error.hpp"

namespace dapdee {

namespace {

constexpr int kLinear = 4;  // [1, MFLOP, input MB, output MB], latency_features()
constexpr int kTrees = 40, kDepth = 3, kMinLeaf = 8;
constexpr double kRate = 0.1, kMinBaseMs = 1e-6;

double lg(double x) { return std::log(std::max(x, 0.0) + 1.0); }

double elements(const TensorInfo& t) {
  double e = 1;
  for (auto d : t.shape) e *= static_cast<double>(std::max<int64_t>(d, 1));
  return e;
}

using Lin = std::array<double, kLinear>;

// Weighted least squares (weights 1/y^2: relative error) over the active columns; the others 0.
Lin weighted_fit(const std::vector<Lin>& x, const std::vector<double>& y, const std::array<bool, kLinear>& active) {
  double a[kLinear][kLinear + 1] = {};
  for (size_t s = 0; s < x.size(); ++s) {
    const double w = 1.0 / std::max(y[s] * y[s], 1e-12);
    for (int i = 0; i < kLinear; ++i) {
      for (int j = 0; j < kLinear; ++j) a[i][j] += w * x[s][i] * x[s][j];
      a[i][kLinear] += w * x[s][i] * y[s];
    }
  }
  for (int i = 0; i < kLinear; ++i) {
    a[i][i] += 1e-9 * (1 + a[i][i]);
    if (active[i]) continue;
    for (int j = 0; j < kLinear; ++j) a[i][j] = a[j][i] = 0;
    a[i][kLinear] = 0;
    a[i][i] = 1;
  }
  for (int i = 0; i < kLinear; ++i) {
    int piv = i;
    for (int r = i + 1; r < kLinear; ++r)
      if (std::fabs(a[r][i]) > std::fabs(a[piv][i])) piv = r;
    for (int j = 0; j <= kLinear; ++j) std::swap(a[i][j], a[piv][j]);
    if (std::fabs(a[i][i]) < 1e-300) continue;
    for (int r = 0; r < kLinear; ++r) {
      if (r == i) continue;
      const double k = a[r][i] / a[i][i];
      for (int j = i; j <= kLinear; ++j) a[r][j] -= k * a[i][j];
    }
  }
  Lin c{};
  for (int i = 0; i < kLinear; ++i) c[i] = active[i] && std::fabs(a[i][i]) >= 1e-300 ? a[i][kLinear] / a[i][i] : 0;
  return c;
}

// The linear law with coefficients >= 0: negative ones are dropped and the rest refitted.
Lin fit_linear(const std::vector<Lin>& x, const std::vector<double>& y) {
  std::array<bool, kLinear> active{};
  active.fill(true);
  Lin c{};
  for (int round = 0; round < kLinear; ++round) {
    c = weighted_fit(x, y, active);
    bool negative = false;
    for (int i = 0; i < kLinear; ++i)
      if (active[i] && c[i] < 0) active[i] = false, negative = true;
    if (!negative) break;
  }
  for (auto& v : c) v = std::isfinite(v) ? std::max(v, 0.0) : 0.0;
  if (std::all_of(c.begin(), c.end(), [](double v) { return v == 0; })) {  // nothing left: a constant
    double logs = 0;
    for (double v : y) logs += std::log(v);
    c[0] = std::exp(logs / static_cast<double>(y.size()));
  }
  return c;
}

double base_ms(const Lin& c, const Lin& x) {
  double ms = 0;
  for (int i = 0; i < kLinear; ++i) ms += c[i] * x[i];
  return std::max(ms, kMinBaseMs);
}

// Grows one regression tree on residuals r over the samples idx (least squares, exact splits).
int grow(RegressionTree& t, const std::vector<std::vector<double>>& x, const std::vector<double>& r, std::vector<int> idx,
         int depth) {
  const int me = static_cast<int>(t.nodes.size());
  t.nodes.emplace_back();
  double sum = 0;
  for (int i : idx) sum += r[i];
  t.nodes[me].value = idx.empty() ? 0 : sum / static_cast<double>(idx.size());
  if (depth == 0 || static_cast<int>(idx.size()) < 2 * kMinLeaf) return me;
  double best_gain = 1e-12, best_thr = 0;
  int best_f = -1;
  const size_t nf = x[idx[0]].size();
  for (size_t f = 1; f < nf; ++f) {
    std::sort(idx.begin(), idx.end(), [&](int a, int b) { return x[a][f] < x[b][f]; });
    double left = 0;
    for (size_t k = 0; k + 1 < idx.size(); ++k) {
      left += r[idx[k]];
      const size_t nl = k + 1, nr = idx.size() - nl;
      if (static_cast<int>(nl) < kMinLeaf || static_cast<int>(nr) < kMinLeaf || x[idx[k]][f] == x[idx[k + 1]][f]) continue;
      const double gain = left * left / static_cast<double>(nl) + (sum - left) * (sum - left) / static_cast<double>(nr) -
                          sum * sum / static_cast<double>(idx.size());
      if (gain > best_gain) {
        best_gain = gain;
        best_f = static_cast<int>(f);
        best_thr = 0.5 * (x[idx[k]][f] + x[idx[k + 1]][f]);
      }
    }
  }
  if (best_f < 0) return me;
  std::vector<int> l, rr;
  for (int i : idx) (x[i][best_f] < best_thr ? l : rr).push_back(i);
  t.nodes[me].feature = best_f;
  t.nodes[me].threshold = best_thr;
  const int li = grow(t, x, r, std::move(l), depth - 1);
  t.nodes[me].left = li;
  const int ri = grow(t, x, r, std::move(rr), depth - 1);
  t.nodes[me].right = ri;
  return me;
}

OpKernelModel fit_op(const std::vector<std::vector<double>>& x, const std::vector<Lin>& lin, const std::vector<double>& ms) {
  OpKernelModel m;
  m.samples = static_cast<int>(x.size());
  m.learning_rate = kRate;
  if (x.empty()) {
    m.c.assign(kLinear, 0.0);
    return m;
  }
  const Lin c = fit_linear(lin, ms);
  m.c.assign(c.begin(), c.end());
  std::vector<double> r(ms.size());  // log of measured / linear law
  for (size_t s = 0; s < ms.size(); ++s) r[s] = std::log(ms[s]) - std::log(base_ms(c, lin[s]));
  std::vector<int> all(x.size());
  std::iota(all.begin(), all.end(), 0);
  for (int k = 0; k < kTrees; ++k) {
    RegressionTree t;
    grow(t, x, r, all, kDepth);
    for (size_t s = 0; s < ms.size(); ++s) r[s] -= kRate * t.eval(x[s]);
    m.trees.push_back(std::move(t));
  }
  return m;
}

}  // namespace

const std::vector<std::string>& kernel_feature_names() {
  static const std::vector<std::string> names = {
      "1",          "log FLOP",         "log input bytes", "log output bytes", "log weight bytes", "log reduction length",
      "log stride", "depthwise",        "log kernel area", "log out channels", "log out spatial",  "log in channels",
      "inputs",     "log bytes/FLOP"};
  return names;
}

namespace {

// What the DAG tells of a node's kernel: sizes, and for nodes with MACs the reduction length
// (MACs per output element = k*k*Cin/groups), channels and stride.
struct KernelShape {
  double in_bytes = 0, out_bytes = 0, out_el = 0, flop = 0;
  double reduction = 0, stride = 1, cout = 0, hw = 0, cin = 0;
  bool depthwise = false, grouped = false;
};

KernelShape kernel_shape(const Dag& dag, int v) {
  const Node& n = dag.nodes[v];
  KernelShape k;
  for (int u : n.input_ids) k.in_bytes += static_cast<double>(dag.nodes[u].out_bytes);
  for (const auto& t : n.outputs) {
    k.out_bytes += static_cast<double>(t.bytes);
    k.out_el += elements(t);
  }
  k.flop = 2.0 * static_cast<double>(n.macs) + static_cast<double>(n.ops);
  const TensorInfo* in = !n.input_ids.empty() && !dag.nodes[n.input_ids[0]].outputs.empty() ? &dag.nodes[n.input_ids[0]].outputs[0] : nullptr;
  const TensorInfo* out = n.outputs.empty() ? nullptr : &n.outputs[0];
  if (out && out->shape.size() >= 2) k.cout = static_cast<double>(out->shape[1]);
  if (in && in->shape.size() >= 2) k.cin = static_cast<double>(in->shape[1]);
  if (out && out->shape.size() == 4) k.hw = static_cast<double>(out->shape[2] * out->shape[3]);
  if (in && out && in->shape.size() == 4 && out->shape.size() == 4 && out->shape[2] > 0)
    k.stride = static_cast<double>(in->shape[2]) / static_cast<double>(out->shape[2]);
  if (n.macs > 0 && k.out_el > 0) {
    k.reduction = static_cast<double>(n.macs) / k.out_el;
    // Depthwise: one k x k filter per channel (k = 3, 5, 7); a grouped conv of 4 channels a
    // group has a reduction of 36 and stays grouped. A dense conv's reduction is Cin x kernel area.
    const bool square = k.reduction == 9 || k.reduction == 25 || k.reduction == 49;
    k.depthwise = k.cin > 1 && k.cin == k.cout && square && k.reduction < k.cin;
    k.grouped = !k.depthwise && k.cin > 0 && std::fmod(k.reduction, k.cin) != 0;
  }
  return k;
}

}  // namespace

std::vector<double> kernel_features(const Dag& dag, int v) {
  const Node& n = dag.nodes[v];
  const KernelShape k = kernel_shape(dag, v);
  const double area = k.depthwise ? k.reduction : (k.cin > 0 ? k.reduction / k.cin : 0);
  const double w = static_cast<double>(n.params);
  return {1.0,         lg(k.flop),  lg(k.in_bytes), lg(k.out_bytes), lg(w),     lg(k.reduction), std::log(std::max(k.stride, 1e-3)),
          k.depthwise ? 1.0 : 0.0, lg(area), lg(k.cout), lg(k.hw), lg(k.cin), static_cast<double>(n.input_ids.size()),
          std::log((k.in_bytes + k.out_bytes + w + 1) / (k.flop + 1))};
}

std::string kernel_class(const Dag& dag, int v) {
  const Node& n = dag.nodes[v];
  if (n.op != "Conv") return n.op;
  const KernelShape k = kernel_shape(dag, v);
  if (k.depthwise) return "Conv/depthwise";
  if (k.grouped) return "Conv/grouped";
  if (k.cin > 0 && k.reduction == k.cin) return "Conv/1x1";
  if (k.cin > 0 && k.reduction == 9 * k.cin && k.stride == 1) return "Conv/3x3s1";
  return "Conv/kxk";
}

double RegressionTree::eval(const std::vector<double>& x) const {
  int i = 0;
  while (i >= 0 && nodes[i].feature >= 0) i = x[nodes[i].feature] < nodes[i].threshold ? nodes[i].left : nodes[i].right;
  return i >= 0 ? nodes[i].value : 0;
}

double OpKernelModel::predict_ms(const std::array<double, 4>& lin, const std::vector<double>& x) const {
  Lin c{};
  for (size_t i = 0; i < c.size() && i < this->c.size(); ++i) c[i] = this->c[i];
  double y = 0;
  for (const auto& t : trees) y += learning_rate * t.eval(x);
  const double ms = base_ms(c, lin) * std::exp(std::clamp(y, -30.0, 30.0));
  return std::isfinite(ms) ? ms : 0.0;
}

namespace {

// The training samples of one kernel class (or op, or fallback).
struct Samples {
  std::vector<std::vector<double>> x;
  std::vector<Lin> lin;
  std::vector<double> ms;
  void add(const std::vector<double>& f, const Lin& l, double y) {
    x.push_back(f);
    lin.push_back(l);
    ms.push_back(y);
  }
};

// The median over the training profiles of whole-model / sum of node medians (1 when unknown).
double whole_factor_of(const std::vector<ProfiledDag>& data) {
  std::vector<double> ratios;
  for (const auto& pd : data) {
    double sum = 0;
    for (const auto& [name, ms] : pd.profile.ms) sum += ms;
    if (sum > 0 && pd.profile.total_ms > 0) ratios.push_back(pd.profile.total_ms / sum);
  }
  if (ratios.empty()) return 1;
  std::sort(ratios.begin(), ratios.end());
  return ratios[ratios.size() / 2];
}

// A model name from a path: its file stem ("../tv/resnet18.onnx" -> "resnet18").
std::string stem_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  std::string s = slash == std::string::npos ? path : path.substr(slash + 1);
  const size_t dot = s.find('.');
  return dot == std::string::npos ? s : s.substr(0, dot);
}

// The training profiles' common units; throws when they mix units.
KernelUnits units_of(const std::vector<ProfiledDag>& data) {
  KernelUnits u;
  const Profile& first = data.front().profile;
  u.reference = first.reference_model.empty() ? "" : stem_of(first.reference_model);
  u.reference_ms = first.reference_scale_ms;
  for (const auto& pd : data) {
    const Profile& p = pd.profile;
    const std::string ref = p.reference_model.empty() ? "" : stem_of(p.reference_model);
    if (ref != u.reference || std::fabs(p.reference_scale_ms - u.reference_ms) > 1e-9 * u.reference_ms)
      throw Error("fit",
                  fmt::format("the training profiles mix units: {} is {}, {} is {} (measure them all with the same "
                              "--reference and --reference-ms, or all without)",
                              first.source, u.reference.empty() ? "in ms" : "relative to " + u.reference, p.source,
                              ref.empty() ? "in ms" : "relative to " + ref));
    if (!u.reference.empty() && p.model == u.reference && p.inputs.size() == 1) u.reference_input = p.inputs[0].second;
  }
  return u;
}

const OpKernelModel& model_for(const KernelModel& m, const Dag& dag, int v) {
  for (const std::string& key : {kernel_class(dag, v), dag.nodes[v].op})
    if (const auto it = m.per_op.find(key); it != m.per_op.end()) return it->second;
  return dag.nodes[v].macs > 0 ? m.fallback_macs : m.fallback;
}

}  // namespace

KernelModel fit_kernel_model(const std::vector<ProfiledDag>& data, int min_samples) {
  std::map<std::string, Samples> by_key;
  Samples macs, other;
  KernelModel m;
  for (const auto& pd : data) {
    m.trained_on.push_back(pd.profile.source);
    if (m.device.empty()) m.device = pd.profile.device;
    for (size_t v = 0; v < pd.dag.nodes.size(); ++v) {
      const Node& n = pd.dag.nodes[v];
      const auto it = pd.profile.ms.find(n.name);
      if (is_input(n) || it == pd.profile.ms.end() || !(it->second > 0)) continue;
      const auto f = kernel_features(pd.dag, static_cast<int>(v));
      const Lin l = latency_features(pd.dag, static_cast<int>(v));
      (n.macs > 0 ? macs : other).add(f, l, it->second);
      const std::string cls = kernel_class(pd.dag, static_cast<int>(v));
      by_key[cls].add(f, l, it->second);
      if (cls != n.op) by_key[n.op].add(f, l, it->second);
    }
  }
  if (macs.ms.empty() && other.ms.empty()) throw Error("fit", "no timed node to fit on");
  m.whole_factor = whole_factor_of(data);
  m.units = units_of(data);
  for (const auto& [key, s] : by_key)
    if (static_cast<int>(s.ms.size()) >= min_samples) m.per_op[key] = fit_op(s.x, s.lin, s.ms);
  const Samples& o = other.ms.empty() ? macs : other;
  m.fallback = fit_op(o.x, o.lin, o.ms);
  m.fallback_macs = macs.ms.empty() ? m.fallback : fit_op(macs.x, macs.lin, macs.ms);
  return m;
}

double predict_kernel_ms(const KernelModel& m, const Dag& dag, int v) {
  if (is_input(dag.nodes[v])) return 0;
  return model_for(m, dag, v).predict_ms(latency_features(dag, v), kernel_features(dag, v));
}

namespace {

nlohmann::json op_to_json(const OpKernelModel& m) {
  nlohmann::json trees = nlohmann::json::array();
  for (const auto& t : m.trees) {
    nlohmann::json nodes = nlohmann::json::array();
    for (const auto& s : t.nodes) nodes.push_back({s.feature, s.threshold, s.value, s.left, s.right});
    trees.push_back(std::move(nodes));
  }
  return {{"samples", m.samples}, {"c", m.c}, {"learning_rate", m.learning_rate}, {"trees", std::move(trees)}};
}

OpKernelModel op_from_json(const nlohmann::json& j, const std::string& where) {
  OpKernelModel m;
  m.samples = j.at("samples").get<int>();
  m.c = j.at("c").get<std::vector<double>>();
  m.learning_rate = j.at("learning_rate").get<double>();
  if (m.c.size() != kLinear || std::any_of(m.c.begin(), m.c.end(), [](double v) { return !(v >= 0 && v < 1e12); }))
    throw Error(where, fmt::format("'c' must hold {} finite numbers >= 0", kLinear));
  const int nf = static_cast<int>(kernel_feature_names().size());
  for (const auto& tj : j.at("trees")) {
    RegressionTree t;
    for (const auto& s : tj) {
      RegressionTree::Split x{s.at(0).get<int>(), s.at(1).get<double>(), s.at(2).get<double>(), s.at(3).get<int>(), s.at(4).get<int>()};
      t.nodes.push_back(x);
    }
    const int n = static_cast<int>(t.nodes.size());
    for (int i = 0; i < n; ++i) {
      const auto& s = t.nodes[i];
      // Children come after their parent: no cycles, no index out of range.
      if (s.feature >= nf || (s.feature >= 0 && (s.left <= i || s.right <= i || s.left >= n || s.right >= n)))
        throw Error(where, "malformed regression tree");
    }
    if (t.nodes.empty()) throw Error(where, "empty regression tree");
    m.trees.push_back(std::move(t));
  }
  return m;
}

}  // namespace

std::string kernel_model_to_json(const KernelModel& m) {
  nlohmann::ordered_json j;
  j["format"] = kKernelModelFormat;
  j["device"] = m.device;
  j["features"] = kernel_feature_names();
  j["target"] =
      "ms = max(c . [1, MFLOP, input MB, output MB], 1e-6) * exp(learning_rate * sum(trees(features))); per_op keyed by kernel "
      "class (Conv/depthwise, Conv/grouped, Conv/1x1, Conv/3x3s1, Conv/kxk) or op; tree nodes [feature, threshold, value, left, right]";
  j["trained_on"] = m.trained_on;
  j["whole_factor"] = m.whole_factor;
  if (m.units.reference.empty()) {
    j["units"] = "ms";
  } else {
    nlohmann::ordered_json units = {{"reference", m.units.reference}, {"reference_ms", m.units.reference_ms}};
    if (!m.units.reference_input.empty()) units["reference_input"] = m.units.reference_input;
    j["units"] = std::move(units);
  }
  nlohmann::ordered_json ops = nlohmann::ordered_json::object();
  for (const auto& [op, f] : m.per_op) ops[op] = op_to_json(f);
  j["per_op"] = std::move(ops);
  j["fallback"] = op_to_json(m.fallback);
  j["fallback_macs"] = op_to_json(m.fallback_macs);
  return j.dump() + "\n";
}

KernelModel parse_kernel_model(const std::string& text, const std::string& where) {
  try {
    const auto j = nlohmann::json::parse(text);
    if (!j.is_object() || j.value("format", "") != kKernelModelFormat) throw Error(where, fmt::format("not a {} file", kKernelModelFormat));
    KernelModel m;
    m.device = j.value("device", "");
    m.trained_on = j.value("trained_on", std::vector<std::string>{});
    m.whole_factor = j.value("whole_factor", 1.0);
    if (!(m.whole_factor > 0 && m.whole_factor < 10)) throw Error(where, "'whole_factor' must be in (0, 10)");
    if (j.contains("units") && j.at("units").is_object()) {
      const auto& u = j.at("units");
      m.units.reference = u.at("reference").get<std::string>();
      m.units.reference_ms = u.at("reference_ms").get<double>();
      m.units.reference_input = u.value("reference_input", std::vector<int64_t>{});
      if (m.units.reference.empty() || !(m.units.reference_ms > 0 && m.units.reference_ms < 1e9))
        throw Error(where, "'units' must name a reference and its reference_ms > 0");
    }
    for (auto it = j.at("per_op").begin(); it != j.at("per_op").end(); ++it) m.per_op[it.key()] = op_from_json(it.value(), where);
    m.fallback = op_from_json(j.at("fallback"), where);
    m.fallback_macs = op_from_json(j.at("fallback_macs"), where);
    return m;
  } catch (const nlohmann::json::exception& e) {
    throw Error(where, fmt::format("malformed kernel model: {}", e.what()));
  }
}

KernelCalibration calibrate_kernel_model(const KernelModel& m, const Profile& reference) {
  const std::string& where = reference.source;
  if (m.units.reference.empty())
    throw Error(where,
                "the kernel model's times are ms of its training machine (fitted on profiles measured without "
                "--reference): it cannot be calibrated to another device");
  if (reference.model != m.units.reference)
    throw Error(where,
                fmt::format("this is a profile of '{}'; the kernel model's units are {}'s time: profile {} on the "
                            "device (dapdee-profile {}.onnx) and calibrate with that",
                            reference.model, m.units.reference, m.units.reference, m.units.reference));
  if (reference.reference_scale_ms > 0)
    throw Error(where,
                "this profile is itself reference-normalised (--reference): calibrate with a profile in ms, measured "
                "without --reference");
  if (!m.units.reference_input.empty() && reference.inputs.size() == 1 &&
      reference.inputs[0].second != m.units.reference_input)
    throw Error(where,
                fmt::format("{} ran here at other input dims than the kernel model's reference", reference.model));
  if (!(reference.total_ms > 0)) throw Error(where, "the profile has no whole-model time (total_ms)");
  return {where, reference.device, reference.total_ms, reference.total_ms / m.units.reference_ms};
}

std::string predict_profile_with_kernel_model(const Dag& dag, const KernelModel& m, const std::string& model_path,
                                              const KernelCalibration* calibration) {
  const double scale = calibration ? calibration->scale : 1.0;
  nlohmann::ordered_json from = {{"kernel_model", model_path}, {"trained_on", m.trained_on}};
  if (calibration)
    from["calibration"] = {{"profile", calibration->profile},
                           {"reference", m.units.reference},
                           {"reference_total_ms", calibration->reference_total_ms},
                           {"reference_units", m.units.reference_ms},
                           {"scale", scale}};
  else if (!m.units.reference.empty())
    from["units"] = fmt::format("{} = {} (reference units, not ms: calibrate with --calibrate)", m.units.reference,
                                m.units.reference_ms);
  const std::string device = calibration ? calibration->device : m.device;
  ProfileDoc doc =
      predicted_profile(dag, device, "kernel-level prediction (dapdee-profile predict --model, dapdee-kernel-model/2)",
                        std::move(from), [&](int v) {
                          return nlohmann::ordered_json{{"ms", scale * predict_kernel_ms(m, dag, v)}};
                        });
  doc.details["whole_ms"] = doc.total_ms * m.whole_factor;
  return profile_to_json(doc);
}

ModelError evaluate_kernel_model(const KernelModel& m, const std::vector<ProfiledDag>& test) {
  return evaluate_per_node(
      test, [&](const Dag& dag, int v) { return predict_kernel_ms(m, dag, v); },
      [&](const Profile& prof, double pred, double meas) {
        // Against the measured whole model when the profile has one (scaled by whole_factor).
        const double truth = prof.total_ms > 0 ? prof.total_ms : meas;
        if (prof.total_ms > 0) pred *= m.whole_factor;
        return truth > 0 ? 100 * (pred / truth - 1) : 0.0;
      });
}

}  // namespace dapdee
