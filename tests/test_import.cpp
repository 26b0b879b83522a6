#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <random>

#include "dapdee/import/onnx_import.hpp"
#include "dapdee/support/error.hpp"
#include "onnx_builder.hpp"
#include "test_util.hpp"

using namespace test_util;
using testing_onnx::Builder;

namespace {
dapdee::ImportResult import_model(const Builder& b, const TempDir& d, const std::string& name,
                                  std::vector<std::pair<std::string, std::vector<int64_t>>> pins = {}) {
  const std::string path = d / (name + ".onnx");
  b.save(path);
  dapdee::ImportOptions opt;
  opt.model_path = path;
  opt.input_shapes = std::move(pins);
  return dapdee::import_onnx(opt);
}
}  // namespace

TEST_CASE("golden DAGs of small models", "[import][golden]") {
  TempDir d;
  const std::vector<std::pair<std::string, Builder>> models = {
      {"chain", testing_onnx::chain_model()},       {"diamond", testing_onnx::diamond_model()},
      {"inception", testing_onnx::inception_model()}, {"residual", testing_onnx::residual_model()},
      {"early_exit", testing_onnx::early_exit_model()}};
  for (const auto& [name, b] : models) {
    SECTION(name) {
      const auto r = import_model(b, d, name);
      check_golden(name + ".dag.json", dapdee::dag_to_json(r.dag));
    }
  }
}

TEST_CASE("hand-checked figures of the chain model", "[import]") {
  TempDir d;
  const auto r = import_model(testing_onnx::chain_model(), d, "chain");
  const auto& dag = r.dag;
  REQUIRE(dag.nodes.size() == 6);
  const auto& conv = dag.nodes[dag.find("conv1")];
  CHECK(conv.macs == 4 * 8 * 8 * 3 * 3 * 3);    // out elements x Cin x k x k
  CHECK(conv.out_bytes == 4 * 8 * 8 * 4);
  CHECK(conv.params == 4 * 3 * 3 * 3 * 4);
  CHECK(dag.nodes[dag.find("input")].out_bytes == 3 * 8 * 8 * 4);
  CHECK(dag.nodes[dag.find("fc")].macs == 10 * 64);
  CHECK(dag.nodes[dag.find("fc")].out_bytes == 0);  // nothing reads the final output
  CHECK(dag.nodes[dag.find("pool1")].ops == 4 * 4 * 4 * 4);
  REQUIRE(dag.exits.size() == 1);
  CHECK(dag.exits[0].node == "fc");
  CHECK_FALSE(dag.exits[0].accuracy.has_value());
}

TEST_CASE("exits come out in depth order with accuracies from metadata", "[import]") {
  TempDir d;
  const auto r = import_model(testing_onnx::early_exit_model(), d, "ee");
  REQUIRE(r.dag.exits.size() == 2);
  CHECK(r.dag.exits[0].name == "exit1");
  CHECK(r.dag.exits[0].accuracy == Approx(0.625));
  CHECK(r.dag.exits[1].name == "final");
  CHECK(r.dag.exits[1].accuracy == Approx(0.75));
}

TEST_CASE("a sidecar file overrides exit accuracies and must name real exits", "[import]") {
  TempDir d;
  testing_onnx::early_exit_model().save(d / "ee.onnx");
  spit(d / "ok.json", R"({"exit1": 0.5, "final": null})");
  dapdee::ImportOptions opt;
  opt.model_path = d / "ee.onnx";
  opt.exits_path = d / "ok.json";
  const auto r = dapdee::import_onnx(opt);
  CHECK(r.dag.exits[0].accuracy == Approx(0.5));
  CHECK_FALSE(r.dag.exits[1].accuracy.has_value());
  spit(d / "bad.json", R"({"exits":[{"name":"exit9","accuracy":0.5}]})");
  opt.exits_path = d / "bad.json";
  CHECK_THROWS_WITH(dapdee::import_onnx(opt), Catch::Contains("exit9"));
}

TEST_CASE("a Reshape fed by a Shape subgraph gets static dims", "[import][golden]") {
  TempDir d;
  const auto b = testing_onnx::reshape_shape_model();
  SECTION("without a pin the dynamic batch is an error naming the tensor") {
    CHECK_THROWS_WITH(import_model(b, d, "rs"), Catch::Contains("has no static size") && Catch::Contains("--input-shape"));
  }
  SECTION("pinned, the shape chain folds away") {
    const auto r = import_model(b, d, "reshape_shape", {{"input", {2, 4, 6, 6}}});
    const auto& dag = r.dag;
    CHECK(dag.find("shape") < 0);   // folded
    CHECK(dag.find("gather") < 0);
    const auto& rs = dag.nodes[dag.find("reshape")];
    REQUIRE(rs.outputs.size() == 1);
    CHECK(rs.outputs[0].shape == std::vector<int64_t>{2, 144});
    CHECK(rs.inputs == std::vector<std::string>{"relu"});
    CHECK(dag.nodes[dag.find("matmul")].macs == 2 * 5 * 144);
    check_golden("reshape_shape.dag.json", dapdee::dag_to_json(dag));
  }
}

TEST_CASE("input shape pins are parsed", "[import]") {
  auto ok = dapdee::parse_input_shape("input=1x3x224x224");
  REQUIRE(ok.ok());
  CHECK(ok.value().first == "input");
  CHECK(ok.value().second == std::vector<int64_t>{1, 3, 224, 224});
  CHECK_FALSE(dapdee::parse_input_shape("input").ok());
  CHECK_FALSE(dapdee::parse_input_shape("input=1xax3").ok());
  CHECK_FALSE(dapdee::parse_input_shape("=1x3").ok());
}

namespace {
// Runs dapdee-import on a file and checks the error contract: message, exit 1, no output file.
void expect_import_error(const std::string& model, const std::string& what, const TempDir& d) {
  const std::string out = d / "out.json";
  const auto r = run(tool("dapdee-import") + " " + model + " -o " + out);
  INFO(r.err);
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::StartsWith("dapdee-import: error: " + model + ": "));
  CHECK_THAT(r.err, Catch::Contains(what));
  CHECK_FALSE(fs::exists(out));
  for (const auto& e : fs::directory_iterator(d.path)) CHECK(e.path().filename().string().find(".tmp") == std::string::npos);
}
}  // namespace

TEST_CASE("dapdee-import rejects bad files cleanly", "[import][cli]") {
  TempDir d;
  SECTION("empty file") {
    spit(d / "empty.onnx", "");
    expect_import_error(d / "empty.onnx", "empty", d);
  }
  SECTION("truncated file") {
    const std::string bytes = testing_onnx::chain_model().bytes();
    spit(d / "trunc.onnx", bytes.substr(0, bytes.size() / 2));
    expect_import_error(d / "trunc.onnx", "not a valid ONNX model", d);
  }
  SECTION("random bytes") {
    std::mt19937 rng(42);
    std::string junk(4096, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    spit(d / "junk.onnx", junk);
    expect_import_error(d / "junk.onnx", "ONNX", d);
  }
  SECTION("a JSON file") {
    spit(d / "model.json", R"({"format": "dapdee-dag/1", "nodes": []})");
    expect_import_error(d / "model.json", "ONNX", d);
  }
  SECTION("a graph with a cycle") {
    Builder b;
    b.input("input", {1, 4});
    b.node("Add", {"input", "t2"}, {"t1"}, "a");
    b.node("Relu", {"t1"}, {"t2"}, "b");
    b.node("Relu", {"t2"}, {"output"}, "c");
    b.output("output");
    b.save(d / "cycle.onnx");
    expect_import_error(d / "cycle.onnx", "cycle", d);
  }
  SECTION("a node reading a tensor nothing produces") {
    Builder b;
    b.input("input", {1, 4});
    b.node("Add", {"input", "ghost"}, {"output"}, "a");
    b.output("output");
    b.save(d / "dangling.onnx");
    expect_import_error(d / "dangling.onnx", "reads tensor 'ghost' that nothing produces", d);
  }
  SECTION("a duplicate node name") {
    Builder b;
    b.input("input", {1, 4});
    b.node("Relu", {"input"}, {"t"}, "same");
    b.node("Relu", {"t"}, {"output"}, "same");
    b.output("output");
    b.save(d / "dup.onnx");
    expect_import_error(d / "dup.onnx", "duplicate node name 'same'", d);
  }
  SECTION("a missing file") { expect_import_error(d / "nope.onnx", "cannot open", d); }
}

TEST_CASE("dapdee-import CLI: golden output, stdin, usage", "[import][cli][golden]") {
  TempDir d;
  testing_onnx::chain_model().save(d / "chain.onnx");
  const auto r = run("cd " + d.path.string() + " && " + tool("dapdee-import") + " chain.onnx");
  REQUIRE(r.code == 0);
  check_golden("chain.dag.json", r.out);
  CHECK_THAT(r.err, Catch::Contains("model chain"));
  const auto s = run("cd " + d.path.string() + " && " + tool("dapdee-import") + " - --model-name chain < chain.onnx");
  REQUIRE(s.code == 0);
  CHECK(s.out.find("\"model\": \"chain\"") != std::string::npos);
  CHECK(run(tool("dapdee-import") + " --help").code == 0);
  CHECK(run(tool("dapdee-import") + " --version").code == 0);
  CHECK(run(tool("dapdee-import")).code == 2);
  CHECK(run(tool("dapdee-import") + " x.onnx --bogus").code == 2);
  const auto t = run(tool("dapdee-import") + " " + (d / "chain.onnx") + " --format table");
  CHECK(t.code == 0);
  CHECK_THAT(t.out, Catch::Contains("exits (shallowest first)"));
}

TEST_CASE("mutated models never crash the importer", "[import][robustness]") {
  // Byte flips and truncations of valid models: each import succeeds or throws dapdee::Error.
  TempDir d;
  std::mt19937 rng(2026);
  const std::vector<std::string> seeds = {testing_onnx::inception_model().bytes(), testing_onnx::reshape_shape_model().bytes(),
                                          testing_onnx::early_exit_model().bytes()};
  int ok = 0, rejected = 0;
  for (int i = 0; i < 600; ++i) {
    std::string bytes = seeds[i % seeds.size()];
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    if (i % 5 == 0) bytes.resize(rng() % bytes.size());
    spit(d / "m.onnx", bytes);
    dapdee::ImportOptions opt;
    opt.model_path = d / "m.onnx";
    try {
      dapdee::import_onnx(opt);
      ++ok;
    } catch (const dapdee::Error&) {
      ++rejected;
    }
  }
  CHECK(ok + rejected == 600);
  CHECK(rejected > 0);
}

TEST_CASE("the model name: the file stem, the graph's name from stdin, --model-name over both, the same in every tool", "[import][cli]") {
  TempDir d;
  testing_onnx::chain_model().save(d / "net_v2.onnx");  // its graph is named "chain"
  const auto model_of = [](const std::string& json) { return nlohmann::json::parse(json)["model"].get<std::string>(); };
  const auto file = run(tool("dapdee-import") + " " + (d / "net_v2.onnx") + " -o -");
  REQUIRE(file.code == 0);
  CHECK(model_of(file.out) == "net_v2");
  const auto piped = run("cat " + (d / "net_v2.onnx") + " | " + tool("dapdee-import") + " - -o -");
  REQUIRE(piped.code == 0);
  CHECK(model_of(piped.out) == "chain");
  const auto named = run(tool("dapdee-import") + " " + (d / "net_v2.onnx") + " --model-name cam -o -");
  REQUIRE(named.code == 0);
  CHECK(model_of(named.out) == "cam");
  // A predicted profile and a plan of the file's DAG carry the same name; split then sees no mismatch.
  spit(d / "net_v2.dag.json", file.out);
  const auto prof = run(tool("dapdee-profile") + " predict " + (d / "net_v2.dag.json") + " --device " + source_dir() +
                        "/profiles/specs/rpi4.json -o -");
  REQUIRE(prof.code == 0);
  CHECK(model_of(prof.out) == "net_v2");
  spit(d / "p.json", prof.out);
  const auto plan = run(tool("dapdee-plan") + " " + (d / "net_v2.dag.json") + " --device " + (d / "p.json") + " --edge " +
                        (d / "p.json") + " --bandwidth 0.01 --delay 5 --cut relu1 -o -");
  REQUIRE(plan.code == 0);
  CHECK(model_of(plan.out) == "net_v2");
  spit(d / "plan.json", plan.out);
  const auto split = run(tool("dapdee-split") + " " + (d / "net_v2.onnx") + " --plan " + (d / "plan.json") +
                         " --device-out " + (d / "dev.onnx") + " --edge-out " + (d / "edge.onnx"));
  CHECK(split.code == 0);
  CHECK_THAT(split.err, !Catch::Contains("the plan is for model"));
}
