// Planner benchmarks: one plan on the reference models and on synthetic DAGs, and sweeps.
#include <benchmark/benchmark.h>

#include <filesystem>

#include "dapdee/import/onnx_import.hpp"
#include "dapdee/model/profile.hpp"
#include "dapdee/plan/sweep.hpp"
#include "dapdee/render/render.hpp"
#include "dapdee/support/io.hpp"
#include "planner_fixtures.hpp"

using namespace dapdee;

namespace {

// A residual-style synthetic DAG with one exit per quarter of its depth.
Dag synthetic(int n, int exits) {
  std::mt19937_64 rng(12345);
  Dag dag = fixtures::random_dag(rng, fixtures::Shape::Residual, n);
  dag.exits.clear();
  for (int e = 1; e <= exits; ++e) {
    const int at = e == exits ? n - 1 : n * e / (exits + 1);
    dag.exits.push_back(single_exit(e == exits ? "final" : "exit" + std::to_string(e), dag.nodes[at].name, 0.5 + 0.1 * e));
  }
  if (auto p = finalize(dag)) throw std::runtime_error(*p);
  return dag;
}

Costs costs_for(const Dag& dag) {
  std::mt19937_64 rng(99);
  return fixtures::random_costs(rng, dag);
}

void BM_LightPlanSynthetic(benchmark::State& state) {
  const Dag dag = synthetic(static_cast<int>(state.range(0)), 1);
  Planner planner(dag, costs_for(dag));
  for (auto _ : state) {
    Plan p = planner.plan(Method::Dapdee, Mode::Light, Link{5.85, 20}, std::nullopt, {});
    benchmark::DoNotOptimize(p.latency_ms);
  }
  state.SetComplexityN(state.range(0));
}
BENCHMARK(BM_LightPlanSynthetic)->Arg(300)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond)->Complexity();

// The same without inner dominators: an inception-like DAG whose every node also reads the
// input, so G' stays one block (the worst case for the block decomposition).
void BM_LightPlanOneBlock(benchmark::State& state) {
  Dag dag = synthetic(static_cast<int>(state.range(0)), 1);
  for (size_t v = 2; v < dag.nodes.size(); ++v)
    if (std::find(dag.nodes[v].inputs.begin(), dag.nodes[v].inputs.end(), "input") == dag.nodes[v].inputs.end())
      dag.nodes[v].inputs.push_back("input");
  if (auto p = finalize(dag)) throw std::runtime_error(*p);
  Planner planner(dag, costs_for(dag));
  for (auto _ : state) {
    Plan p = planner.plan(Method::Dapdee, Mode::Light, Link{5.85, 20}, std::nullopt, {});
    benchmark::DoNotOptimize(p.latency_ms);
  }
  state.SetComplexityN(state.range(0));
}
BENCHMARK(BM_LightPlanOneBlock)->Arg(300)->Arg(1000)->Arg(3000)->Unit(benchmark::kMillisecond)->Complexity();

void BM_HeavyPlanSynthetic(benchmark::State& state) {
  const Dag dag = synthetic(static_cast<int>(state.range(0)), 1);
  Planner planner(dag, costs_for(dag));
  for (auto _ : state) {
    Plan p = planner.plan(Method::Dapdee, Mode::Heavy, Link{5.85, 20}, std::nullopt, {});
    benchmark::DoNotOptimize(p.t_max);
  }
}
BENCHMARK(BM_HeavyPlanSynthetic)->Arg(300)->Arg(1000)->Unit(benchmark::kMillisecond);

void BM_LightPlanReference(benchmark::State& state, const std::string& name) {
  const std::string path = std::string(DAPDEE_SOURCE_DIR) + "/../shared/models/" + name + ".onnx";
  if (!std::filesystem::exists(path)) {
    state.SkipWithError("../shared/models is absent");
    return;
  }
  ImportOptions opt;
  opt.model_path = path;
  const Dag dag = import_onnx(opt).dag;
  Planner planner(dag, costs_for(dag));
  for (auto _ : state) {
    Plan p = planner.plan(Method::Dapdee, Mode::Light, Link{5.85, 20}, std::nullopt, {});
    benchmark::DoNotOptimize(p.latency_ms);
  }
  state.counters["nodes"] = static_cast<double>(dag.nodes.size());
}
BENCHMARK_CAPTURE(BM_LightPlanReference, alexnet, std::string("alexnet"))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_LightPlanReference, resnet18, std::string("resnet18"))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_LightPlanReference, googlenet, std::string("googlenet"))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_LightPlanReference, inception_v3, std::string("inception_v3"))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_LightPlanReference, vit_b_16, std::string("vit_b_16"))->Unit(benchmark::kMicrosecond);

// 3 networks x 100 bandwidths x 50 deadlines.
SweepSpec sweep15000(Mode mode) {
  SweepSpec spec;
  spec.networks = {{"CAT1", 0.13, 50}, {"3G", 1.1, 50}, {"4G", 5.85, 20}};
  spec.bandwidths = parse_values("0.05:20:100log").value();
  spec.deadlines.clear();
  for (double d : parse_values("10:500:50").value()) spec.deadlines.emplace_back(d);
  spec.mode = mode;
  spec.threads = 1;  // CPU time of one thread: comparable on a shared machine (wall time divides by the cores)
  return spec;
}

// The planning alone (no rendering) of the 15,000-point sweep on a 300-node, 4-exit model.
void BM_Sweep15000(benchmark::State& state) {
  const Dag dag = synthetic(300, 4);
  Planner planner(dag, costs_for(dag));
  const SweepSpec spec = sweep15000(state.range(0) ? Mode::Heavy : Mode::Light);
  for (auto _ : state) {
    const auto points = run_sweep(planner, spec);
    benchmark::DoNotOptimize(points.data());
  }
  state.counters["points"] = 15000;
}
BENCHMARK(BM_Sweep15000)->ArgName("heavy")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// Rendering the 15,000 light plans as JSON Lines (all fields) or lean lines.
void BM_Render15000(benchmark::State& state) {
  const Dag dag = synthetic(300, 4);
  Planner planner(dag, costs_for(dag));
  const auto points = run_sweep(planner, sweep15000(Mode::Light));
  const std::vector<std::string> fields = state.range(0) ? std::vector<std::string>{"short"} : std::vector<std::string>{};
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string out = render_points(dag, points, Format::Json, fields);
    bytes = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["MB_out"] = static_cast<double>(bytes) / 1e6;
}
BENCHMARK(BM_Render15000)->ArgName("short")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// A committed model DAG with its predicted profiles (Raspberry-Pi-4-class device, T4-class edge).
struct Committed {
  Dag dag;
  Costs costs;
  explicit Committed(const std::string& m) {
    const std::string root = std::string(DAPDEE_SOURCE_DIR) + "/profiles";
    dag = parse_dag(read_input(root + "/dags/" + m + ".dag.json"), m);
    costs = costs_from_profiles(dag, load_profile(root + "/predicted/" + m + ".rpi4.json"),
                                load_profile(root + "/predicted/" + m + ".edge-t4.json"))
                .costs;
  }
};

// Heavy sweep of the multi-exit Inception-style zoo model (its InceptionC blocks hold ~1,150
// partitions each, so the exact search does real work): 15,000 points.
void BM_HeavySweepInception(benchmark::State& state) {
  const Committed c("ee_inception");
  Planner planner(c.dag, c.costs);
  const SweepSpec spec = sweep15000(Mode::Heavy);
  for (auto _ : state) {
    const auto points = run_sweep(planner, spec);
    benchmark::DoNotOptimize(points.data());
  }
  state.counters["points"] = 15000;
}
BENCHMARK(BM_HeavySweepInception)->Unit(benchmark::kMillisecond);

// One heavy plan of Inception-v3 (225 nodes, 10,633 partitions): the first one enumerates the
// blocks (arg 1: a new planner every iteration), later ones scan the Pareto front (arg 0).
void BM_HeavyPlanInceptionV3(benchmark::State& state) {
  const Committed c("inception_v3");
  auto planner = std::make_unique<Planner>(c.dag, c.costs);
  for (auto _ : state) {
    if (state.range(0)) {
      state.PauseTiming();
      planner = std::make_unique<Planner>(c.dag, c.costs);
      state.ResumeTiming();
    }
    Plan p = planner->plan(Method::Dapdee, Mode::Heavy, Link{5.85, 20}, 150.0, {});
    benchmark::DoNotOptimize(p.t_max);
  }
}
BENCHMARK(BM_HeavyPlanInceptionV3)->ArgName("first")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// 1,000-point light sweep of vit_b_16 (617 nodes) written as lean lines: time per plan, MB out.
void BM_LeanSweepVit(benchmark::State& state) {
  const Committed c("vit_b_16");
  Planner planner(c.dag, c.costs);
  SweepSpec spec;
  spec.networks = {{"4G", 5.85, 20}};
  spec.bandwidths = parse_values("0.05:200:1000log").value();
  spec.threads = 1;
  size_t bytes = 0;
  for (auto _ : state) {
    const auto points = run_sweep(planner, spec);
    const std::string out = render_points(c.dag, points, Format::Json, {"short"});
    bytes = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["MB_out"] = static_cast<double>(bytes) / 1e6;
  state.counters["plans"] = 1000;
}
BENCHMARK(BM_LeanSweepVit)->Unit(benchmark::kMillisecond);

// 1,000-point sweeps of Inception-v3 (predicted RPi 4 / T4): arg 0 a light sweep of 1,000
// bandwidths over 4G; arg 1 a stream sweep of 1,000 rates (--fps 0.5:20:1000, Poisson) at 4G's
// link; arg 2 the same stream sweep for 8 clients. Issue 22: the stream sweep within 2x of the
// light one (the first planner call enumerates the blocks; a planner per iteration counts it).
void BM_FpsSweepInceptionV3(benchmark::State& state) {
  const Committed c("inception_v3");
  SweepSpec spec;
  spec.networks = {{"4G", 5.85, 20}};
  spec.threads = 1;
  if (state.range(0) == 0) {
    spec.bandwidths = parse_values("0.05:200:1000log").value();
  } else {
    spec.fps = parse_values("0.5:20:1000").value();
    spec.stream.arrivals = Arrivals::Poisson;
    spec.stream.clients = state.range(0) == 2 ? 8 : 1;
  }
  for (auto _ : state) {
    Planner planner(c.dag, c.costs);
    const auto points = run_sweep(planner, spec);
    benchmark::DoNotOptimize(points.data());
  }
  state.counters["points"] = 1000;
}
BENCHMARK(BM_FpsSweepInceptionV3)->ArgName("stream")->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

}  // namespace
