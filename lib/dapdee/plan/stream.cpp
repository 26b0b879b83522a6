#include "dapdee/plan/stream.hpp"

#include <algorithm>
#include <cmath>

namespace dapdee {

namespace {

struct ArrivalsName {
  Arrivals a;
  const char* name;
};
constexpr ArrivalsName kArrivals[] = {{Arrivals::Periodic, "periodic"}, {Arrivals::Poisson, "poisson"}};

// Where Erlang's series stops being numerically sound (long double, alternating terms).
constexpr double kSeriesLimit = 15;

// The decay rate theta > 0 of the M/D/1 waiting tail: lambda * (exp(theta * d) - 1) = theta.
double tail_rate(double lambda, double d) {
  auto f = [&](double th) { return lambda * std::expm1(th * d) - th; };
  double lo = 0, hi = 1 / d;
  while (f(hi) <= 0) hi *= 2;  // f is convex, negative just above 0 (rho < 1), positive far out
  for (int i = 0; i < 200 && hi - lo > 1e-15 * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    (f(mid) > 0 ? hi : lo) = mid;
  }
  return 0.5 * (lo + hi);
}

// The q-quantile of the Cramer-Lundberg tail P(W > t) ~ C exp(-theta t).
double tail_quantile(double lambda, double d, double q) {
  const double th = tail_rate(lambda, d);
  const double c = (1 - lambda * d) / (lambda * d * std::exp(th * d) - 1);
  const double ratio = c / (1 - q);
  return ratio <= 1 ? 0.0 : std::log(ratio) / th;
}

}  // namespace

std::optional<Arrivals> parse_arrivals(const std::string& s) {
  for (const auto& a : kArrivals)
    if (s == a.name) return a.a;
  return std::nullopt;
}

const char* arrivals_name(Arrivals a) {
  for (const auto& x : kArrivals)
    if (x.a == a) return x.name;
  return "?";
}

std::vector<std::string> arrivals_names() {
  std::vector<std::string> v;
  for (const auto& a : kArrivals) v.emplace_back(a.name);
  return v;
}

const char* stage_name(StageKind k) {
  switch (k) {
    case StageKind::Device: return "device";
    case StageKind::Uplink: return "uplink";
    case StageKind::Edge: return "edge";
  }
  return "?";
}

const char* p95_method_name(P95Method m) {
  switch (m) {
    case P95Method::Exact: return "exact";
    case P95Method::Tail: return "tail";
    case P95Method::Bound: return "bound";
    case P95Method::None: break;
  }
  return "none";
}

std::vector<Stage> device_edge_stages(double t_d, double t_t, double t_e) {
  return {{StageKind::Device, t_d, Sharing::Private},
          {StageKind::Uplink, t_t, Sharing::Private},
          {StageKind::Edge, t_e, Sharing::Shared}};
}

double md1_mean_wait(double lambda, double d) {
  const double rho = lambda * d;
  if (d <= 0 || lambda <= 0) return 0;
  if (rho >= 1) return INFINITY;
  return rho * d / (2 * (1 - rho));
}

double md1_wait_cdf(double lambda, double d, double t) {
  const double rho = lambda * d;
  if (t < 0) return 0;
  if (d <= 0 || lambda <= 0) return 1;
  // Erlang: P(W <= t) = (1 - rho) sum_{k=0}^{floor(t/d)} (-x_k)^k / k! exp(x_k), x_k = lambda (t - k d).
  long double sum = 0;
  const long kmax = static_cast<long>(std::floor(t / d));
  for (long k = 0; k <= kmax; ++k) {
    const long double x =
        static_cast<long double>(lambda) * (static_cast<long double>(t) - k * static_cast<long double>(d));
    const long double mag =
        x > 0 ? std::exp(k * std::log(x) - std::lgamma(static_cast<long double>(k) + 1) + x) : (k == 0 ? 1.0L : 0.0L);
    sum += (k % 2 ? -mag : mag);
  }
  const double p = static_cast<double>((1 - static_cast<long double>(rho)) * sum);
  return std::clamp(p, 0.0, 1.0);
}

double md1_wait_quantile(double lambda, double d, double q, P95Method* method) {
  const double rho = lambda * d;
  if (method) *method = P95Method::Exact;
  if (d <= 0 || lambda <= 0 || q <= 1 - rho) return 0;
  if (rho >= 1) return INFINITY;
  const double hi_sound = kSeriesLimit / lambda;
  if (md1_wait_cdf(lambda, d, hi_sound) < q) {
    if (method) *method = P95Method::Tail;
    return tail_quantile(lambda, d, q);
  }
  double lo = 0, hi = hi_sound;
  for (int i = 0; i < 100 && hi - lo > 1e-12 * std::max(hi, d); ++i) {
    const double mid = 0.5 * (lo + hi);
    (md1_wait_cdf(lambda, d, mid) >= q ? hi : lo) = mid;
  }
  return hi;
}

namespace {

// One queue of the stream: a service time fed at `rate` frames per ms; `tandem` for the
// clients' own stages taken as one (deterministic when the arrivals are periodic).
struct Queue {
  double rate = 0, service = 0;
  bool tandem = false;
};

// The queues a stream waits in: one client's tandem as one queue of its largest service time
// (the bottleneck rule), or, for N >= 2, the private stages so and each shared stage alone.
std::vector<Queue> queues_of(const std::vector<Stage>& stages, double lambda, int clients) {
  double tandem = 0;
  std::vector<Queue> q;
  for (const Stage& s : stages) {
    if (clients == 1 || s.sharing == Sharing::Private)
      tandem = std::max(tandem, s.service_ms);
    else if (s.service_ms > 0)
      q.push_back({lambda * clients, s.service_ms, false});
  }
  if (tandem > 0) q.insert(q.begin(), Queue{lambda, tandem, true});
  return q;
}

// A periodic stream through its own deterministic stages never waits below saturation.
bool deterministic(const Queue& q, const StreamSpec& spec) { return q.tandem && spec.arrivals == Arrivals::Periodic; }

// The waiting of a stable stream: M/D/1 at every queue that is not deterministic. The 95th
// percentile is exact where one queue waits; with k > 1 the sum of their (1 - 0.05/k)
// quantiles bounds it (a union bound).
void add_waiting(const std::vector<Queue>& queues, StreamDetail detail, StreamOutcome& out) {
  std::vector<const Queue*> waiting;
  for (const Queue& q : queues)
    if (!deterministic(q, out.spec)) waiting.push_back(&q);
  const double level = waiting.size() > 1 ? 1 - 0.05 / static_cast<double>(waiting.size()) : 0.95;
  out.p95_method = waiting.size() > 1 ? P95Method::Bound : P95Method::Exact;
  for (const Queue* w : waiting) {
    out.wait_ms += md1_mean_wait(w->rate, w->service);
    if (detail == StreamDetail::Mean) continue;
    P95Method m = P95Method::Exact;
    out.wait_p95_ms += md1_wait_quantile(w->rate, w->service, level, &m);
    if (m == P95Method::Tail && waiting.size() == 1) out.p95_method = P95Method::Tail;
  }
}

}  // namespace

std::optional<double> device_edge_mean_wait(double t_d, double t_t, double t_e, const StreamSpec& spec) {
  const double lambda = spec.fps / 1000;
  const bool one = spec.clients == 1;
  const double tandem = one ? std::max({t_d, t_t, t_e}) : std::max(t_d, t_t);
  const double u = lambda * tandem;
  const bool periodic = spec.arrivals == Arrivals::Periodic;
  if (tandem > 0 && (periodic ? u > 1 : u >= 1)) return std::nullopt;
  double wait = periodic || tandem <= 0 ? 0.0 : md1_mean_wait(lambda, tandem);
  if (!one && t_e > 0) {
    const double shared = lambda * spec.clients;
    if (shared * t_e >= 1) return std::nullopt;
    wait += md1_mean_wait(shared, t_e);
  }
  return wait;
}

StreamOutcome stream_waiting(const std::vector<Stage>& stages, const StreamSpec& spec, StreamDetail detail) {
  StreamOutcome out;
  out.spec = spec;
  const double lambda = spec.fps / 1000;
  for (const Stage& s : stages)
    out.utilisation.push_back({s.kind, (s.sharing == Sharing::Shared ? lambda * spec.clients : lambda) * s.service_ms});
  const std::vector<Queue> queues = queues_of(stages, lambda, spec.clients);
  for (const Queue& q : queues) {
    const double u = q.rate * q.service;
    if (deterministic(q, spec) ? u <= 1 : u < 1) continue;
    out.stable = false;
    out.backlog_growth_fps = std::max(out.backlog_growth_fps, 1000 * q.rate - 1000 / q.service);
  }
  if (out.stable) add_waiting(queues, detail, out);
  return out;
}

}  // namespace dapdee
