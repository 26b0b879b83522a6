// Reliability (issue 13): one error path per tool, exit statuses, typed JSON access.
#include <catch2/catch.hpp>

#include "dapdee/error.hpp"
#include "dapdee/exit_status.hpp"
#include "dapdee/json_field.hpp"
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
