#include "dapdee/kernel_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>

#include "dapdee/error.hpp"
#include "dapdee/predict.hpp"

namespace dapdee {

namespace {

constexpr int kBaseFeatures = 5;  // [1, log FLOP, log in, log out, log weights]
constexpr int kTrees = 120, kDepth = 3, kMinLeaf = 4;
constexpr double kRate = 0.1;

double lg(double x) { return std::log(std::max(x, 0.0) + 1.0); }

double elements(const TensorInfo& t) {
  double e = 1;
  for (auto d : t.shape) e *= static_cast<double>(std::max<int64_t>(d, 1));
  return e;
}

// Solves (X^T X + ridge) w = X^T y for the power-law part.
std::vector<double> ridge(const std::vector<std::vector<double>>& x, const std::vector<double>& y) {
  const int n = kBaseFeatures;
  std::vector<std::vector<double>> a(n, std::vector<double>(n + 1, 0.0));
  for (size_t s = 0; s < x.size(); ++s)
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < n; ++j) a[i][j] += x[s][i] * x[s][j];
      a[i][n] += x[s][i] * y[s];
    }
  for (int i = 0; i < n; ++i) a[i][i] += 1e-3 * (1 + a[i][i]);
  for (int i = 0; i < n; ++i) {
    int piv = i;
    for (int r = i + 1; r < n; ++r)
      if (std::fabs(a[r][i]) > std::fabs(a[piv][i])) piv = r;
    std::swap(a[i], a[piv]);
    if (std::fabs(a[i][i]) < 1e-300) continue;
    for (int r = 0; r < n; ++r) {
      if (r == i) continue;
      const double k = a[r][i] / a[i][i];
      for (int j = i; j <= n; ++j) a[r][j] -= k * a[i][j];
    }
  }
  std::vector<double> w(n, 0.0);
  for (int i = 0; i < n; ++i) w[i] = std::fabs(a[i][i]) < 1e-300 ? 0 : a[i][n] / a[i][i];
  return w;
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

OpKernelModel fit_op(const std::vector<std::vector<double>>& x, const std::vector<double>& y) {
  OpKernelModel m;
  m.samples = static_cast<int>(x.size());
  m.learning_rate = kRate;
  if (x.empty()) {
    m.w.assign(kBaseFeatures, 0.0);
    return m;
  }
  m.w = ridge(x, y);
  std::vector<double> r(y.size());
  for (size_t s = 0; s < y.size(); ++s) r[s] = y[s] - m.predict_log_ms(x[s]);
  std::vector<int> all(x.size());
  std::iota(all.begin(), all.end(), 0);
  for (int k = 0; k < kTrees; ++k) {
    RegressionTree t;
    grow(t, x, r, all, kDepth);
    for (size_t s = 0; s < y.size(); ++s) r[s] -= kRate * t.eval(x[s]);
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

std::vector<double> kernel_features(const Dag& dag, int v) {
  const Node& n = dag.nodes[v];
  double in_bytes = 0, out_bytes = 0, out_el = 0;
  for (int u : n.input_ids) in_bytes += static_cast<double>(dag.nodes[u].out_bytes);
  for (const auto& t : n.outputs) {
    out_bytes += static_cast<double>(t.bytes);
    out_el += elements(t);
  }
  const double flop = 2.0 * static_cast<double>(n.macs) + static_cast<double>(n.ops);
  double reduction = 0, stride = 1, dw = 0, area = 0, cout = 0, hw = 0, cin = 0;
  const TensorInfo* in = !n.input_ids.empty() && !dag.nodes[n.input_ids[0]].outputs.empty() ? &dag.nodes[n.input_ids[0]].outputs[0] : nullptr;
  const TensorInfo* out = n.outputs.empty() ? nullptr : &n.outputs[0];
  if (out && out->shape.size() >= 2) cout = static_cast<double>(out->shape[1]);
  if (in && in->shape.size() >= 2) cin = static_cast<double>(in->shape[1]);
  if (out && out->shape.size() == 4) hw = static_cast<double>(out->shape[2] * out->shape[3]);
  if (in && out && in->shape.size() == 4 && out->shape.size() == 4 && out->shape[2] > 0)
    stride = static_cast<double>(in->shape[2]) / static_cast<double>(out->shape[2]);
  if (n.macs > 0 && out_el > 0) {
    reduction = static_cast<double>(n.macs) / out_el;  // k*k*Cin/groups per output
    dw = cin > 1 && reduction < cin && cin == cout ? 1 : 0;
    area = dw ? reduction : (cin > 0 ? reduction / cin : 0);
  }
  return {1.0,      lg(flop),   lg(in_bytes), lg(out_bytes), lg(static_cast<double>(n.params)), lg(reduction), std::log(std::max(stride, 1e-3)),
          dw,       lg(area),   lg(cout),     lg(hw),        lg(cin), static_cast<double>(n.input_ids.size()),
          std::log((in_bytes + out_bytes + static_cast<double>(n.params) + 1) / (flop + 1))};
}

double RegressionTree::eval(const std::vector<double>& x) const {
  int i = 0;
  while (i >= 0 && nodes[i].feature >= 0) i = x[nodes[i].feature] < nodes[i].threshold ? nodes[i].left : nodes[i].right;
  return i >= 0 ? nodes[i].value : 0;
}

double OpKernelModel::predict_log_ms(const std::vector<double>& x) const {
  double y = 0;
  for (size_t i = 0; i < w.size() && i < x.size(); ++i) y += w[i] * x[i];
  for (const auto& t : trees) y += learning_rate * t.eval(x);
  return y;
}

KernelModel fit_kernel_model(const std::vector<ProfiledDag>& data, int min_samples) {
  std::map<std::string, std::vector<std::vector<double>>> xs;
  std::map<std::string, std::vector<double>> ys;
  std::vector<std::vector<double>> mac_x, other_x;
  std::vector<double> mac_y, other_y;
  KernelModel m;
  for (const auto& pd : data) {
    m.trained_on.push_back(pd.profile.source);
    if (m.device.empty()) m.device = pd.profile.device;
    for (size_t v = 0; v < pd.dag.nodes.size(); ++v) {
      const Node& n = pd.dag.nodes[v];
      const auto it = pd.profile.ms.find(n.name);
      if (n.op == "Input" || it == pd.profile.ms.end() || !(it->second > 0)) continue;
      auto f = kernel_features(pd.dag, static_cast<int>(v));
      const double y = std::log(it->second);
      (n.macs > 0 ? mac_x : other_x).push_back(f);
      (n.macs > 0 ? mac_y : other_y).push_back(y);
      xs[n.op].push_back(std::move(f));
      ys[n.op].push_back(y);
    }
  }
  if (mac_x.empty() && other_x.empty()) throw Error("fit", "no timed node to fit on");
  std::vector<double> ratios;
  for (const auto& pd : data) {
    double sum = 0;
    for (const auto& [name, ms] : pd.profile.ms) sum += ms;
    if (sum > 0 && pd.profile.total_ms > 0) ratios.push_back(pd.profile.total_ms / sum);
  }
  if (!ratios.empty()) {
    std::sort(ratios.begin(), ratios.end());
    m.whole_factor = ratios[ratios.size() / 2];
  }
  for (auto& [op, x] : xs)
    if (static_cast<int>(x.size()) >= min_samples) m.per_op[op] = fit_op(x, ys[op]);
  m.fallback = fit_op(other_x.empty() ? mac_x : other_x, other_x.empty() ? mac_y : other_y);
  m.fallback_macs = mac_x.empty() ? m.fallback : fit_op(mac_x, mac_y);
  return m;
}

double predict_kernel_ms(const KernelModel& m, const Dag& dag, int v) {
  const Node& n = dag.nodes[v];
  if (n.op == "Input") return 0;
  const auto it = m.per_op.find(n.op);
  const OpKernelModel& op = it != m.per_op.end() ? it->second : n.macs > 0 ? m.fallback_macs : m.fallback;
  const double y = op.predict_log_ms(kernel_features(dag, v));
  return std::isfinite(y) ? std::exp(std::min(y, 30.0)) : 0.0;
}

namespace {

nlohmann::json op_to_json(const OpKernelModel& m) {
  nlohmann::json trees = nlohmann::json::array();
  for (const auto& t : m.trees) {
    nlohmann::json nodes = nlohmann::json::array();
    for (const auto& s : t.nodes) nodes.push_back({s.feature, s.threshold, s.value, s.left, s.right});
    trees.push_back(std::move(nodes));
  }
  return {{"samples", m.samples}, {"w", m.w}, {"learning_rate", m.learning_rate}, {"trees", std::move(trees)}};
}

OpKernelModel op_from_json(const nlohmann::json& j, const std::string& where) {
  OpKernelModel m;
  m.samples = j.at("samples").get<int>();
  m.w = j.at("w").get<std::vector<double>>();
  m.learning_rate = j.at("learning_rate").get<double>();
  if (m.w.size() != kBaseFeatures) throw Error(where, fmt::format("'w' must hold {} numbers", kBaseFeatures));
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
  j["target"] = "log(ms) = w . features[0:5] + learning_rate * sum(trees); tree nodes [feature, threshold, value, left, right]";
  j["trained_on"] = m.trained_on;
  j["whole_factor"] = m.whole_factor;
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
    for (auto it = j.at("per_op").begin(); it != j.at("per_op").end(); ++it) m.per_op[it.key()] = op_from_json(it.value(), where);
    m.fallback = op_from_json(j.at("fallback"), where);
    m.fallback_macs = op_from_json(j.at("fallback_macs"), where);
    return m;
  } catch (const nlohmann::json::exception& e) {
    throw Error(where, fmt::format("malformed kernel model: {}", e.what()));
  }
}

std::string predict_profile_with_kernel_model(const Dag& dag, const KernelModel& m, const std::string& model_path) {
  auto j = nlohmann::ordered_json::parse(
      predicted_profile_json(dag, m.device, "kernel-level prediction (dapdee-profile predict --model, dapdee-kernel-model/1)",
                             {{"kernel_model", model_path}, {"trained_on", m.trained_on}},
                             [&](int v) { return nlohmann::ordered_json{{"ms", predict_kernel_ms(m, dag, v)}}; }));
  j["whole_ms"] = j.value("total_ms", 0.0) * m.whole_factor;
  return j.dump(1) + "\n";
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
