#include "dapdee/profile.hpp"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "dapdee/error.hpp"
#include "dapdee/io.hpp"

namespace dapdee {

Profile parse_profile(const std::string& text, const std::string& where) {
  const nlohmann::json j = parse_json(text, where);
  if (!j.is_object() || j.value("format", "") != kProfileFormat)
    throw Error(where, fmt::format("not a {} file", kProfileFormat));
  Profile p;
  p.source = where;
  p.device = j.value("device", "");
  p.model = j.value("model", "");
  if (!j.contains("nodes") || !j["nodes"].is_object()) throw Error(where, "missing object 'nodes'");
  for (auto it = j["nodes"].begin(); it != j["nodes"].end(); ++it) {
    const auto& v = it.value();
    if (!v.is_object() || !v.contains("ms") || !v["ms"].is_number())
      throw Error(where, fmt::format("nodes['{}']: missing number 'ms'", it.key()));
    const double ms = v["ms"].get<double>();
    if (!std::isfinite(ms) || ms < 0) throw Error(where, fmt::format("nodes['{}']: ms must be >= 0 (got {})", it.key(), ms));
    p.ms.emplace(it.key(), ms);
  }
  if (j.contains("total_ms") && j["total_ms"].is_number()) p.total_ms = j["total_ms"].get<double>();
  return p;
}

Profile load_profile(const std::string& path) { return parse_profile(read_input(path), path); }

}  // namespace dapdee
