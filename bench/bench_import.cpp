// Import benchmarks: vit_b_16, and a generated model of >= 250 MB with inline weights; the tool
// runs as a child process so its peak RSS is measured alone (wait4's ru_maxrss).
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "onnx_builder.hpp"

namespace {

// Runs dapdee-import on a model; returns the child's peak RSS in KiB.
long import_child(const std::string& model) {
  const std::string tool = std::string(DAPDEE_TOOLS_DIR) + "/dapdee-import";
  const pid_t pid = fork();
  if (pid == 0) {
    freopen("/dev/null", "w", stderr);
    execl(tool.c_str(), tool.c_str(), model.c_str(), "-o", "/dev/null", static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  struct rusage ru {};
  wait4(pid, &status, 0, &ru);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
  return ru.ru_maxrss;
}

void run_import(benchmark::State& state, const std::string& model) {
  long rss = 0;
  for (auto _ : state) {
    rss = import_child(model);
    if (rss < 0) {
      state.SkipWithError("dapdee-import failed");
      return;
    }
  }
  const auto size = std::filesystem::file_size(model);
  state.counters["file_MB"] = static_cast<double>(size) / 1e6;
  state.counters["peak_RSS_MB"] = static_cast<double>(rss) * 1024 / 1e6;
  state.counters["RSS_per_file"] = static_cast<double>(rss) * 1024 / static_cast<double>(size);
}

void BM_ImportVit(benchmark::State& state) {
  const std::string model = std::string(DAPDEE_SOURCE_DIR) + "/../shared/models/vit_b_16.onnx";
  if (!std::filesystem::exists(model)) {
    state.SkipWithError("../shared/models is absent");
    return;
  }
  run_import(state, model);
}
BENCHMARK(BM_ImportVit)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);

// A VGG-like chain whose inline float weights add up to ~260 MB.
void BM_ImportLargeInline(benchmark::State& state) {
  const std::string model = (std::filesystem::temp_directory_path() / "dapdee-bench-large.onnx").string();
  if (!std::filesystem::exists(model) || std::filesystem::file_size(model) < 250'000'000) {
    testing_onnx::Builder b(13, "large");
    b.input("input", {1, 512, 14, 14});
    std::string prev = "input";
    for (int i = 0; i < 27; ++i) {  // 27 x 512x512x3x3 floats = 254.8 MB
      const std::string name = "conv" + std::to_string(i);
      testing_onnx::conv(b, name, prev, name + ".out", 512, 512);
      b.node("Relu", {name + ".out"}, {name + ".relu"}, name + "_relu");
      prev = name + ".relu";
    }
    b.node("GlobalAveragePool", {prev}, {"output"}, "pool");
    b.output("output");
    b.save(model);
  }
  run_import(state, model);
}
BENCHMARK(BM_ImportLargeInline)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

}  // namespace
