// Bandwidth breakpoints (issue 8): the map of the light plan against point-by-point planning.
#include <catch2/catch.hpp>
#include <cmath>
#include <iostream>

#include "dapdee/model/profile.hpp"
#include "dapdee/plan/breakpoints.hpp"
#include "dapdee/support/io.hpp"
#include "planner_fixtures.hpp"
#include "test_util.hpp"

using namespace dapdee;

namespace {

// Checks the map of one exit at `points` log-spaced bandwidths in [lo, hi]; returns ties seen.
int check_map(const Planner& planner, int k, double delay, double lo, double hi, int points,
              const std::vector<BandwidthInterval>& map) {
  REQUIRE_FALSE(map.empty());
  CHECK(map.front().bw_lo == Approx(lo));
  for (size_t i = 1; i < map.size(); ++i) {
    REQUIRE(map[i].bw_lo == Approx(map[i - 1].bw_hi).epsilon(1e-12));  // contiguous, increasing
    REQUIRE(map[i].on_device != map[i - 1].on_device);                  // consecutive intervals differ
  }
  int ties = 0;
  const double top = std::isinf(hi) ? 1e4 : hi;
  for (int i = 0; i < points; ++i) {
    const double bw = std::exp(std::log(lo) + (std::log(top) - std::log(lo)) * i / (points - 1));
    const Link link{bw, delay};
    const Plan direct = planner.plan_exit(k, Method::Dapdee, Mode::Light, link, HeavyOptions{});
    const Plan mapped = planner.finish(k, Method::Dapdee, Mode::Light, interval_at(map, bw).on_device, link);
    INFO("exit " << k << " at " << bw << " Mbit/s");
    REQUIRE(mapped.latency_ms == Approx(direct.latency_ms).epsilon(1e-9));
    if (mapped.v_d != direct.v_d) ++ties;  // equal latency, another partition: an exact tie
  }
  return ties;
}

}  // namespace

TEST_CASE("breakpoints equal point-by-point plans on random DAGs", "[planner][breakpoints]") {
  std::mt19937_64 rng(424242);
  long intervals = 0;
  for (int t = 0; t < 300; ++t) {
    const Dag dag = fixtures::random_dag(rng, static_cast<fixtures::Shape>(t % 6),
                                         std::uniform_int_distribution<int>(2, 16)(rng), t % 2 ? 3 : 1);
    const Costs costs = fixtures::random_costs(rng, dag);
    Planner planner(dag, costs);
    const double delay = std::uniform_real_distribution<double>(0, 50)(rng);
    for (int k = 0; k < static_cast<int>(dag.exits.size()); ++k) {
      const auto map = light_breakpoints(planner, k, delay, 0.01, INFINITY);
      intervals += static_cast<long>(map.size());
      check_map(planner, k, delay, 0.01, INFINITY, 200, map);
    }
  }
  CHECK(intervals > 300);
}

TEST_CASE("breakpoints of the committed model DAGs at 10,000 bandwidths", "[planner][breakpoints][reference]") {
  const std::string root = test_util::source_dir() + "/profiles";
  for (const std::string m : {"alexnet", "vgg16", "resnet18", "googlenet", "mobilenet_v2", "inception_v3", "vit_b_16",
                              "ee_alexnet", "ee_vgg16", "ee_resnet18", "ee_inception"}) {
    const Dag dag = parse_dag(read_input(root + "/dags/" + m + ".dag.json"), m);
    const std::string measured = m == "vit_b_16" ? root + "/predicted/vit_b_16.opencv-1t-fit.json"
                                                 : root + "/measured/" + m + ".opencv-1t.json";
    for (const std::string& device : {root + "/predicted/" + m + ".rpi4.json", measured}) {
    const Profile dev = load_profile(device);
    const Profile edge = load_profile(root + "/predicted/" + m + ".edge-t4.json");
    Planner planner(dag, costs_from_profiles(dag, dev, edge).costs);
    const std::string pair = device == measured ? "measured/opencv-1t" : "predicted/rpi4";
    for (int k = 0; k < static_cast<int>(dag.exits.size()); ++k) {
      long cuts = 0;
      const auto map = light_breakpoints(planner, k, 20, 0.01, INFINITY, &cuts);
      const int ties = check_map(planner, k, 20, 0.01, INFINITY, 10000, map);
      std::cout << "breakpoints: " << m << " (" << pair << " vs edge-t4) exit " << dag.exits[k].name << ": " << map.size() - 1
                << " breakpoint(s) in 0.01..inf Mbit/s from " << cuts << " cuts; 10,000 points agree (" << ties
                << " exact ties)\n";
    }
    }
  }
}
