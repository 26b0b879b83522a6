#include "dapdee/plan/planner.hpp"

#include <fmt/format.h>
#include <lemon/preflow.h>
#include <lemon/smart_graph.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <limits>
#include <mutex>

#include "dapdee/plan/downsets.hpp"
#include "dapdee/support/error.hpp"

namespace dapdee {

std::optional<Mode> parse_mode(const std::string& s) {
  if (s == "light") return Mode::Light;
  if (s == "heavy") return Mode::Heavy;
  if (s == "auto") return Mode::Auto;
  return std::nullopt;
}
std::optional<Method> parse_method(const std::string& s) {
  if (s == "dapdee") return Method::Dapdee;
  if (s == "dads") return Method::Dads;
  if (s == "neurosurgeon") return Method::Neurosurgeon;
  if (s == "edgent") return Method::Edgent;
  if (s == "device-only") return Method::DeviceOnly;
  if (s == "edge-only") return Method::EdgeOnly;
  return std::nullopt;
}
const char* mode_name(Mode m) {
  switch (m) {
    case Mode::Light: return "light";
    case Mode::Heavy: return "heavy";
    case Mode::Auto: return "auto";
    case Mode::Stream: return "stream";
  }
  return "?";
}
const char* method_name(Method m) {
  switch (m) {
    case Method::Dapdee: return "dapdee";
    case Method::Dads: return "dads";
    case Method::Neurosurgeon: return "neurosurgeon";
    case Method::Edgent: return "edgent";
    case Method::DeviceOnly: return "device-only";
    case Method::EdgeOnly: return "edge-only";
  }
  return "?";
}

std::vector<std::string> mode_names() {
  std::vector<std::string> v;
  for (Mode m : {Mode::Light, Mode::Heavy, Mode::Auto}) v.emplace_back(mode_name(m));
  return v;
}
std::vector<std::string> method_names() {
  std::vector<std::string> v;
  for (Method m : {Method::Dapdee, Method::Dads, Method::Neurosurgeon, Method::Edgent, Method::DeviceOnly, Method::EdgeOnly})
    v.emplace_back(method_name(m));
  return v;
}

CostBuild costs_from_profiles(const Dag& dag, const Profile& device, const Profile& edge) {
  CostBuild cb;
  const size_t n = dag.nodes.size();
  cb.costs.t_device.assign(n, 0);
  cb.costs.t_edge.assign(n, 0);
  cb.costs.bytes.assign(n, 0);
  for (const Profile* p : {&device, &edge}) {
    std::vector<std::string> unknown;
    for (const auto& [name, ms] : p->ms)
      if (dag.find(name) < 0) unknown.push_back(name);
    if (!unknown.empty()) {
      std::sort(unknown.begin(), unknown.end());
      throw Error(p->source, fmt::format("profile names {} node(s) the DAG of '{}' lacks (e.g. '{}'): is it for "
                                         "another model{}?",
                                         unknown.size(), dag.model, unknown.front(),
                                         p->model.empty() ? "" : " ('" + p->model + "')"));
    }
  }
  for (size_t v = 0; v < n; ++v) {
    const Node& node = dag.nodes[v];
    cb.costs.bytes[v] = static_cast<double>(node.out_bytes);
    if (is_input(node)) continue;  // the graph input costs nothing to produce
    if (auto it = device.ms.find(node.name); it != device.ms.end()) cb.costs.t_device[v] = it->second;
    else cb.missing_device.push_back(node.name);
    if (auto it = edge.ms.find(node.name); it != edge.ms.end()) cb.costs.t_edge[v] = it->second;
    else cb.missing_edge.push_back(node.name);
  }
  return cb;
}

const char* heavy_search_name(HeavySearch h) {
  switch (h) {
    case HeavySearch::None: return "none";
    case HeavySearch::Exact: return "exact";
    case HeavySearch::Heuristic: return "heuristic";
  }
  return "?";
}

const char* candidacy_name(Candidacy c) {
  switch (c) {
    case Candidacy::Enumeration: return "enumeration";
    case Candidacy::Light: return "light";
    case Candidacy::DeviceOnly: return "device-only";
    case Candidacy::WeightedCut: return "weighted-cut";
    case Candidacy::TopologicalPrefix: return "topological-prefix";
    case Candidacy::Cut: return "cut";
  }
  return "?";
}

Times evaluate_partition(const Dag& dag, const Costs& costs, const std::vector<char>& in_gk,
                         const std::vector<char>& on_device, double bw) {
  Times t;
  const size_t n = dag.nodes.size();
  std::vector<char> sent(n, 0);
  for (size_t v = 0; v < n; ++v) {
    if (!in_gk[v]) continue;
    if (on_device[v]) {
      t.t_d += costs.t_device[v];
      continue;
    }
    t.t_e += costs.t_edge[v];
    for (int u : dag.nodes[v].input_ids)
      if (on_device[u]) sent[u] = 1;
  }
  for (size_t u = 0; u < n; ++u)
    if (sent[u]) {
      t.t_t += send_ms(costs.bytes[u], bw);
      t.sends = true;
    }
  return t;
}

std::vector<char> exit_subgraph(const Dag& dag, int exit) {
  const Exit& e = dag.exits.at(static_cast<size_t>(exit));
  return ancestors_of(dag, e.node_ids.empty() ? std::vector<int>{e.node_id} : e.node_ids);
}

// The per-exit structure (docs/PLANNER.md, "Blocks"): G_k cut into the blocks between
// consecutive dominators x_1..x_m of a virtual sink that reads every exit node. Block j holds
// x_j (pinned; none for j = 0) and the nodes whose deepest dominator is x_j; its sink is
// x_{j+1}, or the virtual sink for the last block. A valid partition puts x_1..x_j on the device
// and x_{j+1}..x_m on the edge for one j, so its cut lies inside block j.
struct Planner::ExitGraph {
  std::vector<char> in_gk;
  std::vector<int> nodes;        // ids of G_k, ascending
  std::vector<int> last_succ;    // per id: position (in nodes) of its last successor in G_k, or -1
  std::vector<int> chain;        // dominators x_1..x_m of the virtual sink, topological order
  std::vector<std::unique_ptr<CutBlock>> blocks;  // block j = 0..m
  std::vector<double> prefix_td;  // per block: device time of the blocks before it
  std::vector<double> suffix_te;  // per block: edge time of the blocks after it
  std::vector<int> exit_pos;      // positions of the exit's nodes in the last block
  int first_block = 0;            // blocks before this one would leave an input on the edge
  double total_td = 0;
  // Exact heavy search, built on first use.
  mutable std::once_flag once;
  mutable CandidateSet cands;
  mutable std::vector<char> block_exact;  // per block: enumerated within the limit
  mutable Planner::HeavyStats stats;
};

namespace {

// Immediate dominators in G_k from a virtual root above every Input (-1), and the chain of
// dominators of a virtual sink reading `targets`, in topological order.
std::vector<int> dominator_chain(const Dag& dag, const std::vector<int>& nodes, const std::vector<char>& in_gk,
                                 const std::vector<int>& targets) {
  const int root = -1, unset = -2;
  std::vector<int> idom(dag.nodes.size(), unset), depth(dag.nodes.size(), 0);
  auto lca = [&](int a, int b) {
    while (a != b) {
      if (a == root || b == root) return root;
      if (depth[a] >= depth[b]) a = idom[a];
      else b = idom[b];
    }
    return a;
  };
  for (int v : nodes) {
    int d = unset;
    for (int u : dag.nodes[v].input_ids) {
      if (!in_gk[u]) continue;
      d = d == unset ? u : lca(d, u);
    }
    if (is_input(dag.nodes[v]) || d == unset) d = root;
    idom[v] = d;
    depth[v] = d == root ? 1 : depth[d] + 1;
  }
  int top = unset;
  for (int t : targets) top = top == unset ? t : lca(top, t);
  std::vector<int> chain;
  for (int x = top; x >= 0; x = idom[x]) chain.push_back(x);
  std::reverse(chain.begin(), chain.end());
  return chain;
}

// Assigns every node of G_k to its block: the deepest chain node among its ancestors (itself
// included), 0 when none.
std::vector<int> block_of(const Dag& dag, const std::vector<int>& nodes, const std::vector<char>& in_gk,
                          const std::vector<int>& chain) {
  std::vector<int> blk(dag.nodes.size(), 0), chain_index(dag.nodes.size(), 0);
  for (size_t j = 0; j < chain.size(); ++j) chain_index[chain[j]] = static_cast<int>(j) + 1;
  for (int v : nodes) {
    int b = 0;
    for (int u : dag.nodes[v].input_ids)
      if (in_gk[u]) b = std::max(b, blk[u]);
    blk[v] = chain_index[v] ? chain_index[v] : b;
  }
  return blk;
}

}  // namespace

Planner::Planner(const Dag& dag, Costs costs, PlannerOptions options)
    : dag_(dag), costs_(std::move(costs)), options_(options) {
  const size_t n = dag.nodes.size();
  if (costs_.t_device.size() != n || costs_.t_edge.size() != n || costs_.bytes.size() != n)
    throw Error("planner: costs do not match the DAG");
  std::vector<std::vector<int>> succ(n);
  for (size_t v = 0; v < n; ++v)
    for (int u : dag.nodes[v].input_ids) succ[u].push_back(static_cast<int>(v));
  for (size_t k = 0; k < dag.exits.size(); ++k) {
    auto eg = std::make_unique<ExitGraph>();
    const Exit& ex = dag.exits[k];
    const std::vector<int> targets = ex.node_ids.empty() ? std::vector<int>{ex.node_id} : ex.node_ids;
    eg->in_gk = ancestors_of(dag, targets);
    std::vector<int> pos(n, -1);
    for (size_t v = 0; v < n; ++v)
      if (eg->in_gk[v]) {
        pos[v] = static_cast<int>(eg->nodes.size());
        eg->nodes.push_back(static_cast<int>(v));
      }
    eg->last_succ.assign(n, -1);
    for (int v : eg->nodes)
      for (int w : succ[v])
        if (eg->in_gk[w]) eg->last_succ[v] = std::max(eg->last_succ[v], pos[w]);
    eg->chain = dominator_chain(dag, eg->nodes, eg->in_gk, targets);
    const int m = static_cast<int>(eg->chain.size());
    const std::vector<int> blk = block_of(dag, eg->nodes, eg->in_gk, eg->chain);
    std::vector<std::vector<int>> members(m + 1);
    std::vector<int> bpos(n, -1);
    for (int v : eg->nodes) {
      bpos[v] = static_cast<int>(members[blk[v]].size());
      members[blk[v]].push_back(v);
      if (is_input(dag.nodes[v])) eg->first_block = std::max(eg->first_block, blk[v]);
      eg->total_td += costs_.t_device[v];
    }
    for (int j = 0; j <= m; ++j) {
      const int next = j < m ? eg->chain[j] : -1;  // x_{j+1}, or the virtual sink
      std::vector<char> pinned;
      std::vector<std::vector<int>> bsucc(members[j].size());
      for (size_t p = 0; p < members[j].size(); ++p) {
        const int v = members[j][p];
        pinned.push_back(is_input(dag.nodes[v]) || (j >= 1 && v == eg->chain[j - 1]));
        for (int w : succ[v]) {
          if (!eg->in_gk[w]) continue;
          if (w == next) bsucc[p].push_back(-1);
          else if (blk[w] == j) bsucc[p].push_back(bpos[w]);
          else throw Error("planner invariant: an edge skips a dominator");
        }
        if (j == m && std::find(targets.begin(), targets.end(), v) != targets.end()) {
          bsucc[p].push_back(-1);  // read by the virtual sink
          eg->exit_pos.push_back(static_cast<int>(p));
        }
      }
      eg->blocks.push_back(std::make_unique<CutBlock>(members[j], std::move(pinned), std::move(bsucc),
                                                      j < m ? CutBlock::Sink::Real : CutBlock::Sink::Virtual));
    }
    eg->prefix_td.assign(m + 1, 0);
    eg->suffix_te.assign(m + 1, 0);
    for (int j = 1; j <= m; ++j) {
      eg->prefix_td[j] = eg->prefix_td[j - 1];
      for (int v : members[j - 1]) eg->prefix_td[j] += costs_.t_device[v];
    }
    for (int j = m - 1; j >= 0; --j) {
      eg->suffix_te[j] = eg->suffix_te[j + 1];
      for (int v : members[j + 1]) eg->suffix_te[j] += costs_.t_edge[v];
    }
    graphs_.push_back(std::move(eg));
  }
}

Planner::~Planner() = default;

std::vector<char> Planner::min_cut(int exit, double bw, const CutWeights& w, Pin pin) const {
  // The best block over per-block cuts is the global minimum cut (see ExitGraph).
  const ExitGraph& eg = *graphs_[exit];
  const int m = static_cast<int>(eg.blocks.size()) - 1;
  int best_j = -1;
  double best = INFINITY;
  std::vector<char> best_pos;
  auto consider = [&](int j, BlockCut&& cut) {
    if (cut.on_device.empty()) return;
    const double cost = eg.prefix_td[j] * w.device + cut.cost + eg.suffix_te[j] * w.edge;
    if (cost < best) {
      best = cost;
      best_j = j;
      best_pos = std::move(cut.on_device);
    }
  };
  for (int j = eg.first_block; j < m; ++j) consider(j, eg.blocks[j]->solve(costs_, bw, w));
  if (pin == Pin::None) {
    consider(m, eg.blocks[m]->solve(costs_, bw, w));
  } else {
    // Something is sent exactly when one of the exit's nodes runs on the edge.
    for (int p : eg.exit_pos) consider(m, eg.blocks[m]->solve(costs_, bw, w, p));
  }
  std::vector<char> on_device(dag_.nodes.size(), 0);
  if (best_j < 0) return {};
  for (int j = 0; j <= m; ++j) {
    const CutBlock& b = *eg.blocks[j];
    for (size_t p = 0; p < b.nodes().size(); ++p)
      on_device[b.nodes()[p]] = j < best_j ? 1 : j == best_j ? best_pos[p] : 0;
  }
  // Invariants, checked in release builds too: inputs on the device, V_d closed under predecessors.
  for (int v : eg.nodes) {
    if (is_input(dag_.nodes[v]) && !on_device[v]) throw Error("planner invariant: an input left the device");
    if (on_device[v])
      for (int u : dag_.nodes[v].input_ids)
        if (!on_device[u]) throw Error("planner invariant: V_d is not closed under predecessors");
  }
  return on_device;
}

std::vector<char> Planner::light_cut(int exit, double bw) const {
  if (exit < 0 || exit >= static_cast<int>(graphs_.size())) throw Error("planner: no such exit");
  return min_cut(exit, bw, CutWeights{}, Pin::SendSomething);
}

Plan Planner::finish(int exit, Method method, Mode mode, const std::vector<char>& on_device, const Link& link) const {
  // One pass over G_k (the same sums, in the same order, as evaluate_partition).
  const ExitGraph& eg = *graphs_[exit];
  Plan p;
  p.method = method;
  p.mode = mode;
  p.exit = exit;
  thread_local std::vector<char> sent;
  sent.assign(dag_.nodes.size(), 0);
  for (int v : eg.nodes) {
    if (on_device[v]) {
      p.v_d.push_back(v);
      p.t_d += costs_.t_device[v];
    } else {
      p.v_e.push_back(v);
      p.t_e += costs_.t_edge[v];
      for (int u : dag_.nodes[v].input_ids) sent[u] = on_device[u];
    }
  }
  for (int v : eg.nodes)
    if (sent[v]) {
      p.v_s.push_back(v);
      p.sent_bytes += costs_.bytes[v];
      p.t_t += send_ms(costs_.bytes[v], link.bandwidth_mbps);
    }
  p.latency_ms = p.t_d + p.t_t + p.t_e + (p.v_s.empty() ? 0.0 : link.delay_ms);
  p.t_max = std::max({p.t_d, p.t_t, p.t_e});
  if (p.v_e.empty()) p.candidate = Candidacy::DeviceOnly;
  return p;
}

namespace {
bool better_light(const Plan& a, const Plan& b) { return a.latency_ms < b.latency_ms; }
bool better_heavy(const Plan& a, const Plan& b) {
  if (a.t_max != b.t_max) return a.t_max < b.t_max;
  return a.latency_ms < b.latency_ms;
}
}  // namespace

Plan Planner::light_mincut(int exit, const Link& link) const {
  const ExitGraph& eg = *graphs_[exit];
  Plan best = finish(exit, Method::Dapdee, Mode::Light, eg.in_gk, link);  // device only
  const auto cut = min_cut(exit, link.bandwidth_mbps, CutWeights{}, Pin::SendSomething);
  if (!cut.empty()) {
    Plan p = finish(exit, Method::Dapdee, Mode::Light, cut, link);
    if (better_light(p, best)) best = std::move(p);
  }
  best.candidate = best.v_e.empty() ? Candidacy::DeviceOnly : Candidacy::Light;
  return best;
}

const Planner::ExitGraph& Planner::enumerated(int exit) const {
  const ExitGraph& eg = *graphs_[exit];
  std::call_once(eg.once, [&] {
    const int m = static_cast<int>(eg.blocks.size()) - 1;
    CandidateSet& set = eg.cands;
    long order = 0;
    // Device-only first: it sends nothing.
    set.items.push_back(Candidate{eg.total_td, 0, 0, false, -1, order++, 0});
    eg.block_exact.assign(m + 1, 1);
    for (int j = eg.first_block; j <= m; ++j) {
      const CutBlock& b = *eg.blocks[j];
      CandidateSet block_set;
      const size_t np = b.nodes().size();
      const bool ok = for_each_downset(b, options_.heavy_exact_limit, [&](const std::vector<char>& in) {
        const bool all = std::all_of(in.begin(), in.end(), [](char c) { return c != 0; });
        if (j == m && all) return;  // device-only, already a candidate
        Candidate c;
        c.t_d = eg.prefix_td[j];
        c.t_e = eg.suffix_te[j];
        for (size_t p = 0; p < np; ++p) (in[p] ? c.t_d += costs_.t_device[b.nodes()[p]] : c.t_e += costs_.t_edge[b.nodes()[p]]);
        c.bytes = b.sent_bytes(costs_, in);
        c.sends = true;
        c.block = j;
        c.order = order++;
        c.bits = block_set.pool.size();
        block_set.pool.insert(block_set.pool.end(), in.begin(), in.end());
        block_set.items.push_back(c);
      });
      eg.stats.enumerated += static_cast<long>(block_set.items.size());
      eg.stats.largest_block = std::max<long>(eg.stats.largest_block, static_cast<long>(block_set.items.size()));
      if (!ok) {
        eg.block_exact[j] = 0;
        eg.stats.exact = false;
        continue;
      }
      pareto_filter(block_set);
      for (Candidate c : block_set.items) {
        const size_t from = c.bits;
        c.bits = set.pool.size();
        set.pool.insert(set.pool.end(), block_set.pool.begin() + static_cast<long>(from),
                        block_set.pool.begin() + static_cast<long>(from + np));
        set.items.push_back(c);
      }
    }
    eg.stats.enumerated += 1;  // device-only
    set.enumerated = eg.stats.enumerated;
    pareto_filter(set);
    eg.stats.kept = static_cast<long>(set.items.size());
    static std::atomic<uint64_t> serials{0};
    set.serial = ++serials;  // after the filter: the items will not move again
  });
  return eg;
}

Planner::HeavyStats Planner::heavy_stats(int exit) const { return enumerated(exit).stats; }

Plan Planner::heavy_exact(int exit, const Link& link, std::optional<double> deadline) const {
  // Every partition of every block (Pareto-reduced) is scanned: the constrained optimum.
  const ExitGraph& eg = enumerated(exit);
  const Candidate* best = nullptr;
  const Candidate* fastest = nullptr;  // the light optimum, when every block was enumerated
  double best_max = INFINITY, best_lat = INFINITY, fastest_lat = INFINITY;
  for (const Candidate& c : eg.cands.items) {
    if (c.block >= 0 && !eg.block_exact[c.block]) continue;
    const double tt = c.sends ? send_ms(c.bytes, link.bandwidth_mbps) : 0.0;
    const double lat = c.t_d + tt + c.t_e + (c.sends ? link.delay_ms : 0.0);
    if (lat < fastest_lat) {
      fastest = &c;
      fastest_lat = lat;
    }
    if (deadline && lat > *deadline) continue;
    const double mx = std::max({c.t_d, tt, c.t_e});
    if (mx < best_max || (mx == best_max && lat < best_lat)) {
      best = &c;
      best_max = mx;
      best_lat = lat;
    }
  }
  if (!best && !eg.stats.exact) {
    Plan p = light_mincut(exit, link);  // nothing meets the deadline: the fastest plan
    p.mode = Mode::Heavy;
    return p;
  }
  const bool missed = !best;
  if (missed) best = fastest;  // nothing meets the deadline: the fastest plan
  Plan p = finish(exit, Method::Dapdee, Mode::Heavy, candidate_marks(eg, *best), link);
  p.candidate = best->block < 0 ? Candidacy::DeviceOnly : missed ? Candidacy::Light : Candidacy::Enumeration;
  return p;
}

std::vector<char> Planner::candidate_marks(const ExitGraph& eg, const Candidate& c) const {
  if (c.block < 0) return eg.in_gk;
  std::vector<char> on_device(dag_.nodes.size(), 0);
  for (size_t j = 0; j < eg.blocks.size(); ++j) {
    const CutBlock& b = *eg.blocks[j];
    const int bj = static_cast<int>(j);
    for (size_t p = 0; p < b.nodes().size(); ++p)
      on_device[b.nodes()[p]] = bj < c.block ? 1 : bj == c.block ? eg.cands.pool[c.bits + p] : 0;
  }
  return on_device;
}

namespace {

// A partition's standing in a stream search: stable ones by objective, then T_max; unstable
// ones after every stable one, by T_max, then latency.
struct StreamKey {
  bool stable = false;
  double objective = INFINITY, t_max = INFINITY, latency = INFINITY;
  bool operator<(const StreamKey& o) const {
    if (stable != o.stable) return stable;
    if (stable) return objective < o.objective || (objective == o.objective && t_max < o.t_max);
    return t_max < o.t_max || (t_max == o.t_max && latency < o.latency);
  }
};

StreamKey stream_key(double t_d, double t_t, double t_e, double latency, const StreamSpec& spec) {
  if (spec.objective == StreamObjective::Mean) {  // no allocation: the search's inner loop
    const auto wait = device_edge_mean_wait(t_d, t_t, t_e, spec);
    return {wait.has_value(), latency + wait.value_or(0), std::max({t_d, t_t, t_e}), latency};
  }
  const StreamOutcome o = stream_waiting(device_edge_stages(t_d, t_t, t_e), spec);  // the 95th percentile
  return {o.stable, latency + o.wait_p95_ms, std::max({t_d, t_t, t_e}), latency};
}

// One client's mean objective depends on a partition's latency and T_max alone: the Pareto
// front of (T_max, latency) answers every rate of one link. It is kept for the last link each
// thread asked about (a --fps sweep asks for many rates of one link in a row).
struct LinkFront {
  uint64_t serial = 0;  // the CandidateSet's
  double bandwidth = -1, delay = -1;
  std::vector<std::pair<double, double>> items;  // (T_max, latency): T_max ascending, latency strictly descending
  std::vector<const Candidate*> cands;
};

const LinkFront& link_front(const CandidateSet& set, const std::vector<char>& block_exact, const Link& link) {
  thread_local LinkFront f;
  if (f.serial == set.serial && f.bandwidth == link.bandwidth_mbps && f.delay == link.delay_ms) return f;
  struct Row {
    double t_max, latency;
    const Candidate* c;
  };
  std::vector<Row> rows;
  rows.reserve(set.items.size());
  for (const Candidate& c : set.items) {
    if (c.block >= 0 && !block_exact[c.block]) continue;
    const double tt = c.sends ? send_ms(c.bytes, link.bandwidth_mbps) : 0.0;
    rows.push_back({std::max({c.t_d, tt, c.t_e}), c.t_d + tt + c.t_e + (c.sends ? link.delay_ms : 0.0), &c});
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.t_max < b.t_max || (a.t_max == b.t_max && a.latency < b.latency);
  });
  f = LinkFront{set.serial, link.bandwidth_mbps, link.delay_ms, {}, {}};
  for (const Row& r : rows)
    if (f.items.empty() || r.latency < f.items.back().second) {
      f.items.emplace_back(r.t_max, r.latency);
      f.cands.push_back(r.c);
    }
  return f;
}

// The best candidate of one client's mean objective off the (T_max, latency) front: periodic,
// the last stable item (the least latency); Poisson, the least latency + M/D/1 wait; none
// stable, the first item (the least T_max). Ties go to the lower T_max, as in the full scan.
const Candidate* best_on_front(const LinkFront& f, const StreamSpec& spec, StreamKey& key) {
  size_t best = 0;
  bool stable = false;
  double objective = INFINITY;
  for (size_t i = 0; i < f.items.size(); ++i) {
    const auto [t_max, latency] = f.items[i];
    const auto wait = device_edge_mean_wait(t_max, 0, 0, spec);  // one client waits as at T_max alone
    if (!wait) break;                                            // T_max ascends: none further is stable
    const double o = latency + *wait;
    if (o < objective) {
      objective = o;
      best = i;
      stable = true;
    }
  }
  key = stable ? StreamKey{true, objective, f.items[best].first, f.items[best].second}
               : StreamKey{false, INFINITY, f.items[0].first, f.items[0].second};
  return f.cands[best];
}

}  // namespace

Plan Planner::stream_search(int exit, const Link& link, const HeavyOptions& heavy, const StreamSpec& spec) const {
  // Every Pareto-kept partition of the enumerated blocks; where a block was too large to
  // enumerate, the light and the heuristic heavy plans stand in for it.
  const ExitGraph& eg = enumerated(exit);
  const Candidate* best = nullptr;
  StreamKey best_key;
  if (spec.clients == 1 && spec.objective == StreamObjective::Mean) {
    best = best_on_front(link_front(eg.cands, eg.block_exact, link), spec, best_key);
  } else {
    for (const Candidate& c : eg.cands.items) {
      if (c.block >= 0 && !eg.block_exact[c.block]) continue;
      const double tt = c.sends ? send_ms(c.bytes, link.bandwidth_mbps) : 0.0;
      const StreamKey k = stream_key(c.t_d, tt, c.t_e, c.t_d + tt + c.t_e + (c.sends ? link.delay_ms : 0.0), spec);
      if (!best || k < best_key) {
        best = &c;
        best_key = k;
      }
    }
  }
  Plan p = finish(exit, Method::Dapdee, Mode::Stream, candidate_marks(eg, *best), link);
  p.candidate = best->block < 0 ? Candidacy::DeviceOnly : Candidacy::Enumeration;
  p.heavy_search = HeavySearch::Exact;
  if (eg.stats.exact) return p;
  p.heavy_search = HeavySearch::Heuristic;
  for (Plan q : {light_mincut(exit, link), heavy_heuristic(exit, link, heavy, std::nullopt)}) {
    const StreamKey k = stream_key(q.t_d, q.t_t, q.t_e, q.latency_ms, spec);
    if (k < best_key) {
      best_key = k;
      q.heavy_search = HeavySearch::Heuristic;
      p = std::move(q);
    }
  }
  return p;
}

// ---------------------------------------------------------------- device energy

void apply_energy(Plan& p, const DevicePower& power, const Link& link) {
  const bool sends = !p.v_s.empty();
  if (p.stream) {
    p.energy = stream_energy(power, p.t_d, p.t_t, sends, link.bandwidth_mbps, 1000.0 / p.stream->spec.fps);
    return;
  }
  const double latency = p.latency_ms;  // the one-frame latency, T_down included when planned with it
  p.energy = frame_energy(power, p.t_d, p.t_t, latency, sends, link.bandwidth_mbps);
}

namespace {

double energy_of(const DevicePower& power, const Link& link, double t_d, double t_t, double latency, bool sends) {
  return frame_energy(power, t_d, t_t, latency, sends, link.bandwidth_mbps).total();
}

// A partition's standing in an energy search: within the constraint first, then the objective.
struct EnergyKey {
  bool feasible = false;
  double objective = INFINITY, other = INFINITY;
  bool operator<(const EnergyKey& o) const {
    if (feasible != o.feasible) return feasible;
    return objective < o.objective || (objective == o.objective && other < o.other);
  }
};

// Minimum energy under a deadline (budget unset), or minimum latency under a budget. Outside
// the constraint, partitions rank by the constrained quantity (the fastest, or the least energy).
EnergyKey energy_key(double latency, double energy, std::optional<double> deadline, std::optional<double> budget) {
  if (budget) {
    const bool ok = energy <= *budget;
    return ok ? EnergyKey{true, latency, energy} : EnergyKey{false, energy, latency};
  }
  const bool ok = !deadline || latency <= *deadline;
  return ok ? EnergyKey{true, energy, latency} : EnergyKey{false, latency, energy};
}

}  // namespace

// The partition of least E + lambda * latency: one weighted minimum cut against device-only.
Plan Planner::least_energy_cut(int exit, const Link& link, const DevicePower& power, double lambda) const {
  const ExitGraph& eg = *graphs_[exit];
  // Under these weights a partition's cut cost is its energy less the constant every sending
  // partition pays (idle over the delay, and the tail).
  CutWeights w{power.compute_w, radio_watts(power, link.bandwidth_mbps), power.idle_w};
  w.device += lambda;
  w.transfer += lambda;
  w.edge += lambda;
  auto weighted = [&](const Plan& p) {
    return energy_of(power, link, p.t_d, p.t_t, p.latency_ms, !p.v_s.empty()) + lambda * p.latency_ms;
  };
  Plan best = finish(exit, Method::Dapdee, Mode::Light, eg.in_gk, link);
  const auto cut = min_cut(exit, link.bandwidth_mbps, w, Pin::SendSomething);
  if (!cut.empty()) {
    Plan p = finish(exit, Method::Dapdee, Mode::Light, cut, link);
    if (weighted(p) < weighted(best)) best = std::move(p);
  }
  best.candidate = best.v_e.empty() ? Candidacy::DeviceOnly : Candidacy::WeightedCut;
  return best;
}

// Past the exact limit: Lagrangian weighted cuts (least E + lambda L for lambda on a log grid),
// the best within the constraint kept, and the Lagrangian dual as a proven lower bound.
Plan Planner::energy_heuristic(int exit, const Link& link, const DevicePower& power, std::optional<double> deadline,
                               std::optional<double> budget) const {
  const Plan fastest = light_mincut(exit, link);
  std::vector<Plan> tried = {fastest, least_energy_cut(exit, link, power, 0)};
  double bound = -INFINITY;
  for (int k = -12; k <= 12; ++k) {
    const double lambda = std::pow(10.0, k / 3.0);
    Plan p = least_energy_cut(exit, link, power, budget ? 1.0 / lambda : lambda);
    const double e = energy_of(power, link, p.t_d, p.t_t, p.latency_ms, !p.v_s.empty());
    // Weak duality: the exact min over x of E + lambda (L - D) (of L + mu (E - B), with mu =
    // lambda and the cut weighted by 1 / mu) bounds the constrained optimum from below.
    if (deadline && !budget) bound = std::max(bound, e + lambda * (p.latency_ms - *deadline));
    if (budget) bound = std::max(bound, p.latency_ms + lambda * (e - *budget));
    tried.push_back(std::move(p));
  }
  Plan* best = nullptr;
  EnergyKey best_key;
  for (Plan& p : tried) {
    const EnergyKey k =
        energy_key(p.latency_ms, energy_of(power, link, p.t_d, p.t_t, p.latency_ms, !p.v_s.empty()), deadline, budget);
    if (!best || k < best_key) {
      best = &p;
      best_key = k;
    }
  }
  Plan out = *best;
  out.heavy_search = HeavySearch::Heuristic;
  if (best_key.feasible && std::isfinite(bound)) out.energy_lower_bound_mj = std::max(0.0, bound);
  return out;
}

Plan Planner::plan_energy(int exit, const Link& link, const DevicePower& power, std::optional<double> deadline) const {
  if (exit < 0 || exit >= static_cast<int>(graphs_.size())) throw Error("planner: no such exit");
  Plan p;
  if (!deadline) {
    p = least_energy_cut(exit, link, power, 0);  // exact: one minimum cut
    p.heavy_search = HeavySearch::None;
  } else if (const ExitGraph& eg = enumerated(exit); eg.stats.exact) {
    const Candidate* best = nullptr;
    EnergyKey best_key;
    for (const Candidate& c : eg.cands.items) {
      const double tt = c.sends ? send_ms(c.bytes, link.bandwidth_mbps) : 0.0;
      const double lat = c.t_d + tt + c.t_e + (c.sends ? link.delay_ms : 0.0);
      const EnergyKey k = energy_key(lat, energy_of(power, link, c.t_d, tt, lat, c.sends), deadline, std::nullopt);
      if (!best || k < best_key) {
        best = &c;
        best_key = k;
      }
    }
    p = finish(exit, Method::Dapdee, Mode::Light, candidate_marks(eg, *best), link);
    p.candidate = best->block < 0 ? Candidacy::DeviceOnly : Candidacy::Enumeration;
    p.heavy_search = HeavySearch::Exact;
  } else {
    p = energy_heuristic(exit, link, power, deadline, std::nullopt);
  }
  p.objective = Objective::Energy;
  p.meets_deadline = !deadline || p.latency_ms <= *deadline;
  apply_energy(p, power, link);
  return p;
}

Plan Planner::plan_budget(int exit, const Link& link, const DevicePower& power, double budget_mj) const {
  if (exit < 0 || exit >= static_cast<int>(graphs_.size())) throw Error("planner: no such exit");
  Plan p;
  if (const ExitGraph& eg = enumerated(exit); eg.stats.exact) {
    const Candidate* best = nullptr;
    EnergyKey best_key;
    for (const Candidate& c : eg.cands.items) {
      const double tt = c.sends ? send_ms(c.bytes, link.bandwidth_mbps) : 0.0;
      const double lat = c.t_d + tt + c.t_e + (c.sends ? link.delay_ms : 0.0);
      const EnergyKey k = energy_key(lat, energy_of(power, link, c.t_d, tt, lat, c.sends), std::nullopt, budget_mj);
      if (!best || k < best_key) {
        best = &c;
        best_key = k;
      }
    }
    p = finish(exit, Method::Dapdee, Mode::Light, candidate_marks(eg, *best), link);
    p.candidate = best->block < 0 ? Candidacy::DeviceOnly : Candidacy::Enumeration;
    p.heavy_search = HeavySearch::Exact;
  } else {
    p = energy_heuristic(exit, link, power, std::nullopt, budget_mj);
  }
  apply_energy(p, power, link);
  p.energy_budget_mj = budget_mj;
  p.meets_budget = p.energy->total() <= budget_mj;
  return p;
}

std::vector<Plan> Planner::energy_front(int exit, const Link& link, const DevicePower& power) const {
  if (exit < 0 || exit >= static_cast<int>(graphs_.size())) throw Error("planner: no such exit");
  const ExitGraph& eg = enumerated(exit);
  struct Row {
    double latency, energy;
    const Candidate* c;
  };
  std::vector<Row> rows;
  for (const Candidate& c : eg.cands.items) {
    if (c.block >= 0 && !eg.block_exact[c.block]) continue;
    const double tt = c.sends ? send_ms(c.bytes, link.bandwidth_mbps) : 0.0;
    const double lat = c.t_d + tt + c.t_e + (c.sends ? link.delay_ms : 0.0);
    rows.push_back({lat, energy_of(power, link, c.t_d, tt, lat, c.sends), &c});
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.latency < b.latency || (a.latency == b.latency && a.energy < b.energy);
  });
  std::vector<Plan> front;
  double least = INFINITY;
  for (const Row& r : rows) {
    if (r.energy >= least) continue;  // beaten: no faster-or-equal partition spends less
    least = r.energy;
    Plan p = finish(exit, Method::Dapdee, Mode::Light, candidate_marks(eg, *r.c), link);
    p.candidate = r.c->block < 0 ? Candidacy::DeviceOnly : Candidacy::Enumeration;
    p.heavy_search = eg.stats.exact ? HeavySearch::Exact : HeavySearch::Heuristic;
    apply_energy(p, power, link);
    front.push_back(std::move(p));
  }
  return front;
}

Plan Planner::plan_stream(int exit, Method method, const Link& link, const HeavyOptions& heavy,
                          const StreamSpec& spec) const {
  Plan p = method == Method::Dapdee ? stream_search(exit, link, heavy, spec)
                                    : plan_exit(exit, method, Mode::Light, link, heavy, std::nullopt);
  p.method = method;
  p.alpha.reset();
  p.gamma.reset();
  p.t_max_lower_bound.reset();
  apply_stream(p, spec);
  return p;
}

void apply_stream(Plan& p, const StreamSpec& spec) {
  StreamOutcome o = stream_waiting(device_edge_stages(p.t_d, p.t_t, p.t_e), spec);
  p.mode = Mode::Stream;
  if (o.stable) {
    o.latency_p95_ms = p.latency_ms + o.wait_p95_ms;
    p.latency_ms += o.wait_ms;
  } else {
    p.latency_ms = INFINITY;
  }
  p.stream = std::move(o);
}

bool meets_deadline(const Plan& p, std::optional<double> deadline_ms) {
  const double ms = objective_ms(p);
  return std::isfinite(ms) && (!deadline_ms || ms <= *deadline_ms);  // an unstable stream meets none
}

double objective_ms(const Plan& p) {
  if (!p.stream) return p.latency_ms;
  if (!p.stream->stable) return INFINITY;
  return p.stream->spec.objective == StreamObjective::P95 ? p.stream->latency_p95_ms : p.latency_ms;
}

Plan Planner::dsh_search(int exit, const Link& link, const HeavyOptions& h, std::optional<double> deadline,
                         const Plan& start) const {
  // DADS's DSH / the paper's Algorithms 2 and 3: weighted cuts over a refined (alpha, gamma) grid.
  Plan best = start;
  auto consider = [&](double a, double g) {
    const auto cut = min_cut(exit, link.bandwidth_mbps, CutWeights{a, 1, g}, Pin::None);
    Plan p = finish(exit, Method::Dapdee, Mode::Heavy, cut, link);
    if (!meets_deadline(p, deadline)) return;
    p.alpha = a;
    p.gamma = g;
    p.candidate = Candidacy::WeightedCut;
    if (!meets_deadline(best, deadline) || better_heavy(p, best)) best = std::move(p);
  };
  consider(1, 1);
  const int n = std::max(h.grid, 2);
  double la0 = std::log(h.alpha_min), la1 = std::log(h.alpha_max);
  double lg0 = std::log(h.gamma_min), lg1 = std::log(h.gamma_max);
  double prev = best.t_max;
  for (int round = 0; round < std::max(h.max_rounds, 1); ++round) {
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j)
        consider(std::exp(la0 + (la1 - la0) * i / (n - 1)), std::exp(lg0 + (lg1 - lg0) * j / (n - 1)));
    const double improvement = prev - best.t_max;
    prev = best.t_max;
    if (round > 0 && improvement < h.epsilon_ms) break;
    const double sa = (la1 - la0) / (n - 1), sg = (lg1 - lg0) / (n - 1);
    const double ca = std::log(best.alpha.value_or(1)), cg = std::log(best.gamma.value_or(1));
    la0 = ca - sa;
    la1 = ca + sa;
    lg0 = cg - sg;
    lg1 = cg + sg;
  }
  return best;
}

double Planner::lower_bound(int exit, double bw) const {
  // T_max >= a T_d + b T_t + c T_e for a + b + c = 1, so the weighted minimum cut over all
  // partitions bounds the (constrained) optimum from below; the best weights on a simplex grid
  // give the bound. Blocks searched exactly contribute their exact best instead (see caller).
  const ExitGraph& eg = *graphs_[exit];
  const int m = static_cast<int>(eg.blocks.size()) - 1;
  double bound = eg.total_td;  // device-only is a partition
  for (int j = eg.first_block; j <= m; ++j) {
    if (eg.block_exact[j]) continue;
    double best_j = 0;
    const int steps = 12;
    for (int ia = 0; ia <= steps; ++ia)
      for (int ib = 1; ia + ib <= steps; ++ib) {
        const CutWeights w{double(ia) / steps, double(ib) / steps, double(steps - ia - ib) / steps};
        const BlockCut cut = eg.blocks[j]->solve(costs_, bw, w);
        best_j = std::max(best_j, eg.prefix_td[j] * w.device + cut.cost + eg.suffix_te[j] * w.edge);
      }
    bound = std::min(bound, best_j);
  }
  return bound;
}

Plan Planner::heavy_heuristic(int exit, const Link& link, const HeavyOptions& h, std::optional<double> deadline) const {
  // Some block has more partitions than the limit: the exact scan over the other blocks, the
  // light plan, the best topological prefix and the DSH weighted cuts; and a proven lower bound.
  const ExitGraph& eg = enumerated(exit);
  Plan best = heavy_exact(exit, link, deadline);  // over the blocks within the limit
  auto take = [&](Plan p) {
    if (!meets_deadline(p, deadline)) return;
    if (!meets_deadline(best, deadline) || better_heavy(p, best)) best = std::move(p);
  };
  Plan light = light_mincut(exit, link);
  light.mode = Mode::Heavy;
  take(light);
  Plan prefix = chain_split(exit, Mode::Heavy, link);
  prefix.candidate = Candidacy::TopologicalPrefix;
  take(prefix);
  best = dsh_search(exit, link, h, deadline, best);
  double bound = lower_bound(exit, link.bandwidth_mbps);
  // The exact part: the best partition inside the enumerated blocks bounds those blocks exactly.
  const Plan exact_part = heavy_exact(exit, link, std::nullopt);
  bound = std::min(bound, exact_part.t_max);
  best.method = Method::Dapdee;
  best.mode = Mode::Heavy;
  best.heavy_search = HeavySearch::Heuristic;
  best.t_max_lower_bound = std::min(bound, best.t_max);
  (void)eg;
  return best;
}

Plan Planner::chain_split(int exit, Mode mode, const Link& link) const {
  // Neurosurgeon: V_d is a prefix of the topological order of G_k. O(n) with difference arrays.
  const ExitGraph& eg = *graphs_[exit];
  const int n = static_cast<int>(eg.nodes.size());
  int min_len = 0;
  for (int i = 0; i < n; ++i)
    if (is_input(dag_.nodes[eg.nodes[i]])) min_len = i + 1;
  std::vector<double> td(n + 1, 0), te(n + 1, 0), tt_diff(n + 2, 0);
  for (int i = 0; i < n; ++i) {
    const int v = eg.nodes[i];
    td[i + 1] = td[i] + costs_.t_device[v];
    // u at position i is sent for prefix lengths L with i < L <= last_succ(u).
    if (eg.last_succ[v] > i) {
      const double ms = send_ms(costs_.bytes[v], link.bandwidth_mbps);
      tt_diff[i + 1] += ms;
      tt_diff[eg.last_succ[v] + 1] -= ms;
    }
  }
  for (int i = n - 1; i >= 0; --i) te[i] = te[i + 1] + costs_.t_edge[eg.nodes[i]];
  int best_len = n;
  double best_lat = td[n], best_max = td[n], tt = 0;
  for (int len = 1; len <= n; ++len) {
    tt += tt_diff[len];
    if (len < min_len || len == n) continue;
    const double lat = td[len] + tt + te[len] + link.delay_ms;
    const double mx = std::max({td[len], tt, te[len]});
    const bool better = mode == Mode::Heavy ? (mx < best_max || (mx == best_max && lat < best_lat)) : lat < best_lat;
    if (better) {
      best_len = len;
      best_lat = lat;
      best_max = mx;
    }
  }
  std::vector<char> on_device(dag_.nodes.size(), 0);
  for (int i = 0; i < best_len; ++i) on_device[eg.nodes[i]] = 1;
  return finish(exit, Method::Neurosurgeon, mode, on_device, link);
}

Plan Planner::plan_exit(int exit, Method method, Mode mode, const Link& link, const HeavyOptions& heavy,
                        std::optional<double> deadline) const {
  if (exit < 0 || exit >= static_cast<int>(graphs_.size())) throw Error("planner: no such exit");
  if (mode == Mode::Auto) throw Error("planner: resolve the auto mode first");
  Plan p;
  switch (method) {
    case Method::Dapdee:
      if (mode == Mode::Light) p = light_mincut(exit, link);
      else if (enumerated(exit).stats.exact) (p = heavy_exact(exit, link, deadline)).heavy_search = HeavySearch::Exact;
      else p = heavy_heuristic(exit, link, heavy, deadline);
      break;
    case Method::Dads:
      // DADS as published: light = the min cut, heavy = DSH's weighted cuts, blind to deadlines.
      if (mode == Mode::Light) {
        p = light_mincut(exit, link);
      } else {
        Plan start = light_mincut(exit, link);
        start.mode = Mode::Heavy;
        p = dsh_search(exit, link, heavy, std::nullopt, start);
      }
      break;
    case Method::Neurosurgeon:
    case Method::Edgent:
      p = chain_split(exit, mode, link);
      p.candidate = Candidacy::TopologicalPrefix;
      break;
    case Method::DeviceOnly:
      p = finish(exit, method, mode, graphs_[exit]->in_gk, link);
      break;
    case Method::EdgeOnly: {
      std::vector<char> on_device(dag_.nodes.size(), 0);
      for (int v : graphs_[exit]->nodes) on_device[v] = is_input(dag_.nodes[v]);
      p = finish(exit, method, mode, on_device, link);
      break;
    }
  }
  p.method = method;
  p.mode = mode;
  if (mode == Mode::Light) {
    p.alpha.reset();
    p.gamma.reset();
  }
  return p;
}

Plan Planner::plan_cut(int exit, const std::vector<int>& device_nodes, Mode mode, const Link& link) const {
  if (exit < 0 || exit >= static_cast<int>(graphs_.size())) throw Error("planner: no such exit");
  const ExitGraph& eg = *graphs_[exit];
  std::vector<int> seeds = device_nodes;
  for (int v : eg.nodes)
    if (is_input(dag_.nodes[v])) seeds.push_back(v);
  for (int v : device_nodes)
    if (v < 0 || v >= static_cast<int>(eg.in_gk.size()) || !eg.in_gk[v])
      throw Error("--cut", fmt::format("node '{}' is not an ancestor of exit '{}'",
                                       v >= 0 && v < static_cast<int>(dag_.nodes.size()) ? dag_.nodes[v].name : "?",
                                       dag_.exits[exit].name));
  Plan p = finish(exit, Method::Dapdee, mode == Mode::Auto ? Mode::Light : mode, ancestors_of(dag_, seeds), link);
  p.candidate = Candidacy::Cut;
  return p;
}

ExitChoice choose_exit_index(Method method, int n_exits, const std::function<const Plan&(int)>& plan_of,
                             std::optional<double> deadline, const std::vector<std::optional<double>>& accuracies) {
  auto meets = [&](const Plan& p) { return meets_deadline(p, deadline) && p.meets_budget; };
  if (method != Method::Dapdee && method != Method::Edgent) return {n_exits - 1, meets(plan_of(n_exits - 1))};
  const bool all_known = static_cast<int>(accuracies.size()) == n_exits &&
                         std::all_of(accuracies.begin(), accuracies.end(), [](const auto& a) { return a.has_value(); });
  int chosen = -1, fastest = -1;
  double fastest_ms = 0;
  for (int k = n_exits - 1; k >= 0; --k) {
    // With known accuracies an exit no more accurate than the one chosen cannot win: skip it.
    if (chosen >= 0 && (!all_known || *accuracies[k] <= *accuracies[chosen])) continue;
    const Plan& p = plan_of(k);
    if (meets(p)) {
      chosen = k;
      continue;
    }
    // The fastest; among unstable streams (objective +inf), the one of least T_max.
    const double ms = objective_ms(p);
    if (fastest < 0 || ms < fastest_ms ||
        (ms == INFINITY && fastest_ms == INFINITY && p.t_max < plan_of(fastest).t_max)) {
      fastest = k;
      fastest_ms = ms;
    }
  }
  return chosen >= 0 ? ExitChoice{chosen, true} : ExitChoice{fastest, false};
}

Plan choose_exit(Method method, int n_exits, const std::function<Plan(int)>& plan_of,
                 std::optional<double> deadline, const std::vector<std::optional<double>>& accuracies) {
  std::vector<std::optional<Plan>> plans(static_cast<size_t>(std::max(n_exits, 0)));
  const ExitChoice c = choose_exit_index(
      method, n_exits,
      [&](int k) -> const Plan& {
        if (!plans[k]) plans[k] = plan_of(k);
        return *plans[k];
      },
      deadline, accuracies);
  Plan p = std::move(*plans[c.exit]);
  p.meets_deadline = c.meets_deadline;
  return p;
}

std::vector<std::optional<double>> exit_accuracies(const Dag& dag) {
  std::vector<std::optional<double>> acc;
  for (const auto& e : dag.exits) acc.push_back(e.accuracy);
  return acc;
}

Plan Planner::plan(Method method, Mode mode, const Link& link, std::optional<double> deadline,
                   const HeavyOptions& heavy, const std::vector<std::optional<double>>* accuracies) const {
  const auto acc = accuracies ? *accuracies : exit_accuracies(dag_);
  return choose_exit(
      method, static_cast<int>(dag_.exits.size()),
      [&](int k) { return plan_exit(k, method, mode, link, heavy, deadline); }, deadline, acc);
}

double load_score(const LoadMetrics& m) {
  auto clamp01 = [](double x) { return std::clamp(std::isfinite(x) ? x : 0.0, 0.0, 1.0); };
  // Each term is in [0,1], 1 meaning "the device side is loaded: favour throughput".
  const double bw_term = m.bandwidth_mbps > 0 ? 1.0 - clamp01(m.bandwidth_mbps / 20.0) : 0.0;
  const double delay_term = clamp01(m.delay_ms / 200.0);
  return 0.30 * clamp01(m.cpu) + 0.20 * clamp01(m.memory) + 0.15 * bw_term + 0.10 * delay_term +
         0.10 * (1.0 - clamp01(m.battery)) + 0.15 * (1.0 - clamp01(m.priority));
}

Mode resolve_mode(Mode requested, const LoadMetrics& m) {
  if (requested != Mode::Auto) return requested;
  if (m.priority >= 1.0) return Mode::Light;
  return load_score(m) < 0.4 ? Mode::Light : Mode::Heavy;
}

}  // namespace dapdee
