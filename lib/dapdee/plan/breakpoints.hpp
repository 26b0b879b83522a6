// Bandwidth breakpoints of the light plan (`dapdee-breakpoints/1`): for one exit and a fixed
// delay every partition's latency is a + b / B, so the optimal light plan changes at finitely
// many bandwidths. They are found exactly by Eisner-Severance parametric search over x = 1/B on
// the lower envelope of those lines, one minimum cut per probe.
#pragma once

#include <vector>

#include "dapdee/plan/planner.hpp"

namespace dapdee {

// One interval of the map: the partition is an optimal light plan for B in [bw_lo, bw_hi).
struct BandwidthInterval {
  int exit = 0;
  double bw_lo = 0, bw_hi = 0;    // bw_hi may be +inf (unbounded)
  std::vector<char> on_device;    // per DAG node (G_k only)
  double a = 0;                   // T_d + T_e (+ delay when something is sent), ms
  double b = 0;                   // sent bytes * 8 / 1000: T_t = b / B ms
  double t_d = 0, t_e = 0, sent_bytes = 0;
};

// The map of one exit over [bw_lo, bw_hi] (bw_hi may be +inf), in increasing bandwidth, two
// consecutive intervals holding different partitions; `cuts` receives the minimum cuts solved.
// Throws Error for a range that is not 0 < bw_lo < bw_hi.
std::vector<BandwidthInterval> light_breakpoints(const Planner& planner, int exit, double delay_ms, double bw_lo,
                                                 double bw_hi, long* cuts = nullptr);

// The interval of a sorted map holding `bw` (the last one for bw >= its bw_lo). The map must not
// be empty and bw must be in its range; never throws.
const BandwidthInterval& interval_at(const std::vector<BandwidthInterval>& map, double bw);

}  // namespace dapdee
