// A new user's first hour (issue 27): no silently wrong plan, --follow that does what it says,
// usage errors that exit 2 and say "did you mean", outputs checked before any work.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "dapdee/model/metrics.hpp"
#include "dapdee/model/network.hpp"
#include "dapdee/plan/controller.hpp"
#include "dapdee/predict/predict.hpp"
#include "dapdee/support/error.hpp"
#include "dapdee/support/suggest.hpp"
#include "test_util.hpp"

using namespace test_util;
using Catch::Contains;

namespace {

const std::string kSrc = DAPDEE_SOURCE_DIR;
const std::string kDag = kSrc + "/profiles/dags/resnet18.dag.json";
const std::string kDev = kSrc + "/profiles/predicted/resnet18.rpi4.json";
const std::string kEdge = kSrc + "/profiles/predicted/resnet18.edge-t4.json";

std::string plan_cmd(const std::string& dev, const std::string& extra) {
  return tool("dapdee-plan") + " " + kDag + " --device " + dev + " --edge " + kEdge + " " + extra;
}

// The device profile with its first `drop` nodes removed and its model renamed to `model`.
std::string edited_profile(const TempDir& d, size_t drop, const std::string& model) {
  auto j = nlohmann::ordered_json::parse(slurp(kDev));
  j["model"] = model;
  for (size_t i = 0; i < drop; ++i) j["nodes"].erase(j["nodes"].begin());
  const std::string path = d / "dev.json";
  spit(path, j.dump());
  return path;
}

}  // namespace

TEST_CASE("closest_name: case, dashes and prefixes, a few edits, nothing far", "[suggest]") {
  const std::vector<std::string> presets{"3G", "4G", "5G", "CAT1", "WiFi"};
  CHECK(dapdee::closest_name("CAT-1", presets) == "CAT1");
  CHECK(dapdee::closest_name("wi-fi", presets) == "WiFi");
  CHECK_FALSE(dapdee::closest_name("7G", presets));
  CHECK(dapdee::closest_name("bandwidth", {"t_s", "bandwidth_mbps", "delay_ms"}) == "bandwidth_mbps");
  CHECK(dapdee::closest_name("hevy", {"light", "heavy", "auto"}) == "heavy");
  CHECK_FALSE(dapdee::closest_name("banana", {"light", "heavy", "auto"}));
  CHECK(dapdee::did_you_mean("latency_m", {"latency_ms", "T_max"}) == " (did you mean 'latency_ms'?)");
}

TEST_CASE("dapdee-plan refuses another model's profile or a partial one, unless --allow-partial-profile",
          "[plan][cli][issue27]") {
  TempDir d;
  const std::string out = d / "plan.json";
  SECTION("a profile missing nodes") {
    const std::string dev = edited_profile(d, 5, "resnet18");
    const auto r = run(plan_cmd(dev, "--network 4G -o " + out));
    INFO(r.err);
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Contains("does not time the whole DAG: 5 of the DAG's 49 computing node(s) have no time"));
    CHECK_FALSE(fs::exists(out));
    const auto ok = run(plan_cmd(dev, "--network 4G --allow-partial-profile -o " + out));
    CHECK(ok.code == 0);
    CHECK_THAT(ok.err, Contains("warning: ") && Contains("5 of the DAG's 49") && Contains("--allow-partial-profile"));
    CHECK(fs::exists(out));
  }
  SECTION("a profile of another model") {
    const auto r = run(plan_cmd(edited_profile(d, 0, "resnet50"), "--network 4G -o " + out));
    INFO(r.err);
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Contains("the device profile is for model 'resnet50' but the DAG is 'resnet18'"));
    CHECK_FALSE(fs::exists(out));
  }
  SECTION("and so does --follow") {
    const auto r = run("echo '{\"t_s\":0}' | " + plan_cmd(edited_profile(d, 3, "resnet18"), "--network 4G --follow"));
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Contains("3 of the DAG's 49"));
    CHECK(r.out.empty());
  }
}

TEST_CASE("readers refuse unknown keys, naming the closest known one", "[issue27][formats]") {
  CHECK_THROWS_WITH(dapdee::parse_network(R"({"format":"dapdee-network/1","uplink_mbps":5,"delay":20})", "n.json"),
                    Contains("unknown key \"delay\" (did you mean 'delay_ms'?)"));
  CHECK_THROWS_WITH(dapdee::parse_device_spec(R"({"format":"dapdee-device-spec/1","peak_gflops":5,"memory_gbps":2,
                                                  "efficency":0.5})",
                                              "s.json"),
                    Contains("unknown key \"efficency\" (did you mean 'efficiency'?)"));
  const auto sample = dapdee::parse_metric_line(R"({"t_s":0,"bandwidth":0.2})");
  REQUIRE_FALSE(sample.ok());
  CHECK_THAT(sample.message(), Contains("unknown key \"bandwidth\" (did you mean 'bandwidth_mbps'?)"));
  // Every committed spec and preset still reads.
  for (const char* spec : {"rpi4", "edge-t4", "jetson-nano", "xeon-2300-1t"}) {
    const std::string path = kSrc + "/profiles/specs/" + spec + ".json";
    CHECK_NOTHROW(dapdee::parse_device_spec(slurp(path), path));
  }
  for (const char* net : {"CAT1", "3G", "4G", "WiFi", "5G"}) {
    const std::string path = kSrc + "/networks/" + net + ".json";
    CHECK_NOTHROW(dapdee::parse_network(slurp(path), path));
  }
  // Another toolchain file is named as such.
  CHECK_THROWS_WITH(dapdee::parse_device_spec(slurp(kDev), kDev),
                    Contains("this is a profile (dapdee-profile/1), not a dapdee-device-spec/1 file"));
  CHECK_THROWS_WITH(dapdee::parse_network(slurp(kDev), kDev), Contains("this is a profile (dapdee-profile/1)"));
  TempDir d;
  spit(d / "m.json", R"({"cpu":0.5,"battery ":0.2})");
  const auto r = run(plan_cmd(kDev, "--network 4G --mode auto --metrics " + (d / "m.json")));
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Contains("unknown key \"battery \" (did you mean 'battery'?)"));
}

TEST_CASE("follow: --fields with t_s, replanned and trigger, and an unknown sample key stops the loop",
          "[controller][cli][issue27]") {
  TempDir d;
  spit(d / "in.jsonl", "{\"t_s\":0}\n{\"t_s\":1,\"bandwidth_mbps\":2}\n");
  const auto r = run(plan_cmd(kDev, "--network 4G --follow --fields exit,t_s,replanned,trigger < " + (d / "in.jsonl")));
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::StartsWith(
                        R"({"format":"dapdee-plan/1","exit":"output","t_s":0,"replanned":true,"trigger":"initial"})"));
  const auto brief = run(plan_cmd(kDev, "--network 4G --follow --fields short < " + (d / "in.jsonl")));
  REQUIRE(brief.code == 0);
  CHECK_THAT(brief.out, !Contains("\"V_d\"") && Contains("\"trigger\":\"initial\"") && Contains("\"latency_ms\""));
  const auto plain = run(plan_cmd(kDev, "--network 4G --fields t_s"));
  CHECK(plain.code == 2);
  CHECK_THAT(plain.err, Contains("fields of --follow lines only"));
  spit(d / "typo.jsonl", "{\"t_s\":0,\"bandwidth\":0.2}\n");
  const auto typo = run(plan_cmd(kDev, "--network 4G --follow < " + (d / "typo.jsonl")));
  CHECK(typo.code == 1);
  CHECK_THAT(typo.err, Contains("line 1: unknown key \"bandwidth\" (did you mean 'bandwidth_mbps'?)"));
}

TEST_CASE("controller: a latency-only sample corrects only the stages the frame's plan used", "[controller][issue27]") {
  dapdee::Dag dag;
  dag.model = "pair";
  for (const char* name : {"input", "a"}) {
    dapdee::Node n;
    n.name = name;
    n.op = std::string(name) == "input" ? "Input" : "Op";
    if (n.op == "Op") n.inputs = {"input"};
    n.out_bytes = 1000;
    dag.nodes.push_back(n);
  }
  dag.exits.push_back(dapdee::single_exit("final", "a", 0.9));
  REQUIRE_FALSE(dapdee::finalize(dag).has_value());
  dapdee::ControllerSetup s;
  s.mode = dapdee::Mode::Light;
  s.method = dapdee::Method::EdgeOnly;
  s.bandwidth_mbps = 8;
  s.delay_ms = 0;
  dapdee::Controller ctl(dag, dapdee::Costs{{0, 50}, {0, 5}, {1000, 1000}}, s);
  dapdee::MetricSample first;
  ctl.step(first);
  dapdee::MetricSample measured;
  measured.t_s = 1;
  measured.measured_latency_ms = 30;  // 6 ms predicted (1 ms sending, 5 on the edge): 5x slower
  ctl.step(measured);
  CHECK(ctl.corrections().device == 1);  // the edge-only frame ran nothing on the device
  CHECK(ctl.corrections().edge > 1);
  CHECK(ctl.corrections().link > 1);
}

TEST_CASE("usage errors exit 2 and say 'did you mean', outputs are checked before any work", "[cli][issue27]") {
  const auto delay = run(plan_cmd(kDev, "--bandwidth 5"));
  CHECK(delay.code == 2);
  CHECK_THAT(delay.err, Contains("usage: --delay:"));
  const auto preset = run(plan_cmd(kDev, "--network CAT-1"));
  CHECK(preset.code == 2);
  CHECK_THAT(preset.err, Contains("unknown network 'CAT-1' (did you mean 'CAT1'?)"));
  const auto mode = run(plan_cmd(kDev, "--network 4G --mode hevy"));
  CHECK(mode.code == 2);
  CHECK_THAT(mode.err, Contains("(did you mean 'heavy'?)"));
  const auto field = run(plan_cmd(kDev, "--network 4G --fields latency_m"));
  CHECK(field.code == 2);
  CHECK_THAT(field.err, Contains("(did you mean 'latency_ms'?)"));
  TempDir d;
  const auto plan = run(plan_cmd(kDev, "--network 4G -o " + (d / "missing/dir/p.json")));
  CHECK(plan.code == 1);
  CHECK_THAT(plan.err, Contains("the folder '" + (d / "missing/dir") + "' does not exist"));
  const auto import = run(tool("dapdee-import") + " " + kSrc + "/tests/nonexistent.onnx -o " + (d / "missing/x.json"));
  CHECK(import.code == 1);
  CHECK_THAT(import.err, Contains("the folder '" + (d / "missing") + "' does not exist") && !Contains("exits:"));
  const auto predict = run(tool("dapdee-profile") + " predict " + kDag + " --device " + kSrc +
                           "/profiles/specs/rpi4.json -o " + (d / "missing/p.json"));
  CHECK(predict.code == 1);
  CHECK_THAT(predict.err, Contains("the folder '" + (d / "missing") + "' does not exist"));
  const auto folder = run(plan_cmd(kDev, "--network 4G -o " + d.path.string()));
  CHECK(folder.code == 1);
  CHECK_THAT(folder.err, Contains("is a folder"));
}
