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
#include "dapdee/json_field.hpp"

#ifndef DAPDEE_NETWORKS_DIR
#define DAPDEE_NETWORKS_DIR "networks"
#endif

namespace dapdee {

namespace fs = std::filesystem;

void check_link(double bw, double delay, const std::string& what) {
  // The bounds keep every transfer time finite: 1e-6 Mbit/s is also what an empty trace window
  // is planned at; subnormal bandwidths such as 1e-320 would make times infinite.
  if (!(bw >= kMinBandwidthMbps && bw <= kMaxBandwidthMbps))
    throw Error(what, fmt::format("bandwidth must be between {} and {} Mbit/s (got {})", kMinBandwidthMbps,
                                  kMaxBandwidthMbps, bw));
  if (!(delay >= 0 && delay <= kMaxDelayMs))
    throw Error(what, fmt::format("delay must be between 0 and {} ms (got {})", kMaxDelayMs, delay));
}

Network parse_network(const std::string& text, const std::string& where) {
  nlohmann::json storage;
  const JsonField root = parse_json_root(text, where, storage);
  root.expect_format(kNetworkFormat);
  Network n;
  n.name = root.str_or("name", file_stem(where));
  n.uplink_mbps = root.num("uplink_mbps");
  n.delay_ms = root.num_or("delay_ms", 0.0);
  check_link(n.uplink_mbps, n.delay_ms, where);
  return n;
}

Parsed<std::vector<double>> mahimahi_windows(const std::string& text, double window_ms, size_t max_windows) {
  using R = Parsed<std::vector<double>>;
  if (!(window_ms > 0)) return R::failure("the window must be > 0 ms");
  std::vector<double> counts;
  size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) continue;
    char* stop = nullptr;
    const long long ms = std::strtoll(line.c_str(), &stop, 10);
    if (*stop != '\0' || ms < 0) return R::failure(fmt::format("line {}: '{}' is not a time in ms", line_no, line));
    const double wd = static_cast<double>(ms) / window_ms;
    if (!(wd < static_cast<double>(max_windows)))
      return R::failure(fmt::format("line {}: at {} ms the trace spans more than {} windows of {} ms", line_no, ms,
                                    max_windows, window_ms));
    const size_t w = static_cast<size_t>(wd);
    if (counts.size() <= w) counts.resize(w + 1, 0.0);
    counts[w] += 1;
  }
  if (counts.empty()) return R::failure("the trace has no delivery opportunity");
  std::vector<double> mbps;
  for (double c : counts) mbps.push_back(c * 1500.0 * 8.0 / (window_ms / 1000.0) / 1e6);
  return mbps;
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
