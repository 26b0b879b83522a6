#include "dapdee/sweep.hpp"

#include <fmt/format.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <thread>

namespace dapdee {

namespace {
Parsed<double> parse_number(const std::string& s) {
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

std::vector<PlanPoint> run_sweep(const Planner& planner, const SweepSpec& spec) {
  struct Pair {
    std::string network;
    Link link;
    std::optional<double> time_s;
  };
  std::vector<Pair> pairs;
  for (const auto& net : spec.networks) {
    const double delay = spec.delay_ms.value_or(net.delay_ms);
    if (spec.bandwidths.empty()) {
      pairs.push_back({net.name, {net.uplink_mbps, delay}, std::nullopt});
    } else {
      for (size_t i = 0; i < spec.bandwidths.size(); ++i)
        pairs.push_back({net.name, {spec.bandwidths[i], delay},
                         i < spec.trace_times_s.size() ? std::optional<double>(spec.trace_times_s[i]) : std::nullopt});
    }
  }
  for (const auto& p : pairs) check_link(p.link.bandwidth_mbps, p.link.delay_ms, p.network);
  for (const auto& d : spec.deadlines)
    if (d && !(*d >= 0)) throw Error("--deadline", fmt::format("a deadline must be >= 0 ms (got {})", *d));
  const size_t nd = spec.deadlines.size();
  std::vector<PlanPoint> points(pairs.size() * nd);
  const int n_exits = static_cast<int>(planner.dag().exits.size());
  if (spec.fixed_exit >= n_exits) throw Error("--exit", "no such exit");
  const auto accuracies = exit_accuracies(planner.dag());
  auto work = [&](size_t i) {
    const Pair& pr = pairs[i];
    LoadMetrics m = spec.metrics;
    m.bandwidth_mbps = pr.link.bandwidth_mbps;
    m.delay_ms = pr.link.delay_ms;
    const Mode mode = resolve_mode(spec.mode, m);
    std::vector<std::optional<Plan>> cache(n_exits);
    // Heavy dapdee plans depend on the deadline; every other plan is reused across deadlines.
    const bool per_deadline = mode == Mode::Heavy && spec.method == Method::Dapdee && spec.cut_nodes.empty();
    std::optional<double> deadline;
    auto plan_of = [&](int k) {
      if (!cache[k])
        cache[k] = spec.cut_nodes.empty() ? planner.plan_exit(k, spec.method, mode, pr.link, spec.heavy, deadline)
                                          : planner.plan_cut(k, spec.cut_nodes, mode, pr.link);
      return *cache[k];
    };
    for (size_t d = 0; d < nd; ++d) {
      PlanPoint& pt = points[i * nd + d];
      deadline = spec.deadlines[d];
      if (per_deadline && d > 0 && spec.deadlines[d] != spec.deadlines[d - 1])
        for (auto& c : cache) c.reset();
      pt.network = pr.network;
      pt.link = pr.link;
      pt.deadline_ms = spec.deadlines[d];
      pt.trace_time_s = pr.time_s;
      if (spec.mode == Mode::Auto) pt.load_score = load_score(m);
      if (spec.fixed_exit >= 0) {
        pt.plan = plan_of(spec.fixed_exit);
        pt.plan.meets_deadline = !pt.deadline_ms || pt.plan.latency_ms <= *pt.deadline_ms;
      } else {
        pt.plan = choose_exit(spec.method, n_exits, plan_of, pt.deadline_ms, accuracies);
      }
    }
  };
  int threads = spec.threads > 0 ? spec.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = static_cast<int>(std::min<size_t>(threads, pairs.size()));
  if (threads <= 1) {
    for (size_t i = 0; i < pairs.size(); ++i) work(i);
    return points;
  }
  std::atomic<size_t> next{0};
  std::exception_ptr failure;
  std::atomic<bool> failed{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < pairs.size() && !failed;) {
        try {
          work(i);
        } catch (...) {
          if (!failed.exchange(true)) failure = std::current_exception();
        }
      }
    });
  for (auto& th : pool) th.join();
  if (failure) std::rethrow_exception(failure);
  return points;
}

}  // namespace dapdee
