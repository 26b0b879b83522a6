#include "dapdee/predict/latency_model.hpp"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "dapdee/predict/predict.hpp"
#include "dapdee/support/error.hpp"
#include "dapdee/support/formats.hpp"
#include "dapdee/support/json_field.hpp"

namespace dapdee {

std::array<double, 4> latency_features(const Dag& dag, int v) {
  const Node& n = dag.nodes[v];
  double in_bytes = 0, out_bytes = 0;
  for (int u : n.input_ids) in_bytes += static_cast<double>(dag.nodes[u].out_bytes);
  for (const auto& t : n.outputs) out_bytes += static_cast<double>(t.bytes);
  return {1.0, (2.0 * static_cast<double>(n.macs) + static_cast<double>(n.ops)) / 1e6, in_bytes / 1e6, out_bytes / 1e6};
}

namespace {

std::array<double, 4> features(const Dag& dag, int v) { return latency_features(dag, v); }

// Solves (X^T X + ridge I) c = X^T y by Gaussian elimination, then clamps c >= 0 and refits the
// intercept so the mean is kept.
LatencyModel::Fit solve(const std::vector<std::array<double, 4>>& x, const std::vector<double>& y) {
  // Weighted by 1/y^2: minimises the relative error, which is what MAPE and the planner feel.
  LatencyModel::Fit f;
  f.samples = static_cast<int>(x.size());
  if (x.empty()) return f;
  double a[4][5] = {};
  for (size_t s = 0; s < x.size(); ++s) {
    const double w = 1.0 / std::max(y[s] * y[s], 1e-6);
    for (int i = 0; i < 4; ++i) {
      for (int j = 0; j < 4; ++j) a[i][j] += w * x[s][i] * x[s][j];
      a[i][4] += w * x[s][i] * y[s];
    }
  }
  for (int i = 0; i < 4; ++i) a[i][i] += 1e-9 * (1 + a[i][i]);
  for (int i = 0; i < 4; ++i) {
    int piv = i;
    for (int r = i + 1; r < 4; ++r)
      if (std::fabs(a[r][i]) > std::fabs(a[piv][i])) piv = r;
    for (int j = 0; j < 5; ++j) std::swap(a[i][j], a[piv][j]);
    if (std::fabs(a[i][i]) < 1e-300) continue;
    for (int r = 0; r < 4; ++r) {
      if (r == i) continue;
      const double k = a[r][i] / a[i][i];
      for (int j = i; j < 5; ++j) a[r][j] -= k * a[i][j];
    }
  }
  for (int i = 0; i < 4; ++i) f.c[i] = std::fabs(a[i][i]) < 1e-300 ? 0 : std::max(0.0, a[i][4] / a[i][i]);
  double resid = 0, wsum = 0;
  for (size_t s = 0; s < x.size(); ++s) {
    double p = 0;
    for (int i = 1; i < 4; ++i) p += f.c[i] * x[s][i];
    const double w = 1.0 / std::max(y[s] * y[s], 1e-6);
    resid += w * (y[s] - p);
    wsum += w;
  }
  f.c[0] = std::max(0.0, resid / wsum);
  return f;
}

}  // namespace

LatencyModel fit_latency_model(const std::vector<ProfiledDag>& data, int min_samples) {
  std::map<std::string, std::vector<std::array<double, 4>>> xs;
  std::map<std::string, std::vector<double>> ys;
  std::vector<std::array<double, 4>> all_x, mac_x;
  std::vector<double> all_y, mac_y;
  LatencyModel m;
  for (const auto& pd : data) {
    m.trained_on.push_back(pd.profile.source);
    if (m.device.empty()) m.device = pd.profile.device;
    for (size_t v = 0; v < pd.dag.nodes.size(); ++v) {
      const Node& n = pd.dag.nodes[v];
      const auto it = pd.profile.ms.find(n.name);
      if (is_input(n) || it == pd.profile.ms.end()) continue;
      const auto f = features(pd.dag, static_cast<int>(v));
      xs[n.op].push_back(f);
      ys[n.op].push_back(it->second);
      (n.macs > 0 ? mac_x : all_x).push_back(f);
      (n.macs > 0 ? mac_y : all_y).push_back(it->second);
    }
  }
  if (all_x.empty() && mac_x.empty()) throw Error("fit", "no profiled node to fit on");
  for (auto& [op, x] : xs)
    if (static_cast<int>(x.size()) >= min_samples) m.per_op[op] = solve(x, ys[op]);
  m.fallback = solve(all_x, all_y);
  m.fallback_macs = mac_x.empty() ? m.fallback : solve(mac_x, mac_y);
  return m;
}

double predict_node_ms(const LatencyModel& m, const Dag& dag, int v) {
  if (is_input(dag.nodes[v])) return 0;
  const auto it = m.per_op.find(dag.nodes[v].op);
  const LatencyModel::Fit& f =
      it != m.per_op.end() ? it->second : dag.nodes[v].macs > 0 ? m.fallback_macs : m.fallback;
  const auto x = features(dag, v);
  double ms = 0;
  for (int i = 0; i < 4; ++i) ms += f.c[i] * x[i];
  return std::max(ms, 0.0);
}

ModelError evaluate_per_node(const std::vector<ProfiledDag>& test, const std::function<double(const Dag&, int)>& predict,
                             const std::function<double(const Profile&, double, double)>& model_error) {
  ModelError e;
  std::map<std::string, std::pair<double, int>> acc;
  for (const auto& pd : test) {
    double pred_total = 0, meas_total = 0;
    for (size_t v = 0; v < pd.dag.nodes.size(); ++v) {
      const Node& n = pd.dag.nodes[v];
      const auto it = pd.profile.ms.find(n.name);
      if (is_input(n) || it == pd.profile.ms.end()) continue;
      const double p = predict(pd.dag, static_cast<int>(v));
      pred_total += p;
      meas_total += it->second;
      if (it->second > 0) {
        acc[n.op].first += std::fabs(p - it->second) / it->second;
        acc[n.op].second += 1;
      }
    }
    e.model_error.emplace_back(pd.dag.model, model_error(pd.profile, pred_total, meas_total));
  }
  for (auto& [op, v] : acc) e.op_mape[op] = {100 * v.first / v.second, v.second};
  return e;
}

ModelError evaluate_latency_model(const LatencyModel& m, const std::vector<ProfiledDag>& test) {
  return evaluate_per_node(
      test, [&](const Dag& dag, int v) { return predict_node_ms(m, dag, v); },
      [](const Profile&, double pred, double meas) { return meas > 0 ? 100 * (pred / meas - 1) : 0.0; });
}

std::string latency_model_to_json(const LatencyModel& m) {
  nlohmann::ordered_json j;
  j["format"] = kLatencyModelFormat;
  j["device"] = m.device;
  j["features"] = {"1", "MFLOP (2 x MACs + other ops)", "input MB", "output MB"};
  j["trained_on"] = m.trained_on;
  auto fit = [](const LatencyModel::Fit& f) {
    return nlohmann::ordered_json{{"coef", {f.c[0], f.c[1], f.c[2], f.c[3]}}, {"samples", f.samples}};
  };
  nlohmann::ordered_json ops = nlohmann::ordered_json::object();
  for (const auto& [op, f] : m.per_op) ops[op] = fit(f);
  j["per_op"] = std::move(ops);
  j["fallback"] = fit(m.fallback);
  j["fallback_macs"] = fit(m.fallback_macs);
  return j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

LatencyModel parse_latency_model(const std::string& text, const std::string& where) {
  nlohmann::json storage;
  const JsonField root = parse_json_root(text, where, storage);
  root.expect_format(kLatencyModelFormat);
  LatencyModel m;
  m.device = root.str_or("device", "");
  if (const auto t = root.find("trained_on")) m.trained_on = t->strings();
  // Coefficients are bounded so that a prediction stays finite for any DAG (sizes < 2^63).
  const NumRange coef{0.0, 1e12, false, false};
  auto fit = [&](const JsonField& x) {
    LatencyModel::Fit f;
    const auto c = x.at("coef").items();
    if (c.size() != 4) x.at("coef").fail(fmt::format("expected 4 numbers, got {}", c.size()));
    for (int i = 0; i < 4; ++i) f.c[i] = c[i].num(coef);
    f.samples = static_cast<int>(x.int64_or("samples", 0, 0, std::numeric_limits<int>::max()));
    return f;
  };
  for (const auto& [op, x] : root.at("per_op").members()) m.per_op[op] = fit(x);
  m.fallback = fit(root.at("fallback"));
  m.fallback_macs = root.has("fallback_macs") ? fit(root.at("fallback_macs")) : m.fallback;
  return m;
}

std::string predict_profile_with_model(const Dag& dag, const LatencyModel& m, const std::string& model_path) {
  return predicted_profile_json(dag, m.device, "per-op regression prediction (dapdee-profile predict --model)",
                                {{"latency_model", model_path}, {"trained_on", m.trained_on}},
                                [&](int v) { return nlohmann::ordered_json{{"ms", predict_node_ms(m, dag, v)}}; });
}

}  // namespace dapdee
