#include <catch2/catch.hpp>
#include <iostream>

#include "dapdee/plan/planner.hpp"
#include "planner_fixtures.hpp"

using namespace dapdee;

namespace {

Dag make_dag(const std::vector<std::pair<std::string, std::vector<std::string>>>& spec,
             const std::vector<int64_t>& bytes, const std::string& exit_node) {
  Dag dag;
  dag.model = "hand";
  for (size_t i = 0; i < spec.size(); ++i) {
    Node n;
    n.name = spec[i].first;
    n.op = i == 0 ? "Input" : "Op";
    n.inputs = spec[i].second;
    n.out_bytes = bytes[i];
    dag.nodes.push_back(n);
  }
  dag.exits.push_back(single_exit("final", exit_node));
  REQUIRE_FALSE(finalize(dag).has_value());
  return dag;
}

std::vector<std::string> names(const Dag& dag, const std::vector<int>& ids) {
  std::vector<std::string> out;
  for (int v : ids) out.push_back(dag.nodes[v].name);
  return out;
}

// Independent recomputation of a plan's times from V_d and V_e alone.
void check_plan_consistent(const Dag& dag, const Costs& c, const Plan& p, const Link& link) {
  const auto in_gk = exit_subgraph(dag, p.exit);
  std::vector<char> dev(dag.nodes.size(), 0), edge(dag.nodes.size(), 0);
  for (int v : p.v_d) dev[v] = 1;
  for (int v : p.v_e) edge[v] = 1;
  size_t count = 0;
  for (size_t v = 0; v < dag.nodes.size(); ++v) {
    if (!in_gk[v]) {
      REQUIRE_FALSE(dev[v]);
      REQUIRE_FALSE(edge[v]);
      continue;
    }
    ++count;
    REQUIRE(dev[v] + edge[v] == 1);  // a partition of G_k
    if (dag.nodes[v].op == "Input") REQUIRE(dev[v]);
    if (dev[v])
      for (int u : dag.nodes[v].input_ids) REQUIRE(dev[u]);  // closed under predecessors
  }
  REQUIRE(count == p.v_d.size() + p.v_e.size());
  double td = 0, te = 0, tt = 0;
  std::vector<int> sent;
  for (int v : p.v_d) {
    td += c.t_device[v];
    bool s = false;
    for (int w : p.v_e)
      for (int u : dag.nodes[w].input_ids) s = s || u == v;
    if (s) {
      sent.push_back(v);
      tt += c.bytes[v] * 8.0 / (link.bandwidth_mbps * 1e6) * 1000.0;
    }
  }
  for (int v : p.v_e) te += c.t_edge[v];
  REQUIRE(sent == p.v_s);
  REQUIRE(p.t_d == Approx(td).epsilon(1e-12).margin(1e-12));
  REQUIRE(p.t_t == Approx(tt).epsilon(1e-12).margin(1e-12));
  REQUIRE(p.t_e == Approx(te).epsilon(1e-12).margin(1e-12));
  REQUIRE(p.latency_ms == Approx(td + tt + te + (sent.empty() ? 0.0 : link.delay_ms)).epsilon(1e-12).margin(1e-12));
  REQUIRE(p.t_max == Approx(std::max({td, tt, te})).epsilon(1e-12).margin(1e-12));
}

}  // namespace

TEST_CASE("4-node chain, computed by hand", "[planner][golden]") {
  // input -> a -> b -> c; 8 Mbit/s, so bytes/1000 = ms on the link.
  const Dag dag = make_dag({{"input", {}}, {"a", {"input"}}, {"b", {"a"}}, {"c", {"b"}}}, {1000000, 100000, 1000, 0}, "c");
  Costs c{{0, 10, 10, 10}, {0, 1, 1, 1}, {1000000, 100000, 1000, 0}};
  Planner planner(dag, c);
  const Link link{8, 5};
  // device-only 30; cut after input 1008; after a 117; after b 20 + 1 + 1 + 5 = 27.
  const Plan p = planner.plan(Method::Dapdee, Mode::Light, link, std::nullopt, {});
  CHECK(names(dag, p.v_d) == std::vector<std::string>{"input", "a", "b"});
  CHECK(names(dag, p.v_s) == std::vector<std::string>{"b"});
  CHECK(names(dag, p.v_e) == std::vector<std::string>{"c"});
  CHECK(p.t_d == Approx(20));
  CHECK(p.t_t == Approx(1));
  CHECK(p.t_e == Approx(1));
  CHECK(p.latency_ms == Approx(27));
  CHECK(p.t_max == Approx(20));
  // A deadline below 27 cannot be met: the fastest plan comes back flagged.
  const Plan q = planner.plan(Method::Dapdee, Mode::Light, link, 26.0, {});
  CHECK_FALSE(q.meets_deadline);
  CHECK(q.latency_ms == Approx(27));
  // With a 1 s delay, running everything on the device (30 ms) wins.
  const Plan r = planner.plan(Method::Dapdee, Mode::Light, Link{8, 1000}, std::nullopt, {});
  CHECK(r.v_e.empty());
  CHECK(r.latency_ms == Approx(30));
  // Baselines on the same chain.
  CHECK(planner.plan(Method::DeviceOnly, Mode::Light, link, std::nullopt, {}).latency_ms == Approx(30));
  CHECK(planner.plan(Method::EdgeOnly, Mode::Light, link, std::nullopt, {}).latency_ms == Approx(1008));
  CHECK(planner.plan(Method::Neurosurgeon, Mode::Light, link, std::nullopt, {}).latency_ms == Approx(27));
}

TEST_CASE("diamond, computed by hand: a tensor read twice is sent once", "[planner][golden]") {
  // input -> a -> (b, c) -> d
  const Dag dag = make_dag({{"input", {}}, {"a", {"input"}}, {"b", {"a"}}, {"c", {"a"}}, {"d", {"b", "c"}}},
                           {1000000, 3000, 2000, 2000, 0}, "d");
  Costs c{{0, 4, 6, 6, 4}, {0, 1, 1, 1, 1}, {1000000, 3000, 2000, 2000, 0}};
  Planner planner(dag, c);
  const Plan p = planner.plan(Method::Dapdee, Mode::Light, Link{8, 0}, std::nullopt, {});
  // Cut after a: T_d 4, T_t 3 (once, not 6), T_e 3.
  CHECK(names(dag, p.v_d) == std::vector<std::string>{"input", "a"});
  CHECK(names(dag, p.v_s) == std::vector<std::string>{"a"});
  CHECK(p.t_t == Approx(3));
  CHECK(p.latency_ms == Approx(10));
}

TEST_CASE("oracle: min-cut plans are exact and valid on random DAGs", "[planner][oracle]") {
  std::mt19937_64 rng(20251129);
  const int kDags = 2400;
  double gap_sum = 0, gap_worst = 0;
  int heavy_checked = 0, exits_checked = 0;
  long partitions = 0;
  const fixtures::Shape shapes[] = {fixtures::Shape::Chain,    fixtures::Shape::Diamond, fixtures::Shape::Inception,
                                    fixtures::Shape::Residual, fixtures::Shape::Dense,   fixtures::Shape::Random};
  HeavyOptions heavy;
  for (int t = 0; t < kDags; ++t) {
    const auto shape = shapes[t % 6];
    const int n = std::uniform_int_distribution<int>(2, 16)(rng);
    const Dag dag = fixtures::random_dag(rng, shape, n);
    const Costs costs = fixtures::random_costs(rng, dag);
    const Link link{fixtures::log_uniform(rng, 0.01, 1000), std::uniform_real_distribution<double>(0, 100)(rng)};
    Planner planner(dag, costs);
    for (int k = 0; k < static_cast<int>(dag.exits.size()); ++k) {
      INFO("dag " << t << " (" << fixtures::shape_name(shape) << ", " << n << " nodes), exit " << k << ", B "
                  << link.bandwidth_mbps << ", D " << link.delay_ms);
      const auto o = fixtures::oracle(dag, costs, k, link.bandwidth_mbps, link.delay_ms);
      partitions += o.partitions;
      const Plan light = planner.plan_exit(k, Method::Dapdee, Mode::Light, link, heavy);
      check_plan_consistent(dag, costs, light, link);
      REQUIRE(light.latency_ms == Approx(o.best_latency).epsilon(1e-9).margin(1e-12));
      ++exits_checked;
      // Chain baselines can only be worse or equal.
      const Plan ns = planner.plan_exit(k, Method::Neurosurgeon, Mode::Light, link, heavy);
      check_plan_consistent(dag, costs, ns, link);
      REQUIRE(ns.latency_ms >= light.latency_ms * (1 - 1e-12));
      if (t % 4 == 0) {  // heavy load on a quarter of the DAGs (it solves ~100 cuts each)
        const Plan h = planner.plan_exit(k, Method::Dapdee, Mode::Heavy, link, heavy);
        check_plan_consistent(dag, costs, h, link);
        REQUIRE(h.t_max <= light.t_max * (1 + 1e-12));
        REQUIRE(h.t_max >= o.best_tmax * (1 - 1e-12));
        const double gap = o.best_tmax > 0 ? h.t_max / o.best_tmax - 1 : 0;
        gap_sum += gap;
        gap_worst = std::max(gap_worst, gap);
        ++heavy_checked;
      }
    }
  }
  std::cout << "oracle: " << kDags << " DAGs, " << exits_checked << " exits, " << partitions
            << " partitions enumerated; heavy gap to optimum over " << heavy_checked
            << " exits: mean " << 100 * gap_sum / heavy_checked << "%, worst " << 100 * gap_worst << "%\n";
  CHECK(exits_checked >= kDags);
}

TEST_CASE("exit search: deepest exit meeting the deadline (Algorithm 4)", "[planner]") {
  // input -> a -> b -> c(final); exit1 at a. Device-only everything (edge very slow).
  const Dag base = make_dag({{"input", {}}, {"a", {"input"}}, {"b", {"a"}}, {"c", {"b"}}}, {100, 100, 100, 0}, "c");
  Dag dag = base;
  dag.exits = {single_exit("exit1", "a", 0.6), single_exit("final", "c", 0.9)};
  REQUIRE_FALSE(finalize(dag).has_value());
  Costs c{{0, 10, 10, 10}, {0, 1000, 1000, 1000}, {100, 100, 100, 0}};
  Planner planner(dag, c);
  const Link link{1, 0};
  CHECK(planner.plan(Method::Dapdee, Mode::Light, link, 100.0, {}).exit == 1);
  const Plan p = planner.plan(Method::Dapdee, Mode::Light, link, 15.0, {});
  CHECK(p.exit == 0);
  CHECK(p.meets_deadline);
  CHECK(p.latency_ms == Approx(10));
  const Plan q = planner.plan(Method::Dapdee, Mode::Light, link, 5.0, {});
  CHECK_FALSE(q.meets_deadline);
  CHECK(q.exit == 0);  // the fastest
  CHECK(planner.plan(Method::Dads, Mode::Light, link, 15.0, {}).exit == 1);  // no exits: final
}

TEST_CASE("load score and auto mode", "[planner]") {
  LoadMetrics idle;
  idle.bandwidth_mbps = 20;
  CHECK(resolve_mode(Mode::Auto, idle) == Mode::Light);
  LoadMetrics busy;
  busy.cpu = 0.9;
  busy.memory = 0.8;
  busy.battery = 0.2;
  busy.priority = 0.2;
  busy.bandwidth_mbps = 1;
  CHECK(load_score(busy) >= 0.4);
  CHECK(resolve_mode(Mode::Auto, busy) == Mode::Heavy);
  busy.priority = 1.0;
  CHECK(resolve_mode(Mode::Auto, busy) == Mode::Light);
  CHECK(resolve_mode(Mode::Heavy, idle) == Mode::Heavy);
}
