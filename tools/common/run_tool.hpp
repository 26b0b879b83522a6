// The one error path of every tool: parse the command line, run the body, map what it throws
// to an exit status (lib/dapdee/support/exit_status.hpp) and a single line on stderr.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dapdee/support/suggest.hpp"

namespace dapdee_tools {

// Parses argv with `app` and runs `body`. --help/--version -> 0; a CLI11 parse or validation
// error (also one thrown by body) and dapdee::UsageError -> "dapdee-<tool>: usage: ..." and 2;
// dapdee::Error ->
// "dapdee-<tool>: error: <file>: <what>" and 1; std::bad_alloc -> "out of memory" and 1; any
// other exception -> "internal error: ..." and 1. Never throws.
int run_tool(const std::string& tool, CLI::App& app, int argc, char** argv, const std::function<void()>& body);

// Runs a tool's whole main (`tool_main`: building the options, then run_tool) so that nothing
// escapes main: an exception thrown while the options are built -> "internal error" and 1.
// Never throws.
int guarded_main(const char* tool, int argc, char** argv, int (*tool_main)(int, char**)) noexcept;

// A CLI11 validator accepting exactly the strings `parse` recognises, listing `names` in its
// message with the closest one ("did you mean"); use it with the library's own parse function
// and name table.
template <typename Parse>
CLI::Validator choice(Parse parse, const std::vector<std::string>& names) {
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  return CLI::Validator(
      [parse, list, names](std::string& s) -> std::string {
        if (parse(s)) return {};
        return "'" + s + "' is not one of " + list + dapdee::did_you_mean(s, names);
      },
      "{" + list + "}");
}

// Throws the CLI11 error that run_tool reports as a usage error (exit 2).
[[noreturn]] void usage_error(const std::string& what);

}  // namespace dapdee_tools
