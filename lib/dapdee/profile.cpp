#include "dapdee/profile.hpp"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "dapdee/error.hpp"
#include "dapdee/io.hpp"
#include "dapdee/json_field.hpp"

namespace dapdee {

Profile parse_profile(const std::string& text, const std::string& where) {
  nlohmann::json storage;
  const JsonField root = parse_json_root(text, where, storage);
  root.expect_format(kProfileFormat);
  Profile p;
  p.source = where;
  p.device = root.str_or("device", "");
  p.model = root.str_or("model", "");
  for (const auto& [name, v] : root.at("nodes").members()) p.ms.emplace(name, v.num("ms", NumRange::non_negative()));
  p.total_ms = root.num_or("total_ms", 0.0, NumRange::non_negative());
  return p;
}

Profile load_profile(const std::string& path) { return parse_profile(read_input(path), path); }

}  // namespace dapdee
