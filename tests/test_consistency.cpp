// Self-consistent profiles (issue 26): the node sum (plus the fixed cost) against the whole-model
// median, re-measured up to a budget, then marked or refused.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <vector>

#include "dapdee/model/consistency.hpp"
#include "dapdee/model/dag.hpp"
#include "dapdee/model/profile.hpp"
#include "dapdee/model/profile_check.hpp"
#include "dapdee/support/io.hpp"
#include "dapdee/support/error.hpp"

namespace {

// A measurement sequence: each call returns the next (node sum, whole) pair.
struct Sequence {
  std::vector<dapdee::SumVsWhole> figures;
  size_t calls = 0;
  dapdee::SumVsWhole operator()() { return figures.at(calls++); }
};

}  // namespace

TEST_CASE("the node sum plus the fixed cost is held to the whole-model median within 10%", "[profile][consistency]") {
  CHECK(dapdee::SumVsWhole{92, 0, 100}.agrees(10));
  CHECK_FALSE(dapdee::SumVsWhole{70, 0, 100}.agrees(10));
  CHECK(dapdee::SumVsWhole{85, 10, 100}.agrees(10));  // the fixed cost closes the gap
  CHECK(dapdee::SumVsWhole{63, 0, 100}.gap_pct() == Approx(-37));
  CHECK(dapdee::SumVsWhole{5, 0, 0}.gap_pct() == 0);
}

TEST_CASE("a disagreeing measurement is repeated until it agrees or the budget is spent", "[profile][consistency]") {
  Sequence settles{{{63, 0, 100}, {75, 0, 100}, {96, 0, 100}}};
  const auto c = dapdee::measure_until_consistent(std::ref(settles), 2);
  CHECK(c.consistent());
  CHECK(c.measurements == 3);
  CHECK(c.last.node_sum_ms == 96);

  Sequence never{{{63, 0, 100}, {70, 0, 100}, {66, 0, 100}, {99, 0, 100}}};
  const auto d = dapdee::measure_until_consistent(std::ref(never), 2);
  CHECK_FALSE(d.consistent());
  CHECK(d.measurements == 3);
  CHECK(never.calls == 3);  // the budget: one measurement and two more, no fourth

  Sequence at_once{{{99, 0, 100}}};
  CHECK(dapdee::measure_until_consistent(std::ref(at_once), 2).measurements == 1);
  CHECK_THROWS_AS(dapdee::measure_until_consistent(std::ref(at_once), -1), dapdee::Error);
}

TEST_CASE("an inconsistent profile records both figures and says so", "[profile][consistency]") {
  Sequence never{{{63, 0, 100}}};
  const auto c = dapdee::measure_until_consistent(std::ref(never), 0);
  const auto j = nlohmann::json::parse(dapdee::consistency_json(c));
  CHECK(j["consistent"] == false);
  CHECK(j["node_sum_ms"] == 63);
  CHECK(j["whole_ms"] == 100);
  CHECK(j["measurements"] == 1);
  CHECK(j["tolerance_pct"] == 10);
  const std::string m = dapdee::consistency_message(c);
  CHECK(m.find("63.000 ms") != std::string::npos);
  CHECK(m.find("100.000 ms") != std::string::npos);
  CHECK(m.find("-37.0%") != std::string::npos);
}

TEST_CASE("dapdee-plan's profile checks warn about a profile marked inconsistent", "[profile][consistency]") {
  const std::string root = DAPDEE_SOURCE_DIR;
  const std::string dag_path = root + "/profiles/dags/resnet18.dag.json";
  const auto dag = dapdee::parse_dag(dapdee::read_input(dag_path), dag_path);
  auto j = nlohmann::json::parse(dapdee::read_input(root + "/profiles/measured/resnet18.opencv-1t.json"));
  const auto edge = dapdee::parse_profile(j.dump(), "edge.json");
  j["consistency"] = {{"consistent", false}, {"node_sum_ms", 60.0}, {"whole_ms", 91.9}, {"measurements", 3}};
  const auto device = dapdee::parse_profile(j.dump(), "device.json");
  CHECK(device.inconsistent);
  CHECK_FALSE(edge.inconsistent);
  bool warned = false;
  for (const auto& w : dapdee::check_profile_pair(dag, device, edge))
    if (w.find("device.json: the profile is marked inconsistent") != std::string::npos &&
        w.find("60.000 ms") != std::string::npos)
      warned = true;
  CHECK(warned);
}
