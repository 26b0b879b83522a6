// The exit statuses of every dapdee tool, in one place (docs/TOOLS.md, "Conventions").
#pragma once

namespace dapdee {

// What a tool's process returns. Sanitizer builds use other codes (86 ASan, 87 UBSan: see
// scripts/test) so a sanitizer report can never pass as a clean error.
enum class ExitStatus : int {
  Ok = 0,     // the output was written
  Error = 1,  // bad input, unreadable or unwritable file, internal error: no output written
  Usage = 2,  // bad command line: unknown option, missing argument, value out of range
};

// The integer to return from main. Never fails.
constexpr int exit_code(ExitStatus s) { return static_cast<int>(s); }

}  // namespace dapdee
