// Pictures of plans (--format dot/trace), the wire in the cost model (--input-encoding,
// --wire-dtype, --result-downlink) and the table people read (issue 15).
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "dapdee/import/onnx_import.hpp"
#include "dapdee/model/dag.hpp"
#include "dapdee/plan/planner.hpp"
#include "dapdee/plan/wire.hpp"
#include "dapdee/support/file_kind.hpp"
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
  // The plan cuts inside the network: neither device-only nor edge-only.
  const auto plan = one_plan("googlenet", "--network 4G --mode heavy");
  CHECK(plan["V_s"].size() >= 1);
  CHECK(plan["V_s"] != nlohmann::json::array({"input"}));
  CHECK(plan["V_e"].size() >= 1);
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

TEST_CASE("the pictures in docs/img are the tool's current output", "[pictures]") {
  // README and the man page show these files: they must not drift from what the tool draws.
  const std::string img = source_dir() + "/docs/img/googlenet-heavy-4g";
  CHECK(run(ref_plan("googlenet", "--network 4G --mode heavy --format dot")).out == slurp(img + ".dot"));
  const std::string trace = slurp(img + ".trace.json");
  CHECK(run(ref_plan("googlenet", "--network 4G --mode heavy --format trace")).out == trace);
  check_chrome_trace(nlohmann::json::parse(trace));
}

TEST_CASE("dapdee-plan --format trace writes a Chrome trace of the pipeline", "[pictures][trace]") {
  SECTION("heavy: eight pipelined frames whose period is T_max") {
    const auto r = run(ref_plan("googlenet", "--network 4G --mode heavy --format trace"));
    INFO(r.err);
    REQUIRE(r.code == 0);
    const auto t = nlohmann::json::parse(r.out);
    check_chrome_trace(t);
    CHECK(t["otherData"]["mode"] == "heavy");
    CHECK(t["otherData"]["frames"] == 8);
    const double t_max = t["otherData"]["T_max"];
    std::map<std::string, std::vector<double>> starts;
    for (const auto& e : t["traceEvents"])
      if (e["ph"] == "X") starts[e["name"].get<std::string>().substr(0, e["name"].get<std::string>().find(' '))].push_back(e["ts"]);
    REQUIRE(starts["device"].size() == 8);
    REQUIRE(starts["edge"].size() == 8);
    // The bottleneck stage runs back to back: frames leave the pipeline every T_max.
    const auto& e = starts["edge"];
    CHECK((e[7] - e[6]) / 1000.0 == Approx(t_max));
    // The device, first in line, runs back to back at its own pace.
    CHECK((starts["device"][7] - starts["device"][6]) / 1000.0 == Approx(t["otherData"]["T_d"].get<double>()));
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
  SECTION("with --result-downlink: a downlink thread whose slice ends at the latency") {
    const auto t = nlohmann::json::parse(
        run(ref_plan("googlenet", "--bandwidth 200 --delay 20 --result-downlink 10 --format trace")).out);
    check_chrome_trace(t);
    double down_end = -1;
    for (const auto& e : t["traceEvents"])
      if (e["ph"] == "X" && e["tid"] == 4) down_end = e["ts"].get<double>() + e["dur"].get<double>();
    REQUIRE(down_end > 0);
    CHECK(down_end / 1000.0 == Approx(t["otherData"]["latency_ms"].get<double>()));
  }
}

TEST_CASE("dapdee-run --trace-out writes the measured frames as the same Chrome trace", "[pictures][trace][run]") {
  if (!std::ifstream(tool("dapdee-run")).good()) DAPDEE_SKIP("dapdee-run is not built (needs OpenCV DNN)");
  TempDir d;
  auto b = testing_onnx::chain_model();
  b.random_weights(3);
  auto* o = b.model().mutable_graph()->mutable_output(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
  o->add_dim()->set_dim_value(1);
  o->add_dim()->set_dim_value(10);
  b.save(d / "chain.onnx");
  spit(d / "plan.json", R"({"format":"dapdee-plan/1","model":"chain","exit":"output","bandwidth_mbps":20,"delay_ms":2,
    "V_d":["input","conv1","relu1"],"V_s":["relu1"],"V_e":["pool1","flatten","fc"],"T_d":0.1,"T_t":0.4,"T_e":0.1})");
  for (const char* mode : {"", " --pipeline"}) {
    INFO(mode);
    const auto r = run(tool("dapdee-run") + " " + (d / "chain.onnx") + " --plan " + (d / "plan.json") +
                       " --frames 4 --warmup 1 --no-verify -o " + (d / "r.json") + " --trace-out " + (d / "t.json") + mode);
    INFO(r.err);
    REQUIRE(r.code == 0);
    const auto t = nlohmann::json::parse(slurp(d / "t.json"));
    check_chrome_trace(t);
    CHECK(t["otherData"]["source"] == "dapdee-run (measured)");
    CHECK(t["otherData"]["frames"] == 4);
    std::map<int, int> per_thread;
    std::set<std::string> thread_names;
    for (const auto& e : t["traceEvents"]) {
      if (e["ph"] == "X") ++per_thread[e["tid"].get<int>()];
      if (e["name"] == "thread_name") thread_names.insert(e["args"]["name"].get<std::string>());
    }
    // Device, uplink and edge of every frame, on the threads a plan's trace uses.
    CHECK(per_thread[1] == 4);
    CHECK(per_thread[2] == 4);
    CHECK(per_thread[3] == 4);
    CHECK(thread_names == std::set<std::string>{"device", "uplink", "edge", "downlink"});
    // One frame at a time, the uplink slice is the measured t_t: 256 floats and framing at
    // 20 Mbit/s take over 0.4 ms. (Pipelined, a slice starts when the previous frame's ends.)
    if (std::string(mode).empty())
      for (const auto& e : t["traceEvents"])
        if (e["ph"] == "X" && e["tid"] == 2) CHECK(e["dur"].get<double>() >= 400.0);
  }
  const auto usage = run(tool("dapdee-run") + " " + (d / "chain.onnx") + " --plan " + (d / "plan.json") + " --trace-out -");
  CHECK(usage.code == 2);
  CHECK_THAT(usage.err, Catch::Contains("--trace-out - takes stdout"));
}

TEST_CASE("dapdee-import's summary lists the bottleneck tensors smallest first", "[pictures][import]") {
  for (const char* model : {"googlenet", "resnet18", "ee_alexnet"}) {
    INFO(model);
    const std::string path = source_dir() + "/profiles/dags/" + model + ".dag.json";
    const dapdee::Dag dag = dapdee::parse_dag(slurp(path), path);
    const std::string summary = dapdee::dag_summary(dag);
    check_golden(std::string(model) + ".summary.txt", summary);
    // Each listed node's tensor alone crosses a cut (oracle: some topological prefix ending at or
    // after it whose every edge to the rest leaves from it), and the list ascends in bytes.
    std::map<std::string, int> id;
    for (size_t v = 0; v < dag.nodes.size(); ++v) id[dag.nodes[v].name] = static_cast<int>(v);
    std::istringstream in(summary.substr(summary.find("(bottlenecks, candidate cuts):\n")));
    std::string line;
    std::getline(in, line);
    long long prev = -1;
    int listed = 0;
    while (std::getline(in, line) && line.rfind("  ", 0) == 0) {
      std::istringstream f(line);
      long long bytes = 0;
      std::string unit, shape, name;
      f >> bytes >> unit >> shape >> name;
      REQUIRE(id.count(name) == 1);
      CHECK(bytes >= prev);
      prev = bytes;
      ++listed;
      const int u = id[name];
      bool crosses = false;
      for (size_t i = static_cast<size_t>(u); i + 1 < dag.nodes.size() && !crosses; ++i) {
        bool only_u = true, any = false;
        for (size_t v = i + 1; v < dag.nodes.size(); ++v)
          for (int w : dag.nodes[v].input_ids)
            if (static_cast<size_t>(w) <= i) {
              any = true;
              only_u = only_u && w == u;
            }
        crosses = any && only_u;
      }
      CHECK(crosses);
    }
    CHECK(listed >= 1);
  }
}

TEST_CASE("pictures of a sweep are usage errors", "[pictures][cli]") {
  for (const char* f : {"dot", "trace"}) {
    const auto r = run(ref_plan("googlenet", std::string("--network 4G,3G --format ") + f));
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::StartsWith("dapdee-plan: usage: ") && Catch::Contains("draws one plan") &&
                          Catch::Contains("2 points"));
    CHECK(r.out.empty());
    const auto dl = run(ref_plan("googlenet", std::string("--network 4G --deadline 50,100 --format ") + f));
    CHECK(dl.code == 2);
    const auto sh = run(ref_plan("googlenet", std::string("--network 4G --shard 1/2 --format ") + f));
    CHECK(sh.code == 2);
    CHECK_THAT(sh.err, Catch::Contains("is not shardable"));
  }
  const auto bp = run(ref_plan("googlenet", "--breakpoints --delay 20 --format dot"));
  CHECK(bp.code == 2);
  // And no output file is left behind.
  TempDir d;
  const auto o = run(ref_plan("googlenet", "--network 4G,3G --format dot -o " + (d / "x.dot")));
  CHECK(o.code == 2);
  CHECK_FALSE(fs::exists(d / "x.dot"));
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

TEST_CASE("the wire: bad values are usage errors that name the option", "[wire][cli]") {
  struct Case {
    const char* args;
    const char* what;
  };
  for (const Case& c : {Case{"--input-encoding png", "unknown input encoding 'png'"},
                        Case{"--input-encoding jpeg:0.5", "ratio >= 1"}, Case{"--input-encoding jpeg:", "jpeg:RATIO"},
                        Case{"--wire-dtype bfloat16", "'bfloat16' is not one of float32, float16, int8"},
                        Case{"--result-downlink 0", "'0' is not a bandwidth > 0 Mbit/s"}, Case{"--result-downlink inf", "--result-downlink"}}) {
    const auto r = run(ref_plan("googlenet", std::string("--network 4G ") + c.args));
    INFO(c.args << "\n" << r.err);
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::StartsWith("dapdee-plan: usage: ") && Catch::Contains(c.what));
    CHECK(r.out.empty());
  }
  // The online loop plans with the float32 wire only: the options are refused, not ignored.
  const auto f = run(ref_plan("googlenet", "--deadline 100 --follow --wire-dtype float16"));
  CHECK(f.code == 2);
  CHECK_THAT(f.err, Catch::Contains("--follow plans with the float32 wire only"));
}

TEST_CASE("the wire: the library parses the name tables", "[wire]") {
  dapdee::Wire w;
  REQUIRE(dapdee::parse_input_encoding("jpeg:12.5", w).ok());
  CHECK(w.input == dapdee::InputEncoding::Jpeg);
  CHECK(w.jpeg_ratio == 12.5);
  CHECK(dapdee::input_encoding_name(w) == "jpeg:12.5");
  CHECK_FALSE(dapdee::parse_input_encoding("jpeg:inf", w).ok());
  CHECK_FALSE(dapdee::parse_input_encoding("JPEG:10", w).ok());
  for (const auto& n : dapdee::wire_dtype_names()) {
    const auto d = dapdee::parse_wire_dtype(n);
    REQUIRE(d);
    CHECK(dapdee::wire_dtype_name(*d) == n);
  }
  CHECK_FALSE(dapdee::parse_wire_dtype("fp16"));
}

TEST_CASE("the wire: defaults leave the costs untouched, int64 tensors keep their size", "[wire]") {
  dapdee::Dag dag;
  dag.nodes.resize(3);
  dag.nodes[0].name = "ids", dag.nodes[0].op = "Input";
  dag.nodes[0].outputs = {{"ids", "int64", {1, 128}, 1024, true}};
  dag.nodes[1].name = "emb", dag.nodes[1].op = "Gather", dag.nodes[1].inputs = {"ids"};
  dag.nodes[1].outputs = {{"e", "float32", {1, 128, 64}, 32768, true}};
  dag.nodes[2].name = "idx", dag.nodes[2].op = "ArgMax", dag.nodes[2].inputs = {"emb"};
  dag.nodes[2].outputs = {{"i", "int64", {1, 128}, 1024, true}};
  dapdee::Costs costs;
  costs.bytes = {1024, 32768, 1024};
  dapdee::Wire w;
  dapdee::apply_wire(dag, w, costs);
  CHECK(costs.bytes == std::vector<double>{1024, 32768, 1024});
  w.input = dapdee::InputEncoding::Uint8;
  w.dtype = dapdee::WireDtype::Int8;
  dapdee::apply_wire(dag, w, costs);
  CHECK(costs.bytes == std::vector<double>{1024, 8192, 1024});
}

TEST_CASE("the table: accuracy column, rounded times, and CSV with bytes and tensor names", "[plan][cli]") {
  const auto r = run(ref_plan("ee_alexnet", "--network \"4G, 3G\" --format table"));
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains(" acc ") && Catch::Contains("\n4G ") && Catch::Contains("\n3G "));
  // Rounded: no time printed with more than two decimals (googlenet: no accuracies either).
  const auto g = run(ref_plan("googlenet", "--network \"4G, 3G\" --bandwidth 0.5,50 --method edge-only --format table"));
  REQUIRE(g.code == 0);
  CHECK_FALSE(std::regex_search(g.out, std::regex(R"(\d\.\d{3})")));
  CHECK(std::regex_search(g.out, std::regex(R"( \d{4} )")));  // 1000 ms and more: no decimals
  // Known accuracies are shown (ee_alexnet's exits are measured), a plan's sent nodes listed, and
  // the bytes on the wire when the wire is not float32.
  CHECK(std::regex_search(r.out, std::regex(R"( 0\.\d{3} )")));
  const auto one = run(ref_plan("googlenet", "--network 4G --method edge-only --input-encoding uint8 --format table"));
  CHECK_THAT(one.out, Catch::Contains("sent to the edge:\n  input (Input, 602112 B)\n  on the wire: 150528 B in all "
                                      "(input uint8, tensors float32)\n"));
  CHECK_THAT(run(ref_plan("googlenet", "--network 4G --method edge-only --result-downlink 10 --format table")).out,
             Catch::Contains(" T_down "));
  // The default CSV keeps full precision and carries the bytes sent and the cut tensors' names.
  const auto csv = run(ref_plan("googlenet", "--network 4G --cut /maxpool2/MaxPool --format csv"));
  INFO(csv.err);
  REQUIRE(csv.code == 0);
  const std::string header = csv.out.substr(0, csv.out.find('\n'));
  CHECK_THAT(header, Catch::EndsWith(",sent_bytes,sent_tensors"));
  CHECK_THAT(csv.out, Catch::Contains(",/maxpool2/MaxPool_output_0\n"));
  const auto json = one_plan("googlenet", "--network 4G --cut /maxpool2/MaxPool");
  CHECK_THAT(csv.out, Catch::Contains("," + nlohmann::json(json["sent_bytes"]).dump() + ","));
  CHECK_THAT(csv.out, Catch::Contains(nlohmann::json(json["latency_ms"]).dump()));
}

TEST_CASE("lists are trimmed: networks, bandwidths, cuts and fields", "[plan][cli]") {
  const auto csv = run(ref_plan("ee_alexnet", "--network \" 4G , 3G\" --format csv --fields \"network, latency_ms\""));
  INFO(csv.err);
  REQUIRE(csv.code == 0);
  CHECK_THAT(csv.out, Catch::StartsWith("network,latency_ms\n4G,"));
  CHECK_THAT(csv.out, Catch::Contains("\n3G,"));
  const auto bw = run(ref_plan("ee_alexnet", "--bandwidth \"1, 2 ,3\" --delay 20 --format csv --fields bandwidth_mbps"));
  INFO(bw.err);
  REQUIRE(bw.code == 0);
  CHECK(bw.out == "bandwidth_mbps\n1\n2\n3\n");
  const auto a = one_plan("googlenet", "--network 4G --cut \"/maxpool2/MaxPool, /conv1/conv/Conv\"");
  const auto b = one_plan("googlenet", "--network 4G --cut /maxpool2/MaxPool,/conv1/conv/Conv");
  CHECK(a["V_d"] == b["V_d"]);
}

TEST_CASE("dapdee-plan --help shows every option's default", "[plan][cli]") {
  const auto help = run(tool("dapdee-plan") + " --help");
  REQUIRE(help.code == 0);
  // One entry per option: its line and the description lines under it.
  std::vector<std::string> entries;
  std::istringstream in(help.out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("  -", 0) == 0) entries.push_back(line);
    else if (!entries.empty() && line.rfind("    ", 0) == 0) entries.back() += line;
    else if (!entries.empty() && line.empty()) entries.push_back("");
  }
  int checked = 0;
  for (const auto& e : entries) {
    if (e.empty()) continue;
    const std::string opts = e.substr(0, e.find("  ", 2));
    const bool takes_value = std::regex_search(opts, std::regex(R"( (TEXT|FLOAT|INT|UINT|NUMBER))"));
    if (!takes_value || opts.find("REQUIRED") != std::string::npos) continue;
    INFO(e);
    CHECK((opts.find('=') != std::string::npos || e.find("(default") != std::string::npos));
    ++checked;
  }
  CHECK(checked >= 30);
  for (const char* d : {"--mode TEXT:{light, heavy, auto}=light", "=dapdee", "--format TEXT:{json", "=json",
                        "--input-encoding TEXT:{float32, uint8, jpeg:RATIO}=float32", "--wire-dtype TEXT:{float32, float16, int8}=float32",
                        "--battery FLOAT=1"})
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
  SECTION("an ONNX model where a profile is expected") {
    const auto r = run(tool("dapdee-plan") + " " + p + "dags/googlenet.dag.json --device " + (d / "ee.onnx") +
                       " --edge " + p + "predicted/googlenet.edge-t4.json --network 4G");
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Contains("ee.onnx: this is an ONNX model, not a dapdee-profile/1 file: run dapdee-profile on it first"));
  }
  SECTION("a DAG where a profile is expected") {
    const auto r = run(tool("dapdee-plan") + " " + p + "dags/googlenet.dag.json --device " + p + "dags/googlenet.dag.json" +
                       " --edge " + p + "predicted/googlenet.edge-t4.json --network 4G");
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Contains("this is a DAG (dapdee-dag/1), not a dapdee-profile/1 file"));
  }
  SECTION("two inputs from stdin") {
    const auto r = run(tool("dapdee-plan") + " - --device - --edge " + p + "predicted/googlenet.edge-t4.json --network 4G");
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::Contains("only one input can be read from '-' (stdin)"));
  }
}

TEST_CASE("wrong_file_hint names the kind given and what to run", "[messages]") {
  const std::string onnx = std::string("\x08\x07\x12\x07pytorch", 11) + std::string(8, '\0');
  const std::string dag = R"({"format":"dapdee-dag/1","model":"m","nodes":[]})";
  const std::string plan = R"({"format":"dapdee-plan/1","model":"m"})";
  const std::string sweep = plan + "\n" + plan + "\n";
  const std::string profile = R"({"format":"dapdee-profile/1","nodes":{}})";
  const std::string bp = R"({"format":"dapdee-breakpoints/1","exit":"e"})" "\n";
  CHECK(dapdee::sniff_file_kind(onnx) == dapdee::FileKind::Onnx);
  CHECK(dapdee::sniff_file_kind(sweep) == dapdee::FileKind::PlanLines);
  CHECK(dapdee::sniff_file_kind(bp) == dapdee::FileKind::Breakpoints);
  CHECK(dapdee::sniff_file_kind("not json") == dapdee::FileKind::Unknown);
  CHECK(dapdee::sniff_file_kind(R"({"format":"other/1"})") == dapdee::FileKind::Unknown);
  CHECK(dapdee::wrong_file_hint(onnx, "dapdee-dag/1") == "this is an ONNX model, not a dapdee-dag/1 file: run dapdee-import first");
  CHECK(dapdee::wrong_file_hint(onnx, "dapdee-plan/1") ==
        "this is an ONNX model, not a dapdee-plan/1 file: run dapdee-import, then dapdee-plan");
  CHECK(dapdee::wrong_file_hint(dag, "dapdee-plan/1") == "this is a DAG (dapdee-dag/1), not a dapdee-plan/1 file: run dapdee-plan on it first");
  CHECK(dapdee::wrong_file_hint(plan, "dapdee-dag/1") == "this is a plan (dapdee-plan/1), not a dapdee-dag/1 file");
  CHECK(dapdee::wrong_file_hint(sweep, "dapdee-plan/1") == "this is a sweep (dapdee-plan/1 JSON Lines, one plan a line): pick one line");
  CHECK(dapdee::wrong_file_hint(profile, "dapdee-dag/1") == "this is a profile (dapdee-profile/1), not a dapdee-dag/1 file");
  CHECK(dapdee::wrong_file_hint(dag, "dapdee-dag/1").empty());
  CHECK(dapdee::wrong_file_hint(plan, "dapdee-plan/1").empty());
  CHECK(dapdee::wrong_file_hint("{\"x\":1}", "dapdee-dag/1").empty());
  // The DAG reader: a good DAG still parses, a broken one keeps the parser's message.
  CHECK_THROWS_WITH(dapdee::parse_dag(onnx, "m.onnx"), Catch::Contains("run dapdee-import first"));
  CHECK_THROWS_WITH(dapdee::parse_dag("{\"format\":\"dapdee-dag/1\"", "x.json"), Catch::Contains("not valid JSON"));
}
