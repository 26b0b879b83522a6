// Pictures of plans (--format dot/trace), the wire in the cost model (--input-encoding,
// --wire-dtype, --result-downlink) and the table people read (issue 15).
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "onnx_builder.hpp"
#include "test_util.hpp"

using namespace test_util;

namespace {

// dapdee-plan on a committed reference model with its predicted profiles.
std::string ref_plan(const std::string& model, const std::string& args) {
  const std::string p = source_dir() + "/profiles/";
  return tool("dapdee-plan") + " " + p + "dags/" + model + ".dag.json --device " + p + "predicted/" + model +
         ".rpi4.json --edge " + p + "predicted/" + model + ".edge-t4.json " + args;
}

nlohmann::json one_plan(const std::string& model, const std::string& args) {
  const auto r = run(ref_plan(model, args));
  INFO(r.err);
  REQUIRE(r.code == 0);
  return nlohmann::json::parse(r.out);
}

// A Chrome trace-event file as Perfetto reads it: an object with a traceEvents array; metadata
// events (ph M) name the process and threads; complete events (ph X) have a name, integer pid
// and tid, ts >= 0 and dur >= 0 in microseconds, and never overlap on one thread.
void check_chrome_trace(const nlohmann::json& t) {
  REQUIRE(t.is_object());
  REQUIRE(t.contains("traceEvents"));
  REQUIRE(t["traceEvents"].is_array());
  if (t.contains("displayTimeUnit")) CHECK((t["displayTimeUnit"] == "ms" || t["displayTimeUnit"] == "ns"));
  std::map<int, std::vector<std::pair<double, double>>> by_thread;
  std::set<int> named;
  for (const auto& e : t["traceEvents"]) {
    REQUIRE(e.is_object());
    REQUIRE(e["name"].is_string());
    REQUIRE(e["ph"].is_string());
    REQUIRE(e["pid"].is_number_integer());
    REQUIRE(e["tid"].is_number_integer());
    const std::string ph = e["ph"];
    REQUIRE((ph == "X" || ph == "M"));
    if (ph == "M") {
      REQUIRE((e["name"] == "process_name" || e["name"] == "thread_name"));
      REQUIRE(e["args"]["name"].is_string());
      if (e["name"] == "thread_name") named.insert(e["tid"].get<int>());
      continue;
    }
    REQUIRE(e["ts"].is_number());
    REQUIRE(e["dur"].is_number());
    CHECK(e["ts"].get<double>() >= 0);
    CHECK(e["dur"].get<double>() > 0);
    by_thread[e["tid"]].emplace_back(e["ts"].get<double>(), e["ts"].get<double>() + e["dur"].get<double>());
  }
  for (auto& [tid, spans] : by_thread) {
    CHECK(named.count(tid) == 1);
    std::sort(spans.begin(), spans.end());
    for (size_t i = 1; i < spans.size(); ++i) CHECK(spans[i].first >= spans[i - 1].second - 1e-6);
  }
}

}  // namespace

TEST_CASE("dapdee-plan --format dot draws the partitioned googlenet and dot parses it", "[pictures][dot]") {
  const auto r = run(ref_plan("googlenet", "--network 4G --mode heavy --format dot"));
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::StartsWith("digraph \"googlenet\" {"));
  CHECK_THAT(r.out, Catch::Contains("subgraph cluster_device") && Catch::Contains("subgraph cluster_edge"));
  // Three colours: device, sent and edge nodes all appear in a plan that cuts inside.
  CHECK_THAT(r.out, Catch::Contains("#9ecae1") && Catch::Contains("#fdae6b") && Catch::Contains("#a1d99b"));
  CHECK_THAT(r.out, Catch::Contains("penwidth=2.5") && Catch::Contains("KiB") && Catch::Contains(" ms\""));
  if (run("command -v dot").code != 0) DAPDEE_SKIP("graphviz 'dot' is not installed (scripts/deps installs it)");
  TempDir d;
  spit(d / "g.dot", r.out);
  const auto parsed = run("dot -Tsvg " + (d / "g.dot") + " -o " + (d / "g.svg"));
  INFO(parsed.err);
  CHECK(parsed.code == 0);
  CHECK(parsed.err.empty());
  CHECK_THAT(slurp(d / "g.svg"), Catch::Contains("<svg"));
}

TEST_CASE("dapdee-plan --format trace writes a Chrome trace of the pipeline", "[pictures][trace]") {
  SECTION("heavy: eight pipelined frames whose period is T_max") {
    const auto r = run(ref_plan("googlenet", "--network 4G --mode heavy --format trace"));
    INFO(r.err);
    REQUIRE(r.code == 0);
    const auto t = nlohmann::json::parse(r.out);
    check_chrome_trace(t);
    CHECK(t["otherData"]["frames"] == 8);
    const double t_max = t["otherData"]["T_max"];
    std::map<std::string, std::vector<double>> starts;
    for (const auto& e : t["traceEvents"])
      if (e["ph"] == "X") starts[e["name"].get<std::string>().substr(0, e["name"].get<std::string>().find(' '))].push_back(e["ts"]);
    REQUIRE(starts["device"].size() == 8);
    REQUIRE(starts["edge"].size() == 8);
    // The bottleneck stage runs back to back: frames leave the pipeline every T_max.
    const auto& e = starts["edge"];
    CHECK((e[7] - e[6]) / 1000.0 <= t_max + 1e-6);
  }
  SECTION("light: one frame, stages in order with the delay before the edge") {
    const auto t = nlohmann::json::parse(run(ref_plan("googlenet", "--bandwidth 200 --delay 20 --format trace")).out);
    check_chrome_trace(t);
    CHECK(t["otherData"]["frames"] == 1);
    double dev_end = -1, up_end = -1, edge_start = -1;
    for (const auto& e : t["traceEvents"]) {
      if (e["ph"] != "X") continue;
      if (e["tid"] == 1) dev_end = e["ts"].get<double>() + e["dur"].get<double>();
      if (e["tid"] == 2) up_end = e["ts"].get<double>() + e["dur"].get<double>();
      if (e["tid"] == 3) edge_start = e["ts"];
    }
    REQUIRE(up_end > 0);
    CHECK(up_end >= dev_end);
    CHECK(edge_start == Approx(up_end + 20000.0));
    const double latency = t["otherData"]["latency_ms"];
    CHECK(edge_start / 1000.0 + t["otherData"]["T_e"].get<double>() == Approx(latency));
  }
}

TEST_CASE("pictures of a sweep are usage errors", "[pictures][cli]") {
  for (const char* f : {"dot", "trace"}) {
    const auto r = run(ref_plan("googlenet", std::string("--network 4G,3G --format ") + f));
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::Contains("draws one plan") && Catch::Contains("2 points"));
    CHECK(r.out.empty());
  }
  const auto bp = run(ref_plan("googlenet", "--breakpoints --delay 20 --format dot"));
  CHECK(bp.code == 2);
}

TEST_CASE("the wire: input encoding and wire dtype scale the bytes sent", "[wire]") {
  // Edge-only sends the input only: float32 3x224x224 = 602112 B, uint8 150528 B, jpeg:10 15052.8 B.
  const auto f32 = one_plan("googlenet", "--network 4G --method edge-only");
  const auto u8 = one_plan("googlenet", "--network 4G --method edge-only --input-encoding uint8");
  const auto jp = one_plan("googlenet", "--network 4G --method edge-only --input-encoding jpeg:10");
  CHECK(f32["sent_bytes"] == 602112.0);
  CHECK_FALSE(f32.contains("input_encoding"));
  CHECK(u8["sent_bytes"] == 150528.0);
  CHECK(u8["input_encoding"] == "uint8");
  CHECK(jp["sent_bytes"].get<double>() == Approx(15052.8));
  CHECK(jp["input_encoding"] == "jpeg:10");
  CHECK(u8["T_t"].get<double>() == Approx(f32["T_t"].get<double>() / 4));
  // An intermediate cut: fp16 halves the bytes of the same partition, int8 quarters them.
  const std::string cut = "--network 4G --cut /maxpool2/MaxPool";
  const auto c32 = one_plan("googlenet", cut);
  const auto c16 = one_plan("googlenet", cut + " --wire-dtype float16");
  const auto c8 = one_plan("googlenet", cut + " --wire-dtype int8");
  REQUIRE(c32["sent_bytes"].get<double>() > 0);
  CHECK(c16["sent_bytes"].get<double>() == Approx(c32["sent_bytes"].get<double>() / 2));
  CHECK(c8["sent_bytes"].get<double>() == Approx(c32["sent_bytes"].get<double>() / 4));
  CHECK(c16["wire_dtype"] == "float16");
  CHECK(c16["T_d"] == c32["T_d"]);
}

TEST_CASE("the wire: --result-downlink adds T_down to the latency only", "[wire]") {
  const auto base = one_plan("googlenet", "--network 4G --method edge-only");
  const auto down = one_plan("googlenet", "--network 4G --method edge-only --result-downlink 10");
  // 1000 float32 logits come back: 4000 B over 10 Mbit/s = 3.2 ms, plus the 20 ms delay.
  CHECK(down["T_down"].get<double>() == Approx(3.2 + 20));
  CHECK(down["result_downlink_mbps"] == 10.0);
  CHECK(down["latency_ms"].get<double>() == Approx(base["latency_ms"].get<double>() + 23.2));
  CHECK(down["T_max"] == base["T_max"]);
  CHECK_FALSE(base.contains("T_down"));
  // Device-only: nothing comes back.
  CHECK(one_plan("googlenet", "--network 4G --method device-only --result-downlink 10")["T_down"] == 0.0);
}

TEST_CASE("the wire: bad values are named", "[wire][cli]") {
  struct Case {
    const char* args;
    const char* what;
  };
  for (const Case& c : {Case{"--input-encoding png", "unknown input encoding 'png'"},
                        Case{"--input-encoding jpeg:0.5", "ratio >= 1"}, Case{"--input-encoding jpeg:", "jpeg:RATIO"},
                        Case{"--wire-dtype bfloat16", "unknown wire dtype 'bfloat16'"},
                        Case{"--result-downlink 0", "--result-downlink"}}) {
    const auto r = run(ref_plan("googlenet", std::string("--network 4G ") + c.args));
    INFO(c.args << "\n" << r.err);
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::StartsWith("dapdee-plan: error: ") && Catch::Contains(c.what));
    CHECK(r.out.empty());
  }
}

TEST_CASE("the table: accuracy column, rounded times, trimmed lists, defaults in --help", "[plan][cli]") {
  const auto r = run(ref_plan("ee_alexnet", "--network \"4G, 3G\" --format table"));
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains(" acc ") && Catch::Contains("\n4G ") && Catch::Contains("\n3G "));
  // Rounded: no time printed with more than two decimals.
  CHECK_FALSE(std::regex_search(r.out, std::regex(R"(\d\.\d{3} )")));
  const auto csv = run(ref_plan("ee_alexnet", "--network \"4G, 3G\" --format csv --fields \"network, latency_ms\""));
  REQUIRE(csv.code == 0);
  CHECK_THAT(csv.out, Catch::StartsWith("network,latency_ms\n4G,"));
  const auto help = run(tool("dapdee-plan") + " --help");
  for (const char* d : {"--mode TEXT=light", "--method TEXT=dapdee", "--format TEXT=json", "--input-encoding TEXT=float32",
                        "--wire-dtype TEXT=float32", "--battery FLOAT=1"})
    CHECK_THAT(help.out, Catch::Contains(d));
}

TEST_CASE("messages that guide: the wrong kind of file, two stdins", "[plan][cli][messages]") {
  TempDir d;
  testing_onnx::early_exit_model().save(d / "ee.onnx");
  const std::string p = source_dir() + "/profiles/";
  const std::string profiles = " --device " + p + "predicted/googlenet.rpi4.json --edge " + p + "predicted/googlenet.edge-t4.json";
  SECTION("an ONNX model where a DAG is expected") {
    const auto r = run(tool("dapdee-plan") + " " + (d / "ee.onnx") + profiles + " --network 4G");
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Contains("ee.onnx: this is an ONNX model") && Catch::Contains("run dapdee-import first"));
  }
  SECTION("a plan where a DAG is expected") {
    const auto plan = run(ref_plan("googlenet", "--network 4G"));
    spit(d / "plan.json", plan.out);
    const auto r = run(tool("dapdee-plan") + " " + (d / "plan.json") + profiles + " --network 4G");
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Contains("this is a plan (dapdee-plan/1), not a dapdee-dag/1 file"));
  }
  SECTION("a DAG where a plan is expected") {
    const auto r = run(tool("dapdee-split") + " " + (d / "ee.onnx") + " --plan " + p + "dags/googlenet.dag.json --device-out " +
                       (d / "a.onnx") + " --edge-out " + (d / "b.onnx"));
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Contains("this is a DAG (dapdee-dag/1), not a dapdee-plan/1 file"));
    CHECK_FALSE(fs::exists(d / "a.onnx"));
  }
  SECTION("two inputs from stdin") {
    const auto r = run(tool("dapdee-plan") + " - --device - --edge " + p + "predicted/googlenet.edge-t4.json --network 4G");
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::Contains("only one input can be read from '-' (stdin)"));
  }
}
