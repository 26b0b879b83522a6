// Detectors and segmenters: exits as groups of outputs, declared or by the default rule, and
// `--outputs` (the network up to its raw heads). Small built models plus the committed torchvision
// exports in models/detectors.
#include <catch2/catch.hpp>

#include "dapdee/import/onnx_import.hpp"
#include "dapdee/model/dag.hpp"
#include "dapdee/support/error.hpp"
#include "onnx_builder.hpp"
#include "test_util.hpp"

using namespace test_util;
using testing_onnx::Builder;

namespace {

// Two detection heads of different shapes after a shared trunk, optionally a second pair deeper:
// input -> conv1 -> relu1 -> {early_boxes, early_logits}; relu1 -> conv2 -> relu2 -> {boxes, logits}.
Builder detector_model(bool early_heads) {
  Builder b(13, "detector");
  b.input("input", {1, 3, 8, 8});
  testing_onnx::conv(b, "conv1", "input", "c1", 3, 8);
  b.node("Relu", {"c1"}, {"r1"}, "relu1");
  testing_onnx::conv(b, "conv2", "r1", "c2", 8, 16);
  b.node("Relu", {"c2"}, {"r2"}, "relu2");
  testing_onnx::conv(b, "box", "r2", "boxes", 16, 4, 1);
  testing_onnx::conv(b, "cls", "r2", "logits", 16, 5, 1);
  b.output("logits").output("boxes");
  if (early_heads) {
    testing_onnx::conv(b, "ebox", "r1", "early_boxes", 8, 4, 1);
    testing_onnx::conv(b, "ecls", "r1", "early_logits", 8, 5, 1);
    b.output("early_boxes").output("early_logits");
  }
  return b;
}

// A scorer with a data-dependent tail: per "class" k, the scores above 0 are gathered (NonZero).
// input -> conv -> c (+ bias computed from constants) -> reshape flat [2,16] -> s_k = flat[k] ->
// m_k = s_k > 0 -> nz_k = NonZero(m_k) -> sel_k = Gather(s_k, nz_k).
Builder nonzero_model() {
  Builder b(13, "nonzero");
  b.input("input", {1, 3, 4, 4});
  testing_onnx::conv(b, "conv", "input", "c0", 3, 2);
  b.weight("bias_a", {1, 2, 4, 4}).weight("bias_b", {1, 2, 4, 4});
  b.node("Add", {"bias_a", "bias_b"}, {"bias"}, "bias_add");
  b.node("Add", {"c0", "bias"}, {"c"}, "add");
  b.ints("shape", {2, 16});
  b.node("Reshape", {"c", "shape"}, {"flat"}, "reshape");
  b.weight("zero", {});
  for (int k = 0; k < 2; ++k) {
    const std::string s = std::to_string(k);
    b.ints("i" + s, {k}, true);
    auto& g = b.node("Gather", {"flat", "i" + s}, {"s" + s}, "gather" + s);
    Builder::attr_int(g, "axis", 0);
    b.node("Greater", {"s" + s, "zero"}, {"m" + s}, "greater" + s);
    b.node("NonZero", {"m" + s}, {"nz" + s}, "nonzero" + s);
    b.node("Gather", {"s" + s, "nz" + s}, {"sel" + s}, "select" + s);
    b.output("sel" + s);
  }
  return b;
}

dapdee::ImportResult import_path(const std::string& path, const std::string& exits = "",
                                 std::vector<std::string> outputs = {}) {
  dapdee::ImportOptions opt;
  opt.model_path = path;
  opt.exits_path = exits;
  opt.outputs = std::move(outputs);
  return dapdee::import_onnx(opt);
}

int count(const std::vector<char>& marks) {
  int n = 0;
  for (char c : marks) n += c != 0;
  return n;
}

// Runs dapdee-import expecting a clean failure: exit 1, an error line, no output file.
void check_rejected(const std::string& args, const TempDir& d, const std::string& what) {
  const std::string out = d / "rejected.dag.json";
  const auto r = run(tool("dapdee-import") + " " + args + " -o " + out);
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("dapdee-import: error:") && Catch::Contains(what));
  CHECK_FALSE(fs::exists(out));
}

}  // namespace

TEST_CASE("outputs of different shapes form one exit 'final' whose G_k holds both heads", "[import][exits]") {
  TempDir d;
  detector_model(false).save(d / "det.onnx");
  const auto r = import_path(d / "det.onnx");
  REQUIRE(r.dag.exits.size() == 1);
  const auto& e = r.dag.exits[0];
  CHECK(e.name == "final");
  CHECK(e.outputs == std::vector<std::string>{"logits", "boxes"});
  CHECK(e.nodes == std::vector<std::string>{"cls", "box"});
  CHECK_THAT(r.exit_rule, Catch::Contains("default rule") && Catch::Contains("differ in shape"));
  // G_k is the union of both heads' ancestors: every node; one head alone misses the other.
  CHECK(count(dapdee::ancestors_of(r.dag, e.node_ids)) == static_cast<int>(r.dag.nodes.size()));
  CHECK(count(dapdee::ancestors_of(r.dag, e.node_id)) == static_cast<int>(r.dag.nodes.size()) - 1);
  // The JSON round trip keeps the group.
  const auto back = dapdee::parse_dag(dapdee::dag_to_json(r.dag), "round-trip");
  CHECK(back.exits[0].outputs == e.outputs);
  CHECK(back.exits[0].node_ids == e.node_ids);
}

TEST_CASE("outputs of one shape stay one exit each (BranchyNet convention)", "[import][exits]") {
  TempDir d;
  testing_onnx::early_exit_model().save(d / "ee.onnx");
  const auto r = import_path(d / "ee.onnx");
  REQUIRE(r.dag.exits.size() == 2);
  CHECK(r.dag.exits[0].outputs == std::vector<std::string>{"exit1"});
  CHECK(r.dag.exits[1].outputs == std::vector<std::string>{"final"});
  CHECK_THAT(r.exit_rule, Catch::Contains("share one shape (1x10)") && Catch::Contains("metadata_props"));
}

TEST_CASE("declared groups: --exits, then the sidecar, then metadata_props", "[import][exits]") {
  TempDir d;
  detector_model(true).save(d / "det.onnx");
  const std::string groups =
      R"({"exits":[{"name":"final","outputs":["boxes","logits"],"accuracy":0.3},
                   {"name":"early","outputs":["early_logits","early_boxes"]}]})";
  SECTION("--exits groups, ordered by the depth of their deepest node") {
    spit(d / "groups.json", groups);
    const auto r = import_path(d / "det.onnx", d / "groups.json");
    REQUIRE(r.dag.exits.size() == 2);
    CHECK(r.dag.exits[0].name == "early");
    CHECK(r.dag.exits[0].outputs == std::vector<std::string>{"early_logits", "early_boxes"});
    CHECK_FALSE(r.dag.exits[0].accuracy.has_value());
    CHECK(r.dag.exits[1].name == "final");
    CHECK(r.dag.exits[1].nodes == std::vector<std::string>{"box", "cls"});
    CHECK(r.dag.exits[1].accuracy == Approx(0.3));
    CHECK_THAT(r.exit_rule, Catch::Contains("declared by --exits"));
  }
  SECTION("the sidecar beside the model is read without --exits; --exits overrides it") {
    spit(d / "det.exits.json", groups);
    const auto side = import_path(d / "det.onnx");
    CHECK(side.dag.exits.size() == 2);
    CHECK_THAT(side.exit_rule, Catch::Contains("declared by the sidecar"));
    spit(d / "one.json", R"({"exits":[{"name":"all","outputs":["boxes","logits","early_boxes","early_logits"]}]})");
    const auto opt = import_path(d / "det.onnx", d / "one.json");
    REQUIRE(opt.dag.exits.size() == 1);
    CHECK(opt.dag.exits[0].outputs.size() == 4);
    // The sidecar's exit names are no exits now: a warning, not an error (it is not the first place).
    CHECK_THAT(opt.warnings.front(), Catch::Contains("sidecar") && Catch::Contains("ignored"));
  }
  SECTION("metadata_props groups; an --exits of the older form only sets accuracies") {
    Builder b = detector_model(true);
    b.metadata("dapdee.exits", groups);
    b.save(d / "meta.onnx");
    spit(d / "acc.json", R"({"final": 0.4})");
    const auto r = import_path(d / "meta.onnx", d / "acc.json");
    REQUIRE(r.dag.exits.size() == 2);
    CHECK(r.dag.exits[1].accuracy == Approx(0.4));
    CHECK_THAT(r.exit_rule, Catch::Contains("metadata_props") && Catch::Contains("accuracies also from --exits"));
  }
  SECTION("the older forms still give accuracies by output name") {
    testing_onnx::early_exit_model().save(d / "ee.onnx");
    spit(d / "ee.exits.json", R"({"exits":[{"name":"exit1","accuracy":0.5}]})");
    const auto r = import_path(d / "ee.onnx");
    CHECK(r.dag.exits[0].accuracy == Approx(0.5));   // the sidecar
    CHECK(r.dag.exits[1].accuracy == Approx(0.75));  // metadata
  }
}

TEST_CASE("bad exit groups are clear errors, exit 1, no output", "[import][exits][errors]") {
  TempDir d;
  detector_model(true).save(d / "det.onnx");
  spit(d / "unknown.json", R"({"exits":[{"name":"final","outputs":["boxes","nope"]}]})");
  CHECK_THROWS_WITH(import_path(d / "det.onnx", d / "unknown.json"),
                    Catch::Contains("'nope'") && Catch::Contains("not an output of the model"));
  check_rejected(d / "det.onnx" + " --exits " + d / "unknown.json", d, "not an output of the model");
  spit(d / "twice.json", R"({"exits":[{"name":"a","outputs":["boxes"]},{"name":"b","outputs":["logits","boxes"]}]})");
  CHECK_THROWS_WITH(import_path(d / "det.onnx", d / "twice.json"),
                    Catch::Contains("output 'boxes' is in two exits ('a' and 'b')"));
  check_rejected(d / "det.onnx" + " --exits " + d / "twice.json", d, "in two exits");
  spit(d / "empty.json", R"({"exits":[{"name":"a","outputs":[]}]})");
  check_rejected(d / "det.onnx" + " --exits " + d / "empty.json", d, "non-empty array");
  spit(d / "dup.json", R"({"exits":[{"name":"a","outputs":["boxes"]},{"name":"a","outputs":["logits"]}]})");
  check_rejected(d / "det.onnx" + " --exits " + d / "dup.json", d, "declared twice");
  spit(d / "det.exits.json", R"({"exits":[{"name":"x","outputs":["boxes","boxes"]}]})");
  check_rejected(d / "det.onnx", d, "twice");  // a bad sidecar is an error too
}

TEST_CASE("dapdee-import --outputs imports the subgraph ending at the named tensors", "[import][outputs]") {
  TempDir d;
  detector_model(true).save(d / "det.onnx");
  const auto r = import_path(d / "det.onnx", "", {"early_boxes", "early_logits"});
  CHECK(r.dag.find("conv2") < 0);  // past the named tensors: left out
  CHECK(r.dag.nodes.size() == 5);  // input, conv1, relu1, ebox, ecls
  REQUIRE(r.dag.exits.size() == 1);
  CHECK(r.dag.exits[0].outputs == std::vector<std::string>{"early_boxes", "early_logits"});
  const auto inner = import_path(d / "det.onnx", "", {"r1"});
  CHECK(inner.dag.nodes.size() == 3);
  CHECK(inner.dag.exits[0].name == "r1");
  check_rejected(d / "det.onnx" + " --outputs r1,nope", d, "the model has no tensor 'nope'");
  check_rejected(d / "det.onnx" + " --outputs input", d, "'input' is a graph input");
  check_rejected(d / "det.onnx" + " --outputs conv1.w", d, "is a constant");
  nonzero_model().save(d / "nz.onnx");
  check_rejected(d / "nz.onnx" + " --outputs bias", d, "tensor 'bias' does not depend on the graph's input");
}

TEST_CASE("a data-dependent size suggests --outputs with the nearest static tensors", "[import][outputs]") {
  TempDir d;
  nonzero_model().save(d / "nz.onnx");
  // s0, s1 (gathered) and m0, m1 (masked) are all computed from `flat` by weightless ops: one tensor.
  CHECK_THROWS_WITH(import_path(d / "nz.onnx"),
                    Catch::Contains("'nz0'") && Catch::Contains("depends on data") && Catch::EndsWith("--outputs flat"));
  const auto r = import_path(d / "nz.onnx", "", {"flat"});
  CHECK(r.dag.nodes.size() == 4);  // input, conv, add, reshape (bias_add is folded: constants only)
  CHECK(r.dag.exits[0].node == "reshape");
}

// ---- The committed torchvision exports (scripts/zoo/export_detectors.py) ----

namespace {
struct Reference {
  const char* file;
  size_t nodes;
  double published_gmacs;  // torchvision's `_ops` at the export's input size
  std::vector<std::vector<std::string>> exits;  // outputs of each exit, shallowest first
};
}  // namespace

TEST_CASE("torchvision detectors and segmenters: nodes, MACs, exits", "[import][detectors]") {
  const std::vector<Reference> refs = {
      {"ssdlite320_mobilenet_v3_large_heads", 254, 0.583, {{"bbox_regression", "cls_logits"}}},
      {"retinanet_resnet50_fpn_heads", 255, 151.54, {{"bbox_regression", "cls_logits"}}},
      {"fcn_resnet50", 128, 152.717, {{"aux"}, {"out"}}},
      {"deeplabv3_mobilenet_v3_large", 179, 10.452, {{"aux"}, {"out"}}},
      {"lraspp_mobilenet_v3_large", 167, 2.086, {{"out"}}},
  };
  for (const auto& ref : refs) {
    DYNAMIC_SECTION(ref.file) {
      const std::string path = source_dir() + "/models/detectors/" + ref.file + ".onnx";
      const auto r = import_path(path);
      CHECK(r.dag.nodes.size() == ref.nodes);
      int64_t macs = 0;
      for (const auto& n : r.dag.nodes) macs += n.macs;
      CHECK(macs / 1e9 == Approx(ref.published_gmacs).epsilon(0.001));
      REQUIRE(r.dag.exits.size() == ref.exits.size());
      for (size_t k = 0; k < ref.exits.size(); ++k) CHECK(r.dag.exits[k].outputs == ref.exits[k]);
      // Every node serves some exit; a detector's one exit needs the whole network, both heads included.
      std::vector<int> all;
      for (const auto& e : r.dag.exits) all.insert(all.end(), e.node_ids.begin(), e.node_ids.end());
      CHECK(count(dapdee::ancestors_of(r.dag, all)) == static_cast<int>(r.dag.nodes.size()));
      if (ref.exits.back().size() == 2)
        CHECK(count(dapdee::ancestors_of(r.dag, r.dag.exits.back().node_ids)) ==
              static_cast<int>(r.dag.nodes.size()));
    }
  }
}

TEST_CASE("the full SSDlite: the NMS error suggests --outputs, which imports", "[import][detectors][outputs]") {
  TempDir d;
  const std::string gz = source_dir() + "/models/detectors/ssdlite320_mobilenet_v3_large_full.onnx.gz";
  const std::string model = d / "ssdlite_full.onnx";
  REQUIRE(run("gzip -dc " + gz + " > " + model).code == 0);
  const auto failed = run(tool("dapdee-import") + " " + model + " -o " + d / "no.json");
  CHECK(failed.code == 1);
  CHECK_THAT(failed.err, Catch::Contains("/det/NonZero_output_0") && Catch::Contains("depends on data") &&
                             Catch::Contains("--outputs /det/Squeeze_1_output_0,/det/Reshape_output_0"));
  CHECK_FALSE(fs::exists(d / "no.json"));
  // The suggestion: the per-image class scores (3234x91) and the decoded, clipped boxes (3234x4).
  const auto r = import_path(model, "", {"/det/Squeeze_1_output_0", "/det/Reshape_output_0"});
  CHECK(r.dag.nodes.size() == 308);
  int64_t macs = 0;
  for (const auto& n : r.dag.nodes) macs += n.macs;
  CHECK(macs / 1e9 == Approx(0.583).epsilon(0.001));
  REQUIRE(r.dag.exits.size() == 1);
  CHECK(r.dag.exits[0].name == "final");
  CHECK(r.dag.exits[0].outputs.size() == 2);
  // The raw heads of the full model import too: the same network as the heads-only export.
  const auto heads = import_path(model, "", {"/det/head/regression_head/Concat_12_output_0",
                                             "/det/head/classification_head/Concat_12_output_0"});
  macs = 0;
  for (const auto& n : heads.dag.nodes) macs += n.macs;
  CHECK(macs / 1e9 == Approx(0.583).epsilon(0.001));
}

TEST_CASE("importing with --outputs naming every graph output gives the same DAG", "[import][outputs]") {
  const std::vector<std::string> models = {"ee_vgg16", "ee_inception", "detectors/retinanet_resnet50_fpn_heads",
                                           "detectors/deeplabv3_mobilenet_v3_large"};
  for (const auto& m : models) {
    DYNAMIC_SECTION(m) {
      const std::string path = source_dir() + "/models/" + m + ".onnx";
      // With --outputs only --exits is read (the sidecar and metadata name the original outputs):
      // give the zoo's sidecar explicitly to both imports.
      const std::string side = source_dir() + "/models/" + m + ".exits.json";
      const std::string exits = fs::exists(side) ? side : "";
      const auto whole = import_path(path, exits);
      std::vector<std::string> outs;
      for (const auto& e : whole.dag.exits) outs.insert(outs.end(), e.outputs.begin(), e.outputs.end());
      const auto cut = import_path(path, exits, outs);
      CHECK(dapdee::dag_to_json(cut.dag) == dapdee::dag_to_json(whole.dag));
    }
  }
}
