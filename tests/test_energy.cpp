// Device energy (issue 24): the energy of a partition against its formula, and the least-energy
// plan, the least energy under a deadline, the fastest plan within a budget and the (latency,
// energy) Pareto front against an exhaustive enumeration of every partition of random DAGs.
#include <catch2/catch.hpp>
#include <algorithm>
#include <iostream>
#include <random>

#include "dapdee/plan/energy.hpp"
#include "dapdee/plan/planner.hpp"
#include "planner_fixtures.hpp"

using namespace dapdee;

namespace {

// LTE figures of Huang et al. (MobiSys 2012) with a Raspberry-Pi-like device (profiles/power/).
DevicePower lte_pi() { return DevicePower{6.4, 2.7, 0.43839, 1.28804, 1.060, 11.576}; }

struct Part {
  double td, tt, te;
  bool sends;
};

double energy(const DevicePower& p, const Link& l, const Part& x) {
  const double lat = x.td + x.tt + x.te + (x.sends ? l.delay_ms : 0.0);
  return frame_energy(p, x.td, x.tt, lat, x.sends, l.bandwidth_mbps).total();
}
double latency(const Link& l, const Part& x) { return x.td + x.tt + x.te + (x.sends ? l.delay_ms : 0.0); }

}  // namespace

TEST_CASE("energy of a partition: compute, radio, idle and tail as the formula says", "[energy]") {
  const DevicePower p = lte_pi();
  // 10 ms on the device, 20 ms on a 5 Mbit/s uplink, 30 ms waiting for the result.
  const EnergyBreakdown e = frame_energy(p, 10, 20, 60, true, 5);
  CHECK(e.compute == Approx(64.0));
  CHECK(e.radio == Approx((0.43839 * 5 + 1.28804) * 20));
  CHECK(e.idle == Approx(2.7 * 30));
  CHECK(e.tail == Approx(1000 * 1.060 * 11.576));
  const EnergyBreakdown d = frame_energy(p, 50, 0, 50, false, 5);  // device only: no radio, no tail
  CHECK(d.radio == 0);
  CHECK(d.tail == 0);
  CHECK(d.total() == Approx(320.0));
  // A stream at 10 fps: the tail lasts at most the 100 ms period less the transfer.
  const EnergyBreakdown s = stream_energy(p, 10, 20, true, 5, 100);
  CHECK(s.tail == Approx(1.060 * 80));
  CHECK(s.idle == Approx(2.7 * 70));
}

TEST_CASE("oracle: energy plans equal an exhaustive enumeration on random DAGs", "[energy][oracle]") {
  std::mt19937_64 rng(20261208);
  const fixtures::Shape shapes[] = {fixtures::Shape::Chain,    fixtures::Shape::Diamond, fixtures::Shape::Inception,
                                    fixtures::Shape::Residual, fixtures::Shape::Dense,   fixtures::Shape::Random};
  int checked = 0, offloaded = 0, infeasible = 0;
  for (int t = 0; t < 600; ++t) {
    const int n = std::uniform_int_distribution<int>(2, 13)(rng);
    const Dag dag = fixtures::random_dag(rng, shapes[t % 6], n, t % 2 ? 3 : 1);
    const Costs costs = fixtures::random_costs(rng, dag);
    const Link link{fixtures::log_uniform(rng, 0.05, 1000), std::uniform_real_distribution<double>(0, 50)(rng)};
    // Powers from battery devices to a radio whose tail is negligible (WiFi-like), so both sides win.
    DevicePower pw{fixtures::log_uniform(rng, 0.5, 20),   fixtures::log_uniform(rng, 0.05, 5),
                   fixtures::log_uniform(rng, 0.01, 1),   fixtures::log_uniform(rng, 0.05, 2),
                   fixtures::log_uniform(rng, 0.01, 1.5), t % 3 ? 0.0005 : 11.576};
    const Planner planner(dag, costs);
    const int k = static_cast<int>(dag.exits.size()) - 1;
    std::vector<Part> all;
    long count = 0;
    REQUIRE(fixtures::enumerate_all(
        dag, costs, k, link.bandwidth_mbps, link.delay_ms, 100000,
        [&](double td, double tt, double te, bool s) {
          all.push_back({td, tt, te, s});
        },
        count));
    INFO("dag " << t << ", " << n << " nodes");
    double least = INFINITY, fastest = INFINITY;
    for (const Part& x : all) {
      least = std::min(least, energy(pw, link, x));
      fastest = std::min(fastest, latency(link, x));
    }
    const Plan e = planner.plan_energy(k, link, pw, std::nullopt);
    REQUIRE(e.energy->total() == Approx(least).epsilon(1e-9));
    offloaded += e.v_s.empty() ? 0 : 1;
    // A deadline between the fastest partition and the least-energy one's latency.
    const double deadline =
        fastest + std::uniform_real_distribution<double>(0, 1)(rng) * std::max(0.0, e.latency_ms - fastest);
    double least_in = INFINITY;
    for (const Part& x : all)
      if (latency(link, x) <= deadline) least_in = std::min(least_in, energy(pw, link, x));
    const Plan d = planner.plan_energy(k, link, pw, deadline);
    REQUIRE(d.heavy_search == HeavySearch::Exact);
    REQUIRE(d.meets_deadline);
    REQUIRE(d.energy->total() == Approx(least_in).epsilon(1e-9));
    // A budget between the least energy and 3x it.
    const double budget = least * (1 + 2 * std::uniform_real_distribution<double>(0, 1)(rng));
    double fastest_in = INFINITY;
    for (const Part& x : all)
      if (energy(pw, link, x) <= budget) fastest_in = std::min(fastest_in, latency(link, x));
    const Plan b = planner.plan_budget(k, link, pw, budget);
    REQUIRE(b.meets_budget);
    REQUIRE(b.latency_ms == Approx(fastest_in).epsilon(1e-9));
    const Plan none = planner.plan_budget(k, link, pw, least * 0.5);  // no partition fits: the least energy
    REQUIRE_FALSE(none.meets_budget);
    REQUIRE(none.energy->total() == Approx(least).epsilon(1e-9));
    ++infeasible;
    // The front: every point non-dominated, and every partition dominated by (or equal to) a point.
    const auto front = planner.energy_front(k, link, pw);
    REQUIRE(!front.empty());
    for (size_t i = 1; i < front.size(); ++i) {
      REQUIRE(front[i].latency_ms > front[i - 1].latency_ms);
      REQUIRE(front[i].energy->total() < front[i - 1].energy->total());
    }
    for (const Part& x : all) {
      const bool covered = std::any_of(front.begin(), front.end(), [&](const Plan& f) {
        return f.latency_ms <= latency(link, x) * (1 + 1e-12) + 1e-12 &&
               f.energy->total() <= energy(pw, link, x) * (1 + 1e-12) + 1e-12;
      });
      REQUIRE(covered);
    }
    ++checked;
  }
  std::cout << "energy oracle: " << checked << " random DAGs, " << offloaded << " least-energy plans offload, "
            << infeasible << " infeasible budgets\n";
  CHECK(offloaded > 50);
  CHECK(offloaded < checked - 50);
}

TEST_CASE("energy past the exact limit: the Lagrangian bound holds and the plan meets its deadline", "[energy]") {
  std::mt19937_64 rng(7);
  int bounded = 0;
  for (int t = 0; t < 60; ++t) {
    const Dag dag = fixtures::random_dag(rng, fixtures::Shape::Dense, 12, 1);
    const Costs costs = fixtures::random_costs(rng, dag);
    const Link link{fixtures::log_uniform(rng, 0.5, 100), 10};
    const DevicePower pw{5, 1, 0.3, 1, 0.5, 0.001};
    const Planner exact(dag, costs);
    PlannerOptions tight;
    tight.heavy_exact_limit = 2;  // every block past the limit: the heuristic answers
    const Planner heuristic(dag, costs, tight);
    const int k = static_cast<int>(dag.exits.size()) - 1;
    const double deadline = exact.plan_exit(k, Method::Dapdee, Mode::Light, link, HeavyOptions{}).latency_ms * 1.3;
    const Plan truth = exact.plan_energy(k, link, pw, deadline);
    const Plan h = heuristic.plan_energy(k, link, pw, deadline);
    REQUIRE(h.heavy_search == HeavySearch::Heuristic);
    REQUIRE(h.meets_deadline);
    REQUIRE(h.energy->total() >= truth.energy->total() - 1e-9);
    if (h.energy_lower_bound_mj) {
      REQUIRE(*h.energy_lower_bound_mj <= truth.energy->total() + 1e-6);
      ++bounded;
    }
  }
  CHECK(bounded > 30);
}
