// Helpers for tests: temporary folders, running the tools, golden files, skipping.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace test_util {

namespace fs = std::filesystem;

// A fresh folder removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "dapdee-test-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void spit(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

struct RunResult {
  int code = -1;
  std::string out, err;
};

// Runs a shell command line, capturing stdout and stderr.
inline RunResult run(const std::string& cmd) {
  TempDir d;
  const std::string o = d / "out", e = d / "err";
  const int status = std::system(("{ " + cmd + " ; } >" + o + " 2>" + e + " </dev/null").c_str());
  RunResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(o);
  r.err = slurp(e);
  return r;
}

inline std::string tool(const std::string& name) { return std::string(DAPDEE_TOOLS_DIR) + "/" + name; }
inline std::string source_dir() { return DAPDEE_SOURCE_DIR; }
inline std::string shared_dir() { return std::string(DAPDEE_SOURCE_DIR) + "/../shared"; }

// Compares text with a golden file under tests/golden; DAPDEE_UPDATE_GOLDEN=1 rewrites it.
inline void check_golden(const std::string& name, const std::string& text) {
  const std::string path = source_dir() + "/tests/golden/" + name;
  if (const char* u = std::getenv("DAPDEE_UPDATE_GOLDEN"); u && std::string(u) == "1") {
    spit(path, text);
    WARN("golden file rewritten: " << path);
    return;
  }
  REQUIRE(fs::exists(path));
  CHECK(slurp(path) == text);
}

}  // namespace test_util

namespace test_util {

// The exit status of a test process whose tests passed but asked to be skipped (ctest
// SKIP_RETURN_CODE); see tests/test_main.cpp.
inline constexpr int kSkipExitCode = 77;

inline bool& skip_flag() {
  static bool flag = false;
  return flag;
}
// Prints the skip marker and records the request; the runner turns it into kSkipExitCode only
// when nothing failed.
inline void request_skip(const std::string& reason) {
  std::cout << "SKIPPED: " << reason << std::endl;
  skip_flag() = true;
}
inline bool skip_requested() { return skip_flag(); }

}  // namespace test_util

// Marks the running test as skipped for ctest (exit kSkipExitCode when it passed) and leaves it.
#define DAPDEE_SKIP(reason)                    \
  do {                                         \
    test_util::request_skip(std::string() + reason); \
    return;                                    \
  } while (0)
