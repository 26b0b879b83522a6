#include "dapdee/plan/controller.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>


namespace dapdee {

namespace {

enum class Side { None, Device, Link };

double clamp01(double x) { return std::clamp(std::isfinite(x) ? x : 0.0, 0.0, 1.0); }

// The metrics the loop watches: how to read one from a sample, how it is normalised to a load
// in [0, 1] (1 = the device side is loaded, as planner's load_score), its base weight, and the
// side of the cost model whose prediction error raises its weight.
struct MetricRule {
  const char* name;
  std::optional<double> MetricSample::*field;
  double (*normalise)(double);
  double base_weight;
  Side side;
};

const MetricRule kRules[] = {
    {"bandwidth", &MetricSample::bandwidth_mbps, [](double b) { return b > 0 ? 1.0 - clamp01(b / 20.0) : 0.0; }, 0.15, Side::Link},
    {"delay", &MetricSample::delay_ms, [](double d) { return clamp01(d / 200.0); }, 0.10, Side::Link},
    {"cpu", &MetricSample::cpu, [](double x) { return clamp01(x); }, 0.30, Side::Device},
    {"memory", &MetricSample::memory, [](double x) { return clamp01(x); }, 0.20, Side::Device},
    {"battery", &MetricSample::battery, [](double x) { return 1.0 - clamp01(x); }, 0.10, Side::Device},
    {"priority", &MetricSample::priority, [](double x) { return 1.0 - clamp01(x); }, 0.15, Side::None},
    {"latency", &MetricSample::measured_latency_ms, [](double) { return 0.0; }, 0.0, Side::None},
};
constexpr size_t kRuleCount = sizeof(kRules) / sizeof(kRules[0]);

double sum_over(const std::vector<double>& v, const std::vector<int>& ids) {
  double s = 0;
  for (int i : ids) s += v[i];
  return s;
}

bool same_plan(const Plan& a, const Plan& b) {
  return a.exit == b.exit && a.mode == b.mode && a.v_d == b.v_d && a.v_e == b.v_e;
}

std::string join(const std::vector<std::string>& parts) {
  std::string s;
  for (const auto& p : parts) s += (s.empty() ? "" : ",") + p;
  return s;
}

}  // namespace

double Controller::Window::mean() const {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

double Controller::Window::sd() const {
  if (v.size() < 2) return 0;
  const double m = mean();
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

Controller::Controller(Dag dag, Costs costs, ControllerSetup setup, ControllerOptions opt)
    : dag_(std::move(dag)),
      base_(std::move(costs)),
      setup_(std::move(setup)),
      opt_(opt),
      bw_(opt.estimator),
      acc_(exit_accuracies(dag_)),
      now_(setup_.metrics),
      windows_(kRuleCount),
      k_(opt.k_sigma) {}

Link Controller::current_link() const {
  const auto est = bw_.estimate();
  return Link{est ? *est : setup_.bandwidth_mbps.value_or(0), delay_ ? *delay_ : setup_.delay_ms.value_or(0)};
}

void Controller::update_stage(double& corr, double& err, double measured, double base) {
  if (!(base > 0)) return;
  const double r = std::clamp(measured / base, 0.1, 10.0);
  const double lambda = opt_.ewma;
  err = (1 - lambda) * err + lambda * std::min(1.0, std::abs(r / corr - 1.0));
  corr = (1 - lambda) * corr + lambda * r;
}

// Step 20: the measurements of the previous line's plan correct the cost model, the exit's
// accuracy and the trigger's k.
void Controller::apply_feedback(const MetricSample& s, bool& missed) {
  if (!held_) return;
  const double lambda = opt_.ewma;
  if (s.measured_accuracy) {
    auto& a = acc_[held_->exit];
    a = a ? (1 - lambda) * *a + lambda * *s.measured_accuracy : *s.measured_accuracy;
    dag_.exits[held_->exit].accuracy = a;
  }
  // Base (uncorrected) predictions of the previous plan at the link the device saw.
  const double bd = sum_over(base_.t_device, held_->v_d), be = sum_over(base_.t_edge, held_->v_e);
  const double bytes = sum_over(base_.bytes, held_->v_s);
  const double bw = s.bandwidth_mbps.value_or(held_link_.bandwidth_mbps);
  const double bt = bytes > 0 && bw > 0 ? bytes * 8.0 / (bw * 1e3) : 0;
  double unused = 0;
  if (s.measured_t_d || s.measured_t_t || s.measured_t_e) {
    if (s.measured_t_d) update_stage(corr_.device, err_device_, *s.measured_t_d, bd);
    if (s.measured_t_t) update_stage(corr_.link, err_link_, *s.measured_t_t, bt);
    if (s.measured_t_e) update_stage(corr_.edge, unused, *s.measured_t_e, be);
  } else if (s.measured_latency_ms) {
    // One end-to-end figure: the same ratio for every stage the plan used (predicted > 0), the
    // delay taken off first; a stage the frame never ran keeps its factor.
    const double delay = held_->v_s.empty() ? 0 : s.delay_ms.value_or(held_link_.delay_ms);
    const double m = std::max(0.0, *s.measured_latency_ms - delay);
    const double base = bd + bt + be;
    if (bd > 0) update_stage(corr_.device, err_device_, m, base);
    if (bt > 0) update_stage(corr_.link, err_link_, m, base);
    if (be > 0) update_stage(corr_.edge, unused, m, base);
  }
  if (s.measured_latency_ms && setup_.deadline_ms) {
    missed = *s.measured_latency_ms > *setup_.deadline_ms;
    k_ = missed ? std::max(opt_.k_min, k_ - 0.25) : std::min(opt_.k_sigma, k_ + 0.05);
  }
}

// New values: the trigger is checked against each metric's window before the value joins it.
std::string Controller::observe(const MetricSample& s) {
  std::vector<std::string> fired;
  for (size_t i = 0; i < kRuleCount; ++i) {
    const auto& x = s.*kRules[i].field;
    if (!x) continue;
    Window& w = windows_[i];
    if (static_cast<int>(w.v.size()) >= opt_.min_history) {
      const double mu = w.mean(), sigma = std::max(w.sd(), opt_.sigma_floor * std::abs(mu));
      if (std::abs(*x - mu) > k_ * sigma) fired.emplace_back(kRules[i].name);
    }
    w.v.push_back(*x);
    while (static_cast<int>(w.v.size()) > opt_.window) w.v.pop_front();
  }
  if (s.bandwidth_mbps) bw_.add(*s.bandwidth_mbps);
  if (s.delay_ms) delay_ = *s.delay_ms;
  if (s.cpu) now_.cpu = *s.cpu;
  if (s.memory) now_.memory = *s.memory;
  if (s.battery) now_.battery = *s.battery;
  if (s.priority) now_.priority = *s.priority;
  return join(fired);
}

// Dynamic weights: w_i = base_i * (1 + v_i) * (1 + e_i), normalised to sum 1, where v_i is the
// coefficient of variation of the normalised metric over its window (at most 1) and e_i the
// running prediction error of the side it drives (at most 1).
double Controller::load_now() {
  const Link link = current_link();
  const double current[] = {link.bandwidth_mbps, link.delay_ms, now_.cpu, now_.memory, now_.battery, now_.priority, 0};
  double num = 0, den = 0;
  for (size_t i = 0; i < kRuleCount; ++i) {
    if (kRules[i].base_weight <= 0) continue;
    Window norm;
    for (double x : windows_[i].v) norm.v.push_back(kRules[i].normalise(x));
    const double v = norm.v.size() < 2 ? 0 : std::min(1.0, norm.sd() / std::max(norm.mean(), 0.05));
    const double e = kRules[i].side == Side::Device ? err_device_ : kRules[i].side == Side::Link ? err_link_ : 0;
    const double w = kRules[i].base_weight * (1 + v) * (1 + e);
    num += w * kRules[i].normalise(current[i]);
    den += w;
  }
  return den > 0 ? num / den : 0;
}

// Auto mode with hysteresis around 0.4; priority 1.0 forces light at once.
Mode Controller::next_mode(bool& forced_light) {
  load_ = load_now();
  if (setup_.mode != Mode::Auto) return setup_.mode;
  if (now_.priority >= 1.0) {
    forced_light = held_ && held_->mode == Mode::Heavy;
    return Mode::Light;
  }
  if (!held_) return load_ < 0.4 ? Mode::Light : Mode::Heavy;
  if (held_->mode == Mode::Light) return load_ >= 0.4 + opt_.mode_band ? Mode::Heavy : Mode::Light;
  return load_ < 0.4 - opt_.mode_band ? Mode::Light : Mode::Heavy;
}

Costs Controller::corrected_costs() const {
  Costs c = base_;
  for (double& x : c.t_device) x *= corr_.device;
  for (double& x : c.t_edge) x *= corr_.edge;
  for (double& x : c.bytes) x *= corr_.link;
  return c;
}

Plan Controller::reevaluate(const Plan& p, const Costs& costs, const Link& link) const {
  Plan q = p;
  const std::vector<char> in_gk = ancestors_of(dag_, dag_.exits[p.exit].node_ids);
  std::vector<char> on_device(dag_.nodes.size(), 0);
  for (int v : p.v_d) on_device[v] = 1;
  const Times t = evaluate_partition(dag_, costs, in_gk, on_device, link.bandwidth_mbps);
  q.t_d = t.t_d, q.t_t = t.t_t, q.t_e = t.t_e;
  q.latency_ms = t.t_d + t.t_t + t.t_e + (t.sends ? link.delay_ms : 0.0);
  q.t_max = std::max({t.t_d, t.t_t, t.t_e});
  q.meets_deadline = !setup_.deadline_ms || q.latency_ms <= *setup_.deadline_ms;
  return q;
}

// Hysteresis of a switch that is not forced: a plan that meets the deadline is left only for a
// more accurate exit or a gain of `switch_gain` in the mode's objective.
bool Controller::adopt(const Plan& cand, const Plan& held) const {
  const double gain = 1.0 - opt_.switch_gain;
  if (!held.meets_deadline) return cand.meets_deadline || cand.latency_ms < held.latency_ms * gain;
  if (!cand.meets_deadline) return false;
  const bool known = std::all_of(acc_.begin(), acc_.end(), [](const auto& a) { return a.has_value(); });
  const double qc = known ? *acc_[cand.exit] : cand.exit, qh = known ? *acc_[held.exit] : held.exit;
  if (qc != qh) return qc > qh;
  return cand.mode == Mode::Heavy ? cand.t_max < held.t_max * gain : cand.latency_ms < held.latency_ms * gain;
}

Decision Controller::step(const MetricSample& s) {
  // Phase 0: a link must be known; checked first so that a refused sample changes nothing.
  if (!(s.bandwidth_mbps || bw_.estimate() || setup_.bandwidth_mbps) || !(s.delay_ms || delay_ || setup_.delay_ms))
    throw Error("no bandwidth or delay known yet: give --network, --bandwidth and --delay, or "
                "'bandwidth_mbps' and 'delay_ms' in the first sample");
  // Phase 1: feedback on the previous plan; phase 2: new values and the mu +- k sigma trigger.
  bool missed = false;
  apply_feedback(s, missed);
  const std::string fired = observe(s);
  const Link link = current_link();
  // Phase 3: the load score is recomputed only on a trigger, at the first sample, under
  // priority 1.0 or every `period` samples; the mode follows it with hysteresis.
  ++since_switch_, ++since_score_;
  std::vector<std::string> why;
  if (!held_) why.emplace_back("initial");
  if (!fired.empty()) why.push_back(fired);
  const bool periodic = held_ && opt_.period > 0 && since_score_ >= opt_.period;
  if (periodic && fired.empty()) why.emplace_back("period");
  bool forced_light = false;
  Mode mode = held_ ? held_->mode : Mode::Light;
  if (!held_ || !fired.empty() || periodic || now_.priority >= 1.0) {
    mode = next_mode(forced_light);
    since_score_ = 0;
  }
  if (forced_light) why.emplace_back("priority");
  else if (held_ && mode != held_->mode) why.emplace_back("mode");
  // Phase 4: Algorithm 4's exit walk at the current estimate, every sample; a forced switch
  // ignores the dwell, any other goes through the hysteresis.
  const Costs costs = corrected_costs();
  std::optional<Plan> held;
  if (held_) held = reevaluate(*held_, costs, link);
  if (held && !held->meets_deadline) why.emplace_back("deadline");
  if (missed) why.emplace_back("miss");
  Planner planner(dag_, costs);
  const Plan cand = planner.plan(setup_.method, mode, link, setup_.deadline_ms, setup_.heavy, &acc_);
  const bool must = !held || mode != held->mode;
  const bool forced = must || !held->meets_deadline || missed;
  const bool take = (!held || !same_plan(cand, *held)) &&
                    (must || ((forced || since_switch_ >= opt_.dwell) && adopt(cand, *held)));
  if (take && !forced) why.emplace_back("upgrade");
  Decision d;
  d.t_s = s.t_s;
  d.trigger = join(why);
  d.replanned = take;
  if (take) since_switch_ = 0;
  held_ = take ? cand : *held;
  held_->sent_bytes = sum_over(base_.bytes, held_->v_s);  // the real bytes, not the corrected ones
  held_link_ = link;
  d.point.network = setup_.network;
  d.point.link = link;
  d.point.deadline_ms = setup_.deadline_ms;
  if (setup_.mode == Mode::Auto) d.point.load_score = load_;
  d.point.plan = *held_;
  return d;
}

}  // namespace dapdee
