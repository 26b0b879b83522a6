#include "dapdee/model/network.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "dapdee/support/error.hpp"
#include "dapdee/support/file_kind.hpp"
#include "dapdee/support/io.hpp"
#include "dapdee/support/json_field.hpp"
#include "dapdee/support/suggest.hpp"

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
  const JsonField root = parse_json_root_as(text, where, kNetworkFormat, storage);
  reject_unknown_keys(root, {"format", "name", "uplink_mbps", "delay_ms", "source"});
  Network n;
  n.name = root.str_or("name", file_stem(where));
  n.uplink_mbps = root.num("uplink_mbps");
  n.delay_ms = root.num_or("delay_ms", 0.0);
  check_link(n.uplink_mbps, n.delay_ms, where);
  return n;
}

Parsed<std::vector<double>> mahimahi_windows(const std::string& text, double window_ms, size_t max_windows) {
  using R = Parsed<std::vector<double>>;
  if (!(window_ms >= kMinTraceWindowMs && window_ms <= kMaxTraceWindowMs))
    return R::failure(fmt::format("the window must be {} to {} ms (got {})", kMinTraceWindowMs, kMaxTraceWindowMs, window_ms));
  // Phase 1: the delivery opportunities.
  std::vector<long long> times;
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
    if (!(static_cast<double>(ms) / window_ms < static_cast<double>(max_windows)))
      return R::failure(fmt::format("line {}: at {} ms the trace spans more than {} windows of {} ms", line_no, ms,
                                    max_windows, window_ms));
    times.push_back(ms);
  }
  if (times.empty()) return R::failure("the trace has no delivery opportunity");
  // Phase 2: windows over Mahimahi's period (the last time; the trace repeats after it). The
  // last window is averaged over its real length, and an opportunity at the period itself
  // belongs to it.
  const double period = std::max(1.0, static_cast<double>(*std::max_element(times.begin(), times.end())));
  const size_t n = std::max<size_t>(1, static_cast<size_t>(std::ceil(period / window_ms)));
  std::vector<double> counts(n, 0.0);
  for (long long t : times) counts[std::min(n - 1, static_cast<size_t>(static_cast<double>(t) / window_ms))] += 1;
  std::vector<double> mbps;
  for (size_t w = 0; w < n; ++w) {
    const double len = w + 1 < n ? window_ms : period - static_cast<double>(n - 1) * window_ms;
    mbps.push_back(counts[w] * 1500.0 * 8.0 / (len / 1000.0) / 1e6);
  }
  return mbps;
}

DataRoot data_root() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {"share/dapdee", false};
  const fs::path dir = exe.parent_path();
  for (const fs::path& d : {dir, dir.parent_path()}) {
    std::ifstream marker(d / "dapdee-source-dir");
    std::string source;
    if (marker && std::getline(marker, source) && !source.empty()) return {source, true};
  }
  return {(dir.parent_path() / "share" / "dapdee").string(), false};
}

std::string networks_dir() {
  if (const char* env = std::getenv("DAPDEE_NETWORKS"); env && *env) return env;
  return (fs::path(data_root().dir) / "networks").string();
}

std::string specs_dir() {
  const DataRoot root = data_root();
  return (fs::path(root.dir) / (root.checkout ? "profiles/specs" : "specs")).string();
}

std::string quiet_check_command() {
  const DataRoot root = data_root();
  return root.checkout ? "scripts/quiet-check" : (fs::path(root.dir) / "scripts" / "quiet-check").string();
}

namespace {

// The stems of the .json files of a folder, sorted (none when it cannot be read).
std::vector<std::string> json_stems(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".json") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

std::vector<std::string> preset_names() { return json_stems(networks_dir()); }

std::string resolve_device_spec(const std::string& spec) {
  std::error_code ec;
  // A path (or a missing file) is read as given, so that its own error names it.
  if (spec == "-" || fs::exists(spec, ec) || spec.find('/') != std::string::npos || spec.ends_with(".json"))
    return spec;
  const std::string dir = specs_dir();
  const auto names = json_stems(dir);
  if (std::find(names.begin(), names.end(), spec) != names.end()) return (fs::path(dir) / (spec + ".json")).string();
  std::string known;
  for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
  throw Error("--device", fmt::format("no file or bundled device spec '{}' (bundled: {})", spec,
                                      known.empty() ? "none found in " + dir : known));
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
  const std::vector<std::string> names = preset_names();
  std::string known;
  for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
  throw UsageError("--network", fmt::format("unknown network '{}'{} (presets: {}; or give a {} file)", spec,
                                            did_you_mean(spec, names),
                                            known.empty() ? "none found in " + networks_dir() : known, kNetworkFormat));
}

}  // namespace dapdee
