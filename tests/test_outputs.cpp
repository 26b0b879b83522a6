// Outputs (issue 13): never replace a device, FIFO or symlink, never overwrite an input, several
// outputs all or nothing, no temporary file left by a signal.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <thread>

#include "dapdee/support/error.hpp"
#include "dapdee/support/io.hpp"
#include "onnx_builder.hpp"
#include "test_util.hpp"

using namespace test_util;

namespace {

std::string dag_of_vgg() { return source_dir() + "/profiles/dags/ee_vgg16.dag.json"; }

std::string plan_to(const std::string& out) {
  return tool("dapdee-plan") + " " + dag_of_vgg() + " --device " + source_dir() + "/profiles/predicted/ee_vgg16.rpi4.json" +
         " --edge " + source_dir() + "/profiles/predicted/ee_vgg16.edge-t4.json --network 4G -o " + out;
}

size_t entries(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

// The chain model and a plan that cuts it after conv1 (so both parts are written).
struct SplitFixture {
  TempDir d;
  std::string model = d / "chain.onnx", plan = d / "plan.json";
  SplitFixture() {
    testing_onnx::chain_model().save(model);
    spit(plan, R"({"format":"dapdee-plan/1","model":"chain","exit":"output","V_d":["input","conv1"],)"
               R"("V_e":["relu1","pool1","flatten","fc"]})");
  }
  std::string split(const std::string& dev, const std::string& edge) const {
    return tool("dapdee-split") + " " + model + " --plan " + plan + " --device-out " + dev + " --edge-out " + edge;
  }
};

}  // namespace

TEST_CASE("output: -o writes through a FIFO instead of replacing it", "[reliability][io]") {
  TempDir d;
  const std::string fifo = d / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const auto r = run("cat " + fifo + " > " + (d / "got") + " & " + plan_to(fifo) + "; wait");
  INFO(r.err);
  CHECK(r.code == 0);
  struct stat st {};
  REQUIRE(::lstat(fifo.c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
  CHECK_THAT(slurp(d / "got"), Catch::StartsWith("{\"format\":\"dapdee-plan/1\""));
}

TEST_CASE("output: -o /dev/stdout goes to the redirected file, and a symlink stays a link", "[reliability][io]") {
  TempDir d;
  const auto r = run(plan_to("/dev/stdout") + " > " + (d / "out.json"));
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK_THAT(slurp(d / "out.json"), Catch::StartsWith("{\"format\":\"dapdee-plan/1\""));
  CHECK(entries(d.path.string()) == 1);  // no temporary file beside it

  spit(d / "real.json", "old");
  fs::create_symlink(d / "real.json", d / "link.json");
  REQUIRE(run(plan_to(d / "link.json")).code == 0);
  CHECK(fs::is_symlink(d / "link.json"));
  CHECK_THAT(slurp(d / "real.json"), Catch::StartsWith("{\"format\":\"dapdee-plan/1\""));
}

TEST_CASE("output: -o to a character device writes through it (a private null device)", "[reliability][io]") {
  TempDir d;
  const std::string dev = d / "null";
  if (::mknod(dev.c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) DAPDEE_SKIP("cannot create a device node here (not root)");
  const auto r = run(plan_to(dev));
  INFO(r.err);
  CHECK(r.code == 0);
  struct stat st {};
  REQUIRE(::lstat(dev.c_str(), &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
}

TEST_CASE("an output that is an input, or two equal outputs, are refused", "[reliability][io]") {
  SplitFixture f;
  const std::string before = slurp(f.model);
  auto r = run(f.split(f.model, f.d / "edge.onnx"));
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("is also an input"));
  CHECK(slurp(f.model) == before);
  fs::create_symlink(f.model, f.d / "alias.onnx");
  r = run(f.split(f.d / "dev.onnx", f.d / "alias.onnx"));
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("is also an input"));
  CHECK(slurp(f.model) == before);
  r = run(f.split(f.d / "part.onnx", f.d / "./part.onnx"));
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("is given twice as an output"));
  CHECK_FALSE(fs::exists(f.d / "part.onnx"));
  r = run(tool("dapdee-import") + " " + f.model + " -o " + f.model);
  CHECK(r.code == 1);
  CHECK(slurp(f.model) == before);
  const std::string dag_copy = f.d / "vgg.dag.json";
  fs::copy_file(dag_of_vgg(), dag_copy);
  r = run(tool("dapdee-plan") + " " + dag_copy + " --device " + source_dir() + "/profiles/predicted/ee_vgg16.rpi4.json" +
          " --edge " + source_dir() + "/profiles/predicted/ee_vgg16.edge-t4.json --network 4G -o " + dag_copy);
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("is also an input"));
  // Devices may repeat: both parts to a private null device.
  const std::string dev = f.d / "null";
  if (::mknod(dev.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0) CHECK(run(f.split(dev, dev)).code == 0);
}

TEST_CASE("a failing dapdee-split writes neither part", "[reliability][io][split]") {
  SplitFixture f;
  const auto r = run(f.split(f.d / "dev.onnx", f.d / "missing-folder/edge.onnx"));
  INFO(r.err);
  CHECK(r.code == 1);
  CHECK_FALSE(fs::exists(f.d / "dev.onnx"));
  CHECK(entries(f.d.path.string()) == 2);  // the model and the plan only
  const auto ok = run(f.split(f.d / "dev.onnx", f.d / "edge.onnx"));
  INFO(ok.err);
  CHECK(ok.code == 0);
  CHECK(fs::exists(f.d / "dev.onnx"));
  CHECK(fs::exists(f.d / "edge.onnx"));
}

TEST_CASE("OutputTransaction is all or nothing", "[reliability][io]") {
  TempDir d;
  {
    dapdee::OutputTransaction tx;
    dapdee::write_output_atomic(d / "a", "A");
    dapdee::write_output_atomic(d / "b", "B");
    CHECK_FALSE(fs::exists(d / "a"));
  }
  CHECK(entries(d.path.string()) == 0);
  {
    dapdee::OutputTransaction tx;
    dapdee::write_output_atomic(d / "a", "A");
    dapdee::write_output_atomic(d / "b", "B");
    tx.commit();
  }
  CHECK(slurp(d / "a") == "A");
  CHECK(slurp(d / "b") == "B");
  CHECK(entries(d.path.string()) == 2);
}

TEST_CASE("SIGTERM and SIGINT remove the temporary files being written", "[reliability][io]") {
  for (int sig : {SIGTERM, SIGINT}) {
    TempDir d;
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      dapdee::install_output_cleanup();
      dapdee::OutputTransaction tx;
      dapdee::write_output_atomic(d / "a", "A");
      dapdee::write_output_atomic(d / "b", "B");
      if (entries(d.path.string()) != 2) ::_exit(3);  // two temporary files exist now
      std::raise(sig);
      ::_exit(4);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status));
    if (WIFSIGNALED(status)) CHECK(WTERMSIG(status) == sig);
    CHECK(entries(d.path.string()) == 0);
  }
}

TEST_CASE("dapdee-split refuses invalid plan sets", "[reliability][split]") {
  SplitFixture f;
  const std::string head = R"({"format":"dapdee-plan/1","model":"chain","exit":"output",)";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"("V_d":[],"V_e":["input","conv1","relu1","pool1","flatten","fc"]})", "V_e holds the model input 'input'"},
      {R"("V_d":["input","conv1"],"V_e":["relu1","pool1","flatten"]})", "node 'fc' is on neither side"},
      {R"("V_d":["input"],"V_e":[]})", "node 'fc' is on neither side"},
      {R"("V_d":["input","conv1","relu1"],"V_e":["relu1","pool1","flatten","fc"]})", "node 'relu1' is on both sides"},
  };
  for (const auto& [sets, what] : cases) {
    spit(f.plan, head + sets);
    const auto r = run(f.split(f.d / "dev.onnx", f.d / "edge.onnx"));
    INFO(sets << "\n" << r.err);
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Contains(what));
    CHECK_FALSE(fs::exists(f.d / "dev.onnx"));
    CHECK_FALSE(fs::exists(f.d / "edge.onnx"));
  }
}

TEST_CASE("OutputStream: the file appears only on commit, and writes through a FIFO", "[reliability][io]") {
  TempDir d;
  const std::string path = d / "out.csv";
  {
    dapdee::OutputStream out(path);
    out.write("a,b\n");
    out.write("1,2\n");
    CHECK_FALSE(fs::exists(path));  // a temporary file beside it until commit
  }
  CHECK_FALSE(fs::exists(path));  // not committed: removed
  for (const auto& e : fs::directory_iterator(d.path)) FAIL("left behind: " << e.path());
  {
    dapdee::OutputStream out(path);
    out.write("a,b\n");
    out.write("1,2\n");
    out.commit();
  }
  CHECK(slurp(path) == "a,b\n1,2\n");
  const std::string fifo = d / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::string got;
  std::thread reader([&] { got = slurp(fifo); });
  {
    dapdee::OutputStream out(fifo);
    out.write("x\n");
    out.commit();
  }
  reader.join();
  CHECK(got == "x\n");
  CHECK(fs::is_fifo(fifo));
}
