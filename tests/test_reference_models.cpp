// The shared reference models: every one imports, MACs match torchvision's published figures.
#include <catch2/catch.hpp>
#include <cmath>

#include "dapdee/import/onnx_import.hpp"
#include "test_util.hpp"

using namespace test_util;

TEST_CASE("reference models import with torchvision's MACs within 1%", "[import][reference]") {
  const std::string dir = shared_dir() + "/models";
  if (!fs::exists(dir)) DAPDEE_SKIP("../shared/models is absent");
  // torchvision 0.14's published GFLOPS (MACs of Conv + Linear), as ../shared/models/README.md lists.
  const std::vector<std::pair<std::string, double>> expected = {
      {"alexnet", 0.71},  {"vgg16", 15.47},       {"resnet18", 1.81}, {"googlenet", 1.50},
      {"mobilenet_v2", 0.30}, {"inception_v3", 5.71}, {"vit_b_16", 17.56}};
  for (const auto& [name, gmacs] : expected) {
    dapdee::ImportOptions opt;
    opt.model_path = dir + "/" + name + ".onnx";
    const auto r = dapdee::import_onnx(opt);
    int64_t macs = 0;
    for (const auto& n : r.dag.nodes) macs += n.macs;
    INFO(name << ": " << macs / 1e9 << " GMACs");
    // The README gives two decimals: within 1% of the figure, or of its rounding interval.
    CHECK(std::fabs(macs / 1e9 - gmacs) <= std::max(0.01 * gmacs, 0.005 + 1e-9));
    CHECK(r.dag.exits.size() == 1);
    for (const auto& n : r.dag.nodes)
      for (const auto& t : n.outputs)
        if (t.consumed) CHECK(t.bytes > 0);
  }
}

TEST_CASE("vit_b_16: every DAG node's output shape is known", "[import][reference]") {
  const std::string path = shared_dir() + "/models/vit_b_16.onnx";
  if (!fs::exists(path)) DAPDEE_SKIP("../shared/models is absent");
  dapdee::ImportOptions opt;
  opt.model_path = path;
  const auto r = dapdee::import_onnx(opt);
  CHECK(r.folded_nodes > 0);
  size_t unknown = 0, outputs = 0;
  for (const auto& n : r.dag.nodes)
    for (const auto& t : n.outputs) {
      ++outputs;
      if (t.shape.empty() && t.bytes == 0) ++unknown;
      for (auto d : t.shape) unknown += d < 0;
    }
  CHECK(outputs >= r.dag.nodes.size());
  CHECK(unknown == 0);
  // The attention matmuls are counted: 12 layers x (QK^T + AV) = 24 batched MatMuls + projections.
  int matmuls = 0;
  for (const auto& n : r.dag.nodes) matmuls += n.op == "MatMul" && n.macs > 0;
  CHECK(matmuls >= 24);
}

TEST_CASE("a batch of 2 pinned with --input-shape doubles every tensor and every cost", "[import][reference][batch]") {
  const std::string dir = shared_dir() + "/models";
  if (!fs::exists(dir)) DAPDEE_SKIP("../shared/models is absent");
  for (const std::string name : {"resnet18", "googlenet", "vit_b_16"}) {
    // vit_b_16 was exported with a constant Reshape target for batch 1: refused, never wrong.
    const bool batch_one_only = name == "vit_b_16";
    dapdee::ImportOptions one;
    one.model_path = dir + "/" + name + ".onnx";
    const auto r1 = dapdee::import_onnx(one);
    REQUIRE(r1.dag.nodes.front().op == "Input");
    std::vector<int64_t> dims = r1.dag.nodes.front().outputs.front().shape;
    REQUIRE(dims.front() == 1);
    dims.front() = 2;
    dapdee::ImportOptions two = one;
    two.input_shapes = {{r1.dag.nodes.front().name, dims}};
    INFO(name);
    if (batch_one_only) {
      CHECK_THROWS_WITH(dapdee::import_onnx(two), Catch::Contains("(Reshape)") && Catch::Contains("another input shape"));
      continue;
    }
    const auto r2 = dapdee::import_onnx(two);
    REQUIRE(r2.dag.nodes.size() == r1.dag.nodes.size());
    int64_t macs1 = 0, macs2 = 0;
    for (size_t i = 0; i < r1.dag.nodes.size(); ++i) {
      const auto &a = r1.dag.nodes[i], &b = r2.dag.nodes[i];
      INFO(a.name);
      CHECK(b.name == a.name);
      CHECK(b.out_bytes == 2 * a.out_bytes);
      CHECK(b.macs == 2 * a.macs);
      CHECK(b.params == a.params);
      macs1 += a.macs;
      macs2 += b.macs;
    }
    CHECK(macs2 == 2 * macs1);
    CHECK(r2.dag.exits.size() == r1.dag.exits.size());
  }
}
