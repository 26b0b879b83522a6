#include "run_tool.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <iostream>
#include <new>

#include "dapdee/support/error.hpp"
#include "dapdee/support/exit_status.hpp"
#include "dapdee/support/io.hpp"

namespace dapdee_tools {

using dapdee::exit_code;
using dapdee::ExitStatus;

void usage_error(const std::string& what) { throw CLI::ValidationError(what); }

namespace {

int report_usage(const std::string& tool, const CLI::Error& e) {
  fmt::print(stderr, "{}: usage: {}\nRun with --help for more information.\n", tool, e.what());
  return exit_code(ExitStatus::Usage);
}

}  // namespace

int run_tool(const std::string& tool, CLI::App& app, int argc, char** argv, const std::function<void()>& body) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, std::cout, std::cerr);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, std::cout, std::cerr);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e, std::cout, std::cerr);
  } catch (const CLI::ParseError& e) {
    return report_usage(tool, e);
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: internal error: {}\n", tool, e.what());
    return exit_code(ExitStatus::Error);
  }
  try {
    dapdee::install_output_cleanup();
    body();
    return exit_code(ExitStatus::Ok);
  } catch (const dapdee::UsageError& e) {
    fmt::print(stderr, "{}: usage: {}{}\nRun with --help for more information.\n", tool,
               e.where().empty() ? "" : e.where() + ": ", e.what());
    return exit_code(ExitStatus::Usage);
  } catch (const dapdee::Error& e) {
    fmt::print(stderr, "{}: error: {}{}\n", tool, e.where().empty() ? "" : e.where() + ": ", e.what());
  } catch (const CLI::Error& e) {
    return report_usage(tool, e);
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "{}: error: out of memory\n", tool);
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: internal error: {}\n", tool, e.what());
  } catch (...) {
    fmt::print(stderr, "{}: internal error: unknown exception\n", tool);
  }
  return exit_code(ExitStatus::Error);
}

int guarded_main(const char* tool, int argc, char** argv, int (*tool_main)(int, char**)) noexcept {
  const char* what = "unknown exception";
  try {
    return tool_main(argc, argv);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  std::fprintf(stderr, "%s: internal error: %s\n", tool, what);
  return exit_code(ExitStatus::Error);
}

}  // namespace dapdee_tools
