// The bandwidth a controller plans for, estimated from the throughput samples seen so far.
#pragma once

#include <deque>
#include <optional>

namespace dapdee {

// How the estimate is formed from the samples of the window.
enum class EstimateRule {
  HarmonicMean,            // as adaptive video players such as FESTIVE: a dip weighs more than a spike
  HarmonicMeanCappedByLast  // and never above the latest sample: a drop is followed at once,
                            // a rise believed only as the window fills
};

// The estimator's settings (docs/CONTROLLER.md).
struct EstimatorOptions {
  int window = 5;
  EstimateRule rule = EstimateRule::HarmonicMeanCappedByLast;
};

// The bandwidth to plan for from the last `window` throughput samples.
class BandwidthEstimator {
 public:
  // A window below 1 is taken as 1. Never throws.
  explicit BandwidthEstimator(EstimatorOptions opt = {});

  // Adds one sample in Mbit/s; ignores values that are not finite and > 0. Never throws.
  void add(double mbps);

  // The estimate in Mbit/s, nullopt before the first sample. Never throws.
  std::optional<double> estimate() const;

  // Number of samples held (at most the window). Never fails.
  int size() const { return static_cast<int>(samples_.size()); }

 private:
  EstimatorOptions opt_;
  std::deque<double> samples_;
};

}  // namespace dapdee
