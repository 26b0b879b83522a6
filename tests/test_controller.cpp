// The online controller (Algorithm 4 as a loop), its sample reader and bandwidth estimator.
#include <catch2/catch.hpp>
#include <random>
#include <sstream>

#include "dapdee/model/metrics.hpp"
#include "dapdee/plan/bandwidth_estimator.hpp"
#include "dapdee/plan/controller.hpp"
#include "dapdee/render/render.hpp"

using namespace dapdee;

namespace {

// input -> a -> b -> c; exit1 after a, final after c. The device is slow on c, so with a 40 ms
// deadline the final exit needs the link (cut after b: 27 ms + 80/B ms, i.e. B >= 6.2 Mbit/s)
// and exit1 runs on the device in 10 ms.
Dag chain_dag() {
  Dag dag;
  dag.model = "chain";
  const char* names[] = {"input", "a", "b", "c"};
  const int64_t bytes[] = {100000, 50000, 10000, 0};
  for (int i = 0; i < 4; ++i) {
    Node n;
    n.name = names[i];
    n.op = i == 0 ? "Input" : "Op";
    if (i > 0) n.inputs = {names[i - 1]};
    n.out_bytes = bytes[i];
    dag.nodes.push_back(n);
  }
  dag.exits.push_back(single_exit("exit1", "a", 0.7));
  dag.exits.push_back(single_exit("final", "c", 0.9));
  REQUIRE_FALSE(finalize(dag).has_value());
  return dag;
}

Costs chain_costs() { return Costs{{0, 10, 10, 40}, {0, 1, 1, 2}, {100000, 50000, 10000, 0}}; }

ControllerSetup setup(Mode mode = Mode::Light, std::optional<double> deadline = 40.0) {
  ControllerSetup s;
  s.mode = mode;
  s.deadline_ms = deadline;
  s.bandwidth_mbps = 10;
  s.delay_ms = 5;
  return s;
}

MetricSample bw_sample(double t, double bw) {
  MetricSample s;
  s.t_s = t;
  s.bandwidth_mbps = bw;
  return s;
}

bool has(const std::string& trigger, const std::string& what) { return trigger.find(what) != std::string::npos; }

}  // namespace

TEST_CASE("controller: the trigger fires on a step change, not on noise inside mu + 2 sigma", "[controller]") {
  Controller ctl(chain_dag(), chain_costs(), setup());
  const double noise[] = {0.4, -0.3, 0.2, -0.4, 0.3, -0.2, 0.1, -0.1};
  for (int i = 0; i < 24; ++i) {
    const Decision d = ctl.step(bw_sample(i, 10 + noise[i % 8]));
    INFO("sample " << i << " trigger " << d.trigger);
    CHECK_FALSE(has(d.trigger, "bandwidth"));
  }
  const Decision step = ctl.step(bw_sample(24, 3));
  CHECK(has(step.trigger, "bandwidth"));
  // At 3 Mbit/s the final exit no longer meets 40 ms: the controller falls back to exit1.
  CHECK(step.replanned);
  CHECK(step.point.plan.exit == 0);
  CHECK(step.point.plan.meets_deadline);
}

TEST_CASE("controller: priority 1.0 forces light load at once", "[controller]") {
  ControllerSetup s = setup(Mode::Auto, std::nullopt);
  s.metrics.cpu = 1, s.metrics.memory = 1, s.metrics.battery = 0, s.metrics.priority = 0;
  Controller ctl(chain_dag(), chain_costs(), s);
  const Decision first = ctl.step(bw_sample(0, 10));
  REQUIRE(first.point.plan.mode == Mode::Heavy);
  REQUIRE(first.point.load_score.value() >= 0.4);
  MetricSample urgent = bw_sample(1, 10);
  urgent.priority = 1.0;  // one sample after a switch: the dwell does not hold it back
  const Decision d = ctl.step(urgent);
  CHECK(d.point.plan.mode == Mode::Light);
  CHECK(d.replanned);
  CHECK(has(d.trigger, "priority"));
}

TEST_CASE("controller: the load score uses the planner's weights while nothing moves", "[controller]") {
  ControllerSetup s = setup(Mode::Auto);
  s.metrics.cpu = 0.5, s.metrics.memory = 0.25, s.metrics.battery = 0.6, s.metrics.priority = 0.3;
  Controller ctl(chain_dag(), chain_costs(), s);
  MetricSample x = bw_sample(0, 4);
  x.delay_ms = 30;
  const Decision d = ctl.step(x);
  LoadMetrics m = s.metrics;
  m.bandwidth_mbps = 4, m.delay_ms = 30;
  CHECK(d.point.load_score.value() == Approx(load_score(m)));
}

TEST_CASE("controller: latency feedback moves the predictions toward the measurement", "[controller]") {
  Controller ctl(chain_dag(), chain_costs(), setup(Mode::Light, std::nullopt));
  const Decision d0 = ctl.step(bw_sample(0, 10));
  REQUIRE(d0.point.plan.exit == 1);
  const double predicted = d0.point.plan.latency_ms;
  const double measured = 1.5 * predicted;
  double last = predicted;
  for (int i = 1; i <= 10; ++i) {
    MetricSample s = bw_sample(i, 10);
    s.measured_latency_ms = measured;
    const Decision d = ctl.step(s);
    INFO("sample " << i);
    CHECK(std::abs(d.point.plan.latency_ms - measured) < std::abs(last - measured));
    last = d.point.plan.latency_ms;
  }
  CHECK(last == Approx(measured).epsilon(0.05));

  SECTION("per stage: a slow device raises T_d only") {
    Controller c2(chain_dag(), chain_costs(), setup(Mode::Light, std::nullopt));
    const Plan p = c2.step(bw_sample(0, 10)).point.plan;
    MetricSample s = bw_sample(1, 10);
    s.measured_t_d = 2 * p.t_d, s.measured_t_t = p.t_t, s.measured_t_e = p.t_e;
    const Plan q = c2.step(s).point.plan;
    CHECK(c2.corrections().device > 1.2);
    CHECK(c2.corrections().link == Approx(1));
    CHECK(q.t_d > p.t_d);
    CHECK(q.t_e == Approx(p.t_e));
  }
  SECTION("accuracy: a measured running rate updates the exit's accuracy") {
    Controller c3(chain_dag(), chain_costs(), setup(Mode::Light, std::nullopt));
    c3.step(bw_sample(0, 10));
    MetricSample s = bw_sample(1, 10);
    s.measured_accuracy = 0.5;
    c3.step(s);
    CHECK(c3.dag().exits[1].accuracy.value() == Approx(0.9 * 0.7 + 0.5 * 0.3));
  }
}

TEST_CASE("controller: hysteresis bounds the switches on an alternating input", "[controller]") {
  Controller ctl(chain_dag(), chain_costs(), setup());
  int switches = 0;
  for (int i = 0; i < 60; ++i) switches += ctl.step(bw_sample(i, i % 2 ? 1.0 : 12.0)).replanned;
  CHECK(switches <= 3);  // the first plan, the fall-back, and perhaps one more

  SECTION("without the estimator's smoothing, the dwell still bounds switches that are not forced") {
    ControllerOptions opt;
    opt.estimator.window = 1;
    ControllerSetup s = setup(Mode::Light, std::nullopt);  // no deadline: no forced switch
    Controller raw(chain_dag(), chain_costs(), s, opt);
    int n = 0;
    for (int i = 0; i < 60; ++i) n += raw.step(bw_sample(i, i % 2 ? 1.0 : 100.0)).replanned;
    CHECK(n <= 60 / opt.dwell + 1);
  }
}

TEST_CASE("controller: a line depends only on the samples so far (causality)", "[controller]") {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> bw(0.5, 30), unit(0, 1), lat(10, 80);
  auto random_sample = [&](int t) {
    MetricSample s = bw_sample(t, bw(rng));
    s.cpu = unit(rng), s.priority = unit(rng) < 0.1 ? 1.0 : unit(rng);
    s.measured_latency_ms = lat(rng), s.measured_accuracy = unit(rng);
    return s;
  };
  std::vector<MetricSample> base;
  for (int t = 0; t < 40; ++t) base.push_back(random_sample(t));
  auto lines_of = [](const std::vector<MetricSample>& samples) {
    Controller ctl(chain_dag(), chain_costs(), setup(Mode::Auto));
    std::vector<std::string> out;
    for (const auto& s : samples) out.push_back(dapdee::decision_to_json(ctl.dag(), ctl.step(s)));
    return out;
  };
  const auto ref = lines_of(base);
  for (size_t i = 0; i < base.size(); i += 3) {
    auto changed = base;
    for (size_t j = i + 1; j < changed.size(); ++j) changed[j] = random_sample(static_cast<int>(j));
    const auto got = lines_of(changed);
    for (size_t j = 0; j <= i; ++j) REQUIRE(got[j] == ref[j]);
  }
  CHECK(ref.front().find("\"t_s\":0,\"replanned\":true,\"trigger\":\"initial\"}") != std::string::npos);
}

TEST_CASE("controller: without a bandwidth or a delay it says so", "[controller]") {
  ControllerSetup s = setup();
  s.bandwidth_mbps.reset();
  Controller ctl(chain_dag(), chain_costs(), s);
  MetricSample none;
  CHECK_THROWS_WITH(ctl.step(none), Catch::Contains("no bandwidth or delay"));
  CHECK_NOTHROW(ctl.step(bw_sample(1, 5)));
}

TEST_CASE("bandwidth estimator: harmonic mean of the window, capped by the last sample", "[controller]") {
  BandwidthEstimator e;
  CHECK_FALSE(e.estimate());
  for (double b : {4.0, 4.0, 1.0, 4.0, 4.0}) e.add(b);
  CHECK(*e.estimate() == Approx(5.0 / (1 / 4.0 * 4 + 1)));
  e.add(0.5);  // a drop is followed at once
  CHECK(*e.estimate() == Approx(0.5));
  e.add(std::nan(""));
  e.add(-1);
  CHECK(e.size() == 5);
  BandwidthEstimator plain(EstimatorOptions{3, EstimateRule::HarmonicMean});
  for (double b : {1.0, 2.0, 4.0}) plain.add(b);
  CHECK(*plain.estimate() == Approx(3.0 / 1.75));
}

TEST_CASE("metric samples: every bad line is named, and the reader stops or skips", "[controller][metrics]") {
  const auto good =
      parse_metric_line(R"({"format":"dapdee-metrics/1","t_s":1.5,"bandwidth_mbps":3,"cpu":0.2,"priority":null})");
  REQUIRE(good.ok());
  CHECK(good.value().t_s == 1.5);
  CHECK(*good.value().bandwidth_mbps == 3);
  CHECK_FALSE(good.value().priority);
  const std::pair<const char*, const char*> bad[] = {
      {R"({"t_s":1,"cpu":"high"})", "'cpu' must be a number in [0, 1] (got string"},
      {R"({"t_s":1,"cpu":NaN})", "NaN and Infinity are not JSON numbers"},
      {R"({"t_s":1,"battery":1.5})", "'battery' must be a number in [0, 1] (got 1.5)"},
      {R"({"t_s":1,"bandwidth_mbps":0})", "'bandwidth_mbps' must be a finite number > 0"},
      {R"({"t_s":1,"delay_ms":1e999})", "not JSON ([json.exception.out_of_range.406] number overflow"},
      {R"({"t_s":true})", "'t_s' must be a finite number >= 0 (got boolean"},
      {R"({"bandwidth_mbps":3})", "'t_s' is missing"},
      {R"({"t_s":1,"format":"dapdee-plan/1"})", "'format' must be \"dapdee-metrics/1\""},
      {"[1,2]", "must be a JSON object"},
      {R"({"t_s":1,"frame":7})", "unknown key \"frame\""},
      {"t_s=1", "not JSON"},
  };
  for (const auto& [line, what] : bad) {
    INFO(line);
    const auto r = parse_metric_line(line);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.message(), Catch::Contains(what));
  }
  const std::string stream = "{\"t_s\":1}\n\n{\"t_s\":2,\"cpu\":2}\n{\"t_s\":0.5}\nnot json\n{\"t_s\":3}\n";
  SECTION("stop") {
    std::istringstream in(stream);
    std::ostringstream warn;
    MetricReader r(in, "-", BadSample::Stop, warn);
    CHECK(r.next()->t_s == 1);
    CHECK_THROWS_WITH(r.next(), Catch::Contains("line 3: 'cpu' must be"));
  }
  SECTION("skip") {
    std::istringstream in(stream);
    std::ostringstream warn;
    MetricReader r(in, "-", BadSample::Skip, warn);
    CHECK(r.next()->t_s == 1);
    CHECK(r.next()->t_s == 3);
    CHECK_FALSE(r.next());
    CHECK_THAT(warn.str(), Catch::Contains("line 3: 'cpu'"));
    CHECK_THAT(warn.str(), Catch::Contains("line 4: time goes backwards ('t_s' 0.5 after 1)"));
    CHECK_THAT(warn.str(), Catch::Contains("line 5: not JSON"));
  }
}
