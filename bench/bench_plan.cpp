// Planner benchmarks: one plan on the reference models and on synthetic DAGs, and sweeps.
#include <benchmark/benchmark.h>

#include <filesystem>

#include "dapdee/onnx_import.hpp"
#include "dapdee/render.hpp"
#include "dapdee/sweep.hpp"
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

// 3 networks x 100 bandwidths x 50 deadlines on a 300-node, 4-exit model, rendered as JSON Lines.
void BM_Sweep15000(benchmark::State& state) {
  const Dag dag = synthetic(300, 4);
  Planner planner(dag, costs_for(dag));
  SweepSpec spec;
  spec.networks = {{"CAT1", 0.13, 50}, {"3G", 1.1, 50}, {"4G", 5.85, 20}};
  spec.bandwidths = parse_values("0.05:20:100log").value();
  spec.deadlines.clear();
  for (double d : parse_values("10:500:50").value()) spec.deadlines.emplace_back(d);
  spec.mode = state.range(0) ? Mode::Heavy : Mode::Light;
  size_t bytes = 0;
  for (auto _ : state) {
    const auto points = run_sweep(planner, spec);
    const std::string out = render_points(dag, points, Format::Json);
    bytes = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["points"] = 15000;
  state.counters["MB_out"] = static_cast<double>(bytes) / 1e6;
}
BENCHMARK(BM_Sweep15000)->ArgName("heavy")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
