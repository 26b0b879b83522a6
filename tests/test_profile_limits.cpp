// Profiles that know their limits: ORT fused-kernel mappings, rejected bad times, input shapes
// recorded and checked against the DAG, the swap warning, the noise warnings.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "dapdee/import/onnx_import.hpp"
#include "dapdee/import/ort_import.hpp"
#include "dapdee/model/machine.hpp"
#include "dapdee/model/network.hpp"
#include "dapdee/model/profile.hpp"
#include "dapdee/model/profile_check.hpp"
#include "dapdee/predict/kernel_model.hpp"
#include "dapdee/support/error.hpp"
#include "onnx_builder.hpp"
#include "test_util.hpp"

using namespace test_util;
using testing_onnx::Builder;

namespace {

dapdee::Dag dag_of(Builder b, const TempDir& d, const std::string& name) {
  b.save(d / (name + ".onnx"));
  dapdee::ImportOptions opt;
  opt.model_path = d / (name + ".onnx");
  return dapdee::import_onnx(opt).dag;
}

// input [1,4,8] -> MatMul -> LayerNorm as torch exports it (9 nodes) -> MatMul -> output.
Builder layernorm_model() {
  Builder b(13, "ln");
  b.input("input", {1, 4, 8});
  b.weight("w1", {8, 8}).weight("w2", {8, 8}).weight("eps", {1}).weight("two", {1}).weight("gamma", {8}).weight("beta", {8});
  b.node("MatMul", {"input", "w1"}, {"x"}, "/mm1/MatMul");
  Builder::attr_ints(b.node("ReduceMean", {"x"}, {"m"}, "/ln/ReduceMean"), "axes", {-1});
  b.node("Sub", {"x", "m"}, {"d"}, "/ln/Sub");
  b.node("Pow", {"d", "two"}, {"p"}, "/ln/Pow");
  Builder::attr_ints(b.node("ReduceMean", {"p"}, {"v"}, "/ln/ReduceMean_1"), "axes", {-1});
  b.node("Add", {"v", "eps"}, {"ve"}, "/ln/Add");
  b.node("Sqrt", {"ve"}, {"s"}, "/ln/Sqrt");
  b.node("Div", {"d", "s"}, {"n"}, "/ln/Div");
  b.node("Mul", {"n", "gamma"}, {"g"}, "/ln/Mul");
  b.node("Add", {"g", "beta"}, {"y"}, "/ln/Add_1");
  b.node("MatMul", {"y", "w2"}, {"output"}, "/mm2/MatMul");
  b.output("output");
  return b;
}

// input -> Conv -> BatchNormalization -> Relu -> output.
Builder conv_bn_model() {
  Builder b(13, "cbr");
  b.input("input", {1, 3, 8, 8});
  testing_onnx::conv(b, "/conv/Conv", "input", "c", 3, 8);
  for (const char* n : {"s", "bb", "mu", "var"}) b.weight(n, {8});
  b.node("BatchNormalization", {"c", "s", "bb", "mu", "var"}, {"bn"}, "/bn/BatchNormalization");
  b.node("Relu", {"bn"}, {"output"}, "/relu/Relu");
  b.output("output");
  return b;
}

struct K {
  std::string name, op;
  std::vector<int64_t> out;
  double us;
};

// A trace as ONNX Runtime writes it: `runs` model_run events, each holding the kernels in order.
std::string trace(const std::vector<K>& kernels, int runs, const std::vector<int64_t>& input_shape = {}) {
  nlohmann::json ev = nlohmann::json::array();
  double ts = 1000;
  for (int r = 0; r < runs; ++r) {
    const double start = ts;
    nlohmann::json run_ev = {{"cat", "Session"}, {"name", "model_run"}, {"ts", start}};
    for (size_t k = 0; k < kernels.size(); ++k) {
      nlohmann::json args = {{"op_name", kernels[k].op}, {"provider", "CPUExecutionProvider"}};
      if (!kernels[k].out.empty()) args["output_type_shape"] = nlohmann::json::array({{{"float", kernels[k].out}}});
      if (k == 0 && !input_shape.empty()) args["input_type_shape"] = nlohmann::json::array({{{"float", input_shape}}});
      const double dur = kernels[k].us * (1.0 + 0.01 * r);
      ev.push_back({{"cat", "Node"}, {"name", kernels[k].name + "_kernel_time"}, {"ts", ts + 1}, {"dur", dur}, {"args", args}});
      ts += dur + 2;
    }
    run_ev["dur"] = ts - start + 5;
    ev.push_back(run_ev);
    ts += 50;
  }
  return ev.dump();
}

double kernel_sum(const std::vector<K>& ks) {
  double s = 0;
  for (const auto& k : ks) s += k.us / 1000;
  return s;
}

}  // namespace

TEST_CASE("ORT's generated kernel names map back to the nodes they fuse", "[profile][ort]") {
  TempDir d;
  const auto dag = dag_of(layernorm_model(), d, "ln");
  // Level extended/all: LayerNormFusion replaces the 9 nodes by one kernel with a generated name.
  const std::vector<K> ks = {{"/mm1/MatMul", "MatMul", {1, 4, 8}, 300},
                             {"LayerNormalization_token_0", "LayerNormalization", {1, 4, 8}, 200},
                             {"/mm2/MatMul", "MatMul", {1, 4, 8}, 400}};
  const auto r = dapdee::import_ort_trace(trace(ks, 3, {1, 4, 8}), "t.json", dag, "dev");
  const auto j = nlohmann::json::parse(r.json);
  CHECK(r.nodes_timed == r.computing_nodes);
  CHECK(r.kernels_matched == 1);
  for (const char* n : {"/ln/ReduceMean", "/ln/Sub", "/ln/Pow", "/ln/Sqrt", "/ln/Div", "/ln/Add_1"})
    CHECK(j["nodes"][n]["kernel"] == "LayerNormalization_token_0");
  CHECK(j["nodes"]["/mm1/MatMul"]["kernel"] == "/mm1/MatMul");
  CHECK(r.node_sum_ms == Approx(kernel_sum(ks) * 1.01));
  CHECK(r.median_run_kernel_ms == Approx(kernel_sum(ks) * 1.01));
  CHECK(j["inputs"][0]["shape"] == nlohmann::json::array({1, 4, 8}));
}

TEST_CASE("ORT's Conv+BatchNorm and NCHWc kernels map to their nodes", "[profile][ort]") {
  TempDir d;
  const auto dag = dag_of(conv_bn_model(), d, "cbr");
  SECTION("basic: BatchNorm folded into the Conv kernel") {
    const std::vector<K> ks = {{"/conv/Conv", "Conv", {1, 8, 8, 8}, 500}, {"/relu/Relu", "Relu", {1, 8, 8, 8}, 50}};
    const auto r = dapdee::import_ort_trace(trace(ks, 2), "t.json", dag, "dev");
    const auto j = nlohmann::json::parse(r.json);
    CHECK(r.nodes_timed == 3);
    CHECK(j["nodes"]["/bn/BatchNormalization"]["kernel"] == "/conv/Conv");
    CHECK(j["nodes"]["/relu/Relu"]["kernel"] == "/relu/Relu");
  }
  SECTION("all: one NCHWc Conv kernel named after the Relu's output, layout reorders around it") {
    const std::vector<K> ks = {{"ReorderInput", "ReorderInput", {1, 8, 8, 8}, 20},
                               {"output_nchwc", "Conv", {1, 8, 8, 8}, 500},
                               {"ReorderOutput", "ReorderOutput", {1, 8, 8, 8}, 30}};
    const auto r = dapdee::import_ort_trace(trace(ks, 3), "t.json", dag, "dev");
    const auto j = nlohmann::json::parse(r.json);
    CHECK(r.nodes_timed == 3);
    CHECK(r.kernels_attached == 2);
    for (const char* n : {"/conv/Conv", "/bn/BatchNormalization", "/relu/Relu"}) CHECK(j["nodes"][n]["kernel"] == "output_nchwc");
    CHECK(j["unmatched_kernels"].empty());
    CHECK(r.node_sum_ms == Approx(kernel_sum(ks) * 1.01));  // every kernel's time lands on a node
    CHECK(j["kernels"]["ReorderOutput"]["time_to"] == "output_nchwc");
  }
}

// input -> Conv -> SiLU (Sigmoid, Mul) -> Conv (squeeze) -> Sigmoid -> output, as efficientnet_b0.
Builder silu_model() {
  Builder b(13, "silu");
  b.input("input", {1, 3, 8, 8});
  testing_onnx::conv(b, "/f0/Conv", "input", "c", 3, 8);
  b.node("Sigmoid", {"c"}, {"s"}, "/f0/Sigmoid");
  b.node("Mul", {"c", "s"}, {"m"}, "/f0/Mul");
  testing_onnx::conv(b, "/se/fc2/Conv", "m", "c2", 8, 8, 1);
  b.node("Sigmoid", {"c2"}, {"output"}, "/se/scale_activation/Sigmoid");
  b.output("output");
  return b;
}

// input [1,4,8] -> Transpose -> MatMul(input, transposed) -> output [1,4,4], as vit_b_16's attention.
Builder transposed_matmul_model() {
  Builder b(13, "tmm");
  b.input("input", {1, 4, 8});
  Builder::attr_ints(b.node("Transpose", {"input"}, {"t"}, "/attn/Transpose_3"), "perm", {0, 2, 1});
  b.node("MatMul", {"input", "t"}, {"output"}, "/attn/MatMul_1");
  b.output("output");
  return b;
}

TEST_CASE("ORT's QuickGelu, FusedConv, FusedMatMul and token-numbered reorders map to their nodes", "[profile][ort]") {
  TempDir d;
  SECTION("extended: QuickGeluFusion (Sigmoid+Mul) and FusedConv (Conv+Sigmoid), names from efficientnet_b0") {
    const auto dag = dag_of(silu_model(), d, "silu");
    const std::vector<K> ks = {{"/f0/Conv", "Conv", {1, 8, 8, 8}, 400},
                               {"/f0/Mul/QuickGeluFusion/", "QuickGelu", {1, 8, 8, 8}, 90},
                               {"/se/fc2/Conv", "FusedConv", {1, 8, 8, 8}, 60}};
    const auto r = dapdee::import_ort_trace(trace(ks, 3), "t.json", dag, "dev");
    const auto j = nlohmann::json::parse(r.json);
    CHECK(r.nodes_timed == r.computing_nodes);
    CHECK(j["nodes"]["/f0/Sigmoid"]["kernel"] == "/f0/Mul/QuickGeluFusion/");
    CHECK(j["nodes"]["/f0/Mul"]["kernel"] == "/f0/Mul/QuickGeluFusion/");
    CHECK(j["nodes"]["/f0/Conv"]["kernel"] == "/f0/Conv");
    CHECK(j["nodes"]["/se/scale_activation/Sigmoid"]["kernel"] == "/se/fc2/Conv");
    CHECK(j["kernels"]["/se/fc2/Conv"]["mapped"] == "by name");
    CHECK(r.node_sum_ms == Approx(kernel_sum(ks) * 1.01));
  }
  SECTION("all: NCHWc with ReorderInput_token_N / ReorderOutput_token_N around it") {
    const auto dag = dag_of(silu_model(), d, "silu");
    const std::vector<K> ks = {{"ReorderInput_token_3", "ReorderInput", {1, 8, 8, 8}, 20},
                               {"c_nchwc", "Conv", {1, 8, 8, 8}, 400},
                               {"ReorderOutput_token_7", "ReorderOutput", {1, 8, 8, 8}, 30},
                               {"/f0/Mul/QuickGeluFusion/", "QuickGelu", {1, 8, 8, 8}, 90},
                               {"/se/fc2/Conv", "FusedConv", {1, 8, 8, 8}, 60}};
    const auto r = dapdee::import_ort_trace(trace(ks, 3), "t.json", dag, "dev");
    const auto j = nlohmann::json::parse(r.json);
    CHECK(r.nodes_timed == r.computing_nodes);
    CHECK(j["kernels"]["ReorderOutput_token_7"]["time_to"] == "c_nchwc");
    CHECK(j["kernels"]["ReorderInput_token_3"]["time_to"] == "c_nchwc");
    CHECK(j["unmatched_kernels"].empty());
    CHECK(r.node_sum_ms == Approx(kernel_sum(ks) * 1.01));
  }
  SECTION("all: FusedMatMul named after the MatMul with ORT's fusion suffixes, vit_b_16's attention") {
    const auto dag = dag_of(transposed_matmul_model(), d, "tmm");
    const std::string k = "/attn/MatMul_1/MatmulTransposeFusion//MatMulScaleFusion//MatmulTransposeFusion/";
    const std::vector<K> ks = {{k, "FusedMatMul", {1, 4, 4}, 300}};
    const auto r = dapdee::import_ort_trace(trace(ks, 2), "t.json", dag, "dev");
    const auto j = nlohmann::json::parse(r.json);
    CHECK(r.nodes_timed == r.computing_nodes);
    CHECK(j["nodes"]["/attn/MatMul_1"]["kernel"] == k);
    CHECK(j["nodes"]["/attn/Transpose_3"]["kernel"] == k);
  }
}

TEST_CASE("bad times are rejected", "[profile][ort]") {
  TempDir d;
  const auto dag = dag_of(conv_bn_model(), d, "cbr");
  const std::vector<K> ks = {{"/conv/Conv", "Conv", {1, 8, 8, 8}, -500}, {"/relu/Relu", "Relu", {1, 8, 8, 8}, 50}};
  CHECK_THROWS_WITH(dapdee::import_ort_trace(trace(ks, 2), "t.json", dag, "dev"), Catch::Contains("negative duration"));
  const std::string head = R"({"format": "dapdee-profile/1", "nodes": {"a": {"ms": )";
  CHECK_THROWS_WITH(dapdee::parse_profile(head + "-1}}}", "p.json"), Catch::Contains(">= 0"));
  CHECK_THROWS_WITH(dapdee::parse_profile(head + "NaN}}}", "p.json"), Catch::Contains("not valid JSON"));
  CHECK_THROWS_WITH(dapdee::parse_profile(head + "1e999}}}", "p.json"), Catch::Contains("overflow"));
  CHECK_THROWS_WITH(dapdee::parse_profile(head + "1}}, \"total_ms\": -3}", "p.json"), Catch::Contains("total_ms"));
  CHECK_THROWS_AS(dapdee::check_time(std::nan(""), "x", "y"), dapdee::Error);
  CHECK_NOTHROW(dapdee::check_time(0.0, "x", "y"));
}

namespace {
dapdee::Profile profile(const std::string& src, double ms_each, const std::string& inputs_json,
                        const std::string& reference_json = "") {
  std::string t = R"({"format": "dapdee-profile/1", "nodes": {"/conv/Conv": {"ms": )" + std::to_string(ms_each) +
                  R"(}, "/relu/Relu": {"ms": )" + std::to_string(ms_each) + "}}";
  if (!inputs_json.empty()) t += R"(, "inputs": )" + inputs_json;
  if (!reference_json.empty()) t += R"(, "reference": )" + reference_json;
  return dapdee::parse_profile(t + "}", src);
}
}  // namespace

namespace {
dapdee::Profile measured_on(const std::string& src, double ms_each, const std::string& machine_json) {
  return dapdee::parse_profile(R"({"format": "dapdee-profile/1", "nodes": {"/conv/Conv": {"ms": )" +
                                   std::to_string(ms_each) + R"(}, "/relu/Relu": {"ms": )" + std::to_string(ms_each) +
                                   "}}, \"machine\": " + machine_json + "}",
                               src);
}
}  // namespace

TEST_CASE("profiles record their machine, and dapdee-plan warns when device and edge share one", "[profile][machine]") {
  const dapdee::Machine here = dapdee::this_machine();
  CHECK(!here.arch.empty());
  CHECK(!here.kernel.empty());
  CHECK(here.cores >= 1);
  CHECK(!here.cpu.empty());
  dapdee::Machine m = here;
  m.threads = 2;
  m.runtime = "OpenCV DNN";
  m.runtime_version = "4.6.0";
  const std::string json = dapdee::machine_json(m);
  const dapdee::Profile p = measured_on("p.json", 1, json);
  CHECK(p.machine.cpu == m.cpu);
  CHECK(p.machine.arch == m.arch);
  CHECK(p.machine.runtime_version == "4.6.0");
  CHECK(p.machine.threads == 2);
  CHECK_THAT(dapdee::machine_summary(p.machine), Catch::Contains("OpenCV DNN 4.6.0") && Catch::Contains("(2 threads)"));
  CHECK(dapdee::machine_summary(dapdee::Machine{}) == "unknown machine");
  CHECK_THROWS_WITH(measured_on("p.json", 1, R"({"cpu": 3})"),
                    Catch::Contains("machine.cpu"));  // the file is the Error's where

  TempDir d;
  const auto dag = dag_of(conv_bn_model(), d, "cbr");
  // Only the machine warnings count here (these profiles also record no input shapes: warned apart).
  const auto machine_warnings = [](std::vector<std::string> w) {
    w.erase(std::remove_if(w.begin(), w.end(),
                           [](const std::string& x) { return x.find("same machine") == std::string::npos; }),
            w.end());
    return w;
  };
  const auto warns = machine_warnings(
      dapdee::check_profile_pair(dag, measured_on("dev.json", 2, json), measured_on("edge.json", 1, json)));
  REQUIRE(warns.size() == 1);
  CHECK_THAT(warns[0], Catch::Contains("same machine") && Catch::Contains(m.arch));
  // Another machine, or profiles from before issue 25 (cpu, cores, threads only): no warning.
  dapdee::Machine other = m;
  other.kernel += "-other";
  CHECK(machine_warnings(dapdee::check_profile_pair(dag, measured_on("dev.json", 2, json),
                                                    measured_on("edge.json", 1, dapdee::machine_json(other))))
            .empty());
  const std::string old = R"({"cpu": "Intel Xeon", "cores": 2, "threads": 1})";
  CHECK(machine_warnings(
            dapdee::check_profile_pair(dag, measured_on("dev.json", 2, old), measured_on("edge.json", 1, old)))
            .empty());
}

TEST_CASE("a build tree's tools find the checkout's presets and specs, without a compiled-in path",
          "[profile][presets]") {
  const dapdee::DataRoot root = dapdee::data_root();
  CHECK(root.checkout);
  CHECK(root.dir == source_dir());
  CHECK(dapdee::resolve_device_spec("rpi4") == source_dir() + "/profiles/specs/rpi4.json");
  CHECK(dapdee::resolve_device_spec("some/spec.json") == "some/spec.json");  // a path: read as given
  CHECK_THROWS_WITH(dapdee::resolve_device_spec("rpi5"), Catch::Contains("rpi4") && Catch::Contains("edge-t4"));
  CHECK(dapdee::quiet_check_command() == "scripts/quiet-check");
  CHECK(dapdee::resolve_network("4G").uplink_mbps > 0);
}

TEST_CASE("dapdee-plan's profile checks: input shapes and swapped profiles", "[profile][check]") {
  TempDir d;
  const auto dag = dag_of(conv_bn_model(), d, "cbr");
  const std::string same = R"([{"name": "input", "shape": [1, 3, 8, 8]}])";
  const std::string other = R"([{"name": "input", "shape": [1, 3, 16, 16]}])";
  SECTION("matching shapes, device slower: no warning") {
    CHECK(dapdee::check_profile_pair(dag, profile("dev.json", 2, same), profile("edge.json", 1, same)).empty());
  }
  SECTION("a profile measured at another input size is rejected, naming it") {
    CHECK_THROWS_WITH(dapdee::check_profile_pair(dag, profile("dev.json", 2, same), profile("edge.json", 1, other)),
                      Catch::Contains("1x3x16x16") && Catch::Contains("1x3x8x8"));
    try {
      dapdee::check_profile_pair(dag, profile("dev.json", 2, other), profile("edge.json", 1, same));
      FAIL("no error");
    } catch (const dapdee::Error& e) {
      CHECK(e.where() == "dev.json");
    }
  }
  SECTION("profiles without input shapes are warned about") {
    const auto w = dapdee::check_profile_pair(dag, profile("dev.json", 2, ""), profile("edge.json", 1, same));
    REQUIRE(w.size() == 1);
    CHECK_THAT(w[0], Catch::Contains("dev.json") && Catch::Contains("no input shapes"));
  }
  SECTION("an edge slower than the device is warned about") {
    const auto w = dapdee::check_profile_pair(dag, profile("dev.json", 1, same), profile("edge.json", 3, same));
    REQUIRE(w.size() == 1);
    CHECK_THAT(w[0], Catch::Contains("swapped"));
  }
  SECTION("both profiles scaled to the same reference time are warned about; different scales are not") {
    const std::string r57 = R"({"model": "resnet18.onnx", "scale_ms": 57.5})";
    const std::string r500 = R"({"model": "resnet18.onnx", "scale_ms": 500})";
    auto w = dapdee::check_profile_pair(dag, profile("dev.json", 2, same, r57), profile("edge.json", 1, same, r57));
    REQUIRE(w.size() == 1);
    CHECK_THAT(w[0], Catch::Contains("resnet18.onnx") && Catch::Contains("57.5") && Catch::Contains("equally fast"));
    CHECK(dapdee::check_profile_pair(dag, profile("dev.json", 2, same, r500), profile("edge.json", 1, same, r57)).empty());
    CHECK(dapdee::check_profile_pair(dag, profile("dev.json", 2, same, r57), profile("edge.json", 1, same)).empty());
    CHECK_THROWS_WITH(profile("bad.json", 1, same, R"({"model": "r.onnx", "scale_ms": -1})"), Catch::Contains("scale_ms"));
  }
}

TEST_CASE("noise warnings: node sum vs whole and the median CV", "[profile][noise]") {
  auto s = [](double median, double cv) {
    dapdee::Summary x;
    x.median = median;
    x.cv = cv;
    return x;
  };
  dapdee::Summary whole = s(10, 0.02);
  SECTION("quiet") {
    const auto n = dapdee::measure_noise({s(4, 0.03), s(5, 0.05), s(0.9, 0.1)}, 9.9, whole);
    CHECK(n.median_cv == Approx(0.05));
    CHECK(dapdee::noise_warnings(n).empty());
  }
  SECTION("node sum 40% below the whole model") {
    const auto n = dapdee::measure_noise({s(3, 0.03), s(3, 0.05)}, 6.0, whole);
    CHECK(n.sum_vs_whole_pct() == Approx(-40));
    const auto w = dapdee::noise_warnings(n);
    REQUIRE(w.size() == 1);
    CHECK_THAT(w[0], Catch::Contains("-40.0%"));
  }
  SECTION("unstable medians") {
    const auto n = dapdee::measure_noise({s(3, 0.3), s(3, 0.25), s(3, 0.01)}, 10.0, whole);
    const auto w = dapdee::noise_warnings(n);
    REQUIRE(w.size() == 1);
    CHECK_THAT(w[0], Catch::Contains("coefficient of variation is 25.0%"));
  }
  SECTION("a machine that changes speed: whole-model p90 over p10") {
    dapdee::Summary bimodal = s(10, 0.02);
    bimodal.p10 = 8;
    bimodal.p90 = 12;
    const auto n = dapdee::measure_noise({s(4, 0.03), s(5, 0.05)}, 9.5, bimodal);
    CHECK(n.whole_spread() == Approx(1.5));
    const auto w = dapdee::noise_warnings(n);
    REQUIRE(w.size() == 1);
    CHECK_THAT(w[0], Catch::Contains("1.50x the fastest"));
    bimodal.p90 = 8.7;  // 1.0875: within the tolerance
    CHECK(dapdee::noise_warnings(dapdee::measure_noise({s(4, 0.03), s(5, 0.05)}, 9.5, bimodal)).empty());
  }
  SECTION("zero-time nodes do not count in the CVs") {
    const auto n = dapdee::measure_noise({s(0, 0), s(0, 0), s(2, 0.04)}, 10.0, whole);
    CHECK(n.median_cv == Approx(0.04));
  }
}

namespace {
struct Fixture {
  dapdee::Dag dag;
  dapdee::OrtImport r;
  nlohmann::json j;
};
// A real trace (ONNX Runtime 1.30, npm onnxruntime-node, 1 run, args trimmed to op and
// shapes) of a shared reference model, imported against the committed DAG of that model.
Fixture fixture(const std::string& model, const std::string& level) {
  const std::string root = DAPDEE_SOURCE_DIR;
  const std::string dag_path = root + "/profiles/dags/" + model + ".dag.json";
  Fixture f{dapdee::parse_dag(slurp(dag_path), dag_path), {}, {}};
  f.r = dapdee::import_ort_trace(slurp(root + "/tests/golden/ort/" + model + "." + level + ".trace.json"), model, f.dag, "ort");
  f.j = nlohmann::json::parse(f.r.json);
  return f;
}
}  // namespace

TEST_CASE("real ORT traces: every node timed, every kernel's time on a node", "[profile][ort][golden]") {
  for (const auto& [model, level] : std::vector<std::pair<std::string, std::string>>{
           {"resnet18", "all"}, {"mobilenet_v2", "all"}, {"vit_b_16", "extended"}}) {
    INFO(model << " " << level);
    const auto f = fixture(model, level);
    CHECK(f.r.nodes_timed == f.r.computing_nodes);
    CHECK(f.r.node_sum_ms == Approx(f.r.median_run_kernel_ms).epsilon(1e-9));  // one run: exact
    CHECK(f.j["unmatched_kernels"].empty());
    CHECK(f.j["inputs"][0]["shape"] == nlohmann::json::array({1, 3, 224, 224}));
  }
}

TEST_CASE("real ORT traces: NCHWc Conv+Add+Relu and transformer fusions map to their nodes", "[profile][ort][golden]") {
  SECTION("resnet18, level all") {
    const auto f = fixture("resnet18", "all");
    const std::string k = "/layer1/layer1.0/conv2/Conv_output_0_nchwc";
    for (const char* n : {"/layer1/layer1.0/conv2/Conv", "/layer1/layer1.0/Add", "/layer1/layer1.0/relu_1/Relu"})
      CHECK(f.j["nodes"][n]["kernel"] == k);
    CHECK(f.j["nodes"]["/conv1/Conv"]["kernel"] == "/relu/Relu_output_0_nchwc");
  }
  SECTION("vit_b_16, level extended") {
    const auto f = fixture("vit_b_16", "extended");
    const std::string p = "/encoder/layers/encoder_layer_3/";
    for (const char* n : {"ln_1/ReduceMean", "ln_1/Sub", "ln_1/Pow", "ln_1/Sqrt", "ln_1/Div", "ln_1/Mul", "ln_1/Add_1"})
      CHECK(f.j["nodes"][p + n]["kernel"] == p + "ln_1/Mul/LayerNormFusion/");
    CHECK(f.j["nodes"][p + "self_attention/Add"]["kernel"] == p + "self_attention/MatMul/MatMulAddFusion");
    CHECK(f.j["kernels"]["Gelu_token_230"]["mapped"] == "by op and shape");
    for (const char* n : {"mlp/mlp.1/Div", "mlp/mlp.1/Erf", "mlp/mlp.1/Mul_1"}) CHECK(f.j["nodes"][p + n]["kernel"] == "Gelu_token_230");
    CHECK(f.j["kernels"]["gemm_output_reshape"]["time_to"] == "/encoder/layers/encoder_layer_0/self_attention/MatMul/MatMulAddFusion");
  }
}

TEST_CASE("the kernel model learns a power law, round-trips and rejects malformed files", "[profile][fit]") {
  TempDir d;
  std::vector<dapdee::ProfiledDag> train, test;
  for (const auto& [name, b] : std::vector<std::pair<std::string, Builder>>{
           {"chain", testing_onnx::chain_model()}, {"inception", testing_onnx::inception_model()},
           {"residual", testing_onnx::residual_model()}, {"early_exit", testing_onnx::early_exit_model()},
           {"diamond", testing_onnx::diamond_model()}}) {
    dapdee::ProfiledDag pd{dag_of(b, d, name), {}};
    pd.profile.source = name;
    // A synthetic device: 0.02 ms x (kFLOP + 1)^0.8 for every op.
    double total = 0;
    for (const auto& n : pd.dag.nodes)
      if (n.op != "Input") total += pd.profile.ms[n.name] = 0.02 * std::pow((2.0 * n.macs + n.ops) / 1e3 + 1, 0.8);
    pd.profile.total_ms = total;
    (name == "diamond" ? test : train).push_back(std::move(pd));
  }
  const auto m = dapdee::fit_kernel_model(train, 1);
  const auto err = dapdee::evaluate_kernel_model(m, test);
  REQUIRE(err.model_error.size() == 1);
  CHECK(std::fabs(err.model_error[0].second) < 10.0);  // percent, on a model never seen
  const auto text = dapdee::kernel_model_to_json(m);
  const auto again = dapdee::parse_kernel_model(text, "k.json");
  for (size_t v = 1; v < test[0].dag.nodes.size(); ++v)
    CHECK(dapdee::predict_kernel_ms(again, test[0].dag, static_cast<int>(v)) ==
          Approx(dapdee::predict_kernel_ms(m, test[0].dag, static_cast<int>(v))));
  const auto prof = nlohmann::json::parse(dapdee::predict_profile_with_kernel_model(test[0].dag, again, "k.json"));
  CHECK(prof["predicted"] == true);
  auto bad = nlohmann::json::parse(text);
  bad["fallback"]["trees"][0] = nlohmann::json::array({{0, 1.0, 0.0, 0, 0}});  // a split pointing at itself
  CHECK_THROWS_WITH(dapdee::parse_kernel_model(bad.dump(), "k.json"), Catch::Contains("malformed"));
  CHECK_THROWS_WITH(dapdee::parse_kernel_model("{}", "k.json"), Catch::Contains("not a dapdee-kernel-model/2"));
  CHECK_THROWS_AS(dapdee::fit_kernel_model({}), dapdee::Error);
}

TEST_CASE("kernel classes: depthwise, grouped, 1x1, 3x3 stride 1 and other convolutions", "[profile][fit]") {
  TempDir d;
  Builder b(13, "classes");
  b.input("input", {1, 16, 8, 8});
  testing_onnx::conv(b, "/c3", "input", "a", 16, 16);      // 3x3, stride 1
  testing_onnx::conv(b, "/c1", "a", "b", 16, 16, 1);       // 1x1
  b.weight("dw.w", {16, 1, 3, 3});                          // depthwise 3x3
  auto& dw = b.node("Conv", {"b", "dw.w"}, {"c"}, "/dw");
  Builder::attr_ints(dw, "kernel_shape", {3, 3});
  Builder::attr_ints(dw, "pads", {1, 1, 1, 1});
  Builder::attr_int(dw, "group", 16);
  b.weight("g.w", {16, 4, 3, 3});                           // 4 groups of 4 channels: reduction 36
  auto& g = b.node("Conv", {"c", "g.w"}, {"e"}, "/grouped");
  Builder::attr_ints(g, "kernel_shape", {3, 3});
  Builder::attr_ints(g, "pads", {1, 1, 1, 1});
  Builder::attr_int(g, "group", 4);
  b.weight("s.w", {16, 16, 3, 3});                          // 3x3 stride 2
  auto& s2 = b.node("Conv", {"e", "s.w"}, {"output"}, "/s2");
  Builder::attr_ints(s2, "kernel_shape", {3, 3});
  Builder::attr_ints(s2, "pads", {1, 1, 1, 1});
  Builder::attr_ints(s2, "strides", {2, 2});
  b.output("output");
  const auto dag = dag_of(b, d, "classes");
  const std::map<std::string, std::string> want = {{"/c3", "Conv/3x3s1"},     {"/c1", "Conv/1x1"}, {"/dw", "Conv/depthwise"},
                                                   {"/grouped", "Conv/grouped"}, {"/s2", "Conv/kxk"}};
  for (const auto& [node, cls] : want) {
    INFO(node);
    REQUIRE(dag.find(node) >= 0);
    CHECK(dapdee::kernel_class(dag, dag.find(node)) == cls);
  }
}

TEST_CASE("dapdee-plan rejects a profile measured at another input size", "[profile][check][cli]") {
  TempDir d;
  const auto dag = dag_of(conv_bn_model(), d, "cbr");
  spit(d / "cbr.dag.json", dapdee::dag_to_json(dag));
  auto prof = [&](const std::string& file, double ms, const std::string& shape) {
    std::string t = R"({"format": "dapdee-profile/1", "nodes": {)";
    bool first = true;
    for (const auto& n : dag.nodes)
      if (n.op != "Input") t += std::string(first ? "" : ", ") + "\"" + n.name + "\": {\"ms\": " + std::to_string(ms) + "}", first = false;
    spit(d / file, t + R"(}, "inputs": [{"name": "input", "shape": )" + shape + "}]}");
  };
  prof("dev.json", 2, "[1, 3, 8, 8]");
  prof("edge.json", 1, "[1, 3, 8, 8]");
  prof("edge300.json", 1, "[1, 3, 300, 300]");
  const std::string base = tool("dapdee-plan") + " " + (d / "cbr.dag.json") + " --network 4G --device ";
  auto r = run(base + (d / "dev.json") + " --edge " + (d / "edge.json"));
  CHECK(r.code == 0);
  CHECK_THAT(r.err, !Catch::Contains("input shapes") && !Catch::Contains("swapped"));
  r = run(base + (d / "dev.json") + " --edge " + (d / "edge300.json"));
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::StartsWith("dapdee-plan: error: " + (d / "edge300.json") + ": ") && Catch::Contains("1x3x300x300"));
  CHECK(r.out.empty());
  r = run(base + (d / "edge.json") + " --edge " + (d / "dev.json"));
  CHECK(r.code == 0);
  CHECK_THAT(r.err, Catch::Contains("swapped"));
}

#ifdef DAPDEE_HAVE_OPENCV
#include "dapdee/measure/opencv_profiler.hpp"

TEST_CASE("OpenCV profiles record inputs, machine and noise, and --budget adapts the repetitions", "[profile][opencv]") {
  TempDir d;
  testing_onnx::chain_model().save(d / "chain.onnx");
  dapdee::ProfileOptions opt;
  opt.model_path = d / "chain.onnx";
  opt.warmup = 1;
  opt.repeat = 4;
  opt.input_shapes = {{"input", {1, 3, 8, 8}}};
  SECTION("fixed repetitions") {
    const auto r = dapdee::profile_with_opencv(opt);
    const auto j = nlohmann::json::parse(r.json);
    CHECK(r.runs == 4);
    CHECK(j["inputs"] == nlohmann::json::parse(R"([{"name": "input", "shape": [1, 3, 8, 8]}])"));
    CHECK(j["machine"]["threads"] == 1);
    CHECK(j["machine"]["cores"].get<int>() >= 1);
    CHECK(j["noise"]["whole_ms"].get<double>() == Approx(j["total_ms"].get<double>()));
    CHECK(j["noise"].contains("median_node_cv"));
    CHECK_FALSE(j.contains("adaptive"));
    // The profile it writes passes dapdee-plan's shape check against the model's own DAG.
    dapdee::ImportOptions iopt;
    iopt.model_path = opt.model_path;
    const auto dag = dapdee::import_onnx(iopt).dag;
    const auto p = dapdee::parse_profile(r.json, "p.json");
    CHECK(p.records_inputs);
    CHECK_NOTHROW(dapdee::check_profile_pair(dag, p, p));
  }
  SECTION("adaptive: at least --repeat runs, stops when stable or out of budget") {
    opt.budget_s = 0.5;
    const auto r = dapdee::profile_with_opencv(opt);
    const auto j = nlohmann::json::parse(r.json);
    CHECK(r.runs >= 6);  // the stability check needs 3 runs a half
    CHECK(j["adaptive"]["runs"] == r.runs);
    CHECK(j["adaptive"]["min_repeat"] == 4);
    CHECK(j["repeat"] == r.runs);
  }
}
#endif
