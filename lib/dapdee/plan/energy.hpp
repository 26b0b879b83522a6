// Device energy (docs/COST-MODEL.md, "Device energy"): what a plan costs the device's battery
// per frame, in mJ (W x ms). Modelled from cited power figures, not measured.
#pragma once

#include <optional>
#include <string>

#include "dapdee/model/power.hpp"

namespace dapdee {

// The figures one plan is costed with: the device's powers and its radio on this network.
struct DevicePower {
  double compute_w = 0, idle_w = 0;
  double tx_w_per_mbps = 0, tx_base_w = 0, tail_w = 0, tail_s = 0;
};

// What the device spends per frame, by part, in mJ.
struct EnergyBreakdown {
  double compute = 0;  // compute_w * T_d
  double radio = 0;    // (a * B + b) * T_t
  double idle = 0;     // idle_w * the rest of the frame (waiting for the result, or for the next frame)
  double tail = 0;     // the radio's tail after the last packet
  double total() const { return compute + radio + idle + tail; }
};

// A device's figures on one network (its radio entry: radio_for). Throws as radio_for.
DevicePower device_power(const PowerModel& model, const std::string& network);

// What a plan is optimised for: latency (the default) or the device's energy.
enum class Objective { Latency, Energy };

// One frame alone: E = compute_w T_d + (a B + b) T_t + idle_w (latency - T_d - T_t) + tail, the
// tail 1000 tail_w tail_s when something is sent. Never fails.
EnergyBreakdown frame_energy(const DevicePower& p, double t_d, double t_t, double latency_ms, bool sends,
                             double bandwidth_mbps);

// A stream, per frame over one arrival period of `period_ms` (the mean gap for Poisson arrivals):
// the device idles for the rest of the period, and the tail lasts at most the gap to the next
// frame's transfer, min(tail_s, period - T_t). A period shorter than T_d + T_t is taken as
// T_d + T_t (the device never idles). Never fails.
EnergyBreakdown stream_energy(const DevicePower& p, double t_d, double t_t, bool sends, double bandwidth_mbps,
                              double period_ms);

// The radio's power while sending at `bandwidth_mbps`: a * B + b watts. Never fails.
double radio_watts(const DevicePower& p, double bandwidth_mbps);

}  // namespace dapdee
