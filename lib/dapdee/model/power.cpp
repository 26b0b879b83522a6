#include "dapdee/model/power.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>

#include "dapdee/support/error.hpp"
#include "dapdee/support/io.hpp"

namespace dapdee {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// A non-negative finite number member; throws Error naming it otherwise.
double watts(const nlohmann::json& j, const char* key, const std::string& where, const std::string& path) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() < 0)
    throw Error(where, fmt::format("{}.{} must be a number >= 0", path, key));
  return it->get<double>();
}

// Refuses keys a power object does not have (a misspelt figure would otherwise count as 0).
void known_keys(const nlohmann::json& j, std::initializer_list<const char*> keys, const std::string& where,
                const std::string& path) {
  for (const auto& item : j.items()) {
    const std::string& k = item.key();
    if (std::none_of(keys.begin(), keys.end(), [&](const char* x) { return k == x; }))
      throw Error(where, fmt::format("{} has an unknown key '{}'", path, k));
  }
}

RadioPower parse_radio(const nlohmann::json& j, const std::string& where, const std::string& path) {
  if (!j.is_object()) throw Error(where, path + " must be an object");
  known_keys(j, {"tx_w_per_mbps", "tx_base_w", "tail_w", "tail_s", "source"}, where, path);
  return {watts(j, "tx_w_per_mbps", where, path), watts(j, "tx_base_w", where, path), watts(j, "tail_w", where, path),
          watts(j, "tail_s", where, path)};
}

}  // namespace

PowerModel parse_power(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw Error(where, "power must be an object");
  known_keys(j, {"format", "device", "compute_w", "idle_w", "radio", "source", "note"}, where, "power");
  PowerModel m;
  m.where = where;
  m.compute_w = watts(j, "compute_w", where, "power");
  m.idle_w = watts(j, "idle_w", where, "power");
  const auto radio = j.find("radio");
  if (radio == j.end() || !radio->is_object() || radio->empty())
    throw Error(where, "power.radio must name at least one network's radio (or \"default\")");
  for (const auto& [name, r] : radio->items()) m.radio[name] = parse_radio(r, where, "power.radio." + name);
  return m;
}

std::optional<PowerModel> read_power(const std::string& path) {
  const nlohmann::json j = parse_json(read_input(path), path);
  if (!j.is_object()) throw Error(path, "not a JSON object");
  if (j.value("format", std::string()) == "dapdee-power/1") return parse_power(j, path);
  const auto it = j.find("power");
  if (it == j.end()) return std::nullopt;
  return parse_power(*it, path);
}

const RadioPower& radio_for(const PowerModel& model, const std::string& network) {
  for (const auto& [name, r] : model.radio)
    if (lower(name) == lower(network)) return r;
  if (const auto it = model.radio.find("default"); it != model.radio.end()) return it->second;
  std::string names;
  for (const auto& [name, r] : model.radio) names += (names.empty() ? "" : ", ") + name;
  throw Error(model.where,
              fmt::format("no radio figures for network '{}' and no \"default\" (it has: {})", network, names));
}

}  // namespace dapdee
