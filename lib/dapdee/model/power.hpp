// A device's power figures (docs/COST-MODEL.md, "Device energy"): compute and idle watts, and
// per network the radio model of Huang et al. (MobiSys 2012): while sending at B Mbit/s the
// radio draws tx_w_per_mbps * B + tx_base_w watts, then stays in a high-power tail.
#pragma once

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace dapdee {

// One radio's figures, in watts and seconds.
struct RadioPower {
  double tx_w_per_mbps = 0;  // a
  double tx_base_w = 0;      // b
  double tail_w = 0;
  double tail_s = 0;
};

// A device's power figures.
struct PowerModel {
  double compute_w = 0;                     // while the device part runs
  double idle_w = 0;                        // while it waits for the result or the next frame
  std::map<std::string, RadioPower> radio;  // by network name (case-insensitive match), and "default"
  std::string where;                        // the file it came from, for messages
};

// Parses a `power` object (or a whole `dapdee-power/1` file holding one). Throws Error(where)
// naming the figure that is missing, negative or not a number, or an unknown key.
PowerModel parse_power(const nlohmann::json& j, const std::string& where);

// Reads the power figures of a profile or power file: the file's `power` object, or the file
// itself when it is a `dapdee-power/1` file; nullopt when a profile has none. Throws Error(path)
// for an unreadable file or a bad object.
std::optional<PowerModel> read_power(const std::string& path);

// The radio entry for a network: the one named after it (case-insensitive), else "default".
// Throws Error(model.where) when neither exists, listing the entries there are.
const RadioPower& radio_for(const PowerModel& model, const std::string& network);

}  // namespace dapdee
