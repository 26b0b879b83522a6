// The bandwidth a controller plans for, estimated from the throughput samples seen so far.
#pragma once

#include <deque>
#include <optional>

namespace dapdee {

// Harmonic mean of the last `window` samples (as adaptive video players such as FESTIVE do:
// one short dip weighs more than one spike), capped by the latest sample when `cap_by_last`
// so that a drop is followed at once while a rise is believed only as the window fills.
struct EstimatorOptions {
  int window = 5;
  bool cap_by_last = true;
};

class BandwidthEstimator {
 public:
  explicit BandwidthEstimator(EstimatorOptions opt = {});

  // Adds one sample in Mbit/s; ignores values that are not finite and > 0. Never throws.
  void add(double mbps);

  // The estimate in Mbit/s, nullopt before the first sample. Never throws.
  std::optional<double> estimate() const;

  // Number of samples held (at most the window).
  int size() const { return static_cast<int>(samples_.size()); }

 private:
  EstimatorOptions opt_;
  std::deque<double> samples_;
};

}  // namespace dapdee
