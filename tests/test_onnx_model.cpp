// OnnxModel (issue 14, "parse the model once"): the import sees the same model whether the weights
// are kept (split, the OpenCV profiler) or stripped (the plain import); the tools read the model once.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

#include "dapdee/import/model_import.hpp"
#include "dapdee/import/onnx_import.hpp"
#include "dapdee/onnx/model_prep.hpp"
#include "dapdee/onnx/onnx_model.hpp"
#include "dapdee/support/error.hpp"
#include "onnx_builder.hpp"
#include "test_util.hpp"

using namespace test_util;
using testing_onnx::Builder;

namespace {

// Everything an import gives, as text: DAG, warnings, tables, the folded tensors (by name).
std::string import_text(const dapdee::ModelImport& mi) {
  const dapdee::ImportResult& r = mi.result;
  std::string s = dapdee::dag_to_json(r.dag) + "\nrule " + r.exit_rule;
  s += "\nfolded " + std::to_string(r.folded_nodes) + " rounds " + std::to_string(r.inference_rounds);
  for (const auto* list : {&r.warnings, &r.onnx_to_dag, &r.onnx_names, &r.onnx_ops})
    for (const auto& x : *list) s += "\n  " + x;
  const std::map<std::string, onnx::TensorProto> folded(mi.folded.begin(), mi.folded.end());
  for (const auto& [name, t] : folded) s += "\nvalue " + name + " " + t.SerializeAsString();
  return s;
}

dapdee::ModelImport import_with(const std::string& path, dapdee::FloatWeights weights) {
  const dapdee::OnnxModel model(path, weights);
  return dapdee::import_model(model, {});
}

// A float weight of 5000 elements (over kWeightElements) feeds a constant Add: the folder could
// evaluate it if it saw the values. A small float constant (10 elements) is folded through.
Builder weight_fold_model() {
  Builder b(13, "weights");
  b.input("x", {1, 5000});
  b.weight("big", {5000});
  b.weight("small", {10});
  b.node("Add", {"big", "big"}, {"big2"}, "add_big");
  b.node("Add", {"small", "small"}, {"small2"}, "add_small");
  b.node("Add", {"x", "big2"}, {"y"}, "add_x");
  b.node("ReduceSum", {"small2"}, {"s"}, "sum_small");
  b.node("Mul", {"y", "s"}, {"out"}, "mul");
  b.output("out");
  b.random_weights(3);
  return b;
}

// Two convolutions whose weights (8*64*3*3 = 4608 elements each) are over kWeightElements.
Builder big_weights_model() {
  Builder b(13, "bigw");
  b.input("input", {1, 8, 8, 8});
  testing_onnx::conv(b, "conv1", "input", "c1", 8, 64);
  b.node("Relu", {"c1"}, {"r1"}, "relu1");
  testing_onnx::conv(b, "conv2", "r1", "output", 64, 8);
  b.output("output");
  b.random_weights(5);
  return b;
}

// A length-delimited protobuf field: tag, length, bytes.
std::string field(int number, const std::string& bytes) {
  std::string out;
  auto varint = [&](uint64_t v) {
    for (; v >= 0x80; v >>= 7) out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    out.push_back(static_cast<char>(v));
  };
  varint((static_cast<uint64_t>(number) << 3) | 2);
  varint(bytes.size());
  return out + bytes;
}

// big_weights_model with one more initializer "odd" whose fields come in the order given (each
// part a serialized TensorProto, merged on parsing), read by an Add after the output.
std::string model_with_odd_tensor(const std::vector<onnx::TensorProto>& parts) {
  Builder b = big_weights_model();
  b.node("Add", {"output", "odd"}, {"odd_out"}, "add_odd");
  onnx::ModelProto m = b.model();
  onnx::GraphProto g = m.graph();
  m.clear_graph();
  std::string tensor;
  for (const auto& t : parts) tensor += t.SerializeAsString();
  const std::string graph = g.SerializeAsString() + field(onnx::GraphProto::kInitializerFieldNumber, tensor);
  return m.SerializeAsString() + field(onnx::ModelProto::kGraphFieldNumber, graph);
}

}  // namespace

TEST_CASE("OnnxModel: weights kept or stripped, the import is the same and folds nothing through a weight",
          "[import][onnx_model]") {
  TempDir d;
  weight_fold_model().save(d / "w.onnx");
  const auto kept = import_with(d / "w.onnx", dapdee::FloatWeights::Keep);
  const auto stripped = import_with(d / "w.onnx", dapdee::FloatWeights::Strip);
  CHECK(import_text(kept) == import_text(stripped));
  CHECK(kept.folded.count("small2") == 1);  // small constants fold
  CHECK(kept.folded.count("big2") == 0);    // a weight stays unevaluated, values present or not
  dapdee::ImportOptions opt;
  opt.model_path = d / "w.onnx";
  CHECK(dapdee::dag_to_json(dapdee::import_onnx(opt).dag) == dapdee::dag_to_json(kept.result.dag));
}

TEST_CASE("OnnxModel: release gives back the model as in the file, and the weightless view lacks only weight values",
          "[import][onnx_model]") {
  TempDir d;
  const Builder b = big_weights_model();
  b.save(d / "m.onnx");
  dapdee::OnnxModel kept(d / "m.onnx", dapdee::FloatWeights::Keep);
  for (const auto& t : kept.weightless().graph().initializer()) {
    CHECK(dapdee::is_weight(t) == (t.name() == "conv1.w" || t.name() == "conv2.w"));
    if (dapdee::is_weight(t))
      CHECK_FALSE(t.has_raw_data());
    else
      CHECK(t.has_raw_data());
  }
  CHECK(std::move(kept).release().SerializeAsString() == b.bytes());
  dapdee::OnnxModel stripped(d / "m.onnx", dapdee::FloatWeights::Strip);
  const onnx::ModelProto weightless = stripped.weightless();
  CHECK(std::move(stripped).release().SerializeAsString() == weightless.SerializeAsString());
}

TEST_CASE("OnnxModel: pins once, and an import of it takes no other path or pins", "[import][onnx_model]") {
  TempDir d;
  testing_onnx::reshape_shape_model().save(d / "r.onnx");
  const dapdee::OnnxModel model(d / "r.onnx", dapdee::FloatWeights::Keep, {{"input", {2, 4, 6, 6}}});
  const auto& dims = model.weightless().graph().input(0).type().tensor_type().shape().dim();
  REQUIRE(dims.size() == 4);
  CHECK(dims[0].dim_value() == 2);
  dapdee::ImportOptions same;
  same.model_path = d / "r.onnx";
  same.input_shapes = {{"input", {2, 4, 6, 6}}};
  CHECK(import_text(dapdee::import_model(model, same)) == import_text(dapdee::import_model(model, {})));
  CHECK(dapdee::dag_to_json(dapdee::import_onnx(same).dag) ==
        dapdee::dag_to_json(dapdee::import_model(model, {}).result.dag));
  dapdee::ImportOptions other = same;
  other.input_shapes = {{"input", {1, 4, 6, 6}}};
  CHECK_THROWS_AS(dapdee::import_model(model, other), dapdee::Error);
  CHECK_THROWS_WITH(dapdee::OnnxModel(d / "r.onnx", dapdee::FloatWeights::Strip, {{"nope", {1}}}),
                    Catch::Contains("no input 'nope'"));
}

TEST_CASE("OnnxModel: the reference models import the same with weights kept or stripped",
          "[import][onnx_model][reference]") {
  std::vector<std::string> models;
  for (const std::string& dir : {shared_dir() + "/models", source_dir() + "/models"}) {
    if (!fs::is_directory(dir)) continue;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".onnx") models.push_back(e.path().string());
  }
  if (models.empty()) DAPDEE_SKIP("no reference models (../shared/models, models/)");
  std::sort(models.begin(), models.end());
  for (const auto& m : models) {
    INFO(m);
    CHECK(import_text(import_with(m, dapdee::FloatWeights::Keep)) ==
          import_text(import_with(m, dapdee::FloatWeights::Strip)));
  }
}

TEST_CASE("OnnxModel: refilled reference models (weights present) import as their weightless export",
          "[import][onnx_model][reference]") {
  TempDir d;
  int compared = 0;
  for (const std::string& name : std::vector<std::string>{"resnet18", "mobilenet_v2"}) {
    const std::string src = shared_dir() + "/models/" + name + ".onnx";
    if (!fs::exists(src)) continue;
    INFO(name);
    int refilled = 0;
    const std::string bytes = dapdee::refilled_model_bytes(src, refilled);
    REQUIRE(refilled > 0);
    fs::create_directories(d.path / name);
    const std::string path = (d.path / name / (name + ".onnx")).string();  // the same file name: the same DAG name
    spit(path, bytes);
    const auto kept = import_with(path, dapdee::FloatWeights::Keep);
    CHECK(import_text(kept) == import_text(import_with(path, dapdee::FloatWeights::Strip)));
    CHECK(dapdee::dag_to_json(kept.result.dag) ==
          dapdee::dag_to_json(import_with(src, dapdee::FloatWeights::Strip).result.dag));
    CHECK(dapdee::OnnxModel(path, dapdee::FloatWeights::Keep).release().SerializeAsString() == bytes);
    ++compared;
  }
  if (compared == 0) DAPDEE_SKIP("no reference models in ../shared/models");
}

TEST_CASE("dapdee-split reads the model from stdin once: the parts equal those of the file",
          "[split][onnx_model][cli]") {
  TempDir d;
  big_weights_model().save(d / "bigw.onnx");
  const auto dag = run(tool("dapdee-import") + " " + (d / "bigw.onnx") + " -o " + (d / "bigw.dag.json"));
  REQUIRE(dag.code == 0);
  const auto prof = run(tool("dapdee-profile") + " predict " + (d / "bigw.dag.json") + " --device " + source_dir() +
                        "/profiles/specs/rpi4.json -o " + (d / "p.json"));
  REQUIRE(prof.code == 0);
  const auto plan = run(tool("dapdee-plan") + " " + (d / "bigw.dag.json") + " --device " + (d / "p.json") + " --edge " +
                        (d / "p.json") + " --bandwidth 0.01 --delay 5 --cut relu1 -o " + (d / "plan.json"));
  REQUIRE(plan.code == 0);
  const std::string parts = " --plan " + (d / "plan.json") + " --device-out " + (d / "dev.onnx") + " --edge-out ";
  const auto file = run(tool("dapdee-split") + " " + (d / "bigw.onnx") + parts + (d / "edge.onnx"));
  INFO(file.err);
  REQUIRE(file.code == 0);
  const std::string dev = slurp(d / "dev.onnx"), edge = slurp(d / "edge.onnx");
  const auto piped = run("cat " + (d / "bigw.onnx") + " | " + tool("dapdee-split") + " -" + parts + (d / "edge2.onnx"));
  INFO(piped.err);
  REQUIRE(piped.code == 0);
  CHECK(slurp(d / "dev.onnx") == dev);
  CHECK(slurp(d / "edge2.onnx") == edge);
  onnx::ModelProto part;
  REQUIRE(part.ParseFromString(dev));
  bool weight_kept = false;  // conv1.w (4608 floats) travels with its values
  for (const auto& t : part.graph().initializer())
    weight_kept = weight_kept || (t.name() == "conv1.w" && t.raw_data().size() == 4608 * 4);
  CHECK(weight_kept);
  const auto bad = run("echo junk | " + tool("dapdee-split") + " -" + parts + (d / "edge3.onnx"));
  CHECK(bad.code == 1);
  CHECK_THAT(bad.err, Catch::StartsWith("dapdee-split: error: -: "));
}

TEST_CASE("dapdee-profile refill reads the model with the importer's checks", "[profile][onnx_model][cli]") {
  TempDir d;
  big_weights_model().save(d / "bigw.onnx");
  const auto file = run(tool("dapdee-profile") + " refill " + (d / "bigw.onnx") + " -o " + (d / "a.onnx"));
  REQUIRE(file.code == 0);
  const auto piped =
      run("cat " + (d / "bigw.onnx") + " | " + tool("dapdee-profile") + " refill - -o " + (d / "b.onnx"));
  REQUIRE(piped.code == 0);
  CHECK(slurp(d / "a.onnx") == slurp(d / "b.onnx"));
  spit(d / "empty.onnx", "");
  const auto empty = run(tool("dapdee-profile") + " refill " + (d / "empty.onnx") + " -o " + (d / "c.onnx"));
  CHECK(empty.code == 1);
  CHECK_THAT(empty.err, Catch::Contains("empty file: not an ONNX model"));
  CHECK_FALSE(fs::exists(d / "c.onnx"));
}

TEST_CASE("OnnxModel: streaming past the weights gives the model that stripping after parsing gives",
          "[import][onnx_model]") {
  TempDir d;
  onnx::TensorProto name, data, dims, external;
  name.set_name("odd");
  name.set_data_type(onnx::TensorProto::FLOAT);
  data.set_raw_data(std::string(5000 * 4, '\1'));
  dims.add_dims(5000);
  external.set_data_location(onnx::TensorProto::EXTERNAL);
  const std::vector<std::pair<std::string, std::vector<onnx::TensorProto>>> cases{
      {"canonical", {name, dims, data}},                 // dims before the data: skipped while reading
      {"dims_late", {name, data, dims}},                 // a weight known only after its data: stripped after
      {"external_late", {name, dims, data, external}}};  // skipped, then no weight after all: read again
  for (const auto& [label, parts] : cases) {
    INFO(label);
    const std::string path = d / (label + ".onnx");
    spit(path, model_with_odd_tensor(parts));
    onnx::ModelProto whole;
    REQUIRE(whole.ParseFromString(slurp(path)));
    const dapdee::OnnxModel kept(path, dapdee::FloatWeights::Keep), stripped(path, dapdee::FloatWeights::Strip);
    CHECK(kept.weightless().SerializeAsString() == stripped.weightless().SerializeAsString());
    CHECK(dapdee::OnnxModel(path, dapdee::FloatWeights::Keep).release().SerializeAsString() ==
          whole.SerializeAsString());
    CHECK(import_text(dapdee::import_model(kept, {})) == import_text(dapdee::import_model(stripped, {})));
  }
  for (const std::string& dir : {shared_dir() + "/models", source_dir() + "/models"}) {
    if (!fs::is_directory(dir)) continue;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() != ".onnx") continue;
      INFO(e.path());
      CHECK(dapdee::OnnxModel(e.path(), dapdee::FloatWeights::Keep).weightless().SerializeAsString() ==
            dapdee::OnnxModel(e.path(), dapdee::FloatWeights::Strip).weightless().SerializeAsString());
    }
  }
}

// A differential test of the wire filter: 400 damaged copies (truncated, bytes flipped, missing or
// added) of a model with weights as raw_data, float_data and int32_data; DAPDEE_DAMAGED_CASES and
// DAPDEE_DAMAGED_SEED run more (30,000 x 3 seeds agreed when it was written).
TEST_CASE("OnnxModel: on damaged files the streamed strip agrees with parse-then-strip, errors included",
          "[import][onnx_model]") {
  TempDir d;
  onnx::ModelProto m = big_weights_model().model();  // weights as raw_data, float_data and int32_data
  auto* as_floats = m.mutable_graph()->mutable_initializer(1);
  const std::string raw = as_floats->raw_data();
  as_floats->clear_raw_data();
  for (size_t k = 0; k + 4 <= raw.size(); k += 4) {
    float x;
    std::memcpy(&x, raw.data() + k, 4);
    as_floats->add_float_data(x);
  }
  auto* half = m.mutable_graph()->add_initializer();
  half->set_name("half");
  half->set_data_type(onnx::TensorProto::FLOAT16);
  half->add_dims(5000);
  for (int k = 0; k < 5000; ++k) half->add_int32_data(k % 300);
  const std::string good = m.SerializeAsString();
  auto outcome = [&](const std::string& path, dapdee::FloatWeights w) {
    try {
      return dapdee::OnnxModel(path, w).weightless().SerializeAsString();
    } catch (const dapdee::Error& e) {
      return std::string("error: ") + e.what();
    }
  };
  std::mt19937 rng(std::getenv("DAPDEE_DAMAGED_SEED") ? std::atoi(std::getenv("DAPDEE_DAMAGED_SEED")) : 11);
  int errors = 0;
  const int cases = std::getenv("DAPDEE_DAMAGED_CASES") ? std::atoi(std::getenv("DAPDEE_DAMAGED_CASES")) : 400;
  for (int k = 0; k < cases; ++k) {
    std::string bytes = good;
    const size_t at = std::uniform_int_distribution<size_t>(0, bytes.size() - 1)(rng);
    if (k % 4 == 0) {
      bytes.resize(std::max<size_t>(at, 1));  // truncated
    } else if (k % 8 == 1) {
      bytes.erase(at, 1 + rng() % 3);  // bytes missing: the structure shifts
    } else if (k % 8 == 3) {
      bytes.insert(at, std::string(1 + rng() % 3, static_cast<char>(rng() % 256)));  // bytes added
    } else {
      for (int flips = 1 + k % 3; flips > 0; --flips)  // damaged bytes, mostly in the structure
        bytes[std::uniform_int_distribution<size_t>(0, k % 2 ? 400 : bytes.size() - 1)(rng)] ^=
            static_cast<char>(1 + rng() % 255);
    }
    const std::string path = d / "damaged.onnx";
    spit(path, bytes);
    const std::string kept = outcome(path, dapdee::FloatWeights::Keep);
    INFO("case " << k);
    CHECK(outcome(path, dapdee::FloatWeights::Strip) == kept);
    errors += kept.rfind("error: ", 0) == 0;
  }
  CHECK(errors > 0);
}

#ifdef DAPDEE_HAVE_OPENCV
TEST_CASE("dapdee-profile reads a model from stdin once and pins its batch once",
          "[profile][opencv][onnx_model][cli]") {
  TempDir d;
  Builder b = testing_onnx::reshape_shape_model();  // a dynamic batch, a Reshape target computed from the shape
  b.random_weights(2);
  b.save(d / "r.onnx");
  const auto r = run("cat " + (d / "r.onnx") + " | " + tool("dapdee-profile") +
                     " - --input-shape input=2x4x6x6 --warmup 0 --repeat 1 -o " + (d / "p.json"));
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(slurp(d / "p.json"));
  CHECK(j["model"] == "stdin");
  CHECK(j["inputs"][0]["shape"] == nlohmann::json::array({2, 4, 6, 6}));
  CHECK(j["nodes"].contains("matmul"));
  const auto bad =
      run("cat " + (d / "r.onnx") + " | " + tool("dapdee-profile") + " - --input-shape nope=1x4x6x6 --repeat 1");
  CHECK(bad.code == 1);
  CHECK_THAT(bad.err, Catch::StartsWith("dapdee-profile: error: -: --input-shape: the model has no input 'nope'"));
}
#endif
