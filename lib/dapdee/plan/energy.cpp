#include "dapdee/plan/energy.hpp"

#include <algorithm>

namespace dapdee {

namespace {

double radio_w(const DevicePower& p, double bandwidth_mbps) { return p.tx_w_per_mbps * bandwidth_mbps + p.tx_base_w; }

}  // namespace

EnergyBreakdown frame_energy(const DevicePower& p, double t_d, double t_t, double latency_ms, bool sends,
                             double bandwidth_mbps) {
  EnergyBreakdown e;
  e.compute = p.compute_w * t_d;
  e.radio = sends ? radio_w(p, bandwidth_mbps) * t_t : 0.0;
  e.idle = p.idle_w * std::max(0.0, latency_ms - t_d - t_t);
  e.tail = sends ? 1000.0 * p.tail_w * p.tail_s : 0.0;
  return e;
}

EnergyBreakdown stream_energy(const DevicePower& p, double t_d, double t_t, bool sends, double bandwidth_mbps,
                              double period_ms) {
  const double busy = t_d + (sends ? t_t : 0.0);
  const double period = std::max(period_ms, busy);
  EnergyBreakdown e;
  e.compute = p.compute_w * t_d;
  e.radio = sends ? radio_w(p, bandwidth_mbps) * t_t : 0.0;
  e.idle = p.idle_w * (period - busy);
  e.tail = sends ? p.tail_w * std::min(1000.0 * p.tail_s, period - t_t) : 0.0;
  return e;
}

DevicePower device_power(const PowerModel& model, const std::string& network) {
  const RadioPower& r = radio_for(model, network);
  return DevicePower{model.compute_w, model.idle_w, r.tx_w_per_mbps, r.tx_base_w, r.tail_w, r.tail_s};
}

double radio_watts(const DevicePower& p, double bandwidth_mbps) { return radio_w(p, bandwidth_mbps); }

}  // namespace dapdee
