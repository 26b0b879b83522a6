// Random DAGs and the exhaustive oracle of docs/COST-MODEL.md, shared by planner tests and benchmarks.
#pragma once

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "dapdee/model/dag.hpp"
#include "dapdee/plan/planner.hpp"

namespace fixtures {

enum class Shape { Chain, Diamond, Inception, Residual, Dense, Random };
inline const char* shape_name(Shape s) {
  static const char* names[] = {"chain", "diamond", "inception", "residual", "dense", "random"};
  return names[static_cast<int>(s)];
}

inline double log_uniform(std::mt19937_64& rng, double lo, double hi) {
  std::uniform_real_distribution<double> u(std::log(lo), std::log(hi));
  return std::exp(u(rng));
}

// A random DAG of `n` nodes (node 0 is the Input) of a given shape, with 1..3 exits, each
// exit a group of 1..max_heads nodes (a detector's heads).
inline dapdee::Dag random_dag(std::mt19937_64& rng, Shape shape, int n, int max_heads = 1) {
  dapdee::Dag dag;
  dag.model = std::string("random_") + shape_name(shape);
  std::vector<std::vector<int>> in(n);
  std::uniform_int_distribution<int> coin(0, 1);
  int i = 1;
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  while (i < n) {
    switch (shape) {
      case Shape::Chain:
        in[i] = {i - 1};
        ++i;
        break;
      case Shape::Diamond:  // a -> (b, c) -> d
        if (i + 3 <= n - 1) {
          in[i + 1] = {i};
          in[i + 2] = {i};
          in[i + 3] = {i + 1, i + 2};
          in[i] = {i - 1};
          i += 4;
        } else {
          in[i] = {i - 1};
          ++i;
        }
        break;
      case Shape::Inception: {  // block input -> k branches of 1..2 nodes -> concat
        const int start = i - 1;
        std::vector<int> ends;
        const int k = pick(2, 4);
        for (int b = 0; b < k && i < n - 1; ++b) {
          const int len = pick(1, 2);
          int prev = start;
          for (int l = 0; l < len && i < n - 1; ++l) {
            in[i] = {prev};
            prev = i++;
          }
          ends.push_back(prev);
        }
        if (ends.empty()) ends.push_back(start);
        in[i] = ends;
        ++i;
        break;
      }
      case Shape::Residual:
        in[i] = {i - 1};
        if (i >= 3 && coin(rng)) in[i].push_back(i - pick(2, std::min(i, 4)));
        ++i;
        break;
      case Shape::Dense:  // each node reads its predecessor and some earlier ones
        in[i] = {i - 1};
        for (int j = std::max(0, i - 5); j < i - 1; ++j)
          if (coin(rng)) in[i].push_back(j);
        ++i;
        break;
      case Shape::Random: {
        in[i] = {pick(0, i - 1)};
        const int extra = pick(0, 2);
        for (int e = 0; e < extra; ++e) {
          const int j = pick(0, i - 1);
          if (std::find(in[i].begin(), in[i].end(), j) == in[i].end()) in[i].push_back(j);
        }
        ++i;
        break;
      }
    }
  }
  for (int v = 0; v < n; ++v) {
    dapdee::Node node;
    node.name = v == 0 ? "input" : "n" + std::to_string(v);
    node.op = v == 0 ? "Input" : "Op";
    for (int u : in[v]) node.inputs.push_back(u == 0 ? "input" : "n" + std::to_string(u));
    node.out_bytes = static_cast<int64_t>(log_uniform(rng, 1, 4e6));
    dag.nodes.push_back(std::move(node));
  }
  const int exits = pick(1, std::min(3, n - 1));
  std::vector<int> at;
  for (int e = 0; e < exits - 1; ++e) at.push_back(pick(1, n - 2 > 1 ? n - 2 : 1));
  std::sort(at.begin(), at.end());
  at.erase(std::unique(at.begin(), at.end()), at.end());
  at.push_back(n - 1);
  for (size_t e = 0; e < at.size(); ++e) {
    dapdee::Exit ex;
    ex.name = e + 1 == at.size() ? "final" : "exit" + std::to_string(e + 1);
    ex.node = dag.nodes[at[e]].name;
    ex.nodes = {ex.node};
    const int heads = max_heads > 1 ? pick(1, max_heads) : 1;
    for (int h = 1; h < heads && at[e] > 1; ++h) {
      const std::string extra = dag.nodes[pick(1, at[e])].name;
      if (std::find(ex.nodes.begin(), ex.nodes.end(), extra) == ex.nodes.end()) ex.nodes.push_back(extra);
    }
    for (const auto& nd : ex.nodes) ex.outputs.push_back(nd + ":out");
    dag.exits.push_back(ex);
  }
  if (auto problem = dapdee::finalize(dag)) throw std::runtime_error(*problem);
  return dag;
}

inline dapdee::Costs random_costs(std::mt19937_64& rng, const dapdee::Dag& dag) {
  dapdee::Costs c;
  for (const auto& n : dag.nodes) {
    const bool input = n.op == "Input";
    c.t_device.push_back(input ? 0.0 : log_uniform(rng, 1e-3, 1e3));
    c.t_edge.push_back(input ? 0.0 : log_uniform(rng, 1e-3, 1e3));
    c.bytes.push_back(static_cast<double>(n.out_bytes));
  }
  return c;
}

// The best light (latency) and heavy (T_max) values over every valid partition of G_k, and the
// heavy optimum under a deadline (ties to the lower latency).
struct OracleResult {
  double best_latency = INFINITY;
  double best_tmax = INFINITY;
  double best_tmax_deadline = INFINITY;     // min T_max among partitions with latency <= deadline
  double latency_at_best_deadline = INFINITY;
  long partitions = 0;
};

inline OracleResult oracle(const dapdee::Dag& dag, const dapdee::Costs& c, int exit, double bw, double delay,
                           double deadline = INFINITY) {
  const auto in_gk = dapdee::exit_subgraph(dag, exit);
  std::vector<int> ids;
  for (size_t v = 0; v < dag.nodes.size(); ++v)
    if (in_gk[v]) ids.push_back(static_cast<int>(v));
  const int m = static_cast<int>(ids.size());
  std::vector<int> pos(dag.nodes.size(), -1);
  for (int k = 0; k < m; ++k) pos[ids[k]] = k;
  std::vector<uint32_t> pred(m, 0);
  std::vector<uint32_t> succ(m, 0);
  uint32_t inputs = 0;
  for (int k = 0; k < m; ++k) {
    for (int u : dag.nodes[ids[k]].input_ids) {
      pred[k] |= 1u << pos[u];
      succ[pos[u]] |= 1u << k;
    }
    if (dag.nodes[ids[k]].op == "Input") inputs |= 1u << k;
  }
  OracleResult r;
  const uint32_t all = m == 32 ? ~0u : ((1u << m) - 1);
  for (uint32_t s = 0; s <= all; ++s) {
    if ((s & inputs) != inputs) continue;
    bool closed = true;
    for (int k = 0; k < m && closed; ++k)
      if ((s >> k & 1) && (pred[k] & ~s)) closed = false;
    if (!closed) continue;
    ++r.partitions;
    double td = 0, te = 0, tt = 0;
    bool sends = false;
    for (int k = 0; k < m; ++k) {
      const int v = ids[k];
      if (s >> k & 1) {
        td += c.t_device[v];
        if (succ[k] & ~s & all) {
          tt += c.bytes[v] * 8.0 / (bw * 1e6) * 1000.0;
          sends = true;
        }
      } else {
        te += c.t_edge[v];
      }
    }
    const double lat = td + tt + te + (sends ? delay : 0.0), mx = std::max({td, tt, te});
    r.best_latency = std::min(r.best_latency, lat);
    r.best_tmax = std::min(r.best_tmax, mx);
    if (lat <= deadline && (mx < r.best_tmax_deadline || (mx == r.best_tmax_deadline && lat < r.latency_at_best_deadline))) {
      r.best_tmax_deadline = mx;
      r.latency_at_best_deadline = lat;
    }
    if (s == all) break;
  }
  return r;
}

// Every valid partition of G_k, walked over the whole G_k (independent of the planner's blocks);
// returns false when more than `cap` were found.
inline bool enumerate_all(const dapdee::Dag& dag, const dapdee::Costs& c, int exit, double bw, double delay, long cap,
                          const std::function<void(double, double, double, bool)>& visit, long& count) {
  const auto in_gk = dapdee::exit_subgraph(dag, exit);
  std::vector<int> ids;
  for (size_t v = 0; v < dag.nodes.size(); ++v)
    if (in_gk[v]) ids.push_back(static_cast<int>(v));
  std::vector<char> on(dag.nodes.size(), 0);
  count = 0;
  std::function<bool(size_t)> walk = [&](size_t i) -> bool {
    if (i == ids.size()) {
      if (++count > cap) return false;
      const dapdee::Times t = dapdee::evaluate_partition(dag, c, in_gk, on, bw);
      visit(t.t_d, t.t_t, t.t_e, t.sends);
      (void)delay;
      return true;
    }
    const int v = ids[i];
    bool preds = true;
    for (int u : dag.nodes[v].input_ids) preds = preds && on[u];
    if (preds) {
      on[v] = 1;
      if (!walk(i + 1)) return false;
    }
    on[v] = 0;
    if (dapdee::is_input(dag.nodes[v])) return true;
    return walk(i + 1);
  };
  return walk(0);
}

}  // namespace fixtures
