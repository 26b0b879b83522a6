#include "dapdee/plan/breakpoints.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "dapdee/support/error.hpp"

namespace dapdee {

namespace {

// A partition as a line over x = 1/B: latency = a + b x.
struct Line {
  std::vector<char> on_device;
  double a = 0, b = 0, t_d = 0, t_e = 0, bytes = 0;
  double at(double x) const { return b == 0 ? a : a + b * x; }
};

// The optimal light partition at x = 1/B: the min cut that sends something, or device-only.
class Oracle {
 public:
  Oracle(const Planner& p, int exit, double delay) : p_(p), exit_(exit), delay_(delay) {
    const auto gk = exit_subgraph(p.dag(), exit);
    device_only_ = line_of(gk);
  }
  Line operator()(double x) {
    ++cuts_;
    const double bw = x > 0 ? 1.0 / x : INFINITY;
    const auto cut = p_.light_cut(exit_, bw);
    if (cut.empty()) return device_only_;
    Line l = line_of(cut);
    return l.at(x) < device_only_.at(x) ? l : device_only_;
  }
  long cuts() const { return cuts_; }

 private:
  Line line_of(const std::vector<char>& on_device) const {
    const Plan plan = p_.finish(exit_, Method::Dapdee, Mode::Light, on_device, Link{1.0, delay_});
    Line l;
    l.on_device = on_device;
    l.t_d = plan.t_d;
    l.t_e = plan.t_e;
    l.bytes = plan.sent_bytes;
    l.b = plan.sent_bytes * 8.0 / 1000.0;
    l.a = plan.t_d + plan.t_e + (plan.v_s.empty() ? 0.0 : delay_);
    return l;
  }
  const Planner& p_;
  int exit_;
  double delay_;
  Line device_only_;
  long cuts_ = 0;
};

}  // namespace

std::vector<BandwidthInterval> light_breakpoints(const Planner& planner, int exit, double delay, double bw_lo,
                                                 double bw_hi, long* cuts) {
  if (!(bw_lo > 0 && bw_hi > bw_lo))
    throw Error("--bandwidth", fmt::format("breakpoints need a range LO:HI with 0 < LO < HI (got {}:{})", bw_lo, bw_hi));
  Oracle oracle(planner, exit, delay);
  const double x_lo = std::isinf(bw_hi) ? 0.0 : 1.0 / bw_hi, x_hi = 1.0 / bw_lo;
  // Breakpoints (x, line right of x) found by recursive intersection of the envelope's ends.
  std::vector<std::pair<double, Line>> found;
  std::function<void(double, const Line&, double, const Line&, int)> search =
      [&](double xl, const Line& ll, double xr, const Line& lr, int depth) {
        if (ll.on_device == lr.on_device || depth > 200) return;
        if (!(ll.b > lr.b)) return;  // equal slopes: the two are tied across the interval
        const double x = std::clamp((lr.a - ll.a) / (ll.b - lr.b), xl, xr);
        Line mid = oracle(x);
        const double v = mid.at(x), ref = ll.at(x);
        if (v >= ref - 1e-12 * std::max(1.0, std::fabs(ref)) || x <= xl || x >= xr) {
          found.emplace_back(x, lr);
          return;
        }
        search(xl, ll, x, mid, depth + 1);
        search(x, mid, xr, lr, depth + 1);
      };
  const Line first = oracle(x_lo), last = oracle(x_hi);
  search(x_lo, first, x_hi, last, 0);
  std::sort(found.begin(), found.end(), [](const auto& p, const auto& q) { return p.first < q.first; });
  // Pieces in x order, then turned into bandwidth intervals in increasing B.
  std::vector<std::pair<double, Line>> pieces{{x_lo, first}};
  for (auto& f : found)
    if (pieces.back().second.on_device != f.second.on_device) pieces.push_back(std::move(f));
  std::vector<BandwidthInterval> map;
  for (size_t i = pieces.size(); i-- > 0;) {
    const double x_start = pieces[i].first, x_end = i + 1 < pieces.size() ? pieces[i + 1].first : x_hi;
    const Line& l = pieces[i].second;
    BandwidthInterval iv;
    iv.exit = exit;
    iv.bw_lo = i + 1 < pieces.size() ? 1.0 / x_end : bw_lo;
    iv.bw_hi = x_start > 0 ? 1.0 / x_start : INFINITY;
    if (i == 0) iv.bw_hi = bw_hi;
    iv.on_device = l.on_device;
    iv.a = l.a;
    iv.b = l.b;
    iv.t_d = l.t_d;
    iv.t_e = l.t_e;
    iv.sent_bytes = l.bytes;
    if (iv.bw_hi > iv.bw_lo) map.push_back(std::move(iv));
  }
  if (cuts) *cuts = oracle.cuts();
  return map;
}

const BandwidthInterval& interval_at(const std::vector<BandwidthInterval>& map, double bw) {
  auto it = std::upper_bound(map.begin(), map.end(), bw, [](double b, const BandwidthInterval& iv) { return b < iv.bw_lo; });
  return it == map.begin() ? map.front() : *std::prev(it);
}

}  // namespace dapdee
