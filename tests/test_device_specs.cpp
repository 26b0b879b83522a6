// The device specs of profiles/specs/ against published whole-model times of those boards: one
// FLOP convention across every spec, and the roofline's predicted whole-model times within a
// stated band of the cited measurements (issue 26; the figures and their sources are in the specs'
// "source" and in docs/PROFILING.md, "Absent devices").
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "dapdee/model/dag.hpp"
#include "dapdee/predict/predict.hpp"
#include "dapdee/support/io.hpp"
#include "test_util.hpp"

using namespace test_util;

namespace {

const std::string kRoot = DAPDEE_SOURCE_DIR;

// The roofline's predicted whole-model time (the node sum) of a committed DAG with a committed spec.
double predicted_total_ms(const std::string& model, const std::string& spec_name) {
  const std::string spec_path = kRoot + "/profiles/specs/" + spec_name + ".json";
  const std::string dag_path = kRoot + "/profiles/dags/" + model + ".dag.json";
  const dapdee::DeviceSpec spec = dapdee::parse_device_spec(dapdee::read_input(spec_path), spec_path);
  const dapdee::Dag dag = dapdee::parse_dag(dapdee::read_input(dag_path), dag_path);
  return nlohmann::json::parse(dapdee::predict_profile(dag, spec, spec_path)).at("total_ms").get<double>();
}

struct Cited {
  std::string spec;
  double band;                       // allowed |predicted / measured - 1|
  std::map<std::string, double> ms;  // model -> published whole-model ms
};

// ncnn benchncnn (github.com/Tencent/ncnn, benchmark/README.md): Raspberry Pi 4 Model B at 1.5 GHz,
// 4 threads, CPU (commit d9e45ec7); Jetson Nano, Vulkan GPU (commit a4d2ea1d).
const Cited kCited[] = {
    {"rpi4",
     0.50,
     {{"resnet18", 176.18}, {"mobilenet_v2", 72.62}, {"googlenet", 143.09}, {"alexnet", 143.52}, {"vgg16", 873.71}}},
    {"jetson-nano",
     0.60,
     {{"resnet18", 43.98}, {"mobilenet_v2", 12.99}, {"googlenet", 43.43}, {"alexnet", 74.45}, {"vgg16", 310.52}}},
};

}  // namespace

TEST_CASE("every device spec counts 2 FLOPs per multiply-accumulate and says so", "[predict][specs]") {
  for (const char* name : {"rpi4", "jetson-nano", "edge-t4", "xeon-2300-1t"}) {
    const auto j = nlohmann::json::parse(dapdee::read_input(kRoot + "/profiles/specs/" + name + ".json"));
    INFO(name);
    CHECK(j.value("flop_convention", "").rfind("2 FLOPs per multiply-accumulate", 0) == 0);
    CHECK(j.value("source", "").find("peak") != std::string::npos);
    CHECK(j.value("source", "").find("memory") != std::string::npos);
  }
}

TEST_CASE("predicted whole-model times of absent devices lie within the stated band of published measurements",
          "[predict][specs]") {
  for (const auto& c : kCited) {
    for (const auto& [model, measured] : c.ms) {
      const double predicted = predicted_total_ms(model, c.spec);
      INFO(c.spec << " " << model << ": predicted " << predicted << " ms, published " << measured << " ms");
      CHECK(std::fabs(predicted / measured - 1) <= c.band);
    }
  }
}
