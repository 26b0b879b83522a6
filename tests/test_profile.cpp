// dapdee-profile: synthetic refill, OpenCV rewrites, ORT traces, OpenCV measurement and mapping.
#include <onnx/onnx_pb.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <nlohmann/json.hpp>

#include "dapdee/import/onnx_import.hpp"
#include "dapdee/import/ort_import.hpp"
#include "dapdee/model/profile.hpp"
#include "dapdee/model/profile_json.hpp"
#include "dapdee/onnx/onnx_rewrite.hpp"
#include "dapdee/predict/latency_model.hpp"
#include "dapdee/support/error.hpp"
#include "dapdee/support/stats.hpp"
#include "onnx_builder.hpp"
#include "test_util.hpp"
#ifdef DAPDEE_HAVE_OPENCV
#include "dapdee/measure/opencv_profiler.hpp"
#endif

using namespace test_util;
using testing_onnx::Builder;

namespace {
std::vector<float> floats_of(const onnx::TensorProto& t) {
  std::vector<float> v(t.raw_data().size() / 4);
  std::memcpy(v.data(), t.raw_data().data(), v.size() * 4);
  return v;
}
const onnx::TensorProto* init(const onnx::ModelProto& m, const std::string& name) {
  for (const auto& t : m.graph().initializer())
    if (t.name() == name) return &t;
  return nullptr;
}
}  // namespace

TEST_CASE("summary statistics", "[profile]") {
  const auto s = dapdee::summarize({5, 1, 3, 2, 4});
  CHECK(s.median == 3);
  CHECK(s.mean == 3);
  CHECK(s.p10 == Approx(1.4));
  CHECK(s.p90 == Approx(4.6));
  CHECK(s.cv == Approx(std::sqrt(2.5) / 3));
}

TEST_CASE("weightless models are refilled, integer tensors are untouched", "[profile]") {
  Builder b;
  b.input("input", {1, 3, 4, 4});
  testing_onnx::conv(b, "conv", "input", "c", 3, 8);
  for (const char* n : {"bn.scale", "bn.bias", "bn.mean", "bn.var"}) b.weight(n, {8});
  b.node("BatchNormalization", {"c", "bn.scale", "bn.bias", "bn.mean", "bn.var"}, {"bn"}, "bn");
  b.ints("shape", {1, -1});
  b.node("Reshape", {"bn", "shape"}, {"output"}, "reshape");
  b.output("output");
  auto& m = b.model();
  // Make every float weight absent, as in a model whose external data file is missing.
  for (auto& t : *m.mutable_graph()->mutable_initializer()) {
    if (t.data_type() != onnx::TensorProto::FLOAT) continue;
    t.clear_raw_data();
    t.set_data_location(onnx::TensorProto::EXTERNAL);
    auto* kv = t.add_external_data();
    kv->set_key("location");
    kv->set_value("missing.onnx.data");
  }
  const auto rep = dapdee::refill_weights(m, "/nonexistent", "m.onnx");
  CHECK(rep.refilled == 5);
  CHECK(rep.synthetic_weights());
  for (float x : floats_of(*init(m, "bn.scale"))) CHECK(x == 1.0f);
  for (float x : floats_of(*init(m, "bn.var"))) CHECK(x == 1.0f);
  for (float x : floats_of(*init(m, "bn.bias"))) CHECK(x == 0.0f);
  for (float x : floats_of(*init(m, "bn.mean"))) CHECK(x == 0.0f);
  const auto w = floats_of(*init(m, "conv.w"));
  REQUIRE(w.size() == 8 * 3 * 3 * 3);
  const float bound = 1.0f / std::sqrt(27.0f);
  bool nonzero = false;
  for (float x : w) {
    CHECK(std::fabs(x) <= bound);
    nonzero = nonzero || x != 0;
  }
  CHECK(nonzero);
  const auto* shape = init(m, "shape");
  REQUIRE(shape->int64_data_size() == 2);
  CHECK(shape->int64_data(0) == 1);
  CHECK(shape->int64_data(1) == -1);
  CHECK(shape->raw_data().empty());
}

TEST_CASE("Identity of an initializer and opset-11 Clip are rewritten for OpenCV", "[profile]") {
  Builder b(13);
  b.input("input", {1, 4});
  b.weight("w", {4});
  b.node("Identity", {"w"}, {"w_copy"}, "ident");
  b.node("Add", {"input", "w_copy"}, {"a"}, "add");
  auto* lo = b.model().mutable_graph()->add_initializer();
  lo->set_name("lo");
  lo->set_data_type(onnx::TensorProto::FLOAT);
  lo->add_float_data(0.0f);
  auto& k = b.node("Constant", {}, {"hi"}, "hi_const");
  auto* a = k.add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  a->mutable_t()->set_data_type(onnx::TensorProto::FLOAT);
  a->mutable_t()->add_float_data(6.0f);
  b.node("Clip", {"a", "lo", "hi"}, {"output"}, "clip");
  b.output("output");
  auto& m = b.model();
  dapdee::RewriteReport rep;
  dapdee::rewrite_for_opencv(m, rep);
  CHECK(rep.identity_rewrites == 1);
  CHECK(rep.clip_rewrites == 1);
  REQUIRE(init(m, "w_copy") != nullptr);
  for (const auto& n : m.graph().node()) {
    CHECK(n.op_type() != "Identity");
    if (n.op_type() != "Clip") continue;
    CHECK(n.input_size() == 1);
    std::map<std::string, float> attrs;
    for (const auto& at : n.attribute()) attrs[at.name()] = at.f();
    CHECK(attrs.at("min") == 0.0f);
    CHECK(attrs.at("max") == 6.0f);
  }
}

namespace {
// A trace in ONNX Runtime's format for the chain model: 3 runs; conv1+relu1 fused as ORT does.
std::string chain_trace(bool fused) {
  nlohmann::json ev = nlohmann::json::array();
  ev.push_back({{"cat", "Session"}, {"name", "model_run"}, {"dur", 100}});
  const std::vector<std::pair<std::string, std::string>> kernels =
      fused ? std::vector<std::pair<std::string, std::string>>{{"r1_nchwc", "Conv"}, {"pool1", "MaxPool"},
                                                               {"flatten", "Flatten"}, {"fc", "Gemm"}, {"ReorderOutput", "ReorderOutput"}}
            : std::vector<std::pair<std::string, std::string>>{
                  {"conv1", "Conv"}, {"relu1", "Relu"}, {"pool1", "MaxPool"}, {"flatten", "Flatten"}, {"fc", "Gemm"}};
  for (int run = 0; run < 3; ++run)
    for (size_t k = 0; k < kernels.size(); ++k)
      ev.push_back({{"cat", "Node"}, {"name", kernels[k].first + "_kernel_time"}, {"dur", 1000 * (k + 1) + 100 * run},
                    {"args", {{"op_name", kernels[k].second}}}});
  return ev.dump();
}
dapdee::Dag chain_dag(const TempDir& d) {
  testing_onnx::chain_model().save(d / "chain.onnx");
  dapdee::ImportOptions opt;
  opt.model_path = d / "chain.onnx";
  return dapdee::import_onnx(opt).dag;
}
}  // namespace

TEST_CASE("ONNX Runtime traces convert to profiles keyed by DAG nodes", "[profile][ort]") {
  TempDir d;
  const auto dag = chain_dag(d);
  SECTION("one kernel per node: medians in ms") {
    const auto r = dapdee::import_ort_trace(chain_trace(false), "t.json", dag, "dev");
    const auto j = nlohmann::json::parse(r.json);
    CHECK(j["format"] == "dapdee-profile/1");
    CHECK(r.runs == 3);
    CHECK(j["nodes"]["conv1"]["ms"].get<double>() == Approx(1.1));
    CHECK(j["nodes"]["fc"]["ms"].get<double>() == Approx(5.1));
    CHECK(r.nodes_timed == 5);
  }
  SECTION("fused kernels are split over the nodes they cover") {
    const auto r = dapdee::import_ort_trace(chain_trace(true), "t.json", dag, "dev");
    const auto j = nlohmann::json::parse(r.json);
    const double conv = j["nodes"]["conv1"]["ms"], relu = j["nodes"]["relu1"]["ms"];
    CHECK(conv + relu == Approx(1.1));
    CHECK(conv > 10 * relu);  // split by arithmetic cost
    CHECK(j["nodes"]["conv1"]["fused_kernel"] == "r1_nchwc");
    CHECK(j["unmatched_kernels"].empty());
    CHECK(j["attached_kernels"] == nlohmann::json::array({"ReorderOutput"}));  // its time goes to the kernel before (fc)
    CHECK(j["nodes"]["fc"]["ms"].get<double>() == Approx(4.1 + 5.1));
  }
  SECTION("a device name of invalid UTF-8 is written replaced (it was an internal error)") {
    const auto r = dapdee::import_ort_trace(chain_trace(false), "t.json", dag, "dev\xff");
    CHECK(nlohmann::json::parse(r.json)["device"] == "dev\xef\xbf\xbd");
  }
  SECTION("a trace for another model, or not a trace, is an error") {
    nlohmann::json other = nlohmann::json::array();
    for (int k = 0; k < 4; ++k) other.push_back({{"cat", "Node"}, {"name", "/x" + std::to_string(k) + "/Conv_kernel_time"}, {"dur", 5}});
    CHECK_THROWS_WITH(dapdee::import_ort_trace(other.dump(), "t.json", dag, "dev"), Catch::Contains("another model"));
    CHECK_THROWS_WITH(dapdee::import_ort_trace("{]", "t.json", dag, "dev"), Catch::Contains("not valid JSON"));
    CHECK_THROWS_WITH(dapdee::import_ort_trace("[]", "t.json", dag, "dev"), Catch::Contains("not an ONNX Runtime"));
  }
}

TEST_CASE("profile_to_json writes the shared fields around each writer's own, and parse_profile reads it back", "[profile]") {
  dapdee::ProfileDoc doc;
  doc.device = "dev";
  doc.model = "m";
  doc.runtime = "rt";
  doc.about["inputs"] = nlohmann::ordered_json::array({{{"name", "x"}, {"shape", {1, 3}}}});
  doc.about["zeta"] = 1;
  doc.nodes["b"] = {{"ms", 2.5}};
  doc.nodes["a"] = {{"ms", 0.5}, {"kernel", "k"}};
  doc.total_ms = 3;
  doc.details["alpha"] = "last";
  const std::string text = dapdee::profile_to_json(doc);
  std::vector<std::string> keys;
  const auto parsed = nlohmann::ordered_json::parse(text);
  for (const auto& [k, v] : parsed.items()) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"format", "device", "model", "runtime", "predicted", "inputs", "zeta", "nodes",
                                         "total_ms", "alpha"});
  CHECK(text.rfind("{\n \"format\": \"dapdee-profile/1\",\n", 0) == 0);  // indent 1, as every writer wrote it
  CHECK(text.back() == '\n');
  const dapdee::Profile p = dapdee::parse_profile(text, "p.json");
  CHECK(p.device == "dev");
  CHECK(p.ms.at("a") == 0.5);
  CHECK(p.ms.at("b") == 2.5);
  CHECK(p.total_ms == 3);
  REQUIRE(p.inputs.size() == 1);
  CHECK(p.inputs[0].second == std::vector<int64_t>{1, 3});
}

TEST_CASE("the shared googlenet ORT traces convert", "[profile][ort][reference]") {
  const std::string dir = shared_dir();
  if (!fs::exists(dir + "/ort/googlenet_disabled.json") || !fs::exists(dir + "/models/googlenet.onnx"))
    DAPDEE_SKIP("../shared/ort or ../shared/models is absent");
  dapdee::ImportOptions opt;
  opt.model_path = dir + "/models/googlenet.onnx";
  const auto dag = dapdee::import_onnx(opt).dag;
  size_t computing = 0;
  for (const auto& n : dag.nodes) computing += n.op != "Input";
  for (const char* f : {"googlenet_disabled.json", "googlenet_all.json"}) {
    const auto r = dapdee::import_ort_trace(slurp(dir + "/ort/" + f), f, dag, "ort");
    CHECK(static_cast<size_t>(r.nodes_timed) == computing);
    CHECK(r.runs == 5);
  }
}

TEST_CASE("dapdee-profile CLI errors", "[profile][cli]") {
  TempDir d;
  const std::string out = d / "p.json";
  spit(d / "junk.onnx", "this is not onnx");
  auto r = run(tool("dapdee-profile") + " " + (d / "junk.onnx") + " -o " + out);
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::StartsWith("dapdee-profile: error: " + (d / "junk.onnx") + ": "));
  CHECK_FALSE(fs::exists(out));
  const auto dag = chain_dag(d);
  spit(d / "chain.dag.json", dapdee::dag_to_json(dag));
  spit(d / "other.json", R"([{"cat":"Node","name":"/zz/Conv_kernel_time","dur":3}])");
  r = run(tool("dapdee-profile") + " import-ort " + (d / "other.json") + " --dag " + (d / "chain.dag.json") + " -o " + out);
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("another model"));
  CHECK_FALSE(fs::exists(out));
  CHECK(run(tool("dapdee-profile")).code == 2);
  CHECK(run(tool("dapdee-profile") + " --help").code == 0);
}

#ifdef DAPDEE_HAVE_OPENCV
TEST_CASE("OpenCV measurement maps every layer to its DAG node", "[profile][opencv]") {
  TempDir d;
  for (const auto& [name, b] : std::vector<std::pair<std::string, Builder>>{
           {"chain", testing_onnx::chain_model()}, {"diamond", testing_onnx::diamond_model()},
           {"inception", testing_onnx::inception_model()}, {"residual", testing_onnx::residual_model()},
           {"early_exit", testing_onnx::early_exit_model()}}) {
    INFO(name);
    b.save(d / (name + ".onnx"));
    dapdee::ProfileOptions opt;
    opt.model_path = d / (name + ".onnx");
    opt.warmup = 1;
    opt.repeat = 3;
    const auto r = dapdee::profile_with_opencv(opt);
    const auto j = nlohmann::json::parse(r.json);
    dapdee::ImportOptions iopt;
    iopt.model_path = opt.model_path;
    const auto dag = dapdee::import_onnx(iopt).dag;
    for (const auto& n : dag.nodes) {
      if (n.op == "Input") continue;
      REQUIRE(j["nodes"].contains(n.name));
      CHECK(j["nodes"][n.name]["ms"].get<double>() >= 0);
    }
    CHECK(j["nodes"].size() + 1 == dag.nodes.size());
    CHECK(j["unmapped_layers"].empty());
    CHECK(r.nodes_timed + r.nodes_without_layer + 1 == static_cast<int>(dag.nodes.size()));
    CHECK(j["runtime"].get<std::string>().find("OpenCV") != std::string::npos);
  }
}

TEST_CASE("dapdee-profile reads the model from stdin", "[profile][opencv][cli]") {
  TempDir d;
  testing_onnx::chain_model().save(d / "chain.onnx");
  const auto r = run(tool("dapdee-profile") + " - --repeat 2 < " + (d / "chain.onnx"));
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["model"] == "stdin");
  CHECK(j["nodes"].contains("conv1"));
  const auto bad = run("echo junk | " + tool("dapdee-profile") + " -");
  CHECK(bad.code == 1);
  CHECK_THAT(bad.err, Catch::StartsWith("dapdee-profile: error: -: "));
}

TEST_CASE("dapdee-profile --reference gives times relative to a reference model run alongside", "[profile][opencv][cli]") {
  TempDir d;
  testing_onnx::chain_model().save(d / "chain.onnx");
  dapdee::ProfileOptions opt;
  opt.model_path = d / "chain.onnx";
  opt.warmup = 1;
  opt.repeat = 5;
  opt.reference_path = opt.model_path;  // the model against itself: every ratio is about 1
  SECTION("scaled to --reference-ms") {
    opt.reference_ms = 1000;  // far from the model's raw time (well under a millisecond)
    const auto r = dapdee::profile_with_opencv(opt);
    const auto j = nlohmann::json::parse(r.json);
    CHECK(j["reference"]["model"] == opt.model_path);
    CHECK(j["reference"]["scale_ms"] == 1000.0);
    CHECK(j["reference"]["scale_from"] == "--reference-ms");
    CHECK(j["reference"]["raw_total_ms"].get<double>() < 100);
    CHECK(j["reference"]["ms"].get<double>() == Approx(r.reference_median_ms));
    CHECK(j["total_ms"].get<double>() > 200);
    CHECK(j["total_ms"].get<double>() < 5000);
    CHECK(j["nodes"]["conv1"]["ms"].get<double>() > 1);  // node times are scaled too
  }
  SECTION("scaled to the reference's own median") {
    const auto r = dapdee::profile_with_opencv(opt);
    const auto j = nlohmann::json::parse(r.json);
    CHECK(j["reference"]["scale_ms"].get<double>() == Approx(j["reference"]["ms"].get<double>()));
    CHECK(j["total_ms"].get<double>() > 0.2 * r.reference_median_ms);
    CHECK(j["total_ms"].get<double>() < 5 * r.reference_median_ms);
  }
  // The error profile_with_opencv throws: "where: what", or "no error".
  auto failure = [&] {
    try {
      dapdee::profile_with_opencv(opt);
    } catch (const dapdee::Error& e) {
      return e.where() + ": " + e.what();
    }
    return std::string("no error");
  };
  SECTION("a reference that cannot be read is an error naming it") {
    opt.reference_path = d / "absent.onnx";
    CHECK_THAT(failure(), Catch::StartsWith(opt.reference_path + ": "));
  }
  SECTION("a reference with a dynamic input dimension is an error naming it") {
    Builder b = testing_onnx::chain_model();
    b.model().mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0)->set_dim_param("N");
    b.save(d / "dynamic.onnx");
    opt.reference_path = d / "dynamic.onnx";
    CHECK_THAT(failure(), Catch::StartsWith(opt.reference_path + ": ") && Catch::Contains("dynamic") &&
                              Catch::Contains("a reference needs static input shapes"));
  }
  SECTION("--reference-ms without a reference is refused") {
    opt.reference_path.clear();
    opt.reference_ms = 10;
    CHECK_THAT(failure(), Catch::StartsWith("--reference-ms: "));
  }
  SECTION("the command line") {
    const std::string out = d / "p.json";
    auto r = run(tool("dapdee-profile") + " " + opt.model_path + " --repeat 2 --reference " + opt.model_path +
                 " --reference-ms 50 -o " + out);
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK_THAT(r.err, Catch::Contains("times relative to"));
    CHECK(nlohmann::json::parse(slurp(out))["reference"]["scale_ms"] == 50.0);
    fs::remove(out);
    CHECK(run(tool("dapdee-profile") + " " + opt.model_path + " --reference-ms 50 -o " + out).code == 2);
    CHECK(run(tool("dapdee-profile") + " " + opt.model_path + " --reference " + opt.model_path + " --reference-ms 0 -o " + out).code == 2);
    CHECK(run(tool("dapdee-profile") + " - --reference - -o " + out + " < " + opt.model_path).code == 2);
    r = run(tool("dapdee-profile") + " " + opt.model_path + " --reference " + (d / "absent.onnx") + " -o " + out);
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::StartsWith("dapdee-profile: error: " + (d / "absent.onnx") + ": "));
    CHECK_FALSE(fs::exists(out));
  }
}

TEST_CASE("an op OpenCV lacks is a clear error naming op and node", "[profile][opencv][cli]") {
  TempDir d;
  Builder b(13);
  b.input("input", {1, 4});
  b.weight("w", {4});
  b.node("Relu", {"input"}, {"r"}, "relu");
  auto& mod = b.node("Mod", {"r", "w"}, {"output"}, "the_mod");
  Builder::attr_int(mod, "fmod", 1);
  b.output("output");
  b.save(d / "mod.onnx");
  const std::string out = d / "p.json";
  const auto r = run(tool("dapdee-profile") + " " + (d / "mod.onnx") + " --repeat 1 -o " + out);
  INFO(r.err);
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("Mod") && Catch::Contains("the_mod"));
  CHECK_FALSE(fs::exists(out));
}
#else
TEST_CASE("OpenCV measurement maps every layer to its DAG node", "[profile][opencv]") {
  DAPDEE_SKIP("this build has no OpenCV DNN (libopencv-dnn-dev)");
}
#endif

TEST_CASE("the per-op latency model recovers a linear law and reports held-out error", "[profile][fit]") {
  TempDir d;
  std::vector<dapdee::ProfiledDag> train, test;
  for (const auto& [name, b] : std::vector<std::pair<std::string, Builder>>{
           {"chain", testing_onnx::chain_model()}, {"inception", testing_onnx::inception_model()},
           {"residual", testing_onnx::residual_model()}, {"early_exit", testing_onnx::early_exit_model()},
           {"diamond", testing_onnx::diamond_model()}}) {
    b.save(d / (name + ".onnx"));
    dapdee::ImportOptions opt;
    opt.model_path = d / (name + ".onnx");
    dapdee::ProfiledDag pd{dapdee::import_onnx(opt).dag, {}};
    pd.profile.source = name;
    // A synthetic device: 0.01 ms + 1 ms per MFLOP for every op.
    for (const auto& n : pd.dag.nodes)
      if (n.op != "Input") pd.profile.ms[n.name] = 0.01 + (2.0 * n.macs + n.ops) / 1e6;
    (name == "diamond" ? test : train).push_back(std::move(pd));
  }
  const auto m = dapdee::fit_latency_model(train, 1);
  const auto err = dapdee::evaluate_latency_model(m, test);
  REQUIRE(err.model_error.size() == 1);
  CHECK(std::fabs(err.model_error[0].second) < 1.0);  // percent
  const auto again = dapdee::parse_latency_model(dapdee::latency_model_to_json(m), "m.json");
  CHECK(again.per_op.size() == m.per_op.size());
  const auto prof = nlohmann::json::parse(dapdee::predict_profile_with_model(test[0].dag, again, "m.json"));
  CHECK(prof["predicted"] == true);
  CHECK(prof["nodes"].size() + 1 == test[0].dag.nodes.size());
}
