// dapdee-split: the device part followed by the edge part computes what the whole model does.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "dapdee/import/onnx_import.hpp"
#include "dapdee/onnx/onnx_rewrite.hpp"
#include "dapdee/split/split.hpp"
#include "dapdee/support/error.hpp"
#include "onnx_builder.hpp"
#include "test_util.hpp"
#ifdef DAPDEE_HAVE_OPENCV
#include <opencv2/dnn.hpp>
#endif

using namespace test_util;
using testing_onnx::Builder;

namespace {

// A plan putting the first `k` nodes of G_final (topological order) on the device.
nlohmann::json prefix_plan(const dapdee::Dag& dag, size_t k) {
  const auto& exit = dag.exits.back();
  const auto anc = dapdee::ancestors_of(dag, exit.node_id);
  nlohmann::json vd = nlohmann::json::array(), ve = nlohmann::json::array();
  size_t seen = 0;
  for (size_t v = 0; v < dag.nodes.size(); ++v) {
    if (!anc[v]) continue;
    (seen++ < k ? vd : ve).push_back(dag.nodes[v].name);
  }
  return {{"format", "dapdee-plan/1"}, {"model", dag.model}, {"exit", exit.name}, {"V_d", vd}, {"V_e", ve}};
}

}  // namespace

TEST_CASE("split parts compose to the whole model", "[split]") {
  TempDir d;
  for (auto [name, b] : std::vector<std::pair<std::string, Builder>>{
           {"chain", testing_onnx::chain_model()}, {"diamond", testing_onnx::diamond_model()},
           {"inception", testing_onnx::inception_model()}, {"residual", testing_onnx::residual_model()},
           {"early_exit", testing_onnx::early_exit_model()}, {"reshape", testing_onnx::reshape_shape_model()}}) {
    if (name == "reshape") {  // pin the dynamic batch for this one
      auto* dim = b.model().mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0);
      dim->set_dim_value(1);
    }
    b.random_weights(7);
    const std::string model = d / (name + ".onnx");
    b.save(model);
    dapdee::ImportOptions iopt;
    iopt.model_path = model;
    const dapdee::Dag dag = dapdee::import_onnx(iopt).dag;
    // OpenCV wants shapes on the graph outputs: give the whole model the import's.
    for (auto& o : *b.model().mutable_graph()->mutable_output())
      for (const auto& node : dag.nodes)
        for (const auto& t : node.outputs)
          if (t.name == o.name())
            for (auto dim : t.shape) o.mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(dim);
    b.save(model);
    const auto anc = dapdee::ancestors_of(dag, dag.exits.back().node_id);
    const size_t n = static_cast<size_t>(std::count(anc.begin(), anc.end(), 1));
    for (size_t k : {size_t{1}, n / 2, n - 1}) {
      INFO(name << ", " << k << " nodes on the device");
      spit(d / "plan.json", prefix_plan(dag, k).dump());
      dapdee::SplitOptions opt{model, d / "plan.json", d / "dev.onnx", d / "edge.onnx"};
      const auto r = dapdee::split_model(opt);
      REQUIRE(r.edge_written);
      REQUIRE_FALSE(r.sent.empty());
#ifdef DAPDEE_HAVE_OPENCV
      std::vector<int> dims;
      for (const auto& dd : b.model().graph().input(0).type().tensor_type().shape().dim()) dims.push_back(static_cast<int>(dd.dim_value()));
      cv::Mat x(static_cast<int>(dims.size()), dims.data(), CV_32F);
      cv::randu(x, -1, 1);
      const std::string exit = dag.exits.back().name;
      cv::dnn::Net whole = cv::dnn::readNetFromONNX(model);
      whole.setInput(x, "input");
      const cv::Mat expected = whole.forward(exit).clone();
      cv::dnn::Net dev = cv::dnn::readNetFromONNX(d / "dev.onnx");
      dev.setInput(x, "input");
      std::vector<cv::Mat> sent;
      dev.forward(sent, r.sent);
      cv::dnn::Net edge = cv::dnn::readNetFromONNX(d / "edge.onnx");
      for (size_t s = 0; s < r.sent.size(); ++s) edge.setInput(sent[s], r.sent[s]);
      const cv::Mat got = edge.forward(exit);
      REQUIRE(got.total() == expected.total());
      CHECK(cv::norm(got.reshape(1, 1), expected.reshape(1, 1), cv::NORM_INF) < 1e-4);
#endif
    }
  }
#ifndef DAPDEE_HAVE_OPENCV
  DAPDEE_SKIP("the numeric check needs OpenCV DNN");
#endif
}

TEST_CASE("dapdee-split rejects plans for another model", "[split][cli]") {
  TempDir d;
  testing_onnx::chain_model().save(d / "chain.onnx");
  spit(d / "plan.json", R"({"format":"dapdee-plan/1","model":"x","exit":"output","V_d":["input","/other/Conv"],"V_e":[]})");
  const auto r = run(tool("dapdee-split") + " " + (d / "chain.onnx") + " --plan " + (d / "plan.json") + " --device-out " +
                     (d / "dev.onnx") + " --edge-out " + (d / "edge.onnx"));
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("another model"));
  CHECK_FALSE(fs::exists(d / "dev.onnx"));
  spit(d / "sweep.json", "{\"format\":\"dapdee-plan/1\"}\n{\"format\":\"dapdee-plan/1\"}\n");
  const auto s = run(tool("dapdee-split") + " " + (d / "chain.onnx") + " --plan " + (d / "sweep.json") + " --device-out " +
                     (d / "dev.onnx") + " --edge-out " + (d / "edge.onnx"));
  CHECK(s.code == 1);
  CHECK(run(tool("dapdee-split") + " --help").code == 0);
  CHECK(run(tool("dapdee-split")).code == 2);
}

TEST_CASE("dapdee-split --check: the parts equal the whole, also on weightless models (name-seeded refill)", "[split][check]") {
#ifndef DAPDEE_HAVE_OPENCV
  DAPDEE_SKIP("--check needs OpenCV DNN");
#else
  TempDir d;
  for (auto [name, b] : std::vector<std::pair<std::string, Builder>>{
           {"chain", testing_onnx::chain_model()}, {"diamond", testing_onnx::diamond_model()},
           {"inception", testing_onnx::inception_model()}, {"residual", testing_onnx::residual_model()},
           {"early_exit", testing_onnx::early_exit_model()}, {"reshape", testing_onnx::reshape_shape_model()}}) {
    if (name == "reshape")
      b.model().mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0)->set_dim_value(1);
    // Weightless: every float initializer cleared, so each part is refilled on its own.
    for (auto& t : *b.model().mutable_graph()->mutable_initializer())
      if (t.data_type() == onnx::TensorProto::FLOAT) t.clear_raw_data();
    const std::string model = d / (name + ".onnx");
    b.save(model);
    dapdee::ImportOptions iopt;
    iopt.model_path = model;
    const dapdee::Dag dag = dapdee::import_onnx(iopt).dag;
    const auto anc = dapdee::ancestors_of(dag, dag.exits.back().node_id);
    const size_t n = static_cast<size_t>(std::count(anc.begin(), anc.end(), 1));
    for (size_t k : {size_t{1}, n / 2, n - 1}) {
      INFO(name << ", " << k << " nodes on the device");
      spit(d / "plan.json", prefix_plan(dag, k).dump());
      const auto r = run(tool("dapdee-split") + " " + model + " --plan " + (d / "plan.json") + " --check");
      INFO(r.err);
      REQUIRE(r.code == 0);
      CHECK_THAT(r.out, Catch::Contains("max_abs_diff"));
      CHECK_THAT(r.out, Catch::Contains("max_abs_output"));
    }
  }
  // A check that fails says so and exits 1 (tolerance below any float difference is not enough:
  // use a negative one).
  spit(d / "plan.json", prefix_plan([&] {
         dapdee::ImportOptions iopt;
         iopt.model_path = d / "chain.onnx";
         return dapdee::import_onnx(iopt).dag;
       }(), 2).dump());
  const auto r = run(tool("dapdee-split") + " " + (d / "chain.onnx") + " --plan " + (d / "plan.json") + " --check --tolerance -1");
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("differ"));
  // The plan from stdin, with --check and both parts: read once (it used to be read twice and fail).
  const std::string dev = d / "dev.onnx", edge = d / "edge.onnx";
  const auto piped = run(tool("dapdee-split") + " " + (d / "chain.onnx") + " --plan - --check --device-out " + dev +
                         " --edge-out " + edge + " < " + (d / "plan.json"));
  INFO(piped.err);
  CHECK(piped.code == 0);
  CHECK_THAT(piped.out, Catch::Contains("max_abs_diff"));
  CHECK(fs::file_size(dev) > 0);
  CHECK(fs::file_size(edge) > 0);
  // The model and the plan cannot both come from stdin.
  CHECK(run(tool("dapdee-split") + " - --plan - --check < " + (d / "plan.json")).code == 2);
#endif
}

TEST_CASE("name-seeded refill: a tensor gets the same values alone as in the whole model", "[split][refill]") {
  onnx::ModelProto whole, part;
  auto add = [](onnx::ModelProto& m, const std::string& name, int64_t n) {
    auto* t = m.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    t->add_dims(n);
    t->add_dims(3);
  };
  add(whole, "a.w", 4);
  add(whole, "b.w", 5);
  add(part, "b.w", 5);
  CHECK(dapdee::refill_weights(whole, ".", "whole").refilled == 2);
  CHECK(dapdee::refill_weights(part, ".", "part").refilled == 1);
  REQUIRE(whole.graph().initializer(1).raw_data() == part.graph().initializer(0).raw_data());
  CHECK(whole.graph().initializer(0).raw_data() != whole.graph().initializer(1).raw_data().substr(0, 48));
  CHECK(dapdee::refill_seed("a.w") != dapdee::refill_seed("b.w"));
}

TEST_CASE("split rejects lean plan lines naming the missing field", "[split][cli]") {
  TempDir d;
  testing_onnx::chain_model().save(d / "chain.onnx");
  spit(d / "lean.json", R"({"format":"dapdee-plan/1","exit":"output","V_d":["input"],"latency_ms":3})");
  const auto r = run(tool("dapdee-split") + " " + (d / "chain.onnx") + " --plan " + (d / "lean.json") + " --device-out " +
                     (d / "dev.onnx") + " --edge-out " + (d / "edge.onnx"));
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("lacks 'V_e'"));
  CHECK_FALSE(fs::exists(d / "dev.onnx"));
}

TEST_CASE("dapdee-split and dapdee-run say so when given a DAG or a profile as the plan", "[split][cli]") {
  TempDir d;
  testing_onnx::chain_model().save(d / "chain.onnx");
  const auto imp = run(tool("dapdee-import") + " " + (d / "chain.onnx") + " -o " + (d / "chain.dag.json"));
  REQUIRE(imp.code == 0);
  spit(d / "profile.json", R"({"format":"dapdee-profile/1","model":"chain","device":"x","nodes":{}})");
  for (const char* given : {"chain.dag.json", "profile.json", "chain.onnx"}) {
    INFO(given);
    const auto r = run(tool("dapdee-split") + " " + (d / "chain.onnx") + " --plan " + (d / given) + " --device-out " +
                       (d / "dev.onnx") + " --edge-out " + (d / "edge.onnx"));
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Contains("not a dapdee-plan/1 file"));
    CHECK_FALSE(fs::exists(d / "dev.onnx"));
  }
#ifdef DAPDEE_HAVE_OPENCV
  const auto r = run(tool("dapdee-run") + " " + (d / "chain.onnx") + " --plan " + (d / "chain.dag.json") + " --frames 1");
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("this is a DAG"));
#endif
}
