// The uplink a run emulates, as the user gives it (dapdee-run's --bandwidth, --delay,
// --bandwidth-trace, --mtu): shared by a run and the load generator.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace dapdee {

// The uplink: a rate and a delay, or a Mahimahi trace and a delay. Unset values come from the plan.
struct LinkOptions {
  std::optional<double> bandwidth_mbps;
  std::optional<double> delay_ms;
  std::string trace_path;
  size_t mtu = 1500;
};

}  // namespace dapdee
