#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>

#include "dapdee/plan/sweep.hpp"
#include "dapdee/render/render.hpp"
#include "planner_fixtures.hpp"

using namespace dapdee;

TEST_CASE("range and list parsing", "[sweep]") {
  auto lin = parse_values("10:500:50");
  REQUIRE(lin.ok());
  CHECK(lin.value().size() == 50);
  CHECK(lin.value().front() == 10);
  CHECK(lin.value().back() == Approx(500));
  auto lg = parse_values("0.05:20:100log");
  REQUIRE(lg.ok());
  CHECK(lg.value().size() == 100);
  CHECK(lg.value()[0] == Approx(0.05));
  CHECK(lg.value()[99] == Approx(20));
  CHECK(lg.value()[50] / lg.value()[49] == Approx(lg.value()[1] / lg.value()[0]));
  const auto list = parse_values("1,2.5,4");
  REQUIRE(list.ok());
  CHECK(list.value() == std::vector<double>{1, 2.5, 4});
  const auto single = parse_values("7");
  REQUIRE(single.ok());
  CHECK(single.value() == std::vector<double>{7});
  CHECK_FALSE(parse_values("a").ok());
  CHECK_FALSE(parse_values("1:2").ok());
  CHECK_FALSE(parse_values("0:2:5log").ok());
  CHECK_FALSE(parse_values("1:2:0").ok());
  CHECK_FALSE(parse_values("1,,2").ok());
}

TEST_CASE("sweeps are deterministic and equal across thread counts", "[sweep]") {
  std::mt19937_64 rng(7);
  const Dag dag = fixtures::random_dag(rng, fixtures::Shape::Inception, 40);
  const Costs costs = fixtures::random_costs(rng, dag);
  Planner planner(dag, costs);
  SweepSpec spec;
  spec.networks = {{"A", 1, 10}, {"B", 5, 20}};
  spec.bandwidths = parse_values("0.1:100:17log").value();
  spec.deadlines.clear();
  for (double d : parse_values("1:2000:9").value()) spec.deadlines.emplace_back(d);
  spec.threads = 1;
  const auto one = render_points(dag, run_sweep(planner, spec), Format::Json);
  spec.threads = 2;
  const auto two = render_points(dag, run_sweep(planner, spec), Format::Json);
  CHECK(one == two);
  CHECK(std::count(one.begin(), one.end(), '\n') == 2 * 17 * 9);
  // Every point equals a direct plan.
  const auto pts = run_sweep(planner, spec);
  for (size_t i = 0; i < pts.size(); i += 37) {
    const Plan p = planner.plan(Method::Dapdee, Mode::Light, pts[i].link, pts[i].deadline_ms, {});
    CHECK(p.latency_ms == pts[i].plan.latency_ms);
    CHECK(p.exit == pts[i].plan.exit);
  }
  const auto csv = render_points(dag, pts, Format::Csv);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 1 + 2 * 17 * 9);
}

TEST_CASE("sweeps reject bad links", "[sweep]") {
  std::mt19937_64 rng(1);
  const Dag dag = fixtures::random_dag(rng, fixtures::Shape::Chain, 5);
  Planner planner(dag, fixtures::random_costs(rng, dag));
  SweepSpec spec;
  spec.networks = {{"X", 1, 0}};
  for (double bad : {0.0, -1.0, std::nan(""), HUGE_VAL}) {
    spec.bandwidths = {bad};
    CHECK_THROWS_AS(run_sweep(planner, spec), Error);
  }
}

TEST_CASE("a sweep in chunks is the whole sweep, in order, for every chunk size and shard", "[sweep]") {
  std::mt19937_64 rng(11);
  const Dag dag = fixtures::random_dag(rng, fixtures::Shape::Residual, 30);
  const Costs costs = fixtures::random_costs(rng, dag);
  Planner planner(dag, costs);
  SweepSpec spec;
  spec.networks = {{"A", 1, 10}, {"B", 5, 20}};
  spec.bandwidths = parse_values("0.1:100:13log").value();
  spec.deadlines.clear();
  for (double d : parse_values("1:2000:7").value()) spec.deadlines.emplace_back(d);
  for (const int shards : {1, 3}) {
    for (int s = 1; s <= shards; ++s) {
      spec.shard_index = s;
      spec.shard_count = shards;
      const auto whole = render_points(dag, run_sweep(planner, spec), Format::Csv, {}, CsvHeader::Omit);
      for (const size_t chunk : {size_t{1}, size_t{7}, size_t{20}, size_t{1000}}) {
        for (const int threads : {1, 2}) {
          spec.threads = threads;
          std::string joined;
          int calls = 0;
          size_t biggest = 0;
          run_sweep_chunks(planner, spec, chunk, [&](std::vector<PlanPoint>& part) {
            ++calls;
            biggest = std::max(biggest, part.size());
            joined += render_points(dag, part, Format::Csv, {}, CsvHeader::Omit);
          });
          INFO("shard " << s << "/" << shards << ", chunk " << chunk << ", threads " << threads);
          CHECK(joined == whole);
          CHECK(calls >= 1);
          CHECK(biggest <= std::max<size_t>(chunk, 7));  // at least one pair's 7 deadlines a chunk
        }
      }
    }
  }
  // An empty shard still hands over one (empty) chunk, so a writer can finish its output.
  spec.networks = {{"A", 1, 10}};
  spec.bandwidths = {5};
  spec.deadlines = {std::nullopt};
  spec.shard_index = 1;  // one point over three shards: the first two are empty
  spec.shard_count = 3;
  int calls = 0;
  run_sweep_chunks(planner, spec, 10, [&](std::vector<PlanPoint>& part) {
    ++calls;
    CHECK(part.empty());
  });
  CHECK(calls == 1);
}
