#include "dapdee/model/machine.hpp"

#include <fmt/format.h>
#include <sys/utsname.h>

#include <array>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>
#include <utility>

namespace dapdee {

namespace {

// The value of the first "key : value" line of a file whose key is `key` ("" when none).
std::string colon_value(const std::string& file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string k = line.substr(0, colon);
    while (!k.empty() && (k.back() == ' ' || k.back() == '\t')) k.pop_back();
    if (k != key) continue;
    const auto start = line.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "";
}

// The first line of a file without its trailing NULs and spaces ("" when unreadable).
std::string first_line(const std::string& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\0' || line.back() == ' ' || line.back() == '\r')) line.pop_back();
  return line;
}

// The Arm core named by /proc/cpuinfo's "CPU part" (implementer 0x41), or "".
std::string arm_core(const std::string& part) {
  static constexpr std::array<std::pair<const char*, const char*>, 12> kCores{{{"0xd03", "Cortex-A53"},
                                                                               {"0xd04", "Cortex-A35"},
                                                                               {"0xd05", "Cortex-A55"},
                                                                               {"0xd07", "Cortex-A57"},
                                                                               {"0xd08", "Cortex-A72"},
                                                                               {"0xd09", "Cortex-A73"},
                                                                               {"0xd0a", "Cortex-A75"},
                                                                               {"0xd0b", "Cortex-A76"},
                                                                               {"0xd0c", "Neoverse-N1"},
                                                                               {"0xd0d", "Cortex-A77"},
                                                                               {"0xd40", "Neoverse-V1"},
                                                                               {"0xd4b", "Cortex-A78C"}}};
  for (const auto& [id, name] : kCores)
    if (part == id) return name;
  return "";
}

std::string cpu_model() {
  if (auto m = colon_value("/proc/cpuinfo", "model name"); !m.empty()) return m;
  std::string core;
  if (colon_value("/proc/cpuinfo", "CPU implementer") == "0x41")
    core = arm_core(colon_value("/proc/cpuinfo", "CPU part"));
  std::string board = colon_value("/proc/cpuinfo", "Model");
  if (board.empty()) board = first_line("/proc/device-tree/model");
  if (!board.empty() && !core.empty()) return fmt::format("{} ({})", core, board);
  if (!board.empty()) return board;
  return core.empty() ? "unknown" : core;
}

std::string unquoted(std::string s) {
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) s = s.substr(1, s.size() - 2);
  return s;
}

}  // namespace

Machine this_machine() {
  Machine m;
  m.cpu = cpu_model();
  m.cores = std::thread::hardware_concurrency();
  utsname u{};
  if (uname(&u) == 0) {
    m.arch = u.machine;
    m.kernel = u.release;
  }
  std::ifstream os("/etc/os-release");
  for (std::string line; std::getline(os, line);)
    if (line.rfind("PRETTY_NAME=", 0) == 0) m.os = unquoted(line.substr(12));
  m.governor = first_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
  return m;
}

std::string machine_json(const Machine& m) {
  nlohmann::ordered_json j = {{"cpu", m.cpu}, {"cores", m.cores}, {"threads", m.threads}};
  for (const auto& [key, value] : {std::pair<const char*, const std::string*>{"arch", &m.arch},
                                   {"os", &m.os},
                                   {"kernel", &m.kernel},
                                   {"runtime", &m.runtime},
                                   {"runtime_version", &m.runtime_version},
                                   {"governor", &m.governor}})
    if (!value->empty()) j[key] = *value;
  return j.dump();
}

Machine parse_machine(const JsonField& root) {
  Machine m;
  const auto found = root.find("machine");
  if (!found) return m;
  const JsonField& j = found->expect_object();
  m.cpu = j.str_or("cpu", "");
  m.cores = static_cast<unsigned>(j.num_or("cores", 0, NumRange::non_negative()));
  m.threads = static_cast<int>(j.num_or("threads", 0, NumRange::non_negative()));
  m.arch = j.str_or("arch", "");
  m.os = j.str_or("os", "");
  m.kernel = j.str_or("kernel", "");
  m.runtime = j.str_or("runtime", "");
  m.runtime_version = j.str_or("runtime_version", "");
  m.governor = j.str_or("governor", "");
  return m;
}

std::string machine_summary(const Machine& m) {
  std::string out;
  const auto add = [&out](const std::string& part) {
    if (!part.empty()) out += (out.empty() ? "" : ", ") + part;
  };
  add(m.arch);
  add(m.cpu);
  if (m.cores > 0)
    add(m.threads > 0 ? fmt::format("{} cores ({} thread{})", m.cores, m.threads, m.threads == 1 ? "" : "s")
                      : fmt::format("{} cores", m.cores));
  add(m.os);
  if (!m.kernel.empty()) add("Linux " + m.kernel);
  add(m.runtime.empty() ? "" : m.runtime + (m.runtime_version.empty() ? "" : " " + m.runtime_version));
  if (!m.governor.empty()) add("governor " + m.governor);
  return out.empty() ? "unknown machine" : out;
}

bool same_machine(const Machine& a, const Machine& b) {
  if (a.arch.empty() || a.kernel.empty() || b.arch.empty() || b.kernel.empty()) return false;
  return a.cpu == b.cpu && a.cores == b.cores && a.arch == b.arch && a.os == b.os && a.kernel == b.kernel;
}

}  // namespace dapdee
