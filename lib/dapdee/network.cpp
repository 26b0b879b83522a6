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

Parsed<std::vector<double>> mahimahi_windows(const std::string& text, double window_ms) {
  using R = Parsed<std::vector<double>>;
  if (!(window_ms >= kMinTraceWindowMs && window_ms <= kMaxTraceWindowMs))
    return R::failure(fmt::format("the window must be {} to {} ms (got {})", kMinTraceWindowMs, kMaxTraceWindowMs, window_ms));
  std::vector<double> counts;
  long long last_ms = 0;
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
    last_ms = std::max(last_ms, ms);
    const size_t w = static_cast<size_t>(static_cast<double>(ms) / window_ms);
    if (w > 10'000'000) return R::failure(fmt::format("line {}: the trace is too long for {} ms windows", line_no, window_ms));
    if (counts.size() <= w) counts.resize(w + 1, 0.0);
    counts[w] += 1;
  }
  if (counts.empty()) return R::failure("the trace has no delivery opportunity");
  std::vector<double> mbps;
  // The last window ends with the millisecond of the last delivery opportunity.
  for (size_t w = 0; w < counts.size(); ++w) {
    const double start = static_cast<double>(w) * window_ms;
    const double len = w + 1 < counts.size() ? window_ms : std::min(window_ms, static_cast<double>(last_ms) + 1.0 - start);
    mbps.push_back(counts[w] * 1500.0 * 8.0 / (len / 1000.0) / 1e6);
  }
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
