#include "dapdee/planner.hpp"

#include <fmt/format.h>
#include <lemon/preflow.h>
#include <lemon/smart_graph.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "dapdee/error.hpp"

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
  for (Mode m : {Mode::Light, Mode::Heavy, Mode::Auto}) v.push_back(mode_name(m));
  return v;
}
std::vector<std::string> method_names() {
  std::vector<std::string> v;
  for (Method m : {Method::Dapdee, Method::Dads, Method::Neurosurgeon, Method::Edgent, Method::DeviceOnly, Method::EdgeOnly})
    v.push_back(method_name(m));
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
    if (node.op == "Input") continue;  // the graph input costs nothing to produce
    if (auto it = device.ms.find(node.name); it != device.ms.end()) cb.costs.t_device[v] = it->second;
    else cb.missing_device.push_back(node.name);
    if (auto it = edge.ms.find(node.name); it != edge.ms.end()) cb.costs.t_edge[v] = it->second;
    else cb.missing_edge.push_back(node.name);
  }
  return cb;
}

namespace {

// ms to send `bytes` over `mbps` Mbit/s.
inline double send_ms(double bytes, double mbps) { return bytes * 8.0 / (mbps * 1e6) * 1000.0; }

}  // namespace

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

// The extended graph G' of one block of G_k (docs/PLANNER.md, "Blocks"): the nodes between two
// consecutive dominators of the exit; the first dominator (or the inputs) is pinned to the device
// and the next dominator is the sink. Capacities are set per solve.
struct CutBlock {
  enum Kind : uint8_t { kSourceEdge, kSinkDevice, kTransfer, kInfinite };
  std::vector<int> nodes;                  // DAG ids in the block, ascending
  std::vector<char> pinned;                // per position: must run on the device
  std::vector<std::vector<int>> succ;      // per position: successor positions; -1 is the next dominator
  bool trivial = true;                     // every node pinned: nothing to cut
  double sum_td = 0, sum_te = 0;           // unweighted device / edge time of the block
  lemon::SmartDigraph g;
  lemon::SmartDigraph::Node s, t;
  std::vector<lemon::SmartDigraph::Node> vnode;  // per position
  std::vector<uint8_t> kind;               // per arc id
  std::vector<int> ref;                    // per arc id: the position the capacity comes from
  std::vector<int> source_arc, sink_arc;   // per position
};

struct Planner::ExitGraph {
  std::vector<char> in_gk;
  std::vector<int> nodes;        // ids of G_k, ascending
  std::vector<int> last_succ;    // per id: position (in nodes) of its last successor in G_k, or -1
  std::vector<int> chain;        // the exit's dominators x_1..x_m in topological order; x_m is the exit
  std::vector<std::unique_ptr<CutBlock>> blocks;  // block j = 0..m-1 (block m is the exit alone)
  int first_block = 0;           // blocks before this one would leave an input (a dominator) on the edge
};

namespace {

// Dominators of `exit` in G_k from a virtual root above every Input, in topological order.
std::vector<int> dominator_chain(const Dag& dag, const std::vector<int>& nodes, const std::vector<char>& in_gk, int exit) {
  const int root = -1;
  std::vector<int> idom(dag.nodes.size(), root - 1), depth(dag.nodes.size(), 0);
  auto lca = [&](int a, int b) {
    while (a != b) {
      if (a == root || b == root) return root;
      if (depth[a] >= depth[b]) a = idom[a];
      else b = idom[b];
    }
    return a;
  };
  for (int v : nodes) {
    int d = root - 1;
    for (int u : dag.nodes[v].input_ids) {
      if (!in_gk[u]) continue;
      d = d == root - 1 ? u : lca(d, u);
    }
    if (dag.nodes[v].op == "Input" || d == root - 1) d = root;
    idom[v] = d;
    depth[v] = d == root ? 1 : depth[d] + 1;
  }
  std::vector<int> chain;
  for (int x = exit; x != root; x = idom[x]) chain.push_back(x);
  std::reverse(chain.begin(), chain.end());
  return chain;
}

}  // namespace

Planner::Planner(const Dag& dag, Costs costs) : dag_(dag), costs_(std::move(costs)) {
  const size_t n = dag.nodes.size();
  if (costs_.t_device.size() != n || costs_.t_edge.size() != n || costs_.bytes.size() != n)
    throw Error("planner: costs do not match the DAG");
  std::vector<std::vector<int>> succ(n);
  for (size_t v = 0; v < n; ++v)
    for (int u : dag.nodes[v].input_ids) succ[u].push_back(static_cast<int>(v));
  for (size_t k = 0; k < dag.exits.size(); ++k) {
    auto eg = std::make_unique<ExitGraph>();
    const int exit_node = dag.exits[k].node_id;
    eg->in_gk = ancestors_of(dag, exit_node);
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
    eg->chain = dominator_chain(dag, eg->nodes, eg->in_gk, exit_node);
    const int m = static_cast<int>(eg->chain.size());
    // block(v): the deepest dominator that is an ancestor of v (or v itself); 0 for the inputs' block.
    std::vector<int> blk(n, 0), chain_index(n, 0);
    for (int j = 0; j < m; ++j) chain_index[eg->chain[j]] = j + 1;
    for (int v : eg->nodes) {
      int b = 0;
      for (int u : dag.nodes[v].input_ids)
        if (eg->in_gk[u]) b = std::max(b, blk[u]);
      if (chain_index[v]) b = chain_index[v];
      blk[v] = b;
      if (dag.nodes[v].op == "Input") eg->first_block = std::max(eg->first_block, b);
    }
    for (int j = 0; j < m; ++j) eg->blocks.push_back(std::make_unique<CutBlock>());
    std::vector<int> bpos(n, -1);
    for (int v : eg->nodes) {
      if (blk[v] >= m) continue;  // the exit's own block
      CutBlock& b = *eg->blocks[blk[v]];
      bpos[v] = static_cast<int>(b.nodes.size());
      b.nodes.push_back(v);
      const bool pin = dag.nodes[v].op == "Input" || (blk[v] >= 1 && v == eg->chain[blk[v] - 1]);
      b.pinned.push_back(pin);
      b.trivial = b.trivial && pin;
      b.sum_td += costs_.t_device[v];
      b.sum_te += costs_.t_edge[v];
    }
    for (int j = 0; j < m; ++j) {
      CutBlock& b = *eg->blocks[j];
      const int next = eg->chain[j];  // x_{j+1}
      b.succ.resize(b.nodes.size());
      for (size_t p = 0; p < b.nodes.size(); ++p)
        for (int w : succ[b.nodes[p]]) {
          if (!eg->in_gk[w]) continue;
          if (w == next) b.succ[p].push_back(-1);
          else if (blk[w] == j) b.succ[p].push_back(bpos[w]);
          else throw Error("planner invariant: an edge skips a dominator");
        }
      if (b.trivial) continue;
      auto& g = b.g;
      g.reserveNode(static_cast<int>(2 * b.nodes.size() + 2));
      g.reserveArc(static_cast<int>(6 * b.nodes.size() + 4));
      b.s = g.addNode();
      b.t = g.addNode();
      auto add = [&](lemon::SmartDigraph::Node x, lemon::SmartDigraph::Node y, uint8_t kd, int r) {
        g.addArc(x, y);
        b.kind.push_back(kd);
        b.ref.push_back(r);
      };
      for (size_t p = 0; p < b.nodes.size(); ++p) b.vnode.push_back(g.addNode());
      for (size_t p = 0; p < b.nodes.size(); ++p) {
        const int ip = static_cast<int>(p);
        b.source_arc.push_back(static_cast<int>(b.kind.size()));
        add(b.s, b.vnode[p], b.pinned[p] ? CutBlock::kInfinite : CutBlock::kSourceEdge, ip);
        b.sink_arc.push_back(static_cast<int>(b.kind.size()));
        add(b.vnode[p], b.t, CutBlock::kSinkDevice, ip);
        if (b.succ[p].empty()) continue;
        const auto aux = g.addNode();
        add(b.vnode[p], aux, CutBlock::kTransfer, ip);
        for (int q : b.succ[p]) {
          add(aux, q < 0 ? b.t : b.vnode[q], CutBlock::kInfinite, ip);
          if (q >= 0) add(b.vnode[q], b.vnode[p], CutBlock::kInfinite, ip);  // nothing goes back down
        }
      }
    }
    graphs_.push_back(std::move(eg));
  }
}

Planner::~Planner() = default;

namespace {

// Solves one block: which of its nodes run on the device, and the weighted cost of that choice.
double solve_block(const CutBlock& b, const Costs& costs, double bw, double w_dev, double w_edge,
                   std::vector<char>& on_device_pos) {
  const size_t np = b.nodes.size();
  on_device_pos.assign(np, 1);
  if (!b.trivial) {
    const auto& g = b.g;
    const int m = static_cast<int>(b.kind.size());
    std::vector<double> c(m, 0.0);
    double finite = 0;
    for (int a = 0; a < m; ++a) {
      const int v = b.nodes[b.ref[a]];
      switch (b.kind[a]) {
        case CutBlock::kSourceEdge: c[a] = costs.t_edge[v] * w_edge; break;
        case CutBlock::kSinkDevice: c[a] = costs.t_device[v] * w_dev; break;
        case CutBlock::kTransfer: c[a] = send_ms(costs.bytes[v], bw); break;
        default: c[a] = -1; break;
      }
      if (c[a] > 0) finite += c[a];
    }
    // One of a node's two terminal arcs is always cut: subtracting their minimum from both keeps
    // the same minimum cut with less flow to route.
    for (size_t p = 0; p < np; ++p) {
      const int a_src = b.source_arc[p], a_sink = b.sink_arc[p];
      if (c[a_src] < 0) continue;
      const double both = std::min(c[a_src], c[a_sink]);
      c[a_src] -= both;
      c[a_sink] -= both;
    }
    // "Infinite": more than every finite arc together, so no minimum cut ever crosses one.
    const double inf = 2 * finite + 1;
    lemon::SmartDigraph::ArcMap<double> cap(g);
    for (int a = 0; a < m; ++a) cap[g.arcFromId(a)] = c[a] < 0 ? inf : c[a];
    lemon::Preflow<lemon::SmartDigraph, lemon::SmartDigraph::ArcMap<double>> pf(g, cap, b.s, b.t);
    pf.tolerance(lemon::Tolerance<double>(inf * 1e-15));
    pf.runMinCut();
    for (size_t p = 0; p < np; ++p) on_device_pos[p] = pf.minCut(b.vnode[p]) ? 1 : 0;
  }
  // The weighted cost, recomputed from the partition (never read off the flow).
  double cost = 0;
  for (size_t p = 0; p < np; ++p) {
    const int v = b.nodes[p];
    if (!on_device_pos[p]) {
      cost += costs.t_edge[v] * w_edge;
      continue;
    }
    cost += costs.t_device[v] * w_dev;
    bool sends = false;
    for (int q : b.succ[p]) sends = sends || q < 0 || !on_device_pos[q];
    if (sends) cost += send_ms(costs.bytes[v], bw);
  }
  return cost;
}

}  // namespace

std::vector<char> Planner::min_cut(int exit, double bw, double w_dev, double w_edge, bool pin_exit) const {
  // Every valid partition of G_k puts x_1..x_j on the device and x_{j+1}..x_m on the edge for one
  // j, so the cut lies inside block j: the best j over per-block cuts is the global minimum cut.
  const ExitGraph& eg = *graphs_[exit];
  const int m = static_cast<int>(eg.blocks.size());
  const int exit_node = dag_.exits[exit].node_id;
  double total_td = costs_.t_device[exit_node], total_te = costs_.t_edge[exit_node];
  for (const auto& b : eg.blocks) {
    total_td += b->sum_td;
    total_te += b->sum_te;
  }
  int best_j = pin_exit ? -1 : m;  // m: everything on the device
  double best = pin_exit ? INFINITY : total_td * w_dev;
  std::vector<char> best_pos, pos;
  double prefix_td = 0, rest_te = total_te;
  for (int j = 0; j < m; ++j) {
    const CutBlock& b = *eg.blocks[j];
    rest_te -= b.sum_te;  // the edge time of the blocks after j (and of the exit)
    if (j < eg.first_block) {
      prefix_td += b.sum_td;
      continue;
    }
    const double cost = prefix_td * w_dev + solve_block(b, costs_, bw, w_dev, w_edge, pos) + rest_te * w_edge;
    if (cost < best) {
      best = cost;
      best_j = j;
      best_pos = pos;
    }
    prefix_td += b.sum_td;
  }
  std::vector<char> on_device(dag_.nodes.size(), 0);
  for (int j = 0; j < m; ++j) {
    const CutBlock& b = *eg.blocks[j];
    for (size_t p = 0; p < b.nodes.size(); ++p)
      on_device[b.nodes[p]] = j < best_j ? 1 : j == best_j ? best_pos[p] : 0;
  }
  on_device[exit_node] = best_j == m ? 1 : 0;
  // Invariants, checked in release builds too: inputs on the device, V_d closed under predecessors.
  for (int v : eg.nodes) {
    if (dag_.nodes[v].op == "Input" && !on_device[v]) throw Error("planner invariant: an input left the device");
    if (on_device[v])
      for (int u : dag_.nodes[v].input_ids)
        if (!on_device[u]) throw Error("planner invariant: V_d is not closed under predecessors");
  }
  return on_device;
}

Plan Planner::finish(int exit, Method method, Mode mode, const std::vector<char>& on_device, const Link& link) const {
  const ExitGraph& eg = *graphs_[exit];
  Plan p;
  p.method = method;
  p.mode = mode;
  p.exit = exit;
  const Times t = evaluate_partition(dag_, costs_, eg.in_gk, on_device, link.bandwidth_mbps);
  p.t_d = t.t_d;
  p.t_t = t.t_t;
  p.t_e = t.t_e;
  p.latency_ms = t.t_d + t.t_t + t.t_e + (t.sends ? link.delay_ms : 0.0);
  p.t_max = std::max({t.t_d, t.t_t, t.t_e});
  std::vector<char> sent(dag_.nodes.size(), 0);
  for (int v : eg.nodes) {
    if (on_device[v]) {
      p.v_d.push_back(v);
    } else {
      p.v_e.push_back(v);
      for (int u : dag_.nodes[v].input_ids) sent[u] = 1;
    }
  }
  for (int v : eg.nodes)
    if (sent[v] && on_device[v]) p.v_s.push_back(v);
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
  Plan cut = finish(exit, Method::Dapdee, Mode::Light, min_cut(exit, link.bandwidth_mbps, 1, 1, true), link);
  if (better_light(cut, best)) best = std::move(cut);
  return best;
}

Plan Planner::heavy_mincut(int exit, const Link& link, const HeavyOptions& h) const {
  Plan best = light_mincut(exit, link);
  best.mode = Mode::Heavy;
  auto consider = [&](double a, double g) {
    Plan p = finish(exit, Method::Dapdee, Mode::Heavy, min_cut(exit, link.bandwidth_mbps, a, g, false), link);
    p.alpha = a;
    p.gamma = g;
    if (better_heavy(p, best)) best = std::move(p);
  };
  {
    Plan dev = finish(exit, Method::Dapdee, Mode::Heavy, graphs_[exit]->in_gk, link);
    if (better_heavy(dev, best)) best = std::move(dev);
  }
  consider(1, 1);
  {
    // The best split along the topological order is a cheap extra candidate (O(n)).
    Plan chain = chain_split(exit, Mode::Heavy, link);
    if (better_heavy(chain, best)) best = std::move(chain);
  }
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
    const double ca = std::log(best.alpha), cg = std::log(best.gamma);
    la0 = ca - sa;
    la1 = ca + sa;
    lg0 = cg - sg;
    lg1 = cg + sg;
  }
  return best;
}

Plan Planner::chain_split(int exit, Mode mode, const Link& link) const {
  // Neurosurgeon: V_d is a prefix of the topological order of G_k. O(n) with difference arrays.
  const ExitGraph& eg = *graphs_[exit];
  const int n = static_cast<int>(eg.nodes.size());
  int min_len = 0;
  for (int i = 0; i < n; ++i)
    if (dag_.nodes[eg.nodes[i]].op == "Input") min_len = i + 1;
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
  (void)deadline;  // TODO(issue 8): heavy load under the deadline
  if (exit < 0 || exit >= static_cast<int>(graphs_.size())) throw Error("planner: no such exit");
  if (mode == Mode::Auto) throw Error("planner: resolve the auto mode first");
  Plan p;
  switch (method) {
    case Method::Dapdee:
    case Method::Dads:
      p = mode == Mode::Heavy ? heavy_mincut(exit, link, heavy) : light_mincut(exit, link);
      break;
    case Method::Neurosurgeon:
    case Method::Edgent:
      p = chain_split(exit, mode, link);
      break;
    case Method::DeviceOnly:
      p = finish(exit, method, mode, graphs_[exit]->in_gk, link);
      break;
    case Method::EdgeOnly: {
      std::vector<char> on_device(dag_.nodes.size(), 0);
      for (int v : graphs_[exit]->nodes) on_device[v] = dag_.nodes[v].op == "Input";
      p = finish(exit, method, mode, on_device, link);
      break;
    }
  }
  p.method = method;
  p.mode = mode;
  return p;
}

Plan choose_exit(Method method, int n_exits, const std::function<Plan(int)>& plan_of,
                 std::optional<double> deadline, const std::vector<std::optional<double>>& accuracies) {
  const bool uses_exits = method == Method::Dapdee || method == Method::Edgent;
  auto meets = [&](const Plan& p) { return !deadline || p.latency_ms <= *deadline; };
  if (!uses_exits) {
    Plan p = plan_of(n_exits - 1);
    p.meets_deadline = meets(p);
    return p;
  }
  const bool all_known = static_cast<int>(accuracies.size()) == n_exits &&
                         std::all_of(accuracies.begin(), accuracies.end(), [](const auto& a) { return a.has_value(); });
  std::optional<Plan> fastest, chosen;
  for (int k = n_exits - 1; k >= 0; --k) {
    // With known accuracies an exit no more accurate than the one chosen cannot win: skip it.
    if (chosen && (!all_known || *accuracies[k] <= *accuracies[chosen->exit])) continue;
    Plan p = plan_of(k);
    if (meets(p)) {
      p.meets_deadline = true;
      chosen = std::move(p);
      continue;
    }
    if (!fastest || p.latency_ms < fastest->latency_ms) fastest = std::move(p);
  }
  if (chosen) return *chosen;
  fastest->meets_deadline = false;
  return *fastest;
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
