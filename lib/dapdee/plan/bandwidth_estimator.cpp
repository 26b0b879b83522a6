#include "dapdee/plan/bandwidth_estimator.hpp"

#include <algorithm>
#include <cmath>

namespace dapdee {

BandwidthEstimator::BandwidthEstimator(EstimatorOptions opt) : opt_(opt) { opt_.window = std::max(1, opt_.window); }

void BandwidthEstimator::add(double mbps) {
  if (!(std::isfinite(mbps) && mbps > 0)) return;
  samples_.push_back(mbps);
  while (static_cast<int>(samples_.size()) > opt_.window) samples_.pop_front();
}

std::optional<double> BandwidthEstimator::estimate() const {
  if (samples_.empty()) return std::nullopt;
  double inv = 0;
  for (double b : samples_) inv += 1.0 / b;
  const double hm = static_cast<double>(samples_.size()) / inv;
  return opt_.rule == EstimateRule::HarmonicMeanCappedByLast ? std::min(hm, samples_.back()) : hm;
}

}  // namespace dapdee
