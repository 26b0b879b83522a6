// Roofline prediction of a profile for hardware you do not have in hand.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "dapdee/model/dag.hpp"
#include "dapdee/model/profile_json.hpp"

namespace dapdee {

// A device described by its datasheet figures (`dapdee-device-spec/1`).
struct DeviceSpec {
  std::string name;
  double peak_gflops = 0;        // FP32 peak, GFLOP/s
  double memory_gbps = 0;        // memory bandwidth, GB/s
  double efficiency = 0.5;       // fraction of both peaks a real runtime attains (assumed)
  double node_overhead_ms = 0;   // fixed cost per node (dispatch, kernel launch)
  std::string source;            // where the figures come from
};

// Parses a device spec; throws Error(where, ...) when a figure is missing or not positive, on an
// unknown key (naming the closest known one) and on another kind of file (naming it).
DeviceSpec parse_device_spec(const std::string& text, const std::string& where);

// A predicted profile: `node_entry(i)` gives node i's object (with "ms") for every computing
// node; `total_ms` is their sum. Throws Error when a time or the total is not a finite ms >= 0.
ProfileDoc predicted_profile(const Dag& dag, const std::string& device, const std::string& runtime,
                             nlohmann::ordered_json predicted_from,
                             const std::function<nlohmann::ordered_json(int)>& node_entry);

// predicted_profile as dapdee-profile/1 JSON text. Throws as predicted_profile does.
std::string predicted_profile_json(const Dag& dag, const std::string& device, const std::string& runtime,
                                   nlohmann::ordered_json predicted_from,
                                   const std::function<nlohmann::ordered_json(int)>& node_entry);

// Predicts a dapdee-profile/1 JSON text for the DAG: per node,
// max(FLOPs / (peak * eff), bytes moved / (bandwidth * eff)) + overhead. Never fails.
std::string predict_profile(const Dag& dag, const DeviceSpec& spec, const std::string& spec_path);

}  // namespace dapdee
