// dapdee-plan --follow as a live system drives it, and the trace/delay rules of plain planning.
#include <poll.h>
#include <signal.h>
#include <spawn.h>

#include <catch2/catch.hpp>

#include "test_util.hpp"

extern char** environ;

using namespace test_util;

namespace {

const std::string kSrc = DAPDEE_SOURCE_DIR;

std::string follow_cmd(const std::string& extra = "") {
  return tool("dapdee-plan") + " " + kSrc + "/profiles/dags/ee_alexnet.dag.json --device " + kSrc +
         "/profiles/predicted/ee_alexnet.rpi4.json --edge " + kSrc + "/profiles/predicted/ee_alexnet.edge-t4.json " + extra;
}

// Reads one line from `fd`, waiting at most `ms`; "" on timeout or end of stream.
std::string read_line(int fd, int ms) {
  std::string line;
  char c;
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, ms) <= 0) return "";
    if (::read(fd, &c, 1) != 1) return "";
    if (c == '\n') return line;
    line += c;
  }
}

}  // namespace

TEST_CASE("dapdee-plan --follow answers each sample at once through a pipe", "[controller][cli]") {
  int to_child[2], from_child[2];
  REQUIRE(::pipe(to_child) == 0);
  REQUIRE(::pipe(from_child) == 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, to_child[0], 0);
  posix_spawn_file_actions_adddup2(&fa, from_child[1], 1);
  posix_spawn_file_actions_addclose(&fa, to_child[1]);
  posix_spawn_file_actions_addclose(&fa, from_child[0]);
  const std::string cmd = follow_cmd("--follow --network 4G --deadline 12 2>/dev/null");
  const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
  pid_t pid = 0;
  REQUIRE(posix_spawn(&pid, "/bin/sh", &fa, nullptr, const_cast<char**>(argv), environ) == 0);
  posix_spawn_file_actions_destroy(&fa);
  ::close(to_child[0]);
  ::close(from_child[1]);
  // The pipe stays open: an answer can only come if the tool flushes after each line.
  const std::string samples[] = {R"({"format":"dapdee-metrics/1","t_s":0,"bandwidth_mbps":8})",
                                 R"({"t_s":1,"bandwidth_mbps":0.2,"measured_latency_ms":30})"};
  std::vector<std::string> lines;
  for (const auto& s : samples) {
    const std::string l = s + "\n";
    REQUIRE(::write(to_child[1], l.data(), l.size()) == static_cast<ssize_t>(l.size()));
    lines.push_back(read_line(from_child[0], 20000));
  }
  ::close(to_child[1]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(from_child[0]);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  REQUIRE(lines.size() == 2);
  CHECK_THAT(lines[0], Catch::StartsWith("{\"format\":\"dapdee-plan/1\"") && Catch::Contains("\"mode\":\"light\"") &&
                           Catch::Contains("\"bandwidth_mbps\":8,") && Catch::EndsWith("\"t_s\":0,\"replanned\":true,\"trigger\":\"initial\"}"));
  CHECK_THAT(lines[1], Catch::Contains("\"t_s\":1,") && Catch::Contains("\"trigger\":\""));
}

TEST_CASE("dapdee-plan --follow: bad samples stop the loop with the line number", "[controller][cli]") {
  TempDir d;
  const std::pair<const char*, const char*> cases[] = {
      {"{\"t_s\":0}\n{\"t_s\":1,\"cpu\":\"x\"}\n", "error: -: line 2: 'cpu' must be a number in [0, 1]"},
      {"{\"t_s\":0}\n\n{\"t_s\":1,\"cpu\":NaN}\n", "error: -: line 3: not JSON: NaN"},
      {"{\"t_s\":0,\"priority\":1.2}\n", "error: -: line 1: 'priority' must be a number in [0, 1]"},
      {"{\"t_s\":5}\n{\"t_s\":4}\n", "error: -: line 2: time goes backwards"},
      {"{\"t_s\":0}\nhello\n", "error: -: line 2: not JSON"},
  };
  for (const auto& [input, what] : cases) {
    spit(d / "in.jsonl", input);
    const auto r = run(follow_cmd("--follow --network 3G --deadline 10 < " + (d / "in.jsonl")));
    INFO(input << r.err);
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::StartsWith("dapdee-plan: error: ") && Catch::Contains(what));
    // The lines before the bad one were already answered.
    CHECK(static_cast<size_t>(std::count(r.out.begin(), r.out.end(), '\n')) ==
          static_cast<size_t>(std::string(what).find("line 1:") == std::string::npos ? 1 : 0));
  }
  spit(d / "in.jsonl", "{\"t_s\":0}\n");
  const auto nolink = run(follow_cmd("--follow --deadline 10 < " + (d / "in.jsonl")));
  CHECK(nolink.code == 1);
  CHECK_THAT(nolink.err, Catch::Contains("line 1: no bandwidth or delay known yet"));
  const auto sweep = run(follow_cmd("--follow --network 4G --deadline 10,20 < " + (d / "in.jsonl")));
  CHECK(sweep.code == 2);
  CHECK_THAT(sweep.err, Catch::Contains("--deadline: --follow takes one value"));
  // -o: a bad option leaves no file; the lines go to the file otherwise.
  const auto bad_o = run(follow_cmd("--follow --network 4G --deadline 10,20 -o " + (d / "o.jsonl") + " < " + (d / "in.jsonl")));
  CHECK(bad_o.code == 2);
  CHECK_FALSE(fs::exists(d / "o.jsonl"));
  const auto good_o = run(follow_cmd("--follow --network 4G --deadline 10 -o " + (d / "o.jsonl") + " < " + (d / "in.jsonl")));
  CHECK(good_o.code == 0);
  CHECK(good_o.out.empty());
  CHECK_THAT(slurp(d / "o.jsonl"), Catch::EndsWith("\"trigger\":\"initial\"}\n"));
  const auto csv = run(follow_cmd("--follow --network 4G --format csv < " + (d / "in.jsonl")));
  CHECK(csv.code == 2);
  CHECK_THAT(csv.err, Catch::Contains("--format: --follow writes JSON lines only"));
  const auto stdin_dag = run("cat " + kSrc + "/profiles/dags/ee_alexnet.dag.json | " + tool("dapdee-plan") + " - --device " +
                             kSrc + "/profiles/predicted/ee_alexnet.rpi4.json --edge " + kSrc +
                             "/profiles/predicted/ee_alexnet.edge-t4.json --network 4G --follow");
  CHECK(stdin_dag.code == 2);
  CHECK_THAT(stdin_dag.err, Catch::Contains("give the DAG and the profiles as files"));
}

TEST_CASE("dapdee-plan: the delay is given or an error, and the trace window is bounded", "[controller][cli][trace]") {
  const auto r = run(follow_cmd("--bandwidth 5 --deadline 20"));
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("--delay") && Catch::Contains("the delay is unknown"));
  CHECK(r.out.empty());
  const auto ok = run(follow_cmd("--bandwidth 5 --delay 7 --deadline 20"));
  REQUIRE(ok.code == 0);
  CHECK_THAT(ok.out, Catch::Contains("\"delay_ms\":7,"));
  TempDir d;
  spit(d / "t.up", "0\n5\n");
  const auto trace = run(follow_cmd("--bandwidth-trace " + (d / "t.up") + " --deadline 20"));
  CHECK(trace.code == 2);
  CHECK_THAT(trace.err, Catch::Contains("--delay"));
  // Mahimahi's period is the last time: 0, 500 and 1000 ms make one window of 1 s, 3 packets.
  spit(d / "p.up", "0\n500\n1000\n");
  const auto one = run(follow_cmd("--bandwidth-trace " + (d / "p.up") + " --delay 5 --format csv"));
  REQUIRE(one.code == 0);
  CHECK(std::count(one.out.begin(), one.out.end(), '\n') == 2);
  CHECK_THAT(one.out, Catch::Contains(",p,0.036,5,"));
  for (const char* w : {"0", "0.5", "1e9", "nan"}) {
    const auto bad = run(follow_cmd("--bandwidth-trace " + (d / "t.up") + " --network 4G --trace-window " + w));
    INFO(w << bad.err);
    CHECK(bad.code == 1);
    CHECK_THAT(bad.err, Catch::Contains("--trace-window: must be 1 to 3600000 ms"));
  }
}
