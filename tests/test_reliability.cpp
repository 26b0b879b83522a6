// Reliability (issue 13): one error path per tool, exit statuses, typed JSON access.
#include <catch2/catch.hpp>
#include <algorithm>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dapdee/import/onnx_import.hpp"
#include "dapdee/import/ort_import.hpp"
#include "dapdee/model/dag.hpp"
#include "dapdee/model/network.hpp"
#include "dapdee/model/profile.hpp"
#include "dapdee/predict/latency_model.hpp"
#include "dapdee/predict/predict.hpp"
#include "dapdee/protocol/tensor_wire.hpp"
#include "dapdee/support/csv.hpp"
#include "dapdee/support/error.hpp"
#include "dapdee/support/exit_status.hpp"
#include "dapdee/support/json_field.hpp"
#ifdef DAPDEE_HAVE_OPENCV
#include "dapdee/run/run_client.hpp"
#endif
#include "onnx_builder.hpp"
#include "test_util.hpp"

using namespace test_util;

namespace {

std::string repo(const std::string& rel) { return source_dir() + "/" + rel; }

std::string plan_cmd(const std::string& args) {
  return tool("dapdee-plan") + " " + repo("profiles/dags/ee_vgg16.dag.json") + " --device " +
         repo("profiles/predicted/ee_vgg16.rpi4.json") + " --edge " + repo("profiles/predicted/ee_vgg16.edge-t4.json") +
         " " + args;
}

// Runs a tool command that must fail with `code`, print one diagnostic naming `what`, and
// write no output file.
void expect_failure(const std::string& cmd, int code, const std::string& what) {
  TempDir d;
  const std::string out = d / "out";
  const auto r = run(cmd + " -o " + out);
  INFO(cmd << "\n" << r.err);
  CHECK(r.code == code);
  CHECK_THAT(r.err, Catch::Contains(what));
  CHECK_THAT(r.err, !Catch::Contains("internal error"));
  CHECK_FALSE(fs::exists(out));
}

}  // namespace

TEST_CASE("exit statuses are the documented numbers", "[reliability][exit]") {
  STATIC_REQUIRE(dapdee::exit_code(dapdee::ExitStatus::Ok) == 0);
  STATIC_REQUIRE(dapdee::exit_code(dapdee::ExitStatus::Error) == 1);
  STATIC_REQUIRE(dapdee::exit_code(dapdee::ExitStatus::Usage) == 2);
}

TEST_CASE("choice options are usage errors (exit 2)", "[reliability][exit][cli]") {
  expect_failure(plan_cmd("--network 4G --mode bogus"), 2, "--mode");
  expect_failure(plan_cmd("--network 4G --method bogus"), 2, "--method");
  expect_failure(plan_cmd("--network 4G --format yaml"), 2, "--format");
  expect_failure(plan_cmd(""), 2, "--network");
  expect_failure(plan_cmd("--network 4G --mode heavy --heavy-grid 100000"), 2, "--heavy-grid");
  expect_failure(plan_cmd("--network 4G --mode heavy --heavy-rounds 1000000"), 2, "--heavy-rounds");
  expect_failure(plan_cmd("--network 4G --mode heavy --heavy-grid 1"), 2, "--heavy-grid");
  expect_failure(tool("dapdee-import") + " x.onnx --format yaml", 2, "--format");
  expect_failure(tool("dapdee-profile") + " predict " + repo("profiles/dags/ee_vgg16.dag.json"), 2, "--device");
  expect_failure(tool("dapdee-profile") + " m.onnx --repeat 0", 2, "--repeat");
  // The valid names still work.
  const auto ok = run(plan_cmd("--network 4G --mode auto --method dads --format jsonl"));
  INFO(ok.err);
  CHECK(ok.code == 0);
}

TEST_CASE("help and version exit 0 through run_tool", "[reliability][exit][cli]") {
  for (const char* t : {"dapdee-import", "dapdee-plan", "dapdee-profile", "dapdee-split"}) {
    const auto h = run(tool(t) + " --help");
    CHECK(h.code == 0);
    CHECK_THAT(h.out, Catch::Contains(t));
    const auto v = run(tool(t) + " --version");
    CHECK(v.code == 0);
    CHECK_THAT(v.out, Catch::StartsWith(t));
  }
}

TEST_CASE("JSON nested 100,000 levels deep is refused, not a crash", "[reliability][json]") {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  CHECK_THROWS_WITH(dapdee::parse_json_bounded(deep, "deep.json"), Catch::Contains("nested deeper than"));
  // Brackets inside strings do not count.
  CHECK_NOTHROW(dapdee::parse_json_bounded("{\"a\":\"" + std::string(1000, '[') + "\"}", "s.json"));
  CHECK_NOTHROW(dapdee::parse_json_bounded(std::string(64, '[') + std::string(64, ']'), "ok.json"));
  CHECK_THROWS(dapdee::parse_json_bounded(std::string(65, '[') + std::string(65, ']'), "no.json"));
  TempDir d;
  spit(d / "deep.json", std::string(100000, '['));
  spit(d / "deep2.json", "{\"format\":" + deep + "}");
  for (const char* f : {"deep.json", "deep2.json"}) {
    expect_failure(plan_cmd("--network " + (d / f)), 1, "nested deeper than");
  }
}

TEST_CASE("typed JSON access names the field and quotes a bounded excerpt", "[reliability][json]") {
  nlohmann::json storage;
  const auto root = dapdee::parse_json_root(
      R"({"format":"x/1","n":"20","a":[1,2,{"b":true}],"big":")" + std::string(5000, 'z') + R"(","neg":-1,"u":18446744073709551615})",
      "f.json", storage);
  CHECK_NOTHROW(root.expect_format("x/1"));
  CHECK_THROWS_WITH(root.expect_format("y/1"), Catch::Contains("not a y/1 file"));
  CHECK_THROWS_WITH(root.num("n"), Catch::Contains("n: expected a number, got a string (\"20\")"));
  CHECK_THROWS_WITH(root.at("a").items()[2].num("b"), Catch::Contains("a[2].b: expected a number, got true"));
  CHECK_THROWS_WITH(root.str("missing"), Catch::Contains("missing field 'missing'"));
  CHECK_THROWS_WITH(root.num("neg", dapdee::NumRange::non_negative()), Catch::Contains("neg: expected a finite number >= 0"));
  CHECK_THROWS_WITH(root.at("u").int64(), Catch::Contains("too large"));
  CHECK(root.num_or("absent", 7.0) == 7.0);
  CHECK_FALSE(root.num_opt("absent"));
  try {
    root.num("big");
    FAIL("no throw");
  } catch (const dapdee::Error& e) {
    CHECK(e.where() == "f.json");
    CHECK(std::string(e.what()).size() < 120);
  }
  CHECK(dapdee::json_excerpt(nlohmann::json::array({1, 2, 3})) == "an array of 3");
}

namespace {

// The message of the Error a reader throws on `text`, or "" when it accepts it.
template <typename Reader>
std::string reader_error(Reader read, const std::string& text) {
  try {
    read(text, "in.json");
  } catch (const dapdee::Error& e) {
    CHECK(e.where() == "in.json");
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("JSON of the wrong type is an error naming the field, in every reader", "[reliability][json]") {
  using Catch::Contains;
  const auto profile = [](const std::string& t, const std::string& w) { return dapdee::parse_profile(t, w); };
  CHECK_THAT(reader_error(profile, R"({"format":1,"nodes":{}})"), Contains("not a dapdee-profile/1 file (format is 1)"));
  CHECK_THAT(reader_error(profile, R"({"format":"dapdee-profile/1","device":7,"nodes":{}})"), Contains("device: expected a string"));
  CHECK_THAT(reader_error(profile, R"({"format":"dapdee-profile/1","nodes":{"a":{"ms":-1}}})"), Contains("nodes.a.ms: expected a finite number >= 0"));
  CHECK_THAT(reader_error(profile, R"({"format":"dapdee-profile/1","nodes":{"a":{"ms":"3"}}})"), Contains("nodes.a.ms: expected a number, got a string"));
  CHECK_THAT(reader_error(profile, R"({"format":"dapdee-profile/1","nodes":{"a":{"ms":1}},"total_ms":-5})"), Contains("total_ms"));
  CHECK_THAT(reader_error(profile, R"({"format":"dapdee-profile/1","nodes":{"a":{"ms":1e999}}})"), Contains("number overflow"));

  const auto network = [](const std::string& t, const std::string& w) { return dapdee::parse_network(t, w); };
  CHECK_THAT(reader_error(network, R"({"format":"dapdee-network/1","name":5,"uplink_mbps":1})"), Contains("name: expected a string"));
  CHECK_THAT(reader_error(network, R"({"format":"dapdee-network/1","uplink_mbps":1,"delay_ms":"20"})"),
             Contains("delay_ms: expected a number, got a string (\"20\")"));

  const auto spec = [](const std::string& t, const std::string& w) { return dapdee::parse_device_spec(t, w); };
  CHECK_THAT(reader_error(spec, R"({"format":"dapdee-device-spec/1","peak_gflops":"10","memory_gbps":4})"), Contains("peak_gflops"));
  CHECK_THAT(reader_error(spec, R"({"format":"dapdee-device-spec/1","peak_gflops":1e-300,"memory_gbps":4})"), Contains("peak_gflops"));
  CHECK_THAT(reader_error(spec, R"({"format":"dapdee-device-spec/1","peak_gflops":10,"memory_gbps":4,"efficiency":2})"), Contains("efficiency"));

  const auto fit = [](const std::string& t, const std::string& w) { return dapdee::parse_latency_model(t, w); };
  const std::string ok_fit = R"({"coef":[1,2,3,4],"samples":3})";
  CHECK(reader_error(fit, R"({"format":"dapdee-latency-model/1","per_op":{"Conv":)" + ok_fit + R"(},"fallback":)" + ok_fit + "}") == "");
  CHECK_THAT(reader_error(fit, R"({"format":"dapdee-latency-model/1","per_op":[],"fallback":)" + ok_fit + "}"), Contains("per_op: expected an object"));
  CHECK_THAT(reader_error(fit, R"({"format":"dapdee-latency-model/1","per_op":{"Conv":{"coef":[1,"x",3,4]}},"fallback":)" + ok_fit + "}"),
             Contains("per_op.Conv.coef[1]: expected a number"));
  CHECK_THAT(reader_error(fit, R"({"format":"dapdee-latency-model/1","per_op":{},"fallback":{"coef":[1,2,3]}})"), Contains("fallback.coef: expected 4 numbers"));
  CHECK_THAT(reader_error(fit, R"({"format":"dapdee-latency-model/1","per_op":{},"fallback":{"coef":[1,2,3,1e300]}})"), Contains("fallback.coef[3]"));

  const auto dag = [](const std::string& t, const std::string& w) { return dapdee::parse_dag(t, w); };
  CHECK_THAT(reader_error(dag, std::string(100000, '[')), Contains("nested deeper than"));
  CHECK_THAT(reader_error(dag, R"({"format":"dapdee-dag/1","model":{},"nodes":[]})"), Contains("model: expected a string"));
  CHECK_THAT(reader_error(dag, R"({"format":"dapdee-dag/1","nodes":[{"name":"in","op":"Input","macs":"9"}]})"), Contains("nodes[0].macs: expected an integer"));
  CHECK_THAT(reader_error(dag, R"({"format":"dapdee-dag/1","nodes":[{"name":"in","op":"Input","outputs":[{"consumed":1}]}]})"),
             Contains("nodes[0].outputs[0].consumed: expected true or false"));
}

TEST_CASE("ORT traces of the wrong type or with negative durations are refused", "[reliability][json][ort]") {
  dapdee::ImportOptions opt;
  TempDir d;
  testing_onnx::chain_model().save(d / "chain.onnx");
  opt.model_path = d / "chain.onnx";
  const dapdee::Dag dag = dapdee::import_onnx(opt).dag;
  const auto ort = [&](const std::string& t, const std::string& w) { return dapdee::import_ort_trace(t, w, dag, "x"); };
  CHECK_THAT(reader_error(ort, R"([{"cat":7,"name":"conv1_kernel_time","dur":5}])"), Catch::Contains("no 'Node' kernel events"));
  CHECK_THAT(reader_error(ort, R"([{"cat":"Node","name":"conv1_kernel_time","dur":-5}])"), Catch::Contains("negative duration"));
  CHECK_THAT(reader_error(ort, R"({"traceEvents":[{"cat":"Node","name":"conv1_kernel_time","dur":"5"}]})"),
             Catch::Contains("has no numeric 'dur'"));
  CHECK_THAT(reader_error(ort, R"({"traceEvents":{"cat":"Node"}})"), Catch::Contains("not an ONNX Runtime trace"));
}

TEST_CASE("exits sidecar of the wrong type is an error naming the field", "[reliability][json][import]") {
  TempDir d;
  testing_onnx::early_exit_model().save(d / "ee.onnx");
  spit(d / "bad1.json", R"({"exits":[{"name":3,"accuracy":0.5}]})");
  spit(d / "bad2.json", R"({"exit1":"0.5"})");
  spit(d / "bad3.json", R"({"exits":[{"name":"exit1","accuracy":[0.5]}]})");
  spit(d / "deep.json", std::string(50000, '[') + std::string(50000, ']'));
  for (const auto& [f, what] : std::vector<std::pair<std::string, std::string>>{
           {"bad1.json", "exits[0]: each entry of 'exits' needs a non-empty string 'name'"},
           {"bad2.json", "accuracy of exit 'exit1' must be a number in [0, 1] or null"},
           {"bad3.json", "accuracy of exit 'exit1' must be a number in [0, 1] or null"}, {"deep.json", "nested deeper than"}})
    expect_failure(tool("dapdee-import") + " " + (d / "ee.onnx") + " --exits " + (d / f), 1, what);
}

TEST_CASE("invalid UTF-8 in an ONNX string does not abort dapdee-import", "[reliability][import]") {
  TempDir d;
  auto b = testing_onnx::chain_model();
  b.model().mutable_graph()->mutable_node(1)->set_name(std::string("relu\xff\xfe", 6));
  b.model().set_producer_name("\xc3");
  b.save(d / "bad_utf8.onnx");
  const auto r = run(tool("dapdee-import") + " " + (d / "bad_utf8.onnx") + " -o " + (d / "out.json"));
  INFO(r.err);
  REQUIRE(r.code == 0);
  const std::string text = slurp(d / "out.json");
  CHECK_NOTHROW(dapdee::parse_dag(text, "out.json"));
  CHECK_THAT(text, Catch::Contains("relu\xef\xbf\xbd"));  // U+FFFD REPLACEMENT CHARACTER
}

TEST_CASE("a plan of the wrong type is refused by dapdee-split", "[reliability][json][split]") {
  TempDir d;
  testing_onnx::chain_model().save(d / "chain.onnx");
  const std::string base = tool("dapdee-split") + " " + (d / "chain.onnx") + " --device-out " + (d / "dev.onnx") +
                           " --edge-out " + (d / "edge.onnx") + " --plan ";
  spit(d / "p1.json", R"({"format":"dapdee-plan/1","model":{},"exit":"output","V_d":["input"],"V_e":[]})");
  spit(d / "p2.json", R"({"format":"dapdee-plan/1","exit":"output","V_d":"input","V_e":[]})");
  spit(d / "p3.json", R"({"format":"dapdee-plan/1","exit":["output"],"V_d":["input"],"V_e":[]})");
  spit(d / "p4.json", R"({"format":{"a":1},"exit":"output"})");
  for (const auto& [f, what] : std::vector<std::pair<std::string, std::string>>{{"p1.json", "model: expected a string"},
                                                                               {"p2.json", "V_d: expected an array"},
                                                                               {"p3.json", "exit: expected a string"},
                                                                               {"p4.json", "not a single dapdee-plan/1"}}) {
    const auto r = run(base + (d / f));
    INFO(f << "\n" << r.err);
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Contains(what));
    CHECK_FALSE(fs::exists(d / "dev.onnx"));
    CHECK_FALSE(fs::exists(d / "edge.onnx"));
  }
}

namespace {

// Splits CSV text per RFC 4180 into records of fields (quoted fields may hold , " CR LF).
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1, std::vector<std::string>(1));
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') rows.back().back() += '"', ++i;
      else if (c == '"') quoted = false;
      else rows.back().back() += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().emplace_back();
    } else if (c == '\n') {
      rows.emplace_back(1);
    } else {
      rows.back().back() += c;
    }
  }
  if (rows.back().size() == 1 && rows.back()[0].empty()) rows.pop_back();
  return rows;
}

}  // namespace

TEST_CASE("CSV fields with commas, quotes or newlines are quoted (RFC 4180)", "[reliability][csv]") {
  CHECK(dapdee::csv_field("plain") == "plain");
  CHECK(dapdee::csv_field("a,b") == "\"a,b\"");
  CHECK(dapdee::csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(dapdee::csv_field("two\nlines") == "\"two\nlines\"");
  TempDir d;
  nlohmann::json dag = nlohmann::json::parse(slurp(repo("profiles/dags/ee_vgg16.dag.json")));
  dag["model"] = "vgg,16 \"ee\"";
  dag["exits"][0]["name"] = "exit,1\nnew line";
  spit(d / "dag.json", dag.dump());
  spit(d / "net.json", R"({"format":"dapdee-network/1","name":"my,net \"x\"","uplink_mbps":5,"delay_ms":20})");
  for (const char* side : {"rpi4", "edge-t4"}) {  // the profiles name the renamed model too (else refused)
    nlohmann::json p = nlohmann::json::parse(slurp(repo(std::string("profiles/predicted/ee_vgg16.") + side + ".json")));
    p["model"] = dag["model"];
    spit(d / (std::string(side) + ".json"), p.dump());
  }
  const auto r =
      run(tool("dapdee-plan") + " " + (d / "dag.json") + " --device " + (d / "rpi4.json") + " --edge " +
          (d / "edge-t4.json") + " --network " + (d / "net.json") + " --exit 1 --deadline 5,500 --format csv");
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto rows = parse_csv(r.out);
  REQUIRE(rows.size() == 3);
  for (const auto& row : rows) CHECK(row.size() == rows[0].size());
  CHECK(rows[1][0] == "vgg,16 \"ee\"");
  CHECK(rows[1][1] == "my,net \"x\"");
  CHECK(rows[1][7] == "exit,1\nnew line");
}

TEST_CASE("values that slipped through are refused with a clear error", "[reliability][values]") {
  expect_failure(plan_cmd("--bandwidth 1e-320"), 1, "bandwidth must be between");
  expect_failure(plan_cmd("--bandwidth 1e300"), 1, "bandwidth must be between");
  expect_failure(plan_cmd("--network 4G --delay 1e300"), 1, "delay must be between");
  TempDir d;
  spit(d / "net.json", R"({"format":"dapdee-network/1","uplink_mbps":1e-320})");
  expect_failure(plan_cmd("--network " + (d / "net.json")), 1, "bandwidth must be between");
  spit(d / "net2.json", R"({"format":"dapdee-network/1","uplink_mbps":5,"delay_ms":"20"})");
  expect_failure(plan_cmd("--network " + (d / "net2.json")), 1, "delay_ms: expected a number, got a string (\"20\")");
  // predict never writes "ms": null: extreme specs and fits are refused when read.
  spit(d / "spec.json", R"({"format":"dapdee-device-spec/1","peak_gflops":1e-300,"memory_gbps":1e-300})");
  expect_failure(tool("dapdee-profile") + " predict " + repo("profiles/dags/ee_vgg16.dag.json") + " --device " + (d / "spec.json"), 1,
                 "peak_gflops");
  spit(d / "fit.json", R"({"format":"dapdee-latency-model/1","per_op":{},"fallback":{"coef":[1e308,1e308,1e308,1e308]}})");
  expect_failure(tool("dapdee-profile") + " predict " + repo("profiles/dags/ee_vgg16.dag.json") + " --model " + (d / "fit.json"), 1,
                 "fallback.coef[0]");
  // import-ort: negative durations; a profile with a negative time.
  spit(d / "trace.json", R"([{"cat":"Node","name":"x_kernel_time","dur":-3}])");
  expect_failure(tool("dapdee-profile") + " import-ort " + (d / "trace.json") + " --dag " + repo("profiles/dags/ee_vgg16.dag.json"), 1,
                 "negative duration");
  spit(d / "neg.json", R"({"format":"dapdee-profile/1","nodes":{"a":{"ms":-0.5}}})");
  expect_failure(tool("dapdee-plan") + " " + repo("profiles/dags/ee_vgg16.dag.json") + " --device " + (d / "neg.json") +
                     " --edge " + repo("profiles/predicted/ee_vgg16.edge-t4.json") + " --network 4G",
                 1, "nodes.a.ms: expected a finite number >= 0");
}

TEST_CASE("a short trace spanning millions of windows is refused before allocation", "[reliability][values][trace]") {
  CHECK_FALSE(dapdee::mahimahi_windows("0\n5\n999999999999\n", 1000).ok());
  CHECK_THAT(dapdee::mahimahi_windows("0\n2900000000\n", 1000).message(), Catch::Contains("more than 1000000 windows"));
  // Windows cover the period (the last time, 999,000 ms): 999 of 1,000 ms.
  CHECK(dapdee::mahimahi_windows("0\n999000\n", 1000).value().size() == 999);
  TempDir d;
  spit(d / "long.up", "0\n5\n2900000000\n");
  expect_failure(plan_cmd("--bandwidth-trace " + (d / "long.up")), 1, "more than 1000000 windows");
}

namespace {

// A model whose shape inference meets constants that lack their values: `dataless` names the
// constant (an initializer, or a Constant node's value) feeding `op`.
testing_onnx::Builder model_with_dataless_constant(const std::string& op) {
  testing_onnx::Builder b;
  b.input("x", {1, 10}).output("y");
  b.node("Relu", {"x"}, {"y"}, "relu");
  if (op == "Range") {  // start: an int64 scalar without its value (as the fuzzer found it)
    b.ints("start", {0}, true).ints("limit", {5}, true).ints("delta", {1}, true);
    b.model().mutable_graph()->mutable_initializer(0)->clear_int64_data();
    b.node("Range", {"start", "limit", "delta"}, {"r"}, "range");
  } else if (op == "TopK") {  // K: dims [1], no value
    b.ints("k", {3});
    b.model().mutable_graph()->mutable_initializer(0)->clear_int64_data();
    b.node("TopK", {"x", "k"}, {"top", "idx"}, "topk");
  } else if (op == "ConstantRange") {  // a Constant node whose value holds 0 of 1 values
    auto& c = b.node("Constant", {}, {"start"}, "const");
    auto* a = c.add_attribute();
    a->set_name("value");
    a->set_type(onnx::AttributeProto::TENSOR);
    a->mutable_t()->set_data_type(onnx::TensorProto::INT64);
    b.ints("limit", {5}, true).ints("delta", {1}, true);
    b.node("Range", {"start", "limit", "delta"}, {"r"}, "range");
  } else if (op == "RawReshape") {  // a shape whose raw_data is 3 bytes short
    b.ints("shape", {2, 5});
    auto* t = b.model().mutable_graph()->mutable_initializer(0);
    t->clear_int64_data();
    t->set_raw_data(std::string(13, '\1'));
    b.node("Reshape", {"x", "shape"}, {"rs"}, "reshape");
  }
  return b;
}

}  // namespace

TEST_CASE("constants without their values do not crash shape inference (fuzz finding)", "[reliability][import][fuzz]") {
  // libonnx 1.12 indexes the values of constant inputs unchecked: an int64 scalar without data
  // crashed dapdee-import with SIGSEGV inside InferShapes (fuzz/crashes/onnx/crash-de88b0d9...).
  TempDir d;
  for (const std::string op : {"Range", "TopK", "ConstantRange", "RawReshape"}) {
    const std::string path = d / (op + ".onnx");
    model_with_dataless_constant(op).save(path);
    const auto r = run(tool("dapdee-import") + " " + path + " -o " + (d / (op + ".json")));
    INFO(op << ": exit " << r.code << "\n" << r.err);
    CHECK(r.code == 0);
    CHECK_THAT(r.err, !Catch::Contains("internal error"));
    if (r.code == 0) CHECK_NOTHROW(dapdee::parse_dag(slurp(d / (op + ".json")), op));
  }
  const auto r = run(tool("dapdee-import") + " " + repo("fuzz/crashes/onnx/crash-de88b0d95c041d5f88418a334ebde385aa963905") +
                     " -o " + (d / "found.json"));
  INFO(r.err);
  CHECK(r.code == 0);
}

TEST_CASE("a tensor frame whose dims multiply past 2^64 is refused, not accepted empty", "[reliability][wire][fuzz]") {
  // decode_tensor multiplied dims in size_t: 2^31 x 2^31 floats (x 4 bytes) wrapped to 0 bytes and
  // the resize threw std::length_error; 2^16 x 4 wrapped to 0 elements and was accepted with no
  // data (fuzz/crashes/wire/dims_product_wraps).
  onnx::TensorProto p;
  p.set_name("wrap");
  p.set_data_type(onnx::TensorProto::FLOAT);
  p.add_dims(int64_t{1} << 31);
  p.add_dims(int64_t{1} << 31);
  const auto big = dapdee::decode_tensor(p.SerializeAsString());
  REQUIRE_FALSE(big.ok());
  CHECK_THAT(big.message(), Catch::Contains("more than 2^32 floats"));
  p.clear_dims();
  for (int k = 0; k < 4; ++k) p.add_dims(int64_t{1} << 16);
  CHECK_FALSE(dapdee::decode_tensor(p.SerializeAsString()).ok());
  // Still accepted: an empty tensor and a scalar.
  p.clear_dims();
  p.add_dims(0);
  p.add_dims(int64_t{1} << 31);
  CHECK(dapdee::decode_tensor(p.SerializeAsString()).ok());
  p.clear_dims();
  p.set_raw_data(std::string(4, '\0'));
  CHECK(dapdee::decode_tensor(p.SerializeAsString()).ok());
}

TEST_CASE("a plan-stream line whose format is not a string is an error, not an abort", "[reliability][run][fuzz]") {
#ifndef DAPDEE_HAVE_OPENCV
  DAPDEE_SKIP("built without OpenCV: no dapdee-run");
#else
  // PlanFeed read `format` with json::value(key, ""), which throws on a number inside the reader
  // thread: std::terminate (exit 134) instead of "line 1: not a dapdee-plan/1 object".
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);  // bound, never listening: connecting is refused
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  TempDir d;
  dapdee::RunOptions o;
  o.model_path = repo("fuzz/corpus/onnx/fold_shape_ops.onnx");
  o.connect = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  o.frames = 1;
  o.warmup = 0;
  o.verify = dapdee::Verify::Off;
  for (const auto& [text, what] : std::vector<std::pair<std::string, std::string>>{
           {"{\"format\":1}\n", "line 1: not a dapdee-plan/1 object"},
           {"{\"format\":[\"dapdee-plan/1\"]}\n", "line 1: not a dapdee-plan/1 object"},
           {slurp(repo("fuzz/corpus/plan_stream/one_plan.jsonl")), "connection refused"}}) {
    spit(d / "plans.jsonl", text);
    o.plan_stream = d / "plans.jsonl";
    INFO(text);
    try {
      (void)dapdee::run_plan(o);
      FAIL("the run did not fail");
    } catch (const dapdee::Error& e) {
      CHECK_THAT(e.what(), Catch::Contains(what));
    }
  }
  ::close(fd);
#endif
}

TEST_CASE("a sweep over the point cap is refused before planning and --max-points moves the cap", "[reliability][values][sweep]") {
  // 10^7 points (10,000 bandwidths x 1,000 deadlines) against the default cap of 5,000,000.
  expect_failure(plan_cmd("--network 4G --bandwidth 1:100:10000 --deadline 1:100:1000"), 1,
                 "10000000 points exceed the cap of 5000000");
  expect_failure(plan_cmd("--network 4G --bandwidth 1:100:11 --deadline 1:100:10 --max-points 100"), 1,
                 "110 points exceed the cap of 100");
  TempDir d;
  const auto ok = run(plan_cmd("--network 4G --bandwidth 1:100:10 --deadline 1:100:10 --max-points 100 -o " + (d / "p.jsonl")));
  INFO(ok.err);
  REQUIRE(ok.code == 0);
  const std::string lines = slurp(d / "p.jsonl");
  CHECK(std::count(lines.begin(), lines.end(), '\n') == 100);
}
