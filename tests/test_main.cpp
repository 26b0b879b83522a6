// The test runner: Catch2's session, plus the skip status (issue 13). A test that calls
// DAPDEE_SKIP and passes exits with kSkipExitCode, which ctest reports as skipped
// (SKIP_RETURN_CODE); a test that fails exits 1 whatever it printed, so a failure can never
// show as a skip (SKIP_REGULAR_EXPRESSION would win over the exit code).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "test_util.hpp"

int main(int argc, char** argv) {
  const int rc = Catch::Session().run(argc, argv);
  if (rc == 0 && test_util::skip_requested()) return test_util::kSkipExitCode;
  return rc;
}

// The skip mechanism's own fixtures, hidden from the suite; tests/skip_mechanism.sh runs them
// under ctest to prove that skip-then-fail is reported as failed.
TEST_CASE("skip marker, then a failing check", "[.skip-then-fail]") {
  test_util::request_skip("fixture of the skip mechanism test");
  CHECK(1 + 1 == 3);
}

TEST_CASE("skip marker, nothing failing", "[.skip-then-pass]") { DAPDEE_SKIP("fixture of the skip mechanism test"); }
