// Heavy load under a deadline (issue 8): exact against the exhaustive oracle on random DAGs with
// single- and multi-head exits, the exit rule with accuracies, and the committed model DAGs.
#include <catch2/catch.hpp>
#include <functional>
#include <iostream>

#include "dapdee/model/profile.hpp"
#include "dapdee/plan/planner.hpp"
#include "dapdee/support/io.hpp"
#include "planner_fixtures.hpp"
#include "test_util.hpp"

using namespace dapdee;
using fixtures::enumerate_all;

namespace {

const fixtures::Shape kShapes[] = {fixtures::Shape::Chain,    fixtures::Shape::Diamond, fixtures::Shape::Inception,
                                   fixtures::Shape::Residual, fixtures::Shape::Dense,   fixtures::Shape::Random};

// Exit rule of docs/COST-MODEL.md over per-exit facts: with every accuracy known, the most accurate exit
// that can meet the deadline (deeper on ties); else the deepest that can; else -1.
int expected_exit(const std::vector<std::optional<double>>& acc, const std::vector<char>& feasible) {
  const int n = static_cast<int>(acc.size());
  const bool all_known = std::all_of(acc.begin(), acc.end(), [](const auto& a) { return a.has_value(); });
  int best = -1;
  for (int k = n - 1; k >= 0; --k) {
    if (!feasible[k]) continue;
    if (!all_known) return k;
    if (best < 0 || *acc[k] > *acc[best]) best = k;
  }
  return best;
}

}  // namespace

TEST_CASE("oracle: heavy plans meet the deadline and equal the constrained optimum", "[planner][oracle][heavy]") {
  std::mt19937_64 rng(20261130);
  const int kDags = 2400;
  long exits_checked = 0, with_deadline = 0, infeasible = 0, multi_head = 0, exit_rule_checked = 0;
  HeavyOptions heavy;
  for (int t = 0; t < kDags; ++t) {
    const auto shape = kShapes[t % 6];
    const int n = std::uniform_int_distribution<int>(2, 16)(rng);
    const Dag dag = fixtures::random_dag(rng, shape, n, t % 2 ? 3 : 1);
    const Costs costs = fixtures::random_costs(rng, dag);
    const Link link{fixtures::log_uniform(rng, 0.01, 1000), std::uniform_real_distribution<double>(0, 100)(rng)};
    Planner planner(dag, costs);
    const int n_exits = static_cast<int>(dag.exits.size());
    // One deadline per DAG, around the final exit's best latency (sometimes none).
    const auto ref = fixtures::oracle(dag, costs, n_exits - 1, link.bandwidth_mbps, link.delay_ms);
    std::optional<double> deadline;
    if (t % 5 != 0) deadline = ref.best_latency * std::uniform_real_distribution<double>(0.5, 3.0)(rng);
    std::vector<char> light_ok(n_exits), heavy_ok(n_exits);
    for (int k = 0; k < n_exits; ++k) {
      INFO("dag " << t << " (" << fixtures::shape_name(shape) << ", " << n << " nodes), exit " << k << " ("
                  << dag.exits[k].nodes.size() << " heads), B " << link.bandwidth_mbps << ", D " << link.delay_ms
                  << ", deadline " << (deadline ? *deadline : -1));
      const auto o = fixtures::oracle(dag, costs, k, link.bandwidth_mbps, link.delay_ms, deadline.value_or(INFINITY));
      const Plan light = planner.plan_exit(k, Method::Dapdee, Mode::Light, link, heavy);
      REQUIRE(light.latency_ms == Approx(o.best_latency).epsilon(1e-9).margin(1e-12));
      const Plan h = planner.plan_exit(k, Method::Dapdee, Mode::Heavy, link, heavy, deadline);
      REQUIRE(h.heavy_search == HeavySearch::Exact);
      REQUIRE(!h.alpha.has_value());
      if (std::isfinite(o.best_tmax_deadline)) {
        REQUIRE(h.latency_ms <= deadline.value_or(INFINITY) * (1 + 1e-12));
        REQUIRE(h.t_max == Approx(o.best_tmax_deadline).epsilon(1e-9).margin(1e-12));
        REQUIRE(h.latency_ms == Approx(o.latency_at_best_deadline).epsilon(1e-9).margin(1e-12));
      } else {
        REQUIRE(h.latency_ms == Approx(o.best_latency).epsilon(1e-9).margin(1e-12));  // the fastest
        ++infeasible;
      }
      light_ok[k] = !deadline || o.best_latency <= *deadline;
      heavy_ok[k] = std::isfinite(o.best_tmax_deadline);
      ++exits_checked;
      with_deadline += deadline.has_value();
      multi_head += dag.exits[k].nodes.size() > 1;
    }
    // The exit rule, with all accuracies known (random, not monotone) or one unknown.
    std::vector<std::optional<double>> acc(n_exits);
    for (auto& a : acc) a = std::uniform_real_distribution<double>(0.5, 0.95)(rng);
    if (t % 3 == 0) acc[std::uniform_int_distribution<int>(0, n_exits - 1)(rng)].reset();
    for (Mode mode : {Mode::Light, Mode::Heavy}) {
      const Plan p = planner.plan(Method::Dapdee, mode, link, deadline, heavy, &acc);
      const int want = expected_exit(acc, mode == Mode::Light ? light_ok : heavy_ok);
      INFO("dag " << t << ", mode " << mode_name(mode));
      if (want >= 0) {
        REQUIRE(p.meets_deadline);
        REQUIRE(p.exit == want);
      } else {
        REQUIRE_FALSE(p.meets_deadline);
      }
      ++exit_rule_checked;
    }
  }
  std::cout << "heavy oracle: " << kDags << " DAGs, " << exits_checked << " exits (" << multi_head
            << " with 2-3 heads), " << with_deadline << " with a deadline, " << infeasible
            << " where no partition meets it; exit rule checked " << exit_rule_checked << " times\n";
  CHECK(multi_head > 500);
  CHECK(infeasible > 50);
}

TEST_CASE("heavy load cuts inside parallel branches where no weighted cut can", "[planner][heavy]") {
  // input -> s -> (a1 -> a2), (b1 -> b2) -> c. The tensors after a1 and b1 are small; the device is
  // slow, the edge fast. The best pipeline keeps only a1 and b1 on the device.
  Dag dag;
  dag.model = "branches";
  auto add = [&](const std::string& name, std::vector<std::string> in, int64_t bytes) {
    Node n;
    n.name = name;
    n.op = in.empty() ? "Input" : "Op";
    n.inputs = std::move(in);
    n.out_bytes = bytes;
    dag.nodes.push_back(n);
  };
  add("input", {}, 1000000);
  add("s", {"input"}, 800000);
  add("a1", {"s"}, 1000);
  add("b1", {"s"}, 1000);
  add("a2", {"a1"}, 1000);
  add("b2", {"b1"}, 1000);
  add("c", {"a2", "b2"}, 10);
  dag.exits.push_back(single_exit("final", "c"));
  REQUIRE_FALSE(finalize(dag).has_value());
  Costs c{{0, 5, 5, 5, 20, 20, 1}, {0, 2, 2, 2, 6, 6, 1}, {1000000, 800000, 1000, 1000, 1000, 1000, 10}};
  Planner planner(dag, c);
  const Link link{8, 10};
  const auto o = fixtures::oracle(dag, c, 0, link.bandwidth_mbps, link.delay_ms);
  const Plan h = planner.plan_exit(0, Method::Dapdee, Mode::Heavy, link, HeavyOptions{});
  CHECK(h.t_max == Approx(o.best_tmax));
  CHECK(h.heavy_search == HeavySearch::Exact);
  // DADS's weighted cuts alone, on the same graph, can only be worse or equal.
  const Plan d = planner.plan_exit(0, Method::Dads, Mode::Heavy, link, HeavyOptions{});
  CHECK(d.t_max >= h.t_max);
}

TEST_CASE("a heuristic heavy plan past the enumeration limit reports a proven lower bound", "[planner][heavy]") {
  std::mt19937_64 rng(7);
  int checked = 0;
  for (int t = 0; t < 300; ++t) {
    const Dag dag = fixtures::random_dag(rng, kShapes[t % 6], std::uniform_int_distribution<int>(6, 16)(rng), 2);
    const Costs costs = fixtures::random_costs(rng, dag);
    const Link link{fixtures::log_uniform(rng, 0.01, 1000), 10};
    Planner planner(dag, costs, PlannerOptions{2});
    for (int k = 0; k < static_cast<int>(dag.exits.size()); ++k) {
      if (planner.heavy_stats(k).exact) continue;
      const auto o = fixtures::oracle(dag, costs, k, link.bandwidth_mbps, link.delay_ms);
      const Plan h = planner.plan_exit(k, Method::Dapdee, Mode::Heavy, link, HeavyOptions{});
      INFO("dag " << t << " exit " << k);
      REQUIRE(h.heavy_search == HeavySearch::Heuristic);
      REQUIRE(h.t_max_lower_bound.has_value());
      REQUIRE(*h.t_max_lower_bound <= o.best_tmax * (1 + 1e-9));
      REQUIRE(h.t_max >= o.best_tmax * (1 - 1e-9));
      ++checked;
    }
  }
  CHECK(checked > 100);
}

namespace {

}  // namespace

TEST_CASE("heavy plans of the committed model DAGs equal a full enumeration", "[planner][heavy][reference]") {
  const std::string root = test_util::source_dir() + "/profiles";
  const std::vector<std::string> models = {"alexnet", "vgg16", "resnet18", "googlenet", "mobilenet_v2", "inception_v3",
                                           "ee_alexnet", "ee_vgg16", "ee_resnet18", "ee_inception"};
  const double bws[] = {0.13, 1.1, 5.85, 18.88, 50, 200};
  for (const auto& m : models) {
    const Dag dag = parse_dag(read_input(root + "/dags/" + m + ".dag.json"), m);
    const std::string measured = root + "/measured/" + m + ".opencv-1t.json";
    const std::vector<std::pair<std::string, std::string>> pairs = {
        {root + "/predicted/" + m + ".rpi4.json", root + "/predicted/" + m + ".edge-t4.json"},
        {measured, root + "/predicted/" + m + ".edge-t4.json"}};
    for (const auto& [dev, edge] : pairs) {
      const Profile pd = load_profile(dev), pe = load_profile(edge);
      CostBuild cb = costs_from_profiles(dag, pd, pe);
      const Costs costs = cb.costs;
      Planner planner(dag, std::move(cb.costs));
      for (int k = 0; k < static_cast<int>(dag.exits.size()); ++k) {
        const auto stats = planner.heavy_stats(k);
        REQUIRE(stats.exact);
        // Every partition once, at 1 Mbit/s: T_t scales as 1/B.
        struct P {
          double td, tt1, te;
          bool sends;
        };
        std::vector<P> all;
        long count = 0;
        REQUIRE(enumerate_all(dag, costs, k, 1.0, 0, 3000000,
                              [&](double td, double tt, double te, bool s) { all.push_back({td, tt, te, s}); }, count));
        if (dev == pairs[0].first)
          std::cout << "enumeration: " << m << " exit " << dag.exits[k].name << ": " << count
                    << " partitions of G_k; planner enumerated " << stats.enumerated << " (largest block "
                    << stats.largest_block << "), kept " << stats.kept << " on the Pareto front\n";
        for (double bw : bws) {
          // Deadlines: none, and between the light optimum and device-only.
          const Plan light = planner.plan_exit(k, Method::Dapdee, Mode::Light, Link{bw, 20}, HeavyOptions{});
          const Plan dev_only = planner.plan_exit(k, Method::DeviceOnly, Mode::Light, Link{bw, 20}, HeavyOptions{});
          for (double f : {-1.0, 0.0, 0.3, 1.0}) {
            std::optional<double> deadline;
            if (f >= 0) deadline = light.latency_ms + f * std::max(0.0, dev_only.latency_ms - light.latency_ms);
            double best = INFINITY, best_lat = INFINITY;
            for (const P& p : all) {
              const double tt = p.tt1 / bw, lat = p.td + tt + p.te + (p.sends ? 20.0 : 0.0);
              const double mx = std::max({p.td, tt, p.te});
              if (deadline && lat > *deadline * (1 + 1e-12)) continue;
              if (mx < best || (mx == best && lat < best_lat)) {
                best = mx;
                best_lat = lat;
              }
            }
            const Plan h = planner.plan_exit(k, Method::Dapdee, Mode::Heavy, Link{bw, 20}, HeavyOptions{}, deadline);
            INFO(m << " exit " << k << " B " << bw << " deadline " << (deadline ? *deadline : -1) << ", " << count
                   << " partitions");
            REQUIRE(h.heavy_search == HeavySearch::Exact);
            REQUIRE(h.latency_ms <= deadline.value_or(INFINITY) * (1 + 1e-9));
            REQUIRE(h.t_max == Approx(best).epsilon(1e-9));
          }
        }
      }
    }
  }
}
