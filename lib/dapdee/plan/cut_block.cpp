#include "dapdee/plan/cut_block.hpp"

#include <lemon/preflow.h>
#include <lemon/smart_graph.h>

#include <algorithm>

#include "dapdee/plan/plan_types.hpp"
#include "dapdee/support/error.hpp"

namespace dapdee {

namespace {
enum class ArcRole : uint8_t { SourceEdge, SinkDevice, Transfer, Infinite };
}

// LEMON's graph of the block with the role of every arc; capacities are set per solve.
struct CutBlock::Graph {
  lemon::SmartDigraph g;
  lemon::SmartDigraph::Node s, t;
  std::vector<lemon::SmartDigraph::Node> vnode;  // per position
  std::vector<ArcRole> role;                     // per arc id
  std::vector<int> ref;                          // per arc id: the position its capacity comes from
  std::vector<int> source_arc, sink_arc;         // per position
};

CutBlock::CutBlock(std::vector<int> nodes, std::vector<char> pinned, std::vector<std::vector<int>> succ, Sink sink)
    : nodes_(std::move(nodes)), pinned_(std::move(pinned)), succ_(std::move(succ)), sink_(sink) {
  const size_t np = nodes_.size();
  if (pinned_.size() != np || succ_.size() != np) throw Error("cut block: sizes disagree");
  pred_.assign(np, {});
  for (size_t p = 0; p < np; ++p) {
    trivial_ = trivial_ && pinned_[p];
    for (int q : succ_[p]) {
      if (q >= static_cast<int>(np) || q < -1) throw Error("cut block: successor out of range");
      if (q >= 0) pred_[q].push_back(static_cast<int>(p));
    }
  }
  if (trivial_) return;
  graph_ = std::make_unique<Graph>();
  Graph& G = *graph_;
  auto& g = G.g;
  g.reserveNode(static_cast<int>(2 * np + 2));
  g.reserveArc(static_cast<int>(6 * np + 4));
  G.s = g.addNode();
  G.t = g.addNode();
  auto add = [&](lemon::SmartDigraph::Node x, lemon::SmartDigraph::Node y, ArcRole r, int ref) {
    g.addArc(x, y);
    G.role.push_back(r);
    G.ref.push_back(ref);
  };
  for (size_t p = 0; p < np; ++p) G.vnode.push_back(g.addNode());
  for (size_t p = 0; p < np; ++p) {
    const int ip = static_cast<int>(p);
    G.source_arc.push_back(static_cast<int>(G.role.size()));
    add(G.s, G.vnode[p], pinned_[p] ? ArcRole::Infinite : ArcRole::SourceEdge, ip);
    G.sink_arc.push_back(static_cast<int>(G.role.size()));
    add(G.vnode[p], G.t, ArcRole::SinkDevice, ip);
    std::vector<int> real;
    for (int q : succ_[p])
      if (q >= 0 || sink_ == Sink::Real) real.push_back(q);
    if (real.empty()) continue;
    const auto aux = g.addNode();
    add(G.vnode[p], aux, ArcRole::Transfer, ip);
    for (int q : real) {
      add(aux, q < 0 ? G.t : G.vnode[q], ArcRole::Infinite, ip);
      if (q >= 0) add(G.vnode[q], G.vnode[p], ArcRole::Infinite, ip);  // nothing goes back down
    }
  }
}

CutBlock::~CutBlock() = default;

double CutBlock::sent_bytes(const Costs& costs, const std::vector<char>& on_device) const {
  double bytes = 0;
  for (size_t p = 0; p < nodes_.size(); ++p) {
    if (!on_device[p]) continue;
    bool sends = false;
    for (int q : succ_[p]) sends = sends || (q < 0 ? sink_ == Sink::Real : !on_device[q]);
    if (sends) bytes += costs.bytes[nodes_[p]];
  }
  return bytes;
}

double CutBlock::cost_of(const Costs& costs, double bw, const CutWeights& w, const std::vector<char>& on_device) const {
  double cost = 0;
  for (size_t p = 0; p < nodes_.size(); ++p) {
    const int v = nodes_[p];
    cost += on_device[p] ? costs.t_device[v] * w.device : costs.t_edge[v] * w.edge;
  }
  const double bytes = sent_bytes(costs, on_device);
  return bytes > 0 ? cost + send_ms(bytes, bw) * w.transfer : cost;
}

BlockCut CutBlock::solve(const Costs& costs, double bw, const CutWeights& w, int force_edge) const {
  BlockCut r;
  const size_t np = nodes_.size();
  if (force_edge >= 0 && pinned_[force_edge]) return r;  // impossible: empty answer
  r.on_device.assign(np, 1);
  if (!trivial_) {
    const Graph& G = *graph_;
    const int m = static_cast<int>(G.role.size());
    std::vector<double> c(m, 0.0);
    double finite = 0;
    for (int a = 0; a < m; ++a) {
      const int v = nodes_[G.ref[a]];
      switch (G.role[a]) {
        case ArcRole::SourceEdge: c[a] = costs.t_edge[v] * w.edge; break;
        case ArcRole::SinkDevice: c[a] = costs.t_device[v] * w.device; break;
        case ArcRole::Transfer: c[a] = send_ms(costs.bytes[v], bw) * w.transfer; break;
        case ArcRole::Infinite: c[a] = -1; break;
      }
      if (c[a] > 0) finite += c[a];
    }
    if (force_edge >= 0) c[G.sink_arc[force_edge]] = -1;
    // One of a node's two terminal arcs is always cut: subtracting their minimum from both keeps
    // the same minimum cut with less flow to route.
    for (size_t p = 0; p < np; ++p) {
      const int a_src = G.source_arc[p], a_sink = G.sink_arc[p];
      if (c[a_src] < 0 || c[a_sink] < 0) continue;
      const double both = std::min(c[a_src], c[a_sink]);
      c[a_src] -= both;
      c[a_sink] -= both;
    }
    // "Infinite": more than every finite arc together, so no minimum cut ever crosses one.
    const double inf = 2 * finite + 1;
    lemon::SmartDigraph::ArcMap<double> cap(G.g);
    for (int a = 0; a < m; ++a) cap[G.g.arcFromId(a)] = c[a] < 0 ? inf : c[a];
    lemon::Preflow<lemon::SmartDigraph, lemon::SmartDigraph::ArcMap<double>> pf(G.g, cap, G.s, G.t);
    pf.tolerance(lemon::Tolerance<double>(inf * 1e-15));
    pf.runMinCut();
    for (size_t p = 0; p < np; ++p) r.on_device[p] = pf.minCut(G.vnode[p]) ? 1 : 0;
  }
  r.cost = cost_of(costs, bw, w, r.on_device);
  return r;
}

}  // namespace dapdee
