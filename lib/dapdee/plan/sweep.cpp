#include "dapdee/plan/sweep.hpp"

#include "dapdee/plan/breakpoints.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <map>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <thread>

namespace dapdee {

namespace {
Parsed<double> parse_number(std::string s) {
  s.erase(0, s.find_first_not_of(" \t"));  // lists may be written "1, 2" (trimmed)
  s.erase(s.find_last_not_of(" \t") + 1);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !std::isfinite(v)) return Parsed<double>::failure(fmt::format("'{}' is not a number", s));
  return v;
}
}  // namespace

Parsed<std::vector<double>> parse_values(const std::string& spec) {
  using R = Parsed<std::vector<double>>;
  std::vector<double> out;
  if (spec.find(':') != std::string::npos) {
    const auto c1 = spec.find(':'), c2 = spec.find(':', c1 + 1);
    if (c2 == std::string::npos) return R::failure(fmt::format("'{}': a range is START:STOP:COUNT[log]", spec));
    std::string count_s = spec.substr(c2 + 1);
    bool log = false;
    if (count_s.size() > 3 && count_s.compare(count_s.size() - 3, 3, "log") == 0) {
      log = true;
      count_s.resize(count_s.size() - 3);
    }
    auto a = parse_number(spec.substr(0, c1)), b = parse_number(spec.substr(c1 + 1, c2 - c1 - 1));
    if (!a.ok()) return R::failure(a.message());
    if (!b.ok()) return R::failure(b.message());
    char* end = nullptr;
    const long n = std::strtol(count_s.c_str(), &end, 10);
    if (count_s.empty() || *end != '\0' || n < 1 || n > 10000000)
      return R::failure(fmt::format("'{}': COUNT must be an integer from 1", spec));
    if (log && (a.value() <= 0 || b.value() <= 0)) return R::failure(fmt::format("'{}': a log range needs positive ends", spec));
    for (long i = 0; i < n; ++i) {
      const double f = n == 1 ? 0.0 : static_cast<double>(i) / static_cast<double>(n - 1);
      out.push_back(log ? std::exp(std::log(a.value()) + f * (std::log(b.value()) - std::log(a.value())))
                        : a.value() + f * (b.value() - a.value()));
    }
    return out;
  }
  size_t p = 0;
  while (true) {
    const auto q = spec.find(',', p);
    auto v = parse_number(spec.substr(p, q == std::string::npos ? std::string::npos : q - p));
    if (!v.ok()) return R::failure(v.message());
    out.push_back(v.value());
    if (q == std::string::npos) break;
    p = q + 1;
  }
  return out;
}

namespace {

struct Pair {
  std::string network;
  Link link;
  std::optional<double> time_s;
  std::optional<double> fps;  // --fps: the stream's rate
};

// Breakpoint maps of the light plan per delay (one per exit) for sweeps of many bandwidths
// with the min-cut methods: O(breakpoints) cuts instead of one per point. Empty otherwise.
std::map<double, std::vector<std::vector<BandwidthInterval>>> light_maps(const Planner& planner, const SweepSpec& spec,
                                                                         const std::vector<Pair>& pairs) {
  std::map<double, std::vector<std::vector<BandwidthInterval>>> maps;
  const bool min_cut = spec.method == Method::Dapdee || spec.method == Method::Dads;
  if (spec.mode != Mode::Light || !min_cut || !spec.cut_nodes.empty() || pairs.size() < 8) return maps;
  std::map<double, std::pair<double, double>> range;  // per delay: bandwidths seen
  for (const auto& p : pairs) {
    auto [it, fresh] = range.try_emplace(p.link.delay_ms, p.link.bandwidth_mbps, p.link.bandwidth_mbps);
    it->second.first = std::min(it->second.first, p.link.bandwidth_mbps);
    it->second.second = std::max(it->second.second, p.link.bandwidth_mbps);
  }
  for (const auto& [delay, r] : range) {
    auto& per_exit = maps[delay];
    const double hi = r.second > r.first ? r.second : r.first * 2;
    for (int k = 0; k < static_cast<int>(planner.dag().exits.size()); ++k)
      per_exit.push_back(light_breakpoints(planner, k, delay, r.first, hi));
  }
  return maps;
}

}  // namespace

std::pair<size_t, size_t> shard_range(size_t total, int index, int count) {
  const auto at = [&](int i) { return static_cast<size_t>((static_cast<unsigned __int128>(total) * static_cast<unsigned>(i)) / static_cast<unsigned>(count)); };
  return {at(index - 1), at(index)};
}

namespace {

// The (network, link) pairs of the sweep in order: per network its preset link, or each swept
// bandwidth at the network's (or the given) delay. Throws Error for a bad link.
std::vector<Pair> sweep_pairs(const SweepSpec& spec) {
  std::vector<Pair> pairs;
  for (const auto& net : spec.networks) {
    const double delay = spec.delay_ms.value_or(net.delay_ms);
    if (spec.bandwidths.empty()) {
      pairs.push_back({net.name, {net.uplink_mbps, delay}, std::nullopt, std::nullopt});
    } else {
      for (size_t i = 0; i < spec.bandwidths.size(); ++i)
        pairs.push_back({net.name,
                         {spec.bandwidths[i], delay},
                         i < spec.trace_times_s.size() ? std::optional<double>(spec.trace_times_s[i]) : std::nullopt,
                         std::nullopt});
    }
  }
  for (const auto& p : pairs) check_link(p.link.bandwidth_mbps, p.link.delay_ms, p.network);
  if (spec.fps.empty()) return pairs;
  std::vector<Pair> streams;
  streams.reserve(pairs.size() * spec.fps.size());
  for (const auto& p : pairs)
    for (double f : spec.fps) {
      streams.push_back(p);
      streams.back().fps = f;
    }
  return streams;
}

// What every worker of one sweep reads, and the points it fills (each index by one worker).
struct SweepContext {
  SweepContext(const Planner& p, const SweepSpec& s) : planner(p), spec(s) {}
  const Planner& planner;
  const SweepSpec& spec;
  std::vector<Pair> pairs;
  size_t lo = 0, hi = 0, nd = 0;  // this shard's points [lo, hi) of pairs x deadlines
  size_t base = 0;                // the point index of points[0] (the chunk being planned)
  int n_exits = 0;
  std::vector<std::optional<double>> accuracies;
  std::map<double, std::vector<std::vector<BandwidthInterval>>> maps;
  std::vector<PlanPoint> points;
};

// The plans of one pair, per exit, reused across its deadlines (heavy dapdee plans excepted).
class PairPlans {
 public:
  PairPlans(const SweepContext& c, const Pair& pr, Mode mode)
      : c_(c), pr_(pr), mode_(mode), cache_(c.n_exits),
        map_it_(mode == Mode::Light ? c.maps.find(pr.link.delay_ms) : c.maps.end()) {}

  // Heavy and least-energy dapdee plans depend on the deadline; every other plan (streams too)
  // is reused across deadlines.
  bool per_deadline() const {
    return (mode_ == Mode::Heavy || energy_search()) && c_.spec.method == Method::Dapdee && c_.spec.cut_nodes.empty();
  }
  // Whether the plans come from the energy searches (--objective energy, --energy-budget).
  bool energy_search() const {
    const SweepSpec& s = c_.spec;
    return s.power && (s.objective == Objective::Energy || s.energy_budget_mj) && s.method == Method::Dapdee &&
           s.cut_nodes.empty() && !pr_.fps;
  }
  // A new deadline: heavy dapdee plans are planned again when it differs from the last.
  void set_deadline(std::optional<double> deadline, bool changed) {
    deadline_ = deadline;
    if (changed && per_deadline())
      for (auto& p : cache_) p.reset();
  }
  // The plan of exit k (for the deadline in force), valid until the next set_deadline; throws as
  // the planner.
  const Plan& plan(int k) {
    if (cache_[k]) return *cache_[k];
    const SweepSpec& spec = c_.spec;
    std::optional<DevicePower> power;
    if (spec.power) power = device_power(*spec.power, pr_.network);
    if (energy_search()) {
      cache_[k] = spec.energy_budget_mj ? c_.planner.plan_budget(k, pr_.link, *power, *spec.energy_budget_mj)
                                        : c_.planner.plan_energy(k, pr_.link, *power, deadline_);
      cache_[k]->objective = spec.objective;
      cache_[k]->mode = mode_;
      return *cache_[k];
    }
    plan_by_latency(k);
    if (power) apply_energy(*cache_[k], *power, pr_.link);
    return *cache_[k];
  }

 private:
  // The plan of exit k as the latency objective, the mode and the method say.
  void plan_by_latency(int k) {
    const SweepSpec& spec = c_.spec;
    if (pr_.fps) {
      StreamSpec s = spec.stream;
      s.fps = *pr_.fps;
      if (spec.cut_nodes.empty()) {
        cache_[k] = c_.planner.plan_stream(k, spec.method, pr_.link, spec.heavy, s);
      } else {
        cache_[k] = c_.planner.plan_cut(k, spec.cut_nodes, Mode::Light, pr_.link);
        apply_stream(*cache_[k], s);
      }
    } else if (!spec.cut_nodes.empty()) {
      cache_[k] = c_.planner.plan_cut(k, spec.cut_nodes, mode_, pr_.link);
    } else if (map_it_ != c_.maps.end()) {
      // The light plan read off the exit's breakpoint map (one map per delay and exit).
      cache_[k] = c_.planner.finish(k, spec.method, mode_,
                                    interval_at(map_it_->second[k], pr_.link.bandwidth_mbps).on_device, pr_.link);
      cache_[k]->candidate = cache_[k]->v_e.empty() ? Candidacy::DeviceOnly : Candidacy::Light;
    } else {
      cache_[k] = c_.planner.plan_exit(k, spec.method, mode_, pr_.link, spec.heavy, deadline_);
    }
  }
  const SweepContext& c_;
  const Pair& pr_;
  Mode mode_;
  std::vector<std::optional<Plan>> cache_;
  std::map<double, std::vector<std::vector<BandwidthInterval>>>::const_iterator map_it_;
  std::optional<double> deadline_;
};

// Plans pair i at each of its deadlines inside the shard, into c.points.
void plan_pair(SweepContext& c, size_t i) {
  const SweepSpec& spec = c.spec;
  const Pair& pr = c.pairs[i];
  LoadMetrics m = spec.metrics;
  m.bandwidth_mbps = pr.link.bandwidth_mbps;
  m.delay_ms = pr.link.delay_ms;
  PairPlans plans(c, pr, pr.fps ? Mode::Stream : resolve_mode(spec.mode, m));
  const size_t nd = c.nd, d_lo = i * nd < c.lo ? c.lo - i * nd : 0, d_hi = std::min(nd, c.hi - i * nd);
  for (size_t d = d_lo; d < d_hi; ++d) {
    PlanPoint& pt = c.points[i * nd + d - c.base];
    plans.set_deadline(spec.deadlines[d], d > d_lo && spec.deadlines[d] != spec.deadlines[d - 1]);
    pt.network = pr.network;
    pt.link = pr.link;
    pt.deadline_ms = spec.deadlines[d];
    pt.trace_time_s = pr.time_s;
    if (spec.mode == Mode::Auto && !pr.fps) pt.load_score = load_score(m);
    if (spec.fixed_exit >= 0) {
      pt.plan = plans.plan(spec.fixed_exit);
      pt.plan.meets_deadline = meets_deadline(pt.plan, pt.deadline_ms);
    } else {
      // The choice reads the cached plans; only the chosen one is copied into the point.
      const ExitChoice ch = choose_exit_index(
          spec.method, c.n_exits, [&](int k) -> const Plan& { return plans.plan(k); }, pt.deadline_ms, c.accuracies);
      pt.plan = plans.plan(ch.exit);
      pt.plan.meets_deadline = ch.meets_deadline;
    }
  }
}

// work(i) for every i in [lo, hi) on `threads` threads (in order on one); the first exception
// thrown by any call is rethrown after all threads stop.
void for_each_index(size_t lo, size_t hi, int threads, const std::function<void(size_t)>& work) {
  if (threads <= 1) {
    for (size_t i = lo; i < hi; ++i) work(i);
    return;
  }
  std::atomic<size_t> next{lo};
  std::exception_ptr failure;
  std::atomic<bool> failed{false};
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < hi && !failed;) {
        try {
          work(i);
        } catch (...) {
          if (!failed.exchange(true)) failure = std::current_exception();
        }
      }
    });
  for (auto& th : pool) th.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace

void run_sweep_chunks(const Planner& planner, const SweepSpec& spec, size_t chunk_points,
                      const std::function<void(std::vector<PlanPoint>&)>& emit) {
  SweepContext c(planner, spec);
  for (const auto& d : spec.deadlines)
    if (d && !(*d >= 0)) throw Error("--deadline", fmt::format("a deadline must be >= 0 ms (got {})", *d));
  c.nd = spec.deadlines.size();
  // The size is checked before anything per point or per pair is built.
  const size_t n_pairs =
      spec.networks.size() * std::max<size_t>(1, spec.bandwidths.size()) * std::max<size_t>(1, spec.fps.size());
  const auto range = shard_range(n_pairs * c.nd, spec.shard_index, spec.shard_count);
  c.lo = range.first;
  c.hi = range.second;
  if (c.hi - c.lo > static_cast<size_t>(std::max(0L, spec.max_points)))
    throw Error("sweep", fmt::format("{} points{} exceed the cap of {} (raise it with --max-points, or split the sweep "
                                     "with --shard I/N)",
                                     c.hi - c.lo, spec.shard_count > 1 ? " in this shard" : "", spec.max_points));
  c.pairs = sweep_pairs(spec);
  const size_t pair_lo = c.lo / c.nd, pair_hi = (c.hi + c.nd - 1) / c.nd;
  c.n_exits = static_cast<int>(planner.dag().exits.size());
  if (spec.fixed_exit >= c.n_exits) throw Error("--exit", "no such exit");
  c.accuracies = exit_accuracies(planner.dag());
  c.maps = light_maps(planner, spec, c.pairs);
  const int threads = spec.threads > 0 ? spec.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // Chunks of whole pairs: a pair's deadlines share its cached plans.
  const size_t pairs_per_chunk = std::max<size_t>(1, chunk_points / std::max<size_t>(1, c.nd));
  bool emitted = false;
  for (size_t p0 = pair_lo; p0 < pair_hi; p0 += pairs_per_chunk) {
    const size_t p1 = std::min(pair_hi, p0 + std::min(pairs_per_chunk, pair_hi - p0));
    c.base = std::max(c.lo, p0 * c.nd);
    c.points.assign(std::min(c.hi, p1 * c.nd) - c.base, PlanPoint{});
    for_each_index(p0, p1, static_cast<int>(std::min<size_t>(threads, p1 - p0)), [&](size_t i) { plan_pair(c, i); });
    emit(c.points);
    emitted = true;
  }
  if (!emitted) {
    c.points.clear();
    emit(c.points);
  }
}

std::vector<PlanPoint> run_sweep(const Planner& planner, const SweepSpec& spec) {
  std::vector<PlanPoint> all;  // one chunk holds the whole shard
  run_sweep_chunks(planner, spec, std::numeric_limits<size_t>::max(),
                   [&](std::vector<PlanPoint>& chunk) { all = std::move(chunk); });
  return all;
}

}  // namespace dapdee
