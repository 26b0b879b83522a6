// Summary statistics of repeated timings.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

namespace dapdee {

// Median, mean, 10th and 90th percentiles (linear interpolation) and coefficient of variation.
struct Summary {
  double median = 0, mean = 0, p10 = 0, p90 = 0, cv = 0;
};

// The p-quantile (0 <= p <= 1) of sorted samples, interpolated linearly; 0 for none. Never fails.
inline double quantile_sorted(const std::vector<double>& x, double p) {
  if (x.empty()) return 0;
  const double pos = std::clamp(p, 0.0, 1.0) * static_cast<double>(x.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, x.size() - 1);
  return x[lo] + (pos - static_cast<double>(lo)) * (x[hi] - x[lo]);
}

// Summarises samples; an empty input gives all zeros (never fails).
inline Summary summarize(std::vector<double> x) {
  Summary s;
  if (x.empty()) return s;
  std::sort(x.begin(), x.end());
  auto q = [&](double p) { return quantile_sorted(x, p); };
  s.median = q(0.5);
  s.p10 = q(0.1);
  s.p90 = q(0.9);
  double sum = 0;
  for (double v : x) sum += v;
  s.mean = sum / static_cast<double>(x.size());
  double var = 0;
  for (double v : x) var += (v - s.mean) * (v - s.mean);
  var /= static_cast<double>(x.size() > 1 ? x.size() - 1 : 1);
  s.cv = s.mean > 0 ? std::sqrt(var) / s.mean : 0;
  return s;
}

}  // namespace dapdee
