// The names of the toolchain's file formats, as their "format" field carries them (the contract
// in docs/FORMATS.md): one place to read them, and to bump a version.
#pragma once

namespace dapdee {

inline constexpr const char* kDagFormat = "dapdee-dag/1";                    // dapdee-import
inline constexpr const char* kProfileFormat = "dapdee-profile/1";            // dapdee-profile
inline constexpr const char* kPlanFormat = "dapdee-plan/1";                  // dapdee-plan (one object, or a line each)
inline constexpr const char* kBreakpointsFormat = "dapdee-breakpoints/1";    // dapdee-plan --breakpoints
inline constexpr const char* kNetworkFormat = "dapdee-network/1";            // uplink presets
inline constexpr const char* kMetricsFormat = "dapdee-metrics/1";            // dapdee-run -> dapdee-plan --follow
inline constexpr const char* kDeviceSpecFormat = "dapdee-device-spec/1";     // profiles/specs
inline constexpr const char* kLatencyModelFormat = "dapdee-latency-model/1"; // dapdee-profile fit --kind op
inline constexpr const char* kKernelModelFormat = "dapdee-kernel-model/2";   // dapdee-profile fit --kind kernel
inline constexpr const char* kRunReportFormat = "dapdee-run-report/1";       // dapdee-run

// Names on the wire rather than in files.
inline constexpr const char* kRunProtocol = "dapdee-run/1";   // dapdee-run's hello (device to edge)
inline constexpr const char* kQuantTag = "dapdee-quant/1";    // a quantised tensor's doc_string

}  // namespace dapdee
