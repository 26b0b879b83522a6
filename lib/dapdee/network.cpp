#include "dapdee/network.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "dapdee/error.hpp"
#include "dapdee/io.hpp"

#ifndef DAPDEE_NETWORKS_DIR
#define DAPDEE_NETWORKS_DIR "networks"
#endif

namespace dapdee {

namespace fs = std::filesystem;

void check_link(double bw, double delay, const std::string& what) {
  if (!std::isfinite(bw) || bw <= 0)
    throw Error(what, fmt::format("bandwidth must be a positive number of Mbit/s (got {})", bw));
  if (!std::isfinite(delay) || delay < 0)
    throw Error(what, fmt::format("delay must be a non-negative number of ms (got {})", delay));
}

Network parse_network(const std::string& text, const std::string& where) {
  const nlohmann::json j = parse_json(text, where);
  if (!j.is_object() || j.value("format", "") != kNetworkFormat)
    throw Error(where, fmt::format("not a {} file", kNetworkFormat));
  Network n;
  n.name = j.value("name", file_stem(where));
  if (!j.contains("uplink_mbps") || !j["uplink_mbps"].is_number())
    throw Error(where, "missing number 'uplink_mbps'");
  n.uplink_mbps = j["uplink_mbps"].get<double>();
  n.delay_ms = j.contains("delay_ms") && j["delay_ms"].is_number() ? j["delay_ms"].get<double>() : 0.0;
  check_link(n.uplink_mbps, n.delay_ms, where);
  return n;
}

std::string networks_dir() {
  if (const char* env = std::getenv("DAPDEE_NETWORKS"); env && *env) return env;
  return DAPDEE_NETWORKS_DIR;
}

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(networks_dir(), ec))
    if (e.path().extension() == ".json") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

Network resolve_network(const std::string& spec) {
  std::error_code ec;
  if (fs::is_regular_file(spec, ec)) return parse_network(read_input(spec), spec);
  auto lower = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  for (const auto& name : preset_names())
    if (lower(name) == lower(spec)) {
      const std::string path = (fs::path(networks_dir()) / (name + ".json")).string();
      return parse_network(read_input(path), path);
    }
  std::string known;
  for (const auto& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
  throw Error("--network", fmt::format("unknown network '{}' (presets: {}; or give a {} file)", spec,
                                       known.empty() ? "none found in " + networks_dir() : known, kNetworkFormat));
}

}  // namespace dapdee
