// One-reference calibration of a kernel model fitted in reference units (issue 26): the fit
// records its units, `--calibrate` turns them into ms of the device the reference profile was
// measured on, and refuses what cannot be calibrated.
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "dapdee/model/dag.hpp"
#include "dapdee/model/profile.hpp"
#include "dapdee/predict/kernel_model.hpp"
#include "dapdee/support/error.hpp"
#include "dapdee/support/io.hpp"
#include "test_util.hpp"

using namespace test_util;

namespace {

const std::string kRoot = DAPDEE_SOURCE_DIR;
constexpr double kUnits = 57.5;  // resnet18's time in the training profiles' units

std::string dag_path(const std::string& m) { return kRoot + "/profiles/dags/" + m + ".dag.json"; }

// A committed measured profile as `dapdee-profile --reference resnet18.onnx --reference-ms 57.5`
// would give it: every time divided by resnet18's measured whole-model time, times 57.5.
std::string reference_units_profile(const std::string& m, const std::string& reference = "resnet18") {
  auto j = nlohmann::json::parse(dapdee::read_input(kRoot + "/profiles/measured/" + m + ".opencv-1t.json"));
  const double r =
      nlohmann::json::parse(dapdee::read_input(kRoot + "/profiles/measured/resnet18.opencv-1t.json"))["total_ms"];
  const double k = kUnits / r;
  for (auto& [name, node] : j["nodes"].items()) node["ms"] = node["ms"].get<double>() * k;
  j["total_ms"] = j["total_ms"].get<double>() * k;
  j["reference"] = {{"model", "../tv/" + reference + ".onnx"}, {"scale_ms", kUnits}, {"scale_from", "--reference-ms"}};
  return j.dump();
}

dapdee::ProfiledDag pair_of(const std::string& m, const std::string& profile_text) {
  return {dapdee::parse_dag(dapdee::read_input(dag_path(m)), dag_path(m)),
          dapdee::parse_profile(profile_text, m + ".json")};
}

dapdee::KernelModel fitted_in_units() {
  std::vector<dapdee::ProfiledDag> data;
  for (const char* m : {"resnet18", "googlenet", "vgg16", "alexnet", "mobilenet_v2"})
    data.push_back(pair_of(m, reference_units_profile(m)));
  return dapdee::fit_kernel_model(data);
}

}  // namespace

TEST_CASE("a kernel model fitted on reference-normalised profiles records its units and keeps them through JSON",
          "[predict][calibrate]") {
  const auto m = fitted_in_units();
  CHECK(m.units.reference == "resnet18");
  CHECK(m.units.reference_ms == kUnits);
  const auto back = dapdee::parse_kernel_model(dapdee::kernel_model_to_json(m), "k.json");
  CHECK(back.units.reference == "resnet18");
  CHECK(back.units.reference_ms == kUnits);
  CHECK(back.units.reference_input == m.units.reference_input);
}

TEST_CASE("training profiles of mixed units are refused", "[predict][calibrate]") {
  std::vector<dapdee::ProfiledDag> data{
      pair_of("googlenet", reference_units_profile("googlenet")),
      pair_of("vgg16", dapdee::read_input(kRoot + "/profiles/measured/vgg16.opencv-1t.json"))};
  CHECK_THROWS_WITH(dapdee::fit_kernel_model(data), Catch::Contains("mix units"));
  data[1] = pair_of("vgg16", reference_units_profile("vgg16", "resnet50"));
  CHECK_THROWS_WITH(dapdee::fit_kernel_model(data), Catch::Contains("mix units"));
}

TEST_CASE("predict --calibrate scales every predicted time by the reference's measured time over its units",
          "[predict][calibrate]") {
  const auto m = fitted_in_units();
  const auto ref = dapdee::load_profile(kRoot + "/profiles/measured/resnet18.opencv-1t.json");
  const auto cal = dapdee::calibrate_kernel_model(m, ref);
  CHECK(cal.scale == Approx(ref.total_ms / kUnits));
  const auto dag = dapdee::parse_dag(dapdee::read_input(dag_path("googlenet")), dag_path("googlenet"));
  const auto units = nlohmann::json::parse(dapdee::predict_profile_with_kernel_model(dag, m, "k.json"));
  const auto ms = nlohmann::json::parse(dapdee::predict_profile_with_kernel_model(dag, m, "k.json", &cal));
  CHECK(ms["total_ms"].get<double>() == Approx(units["total_ms"].get<double>() * cal.scale));
  CHECK(ms["whole_ms"].get<double>() == Approx(units["whole_ms"].get<double>() * cal.scale));
  CHECK(ms["predicted_from"]["calibration"]["reference"] == "resnet18");
  CHECK(units["predicted_from"]["units"].get<std::string>().find("not ms") != std::string::npos);
}

TEST_CASE("calibration refuses a profile of another model, a normalised one and a model in plain ms",
          "[predict][calibrate]") {
  const auto m = fitted_in_units();
  CHECK_THROWS_WITH(
      dapdee::calibrate_kernel_model(m, dapdee::load_profile(kRoot + "/profiles/measured/vgg16.opencv-1t.json")),
      Catch::Contains("profile of 'vgg16'"));
  CHECK_THROWS_WITH(
      dapdee::calibrate_kernel_model(m, dapdee::parse_profile(reference_units_profile("resnet18"), "r.json")),
      Catch::Contains("itself reference-normalised"));
  std::vector<dapdee::ProfiledDag> plain{
      pair_of("googlenet", dapdee::read_input(kRoot + "/profiles/measured/googlenet.opencv-1t.json"))};
  const auto in_ms = dapdee::fit_kernel_model(plain);
  CHECK(in_ms.units.reference.empty());
  CHECK_THROWS_WITH(
      dapdee::calibrate_kernel_model(in_ms, dapdee::load_profile(kRoot + "/profiles/measured/resnet18.opencv-1t.json")),
      Catch::Contains("cannot be calibrated"));
}

TEST_CASE("dapdee-profile predict --calibrate: ms of the reference's device, or an error and no output",
          "[predict][calibrate][cli]") {
  TempDir d;
  spit(d / "k.json", dapdee::kernel_model_to_json(fitted_in_units()));
  const std::string base = tool("dapdee-profile") + " predict " + dag_path("googlenet") + " --model " + (d / "k.json");
  const auto ok =
      run(base + " --calibrate " + kRoot + "/profiles/measured/resnet18.opencv-1t.json -o " + (d / "p.json"));
  INFO(ok.err);
  REQUIRE(ok.code == 0);
  CHECK(nlohmann::json::parse(slurp(d / "p.json"))["predicted_from"]["calibration"]["scale"].get<double>() > 1);
  const auto wrong =
      run(base + " --calibrate " + kRoot + "/profiles/measured/vgg16.opencv-1t.json -o " + (d / "q.json"));
  CHECK(wrong.code == 1);
  CHECK(wrong.err.find("dapdee-profile: error: " + kRoot +
                       "/profiles/measured/vgg16.opencv-1t.json: this is a profile of 'vgg16'") != std::string::npos);
  CHECK_FALSE(std::ifstream(d / "q.json").good());
  const auto usage =
      run(tool("dapdee-profile") + " predict " + dag_path("googlenet") + " --calibrate " + (d / "k.json"));
  CHECK(usage.code == 2);
}
