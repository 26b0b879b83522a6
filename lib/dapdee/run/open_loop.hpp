// Open-loop streams for dapdee-run --fps and dapdee-run load: frames released on an arrival
// schedule whether or not earlier ones have finished, the device part as a FIFO server, the
// shaped uplink and the edge's replies timed per stage. Internal to the run subsystem.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dapdee/plan/stream.hpp"
#include "dapdee/protocol/run_report.hpp"
#include "dapdee/run/client_parts.hpp"

namespace dapdee::client {

// `n` arrival times in ms from the schedule's start: every 1000/fps ms from `phase_ms`
// (periodic), or exponential gaps of mean 1000/fps drawn from a generator seeded with `seed`
// (Poisson; the same seed gives the same schedule on every platform). Never fails for fps > 0.
std::vector<double> arrival_times(double fps, Arrivals arrivals, int n, uint64_t seed, double phase_ms = 0);

// A frame's device part: runs (or replays) it for frame `index`; throws Error on failure.
using DeviceStage = std::function<DeviceOut(int index)>;
// Called with each offloaded frame's result tensors, in order; throws Error for a wrong one.
using ReplyCheck = std::function<void(int index, std::vector<HostTensor>& tensors)>;

// One client's connection for a stream.
struct StreamLink {
  ShapedSender* sender = nullptr;
  Receiver* rx = nullptr;
  double delay_ms = 0;
  double timeout_s = 60;
  std::string where;  // for errors: the server's address
};

// Runs one client's frames at `arrivals` (ms after a start a few ms from now) and returns their
// timings (FrameTiming's stream fields set, `client` and `plan` as given). Throws Error(where)
// for an error reply, a reply out of order, a closed connection or a reply timeout.
std::vector<FrameTiming> run_open_loop(const std::vector<double>& arrivals, const DeviceStage& device,
                                       const StreamLink& link, int client, int plan, const ReplyCheck& check);

// The stream model's prediction for a run: the plan's stages on this link at this rate.
// Never fails.
StreamMeta predict_stream(const Prediction& p, bool offloads, double fps, Arrivals arrivals, int clients,
                          uint64_t seed);

}  // namespace dapdee::client
