// dapdee-run load: N emulated devices streaming one plan's frames to one edge server. Each
// device's part is computed once and replayed (it sleeps its measured T_d), so N devices need
// no N CPUs; each has its own connection and its own shaped uplink.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dapdee/plan/stream.hpp"
#include "dapdee/run/run_client.hpp"

namespace dapdee {

// What to load the server with.
struct LoadOptions {
  std::string model_path;
  std::string plan_path;  // one dapdee-plan/1 object (FILE or -)
  std::string connect;    // HOST:PORT of `dapdee-run serve`; empty: a server in-process on 127.0.0.1
  int clients = 4;
  double fps = 10;  // per client
  Arrivals arrivals = Arrivals::Periodic;
  uint64_t seed = 1;  // client c's Poisson arrivals use seed + c; periodic ones are staggered by c/N of a period
  int frames = 100;   // per client
  int warmup = 3;     // device-part runs before T_d is taken (their median)
  int threads = 1;
  LinkOptions link;  // each client's own uplink
  uint32_t max_frame_bytes = kDefaultMaxFrameBytes;
  double timeout_s = 60;
};

// The load's report and what to tell the user.
struct LoadOutcome {
  std::string report_json;  // dapdee-run-report/1, mode "load", with per-client figures
  std::string summary;      // one line
  std::vector<std::string> warnings;
  uint64_t results = 0, wrong = 0;  // results received; results that differ from the first one
};

// Runs the load. Throws Error(where, ...) for a bad plan or model, a refused connection
// (e.g. the server's --max-clients), an error reply, a reply out of order or a timeout.
LoadOutcome run_load(const LoadOptions& options);

}  // namespace dapdee
