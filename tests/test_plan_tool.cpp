// dapdee-plan as users run it: golden output, pipelines, and the error contract.
#include <catch2/catch.hpp>

#include "dapdee/import/onnx_import.hpp"
#include "onnx_builder.hpp"
#include "test_util.hpp"

using namespace test_util;

namespace {

// The early-exit model, its DAG and two profiles written to a folder.
struct Fixture {
  TempDir d;
  std::string dag, dev, edge;
  Fixture() {
    testing_onnx::early_exit_model().save(d / "ee.onnx");
    dapdee::ImportOptions opt;
    opt.model_path = d / "ee.onnx";
    spit(d / "ee.dag.json", dapdee::dag_to_json(dapdee::import_onnx(opt).dag));
    dag = d / "ee.dag.json";
    const char* nodes[] = {"conv1", "relu1", "exit1_pool", "exit1_flatten", "exit1_fc", "conv2",
                           "relu2", "final_pool", "final_flatten", "final_fc"};
    std::string dj = R"({"format":"dapdee-profile/1","device":"test-device","model":"ee","nodes":{)";
    std::string ej = R"({"format":"dapdee-profile/1","device":"test-edge","model":"ee","nodes":{)";
    for (int i = 0; i < 10; ++i) {
      dj += fmt(nodes[i], 2.0 + i) + (i < 9 ? "," : "");
      ej += fmt(nodes[i], 0.25 + 0.05 * i) + (i < 9 ? "," : "");
    }
    spit(d / "dev.json", dj + "}}");
    spit(d / "edge.json", ej + "}}");
    dev = d / "dev.json";
    edge = d / "edge.json";
  }
  static std::string fmt(const char* n, double ms) { return std::string("\"") + n + "\":{\"ms\":" + std::to_string(ms) + "}"; }
  std::string plan(const std::string& args) const {
    return tool("dapdee-plan") + " " + dag + " --device " + dev + " --edge " + edge + " " + args;
  }
};

void expect_plan_error(const Fixture& f, const std::string& cmd, const std::string& what) {
  const std::string out = f.d / "plan.out";
  const auto r = run(cmd + " -o " + out);
  INFO(cmd << "\n" << r.err);
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::StartsWith("dapdee-plan: error: "));
  CHECK_THAT(r.err, Catch::Contains(what));
  CHECK_FALSE(fs::exists(out));
}

}  // namespace

TEST_CASE("dapdee-plan golden outputs", "[plan][cli][golden]") {
  Fixture f;
  const auto one = run(f.plan("--network 4G --deadline 100"));
  INFO(one.err);
  REQUIRE(one.code == 0);
  check_golden("early_exit.plan.json", one.out);
  const auto sweep = run(f.plan("--network CAT1,3G,4G --deadline 5,20,50 --format csv"));
  REQUIRE(sweep.code == 0);
  check_golden("early_exit.sweep.csv", sweep.out);
  const auto table = run(f.plan("--network 3G --format table"));
  REQUIRE(table.code == 0);
  CHECK_THAT(table.out, Catch::Contains("latency ms"));
  const auto heavy = run(f.plan("--bandwidth 0.5 --delay 0 --mode heavy"));
  REQUIRE(heavy.code == 0);
  CHECK_THAT(heavy.out, Catch::Contains("\"mode\":\"heavy\""));
  // Same input, same bytes.
  CHECK(run(f.plan("--network CAT1,3G,4G --bandwidth 0.05:20:30log --deadline 1:100:10")).out ==
        run(f.plan("--network CAT1,3G,4G --bandwidth 0.05:20:30log --deadline 1:100:10 --threads 1")).out);
}

TEST_CASE("dapdee-import | dapdee-plan - works as a pipeline", "[plan][cli]") {
  Fixture f;
  const auto r = run(tool("dapdee-import") + " " + (f.d / "ee.onnx") + " 2>/dev/null | " + tool("dapdee-plan") +
                     " - --device " + f.dev + " --edge " + f.edge + " --network WiFi");
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("\"format\":\"dapdee-plan/1\""));
}

TEST_CASE("dapdee-plan: missing profile nodes are an error, or cost 0 with one warning under --allow-partial-profile",
          "[plan][cli]") {
  Fixture f;
  spit(f.d / "partial.json", R"({"format":"dapdee-profile/1","nodes":{"conv1":{"ms":3}}})");
  const std::string cmd =
      tool("dapdee-plan") + " " + f.dag + " --device " + (f.d / "partial.json") + " --edge " + f.edge + " --network 4G";
  expect_plan_error(f, cmd, "9 of the DAG's 10 computing node(s) have no time");
  const auto r = run(cmd + " --allow-partial-profile");
  REQUIRE(r.code == 0);
  CHECK_THAT(r.err, Catch::Contains("warning") && Catch::Contains("planned anyway with 0 ms for every missing node"));
}

TEST_CASE("dapdee-plan rejects bad input cleanly", "[plan][cli]") {
  Fixture f;
  SECTION("a DAG with a cycle") {
    spit(f.d / "cycle.json", R"({"format":"dapdee-dag/1","model":"c","nodes":[{"name":"in","op":"Input"},
      {"name":"a","op":"Relu","inputs":["in","b"]},{"name":"b","op":"Relu","inputs":["a"]}],
      "exits":[{"name":"o","node":"b"}]})");
    expect_plan_error(f, tool("dapdee-plan") + " " + (f.d / "cycle.json") + " --device " + f.dev + " --edge " + f.edge +
                             " --network 4G", "cycle");
  }
  SECTION("a profile for another model") {
    spit(f.d / "other.json", R"({"format":"dapdee-profile/1","model":"resnet18","nodes":{"/conv1/Conv":{"ms":1}}})");
    expect_plan_error(
        f,
        tool("dapdee-plan") + " " + f.dag + " --device " + (f.d / "other.json") + " --edge " + f.edge + " --network 4G",
        "the device profile is for model 'resnet18' but the DAG is 'ee'");
  }
  SECTION("bandwidths") {
    expect_plan_error(f, f.plan("--bandwidth -1"), "bandwidth");
    expect_plan_error(f, f.plan("--bandwidth 0"), "bandwidth");
    expect_plan_error(f, f.plan("--bandwidth nan"), "--bandwidth");
    expect_plan_error(f, f.plan("--bandwidth 0:5:3"), "bandwidth");
  }
  SECTION("a negative deadline") { expect_plan_error(f, f.plan("--network 4G --deadline -5"), "deadline"); }
  SECTION("an unknown network is a usage error") {
    const auto r = run(f.plan("--network 7G"));
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::StartsWith("dapdee-plan: usage: ") && Catch::Contains("unknown network '7G'"));
  }
  SECTION("an unknown exit") { expect_plan_error(f, f.plan("--network 4G --exit exit9"), "unknown exit 'exit9'"); }
  SECTION("an unknown mode or method is a usage error") {
    for (const char* args : {"--network 4G --mode fast", "--network 4G --method magic"}) {
      const auto r = run(f.plan(args) + " -o " + (f.d / "plan.out"));
      CHECK(r.code == 2);
      CHECK_THAT(r.err, Catch::StartsWith("dapdee-plan: usage: ") && Catch::Contains("is not one of"));
      CHECK_FALSE(fs::exists(f.d / "plan.out"));
    }
  }
  SECTION("a missing file") {
    expect_plan_error(f, tool("dapdee-plan") + " " + (f.d / "none.json") + " --device " + f.dev + " --edge " + f.edge +
                             " --network 4G", "cannot open");
  }
  SECTION("usage errors exit 2") {
    CHECK(run(tool("dapdee-plan") + " " + f.dag).code == 2);
    CHECK(run(tool("dapdee-plan") + " --help").code == 0);
  }
}

TEST_CASE("dapdee-plan replays a Mahimahi uplink trace window by window", "[plan][cli][trace]") {
  Fixture f;
  std::string trace;
  for (int i = 0; i < 100; ++i) trace += std::to_string(i * 10) + "\n";         // window 0: 100 packets
  for (int i = 0; i < 50; ++i) trace += std::to_string(2000 + i * 20) + "\n";    // window 1: none; window 2: 50
  spit(f.d / "t.up", trace);
  const auto r = run(f.plan("--bandwidth-trace " + (f.d / "t.up") + " --delay 10 --format csv"));
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.err, Catch::Contains("1 window(s)"));
  std::vector<std::string> lines;
  for (size_t p = 0, q; (q = r.out.find('\n', p)) != std::string::npos; p = q + 1) lines.push_back(r.out.substr(p, q - p));
  REQUIRE(lines.size() == 4);
  CHECK_THAT(lines[1], Catch::Contains(",t,1.2,10,") && Catch::Contains(",true,0,"));
  CHECK_THAT(lines[2], Catch::Contains(",t,1e-06,10,") && Catch::Contains(",true,1,"));
  // The last window (2000..2980 ms, the period) is averaged over its real 980 ms, not a whole second.
  CHECK_THAT(lines[3], Catch::Contains(",t,0.61224") && Catch::Contains(",true,2,"));
  spit(f.d / "bad.up", "0\n12x\n");
  expect_plan_error(f, f.plan("--bandwidth-trace " + (f.d / "bad.up")), "line 2: '12x' is not a time in ms");
}

// Apart from the test above, so that a missing ../shared never hides one of its failures.
TEST_CASE("dapdee-plan replays the shared Verizon LTE trace", "[plan][cli][trace][shared]") {
  Fixture f;
  const std::string shared = shared_dir() + "/traces/Verizon-LTE-short.up";
  if (!fs::exists(shared)) DAPDEE_SKIP("../shared/traces is absent");
  const auto s = run(f.plan("--bandwidth-trace " + shared + " --network 4G"));
  REQUIRE(s.code == 0);
  CHECK(std::count(s.out.begin(), s.out.end(), '\n') >= 139);
  CHECK_THAT(s.out, Catch::Contains("\"trace_time_s\":0,"));
}

TEST_CASE("dapdee-plan heavy fields, lean lines and breakpoints", "[plan][cli]") {
  Fixture f;
  const auto heavy = run(f.plan("--network 4G --mode heavy --deadline 30"));
  INFO(heavy.err);
  REQUIRE(heavy.code == 0);
  CHECK_THAT(heavy.out, Catch::Contains("\"heavy_search\":\"exact\""));
  CHECK_THAT(heavy.out, Catch::Contains("\"heavy_candidate\":"));
  CHECK_THAT(heavy.out, !Catch::Contains("\"alpha\""));
  const auto light = run(f.plan("--network 4G"));
  CHECK_THAT(light.out, !Catch::Contains("heavy_search"));
  // Lean lines keep the format and drop the node lists.
  const auto lean = run(f.plan("--network CAT1,3G,4G --fields short"));
  REQUIRE(lean.code == 0);
  CHECK_THAT(lean.out, Catch::StartsWith("{\"format\":\"dapdee-plan/1\""));
  CHECK_THAT(lean.out, !Catch::Contains("\"V_d\""));
  const auto picked = run(f.plan("--network 4G --fields latency_ms,exit"));
  CHECK(picked.out.rfind("{\"format\":\"dapdee-plan/1\",\"latency_ms\":", 0) == 0);
  const auto csv = run(f.plan("--network 4G --format csv --fields exit,T_max"));
  CHECK(csv.out.rfind("exit,T_max\n", 0) == 0);
  // Breakpoints: one line per interval, increasing, the last unbounded.
  const auto bp = run(f.plan("--delay 20 --breakpoints"));
  INFO(bp.err);
  REQUIRE(bp.code == 0);
  CHECK_THAT(bp.out, Catch::Contains("\"format\":\"dapdee-breakpoints/1\""));
  CHECK_THAT(bp.out, Catch::Contains("\"bw_hi\":null"));
  CHECK_THAT(bp.err, Catch::Contains("minimum cut(s)"));
  const auto bp1 = run(f.plan("--network 4G --breakpoints --bandwidth 0.1:100 --exit final"));
  REQUIRE(bp1.code == 0);
  CHECK_THAT(bp1.out, !Catch::Contains("\"exit\":\"exit1\""));
}

TEST_CASE("dapdee-plan usage errors of the heavy search, fields and breakpoints exit 2", "[plan][cli][errors]") {
  Fixture f;
  const std::string out = f.d / "x.out";
  for (const std::string args : {"--delay 20 --breakpoints --bandwidth 5", "--delay 20 --breakpoints --bandwidth 5:1",
                                 "--delay 20 --breakpoints --bandwidth 0:inf", "--delay 20 --breakpoints --format csv",
                                 "--network 4G --fields latency_ms,bogus", "--network 4G --mode heavy --heavy-exact-limit 0"}) {
    const auto r = run(f.plan(args + " -o " + out));
    INFO(args << "\n" << r.err);
    CHECK(r.code == 2);
    CHECK_FALSE(r.err.empty());
    CHECK_FALSE(fs::exists(out));
  }
  // One delay is needed to draw the map.
  const auto r = run(f.plan("--network 3G,4G --breakpoints -o " + out));
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("needs one delay"));
  CHECK_FALSE(fs::exists(out));
}

TEST_CASE("dapdee-plan --shard: the parts concatenated are the whole sweep, byte for byte", "[plan][cli][shard]") {
  Fixture f;
  for (const std::string args : {"--network CAT1,3G,4G --bandwidth 0.05:20:9log --deadline 5:60:7",
                                 "--network CAT1,3G --bandwidth 0.1:10:5log --deadline 10:40:4 --mode heavy --format csv"}) {
    const auto whole = run(f.plan(args));
    REQUIRE(whole.code == 0);
    for (int n : {1, 2, 7}) {
      std::string joined;
      for (int i = 1; i <= n; ++i) {
        const auto part = run(f.plan(args + " --shard " + std::to_string(i) + "/" + std::to_string(n)));
        INFO(args << " shard " << i << "/" << n << "\n" << part.err);
        REQUIRE(part.code == 0);
        joined += part.out;
      }
      INFO(args << " in " << n << " shards");
      CHECK(joined == whole.out);
    }
  }
  const std::string out = f.d / "x.out";
  for (const std::string bad : {"--shard 0/3", "--shard 4/3", "--shard 2", "--shard 1/3 --format table"}) {
    const auto r = run(f.plan("--network 4G " + bad + " -o " + out));
    INFO(bad << "\n" << r.err);
    CHECK(r.code == 2);
    CHECK_FALSE(fs::exists(out));
  }
  // The size cap applies per shard.
  const auto capped = run(f.plan("--network CAT1,3G,4G --deadline 1:100:10 --max-points 20 -o " + out));
  CHECK(capped.code == 1);
  CHECK_THAT(capped.err, Catch::Contains("exceed the cap of 20"));
  CHECK(run(f.plan("--network CAT1,3G,4G --deadline 1:100:10 --max-points 20 --shard 2/2")).code == 0);
}
