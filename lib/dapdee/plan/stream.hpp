// Streams (docs/COST-MODEL.md, "Streams"): frames arriving at a rate, periodic or Poisson, from
// one device or from N devices that share the edge, and the waiting they cause at a plan's
// stages. One stage list serves every tier: each stage is a FIFO single server with a
// deterministic service time, private to a client or shared by all of them.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace dapdee {

enum class Arrivals { Periodic, Poisson };

// Parses "periodic|poisson"; nullopt when unknown.
std::optional<Arrivals> parse_arrivals(const std::string& s);
// The name of an arrival process. Never fails.
const char* arrivals_name(Arrivals a);
// Every name parse_arrivals accepts, in order (for option validation). Never fails.
std::vector<std::string> arrivals_names();

// What a stream plan minimises: the mean latency, or its 95th percentile (--percentile 95).
enum class StreamObjective { Mean, P95 };

// A stream: fps > 0 frames a second per client, clients >= 1 of them sharing the edge.
struct StreamSpec {
  double fps = 0;
  Arrivals arrivals = Arrivals::Periodic;
  int clients = 1;
  StreamObjective objective = StreamObjective::Mean;
};

// The stages a frame passes, in order. Pure delays (the link's propagation) are no stage.
enum class StageKind { Device, Uplink, Edge };
// A stage of each client's own (its device, its uplink), or one that all clients share (the edge).
enum class Sharing { Private, Shared };
struct Stage {
  StageKind kind = StageKind::Device;
  double service_ms = 0;
  Sharing sharing = Sharing::Private;
};
// The name of a stage kind as the plan's `utilisation` object keys it. Never fails.
const char* stage_name(StageKind k);

// The stages of a device-edge plan: device and uplink private, the edge shared. Never fails.
std::vector<Stage> device_edge_stages(double t_d, double t_t, double t_e);

// One stage's load: arrivals per ms times its service time (the shared stage's arrivals are
// every client's).
struct StageLoad {
  StageKind kind = StageKind::Device;
  double utilisation = 0;
};

// How the 95th percentile of the waiting was obtained (docs/COST-MODEL.md, "Streams").
enum class P95Method { None, Exact, Tail, Bound };

// The name of a P95Method as the plan's `latency_p95_method` gives it. Never fails.
const char* p95_method_name(P95Method m);

// The waiting a stream meets at a plan's stages.
struct StreamOutcome {
  StreamSpec spec;
  bool stable = true;
  std::vector<StageLoad> utilisation;  // in stage order
  double wait_ms = 0;                  // mean waiting of a frame (stable streams)
  double wait_p95_ms = 0;              // 95th percentile of a frame's waiting (stable streams)
  P95Method p95_method = P95Method::None;
  double backlog_growth_fps = 0;  // unstable: frames a second by which the fastest-growing queue grows
  double latency_p95_ms = 0;      // set by the planner: the plan's latency without waiting + wait_p95_ms
};

// How much stream_waiting computes: the mean alone (a search by the mean), or the 95th percentile too.
enum class StreamDetail { Mean, Full };

// The waiting of `spec` at `stages`, by the bottleneck rule for one client (the tandem waits as
// one server of the largest service time: none for periodic arrivals below saturation, M/D/1
// for Poisson ones) and, for N >= 2 clients, the private stages by that rule plus each shared
// stage as an M/D/1 queue fed at N times the rate (an approximation). Unstable when a stage's
// utilisation reaches 1 (exceeds 1 for a periodic private stage). Never fails for fps > 0 and
// clients >= 1.
StreamOutcome stream_waiting(const std::vector<Stage>& stages, const StreamSpec& spec,
                             StreamDetail detail = StreamDetail::Full);

// The mean waiting of `spec` at a device-edge plan's three stages, as stream_waiting gives it,
// without building the stage list (the search's inner loop); nullopt when unstable. Never fails.
std::optional<double> device_edge_mean_wait(double t_d, double t_t, double t_e, const StreamSpec& spec);

// Mean waiting time of an M/D/1 queue: rate `lambda` per ms, service `d` ms; +inf when
// lambda * d >= 1. Never fails.
double md1_mean_wait(double lambda, double d);

// The q-quantile (0 < q < 1) of an M/D/1 queue's waiting time, with how it was computed: Erlang's
// exact series while it is numerically sound (lambda * t <= 15), else the Cramer-Lundberg
// exponential tail; +inf when lambda * d >= 1. Never fails.
double md1_wait_quantile(double lambda, double d, double q, P95Method* method = nullptr);

// Erlang's M/D/1 waiting-time distribution P(W <= t), exact, computed in long double; sound for
// lambda * t up to about 15 (beyond, cancellation loses the digits). Never fails.
double md1_wait_cdf(double lambda, double d, double t);

}  // namespace dapdee
