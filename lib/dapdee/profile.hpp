// Per-node latency profiles (`dapdee-profile/1`) as the planner reads them.
#pragma once

#include <string>
#include <unordered_map>

namespace dapdee {

inline constexpr const char* kProfileFormat = "dapdee-profile/1";

// Measured (or predicted) latency per DAG node name, in ms.
struct Profile {
  std::string device;
  std::string model;
  std::string source;  // file it came from
  std::unordered_map<std::string, double> ms;
  double total_ms = 0;
};

// Parses a profile; throws Error(where, ...) on a wrong format or a negative / non-finite time.
Profile parse_profile(const std::string& text, const std::string& where);

// Reads a profile file ("-" for stdin).
Profile load_profile(const std::string& path);

}  // namespace dapdee
