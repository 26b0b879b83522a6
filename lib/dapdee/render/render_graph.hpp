// Pictures of one plan: the partitioned DAG as Graphviz DOT and the pipeline stages as Chrome
// trace-event JSON (Perfetto, chrome://tracing).
#pragma once

#include <string>
#include <vector>

#include "dapdee/model/dag.hpp"
#include "dapdee/plan/plan_types.hpp"
#include "dapdee/plan/planner.hpp"

namespace dapdee {

// Frames drawn by a heavy-load trace: enough to show the pipeline reach its period T_max.
inline constexpr int kTraceFrames = 8;

// The exit's G_k as a DOT digraph: one cluster per side, device nodes blue, sent nodes (V_s)
// orange, edge nodes green; cut edges thick orange, the first from each sent node labelled with
// the bytes sent and their uplink ms (a tensor is sent once, however many edge nodes read it).
// Nodes outside G_k are left out. Never fails.
std::string plan_to_dot(const Dag& dag, const Costs& costs, const PlanPoint& point);

// The plan's stages as Chrome trace-event JSON ("X" events in microseconds, one thread per
// stage: device, uplink, edge, and downlink with T_down): one frame in light mode, `frames`
// pipelined frames in heavy mode (each stage starts when its frame's previous stage and the
// previous frame's same stage are done; the uplink's delay precedes the edge). Never fails.
std::string plan_to_trace(const Dag& dag, const PlanPoint& point, int frames = kTraceFrames);

// One stage of one frame in a trace: thread 1 device, 2 uplink, 3 edge, 4 downlink.
struct TraceSlice {
  const char* name;
  int tid;
  double start_ms, dur_ms;
  int frame;
};

// The Chrome trace-event JSON both --format trace and dapdee-run --trace-out write:
// `other_data` is the text of otherData's members (a JSON object without braces), `process`
// the process name; slices of zero duration are left out, the downlink thread is named only
// when `downlink`. Never fails.
std::string trace_json(const std::string& other_data, const std::string& process, const std::vector<TraceSlice>& slices,
                       bool downlink);

}  // namespace dapdee
