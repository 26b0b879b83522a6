// Shared option parsing for the tools: --help/--version exit 0, usage errors exit 2.
#pragma once

#include <CLI/CLI.hpp>
#include <iostream>

namespace dapdee_tools {

// Parses argv; returns -1 to go on, or the exit code to return now (0 or 2).
inline int parse_args(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e, std::cout, std::cerr);
    return code == 0 ? 0 : 2;
  }
  return -1;
}

}  // namespace dapdee_tools
