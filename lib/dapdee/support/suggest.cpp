#include "dapdee/support/suggest.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace dapdee {

namespace {

// Lower case without '-', '_' and blanks: "Wi-Fi" and "wifi" are the same name.
std::string folded(const std::string& s) {
  std::string out;
  for (const char c : s)
    if (c != '-' && c != '_' && c != ' ') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// How far `given` is from `name`, or nullopt when too far to suggest.
std::optional<size_t> closeness(const std::string& given, const std::string& name) {
  const std::string g = folded(given), n = folded(name);
  if (g.empty() || n.empty()) return std::nullopt;
  if (g == n) return 0;
  const size_t shorter = std::min(g.size(), n.size());
  if (shorter >= 4 && (n.starts_with(g) || g.starts_with(n))) return 1;
  const size_t limit = shorter >= 4 ? 2 : shorter == 3 ? 1 : 0;
  const size_t d = edit_distance(g, n);
  if (d <= limit) return d + 1;
  return std::nullopt;
}

}  // namespace

std::optional<std::string> closest_name(const std::string& given, const std::vector<std::string>& known) {
  std::optional<std::string> best;
  size_t best_d = 0;
  for (const auto& name : known) {
    const auto d = closeness(given, name);
    if (d && (!best || *d < best_d)) {
      best = name;
      best_d = *d;
    }
  }
  return best;
}

std::string did_you_mean(const std::string& given, const std::vector<std::string>& known) {
  const auto c = closest_name(given, known);
  return c ? fmt::format(" (did you mean '{}'?)", *c) : std::string();
}

void reject_unknown_keys(const JsonField& obj, const std::vector<std::string>& known) {
  for (const auto& [key, value] : obj.members()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string list;
    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
    const std::string shown =
        nlohmann::json(key.substr(0, 60)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    obj.fail(fmt::format("unknown key {}{}; known keys: {}", shown, did_you_mean(key, known), list));
  }
}

}  // namespace dapdee
