// Algorithm 4 online: the controller behind `dapdee-plan --follow` (docs/CONTROLLER.md). It takes
// one dapdee-metrics/1 sample at a time and answers with the plan to run next.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "dapdee/model/dag.hpp"
#include "dapdee/model/metrics.hpp"
#include "dapdee/plan/bandwidth_estimator.hpp"
#include "dapdee/plan/planner.hpp"
#include "dapdee/plan/sweep.hpp"

namespace dapdee {

// Tuning of the loop; the defaults are the documented ones (docs/CONTROLLER.md).
struct ControllerOptions {
  int window = 10;            // samples in each metric's sliding window (trigger and weights)
  int min_history = 4;        // values a window needs before its trigger may fire
  double k_sigma = 2.0;       // the trigger fires outside mu +- k sigma; k adapts (step 20)
  double k_min = 1.0;         // lowest k after missed deadlines
  double sigma_floor = 0.05;  // sigma is taken as at least this fraction of |mu|
  int dwell = 3;              // samples a plan is held before a switch that is not forced
  double mode_band = 0.05;    // hysteresis of the load score around 0.4 (auto mode)
  double switch_gain = 0.05;  // a switch that is not forced must gain this fraction of latency/T_max
  int period = 10;            // recompute the load score at least every `period` samples (0: only on triggers)
  double ewma = 0.3;          // weight of a new measurement in corrections and accuracies
  EstimatorOptions estimator;  // the bandwidth estimate (harmonic mean of 5, capped by the latest)
};

// What the controller plans for, fixed for a run.
struct ControllerSetup {
  Method method = Method::Dapdee;
  Mode mode = Mode::Auto;
  std::optional<double> deadline_ms;
  HeavyOptions heavy;
  std::string network = "follow";                 // the `network` field of the output lines
  std::optional<double> bandwidth_mbps, delay_ms;  // until a sample carries them
  LoadMetrics metrics;                             // cpu, memory, battery, priority until sampled
};

// Multiplicative corrections of the cost model learned from measurements (1 = the profiles).
struct Corrections {
  double device = 1, link = 1, edge = 1;
};

// The answer to one sample.
struct Decision {
  PlanPoint point;      // the plan to run next, its predictions at the current estimate
  double t_s = 0;
  bool replanned = false;  // the plan differs from the previous line's (or is the first)
  std::string trigger;     // the reasons that fired, comma-separated ("" when none did)
};

// Algorithm 4 as a loop over samples; holds the plan in force and everything learned so far.
class Controller {
 public:
  // Takes its own copy of the DAG (accuracies are updated in it) and the base costs. Never throws.
  Controller(Dag dag, Costs costs, ControllerSetup setup, ControllerOptions opt = {});
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // One step of the loop; depends only on this and earlier samples. Throws Error (and changes
  // nothing) when neither the setup nor any sample so far gives a bandwidth and a delay.
  Decision step(const MetricSample& s);

  // The DAG with the accuracies updated so far, the cost corrections, and the trigger's current
  // k. Never fail.
  const Dag& dag() const { return dag_; }
  const Corrections& corrections() const { return corr_; }
  double k_sigma() const { return k_; }

 private:
  struct Window {
    std::deque<double> v;
    double mean() const;
    double sd() const;
  };

  void apply_feedback(const MetricSample& s, bool& missed);
  void update_stage(double& corr, double& err, double measured, double base);
  std::string observe(const MetricSample& s);
  double load_now();
  Mode next_mode(bool& forced_light);
  Costs corrected_costs() const;
  Plan reevaluate(const Plan& p, const Costs& costs, const Link& link) const;
  bool adopt(const Plan& cand, const Plan& held) const;
  Link current_link() const;

  Dag dag_;
  Costs base_;
  ControllerSetup setup_;
  ControllerOptions opt_;
  BandwidthEstimator bw_;
  std::optional<double> delay_;
  std::vector<std::optional<double>> acc_;
  LoadMetrics now_;                      // latest cpu, memory, battery, priority
  std::vector<Window> windows_;          // one per tracked metric (kMetrics order)
  Corrections corr_;
  double err_device_ = 0, err_link_ = 0;  // EWMA of |measured/predicted - 1| per side
  double k_;
  std::optional<Plan> held_;
  Link held_link_;
  double load_ = 0;                      // the load score of the latest step
  int since_switch_ = 0, since_score_ = 0;
};

}  // namespace dapdee
