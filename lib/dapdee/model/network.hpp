// Uplink presets (`dapdee-network/1`) and link parameters.
#pragma once

#include <string>
#include <vector>

#include "dapdee/support/error.hpp"
#include "dapdee/support/formats.hpp"

namespace dapdee {

// One uplink: bandwidth in Mbit/s (10^6 bit/s) and one-way delay in ms.
struct Network {
  std::string name;
  double uplink_mbps = 0;
  double delay_ms = 0;
};

// Parses a network file; throws Error(where, ...) on a wrong format or a non-positive bandwidth.
Network parse_network(const std::string& text, const std::string& where);

// Where the bundled data is: an executable of a build tree uses its checkout (named by the file
// "dapdee-source-dir" that CMake writes to the build tree, beside the executable or one folder up;
// never installed), an installed one PREFIX/share/dapdee (its folder's ../share/dapdee). No path
// is compiled in. Never fails: an unreadable /proc/self/exe gives the relative "share/dapdee".
struct DataRoot {
  std::string dir;
  bool checkout = false;  // dir is the source checkout (build tree), not PREFIX/share/dapdee
};
DataRoot data_root();

// The folder of the bundled presets: $DAPDEE_NETWORKS, else the checkout's networks/ (build tree)
// or PREFIX/share/dapdee/networks (installed). Never fails.
std::string networks_dir();

// The folder of the bundled device specs (dapdee-device-spec/1): the checkout's profiles/specs/ or
// PREFIX/share/dapdee/specs. Never fails.
std::string specs_dir();

// A device spec given as a file, or as the name of a bundled one ("rpi4": specs_dir()/rpi4.json);
// returns the path to read. Throws Error("--device", ...) naming the bundled specs when it is neither.
std::string resolve_device_spec(const std::string& name_or_file);

// How to name scripts/quiet-check in a message: "scripts/quiet-check" in a build tree, the
// installed PREFIX/share/dapdee/scripts/quiet-check otherwise. Never fails.
std::string quiet_check_command();

// Resolves a preset name (case-insensitive, e.g. "4G") or a file path; throws Error naming the
// known presets when it is neither.
Network resolve_network(const std::string& name_or_file);

// Names of the bundled presets, sorted.
std::vector<std::string> preset_names();

// Bounds of the replay window of a trace (ms).
inline constexpr double kMinTraceWindowMs = 1, kMaxTraceWindowMs = 3'600'000;

// Uplink capacity of a Mahimahi trace (one line per 1500-byte delivery opportunity, the time in
// ms) in consecutive windows of `window_ms` over the trace's period (its last time, after which
// Mahimahi repeats it), in Mbit/s; the last window is averaged over its real length. The failure names
// the bad line, or the window when it is outside [kMinTraceWindowMs, kMaxTraceWindowMs].
// The trace may span at most `max_windows` windows (checked before anything is allocated).
inline constexpr size_t kMaxTraceWindows = 1'000'000;
Parsed<std::vector<double>> mahimahi_windows(const std::string& text, double window_ms,
                                             size_t max_windows = kMaxTraceWindows);

// Checks a bandwidth (in [kMinBandwidthMbps, kMaxBandwidthMbps]) and a delay (in [0, kMaxDelayMs]);
// throws Error(what, ...) otherwise.
void check_link(double bandwidth_mbps, double delay_ms, const std::string& what);
// The range check_link accepts.
inline constexpr double kMinBandwidthMbps = 1e-6, kMaxBandwidthMbps = 1e9, kMaxDelayMs = 1e9;

}  // namespace dapdee
