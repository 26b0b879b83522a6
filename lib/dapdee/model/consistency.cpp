#include "dapdee/model/consistency.hpp"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "dapdee/support/error.hpp"

namespace dapdee {

double SumVsWhole::gap_pct() const { return whole_ms > 0 ? 100.0 * ((node_sum_ms + fixed_ms) / whole_ms - 1.0) : 0.0; }

bool SumVsWhole::agrees(double tolerance_pct) const { return std::fabs(gap_pct()) <= tolerance_pct; }

Consistency measure_until_consistent(const std::function<SumVsWhole()>& measure, int max_remeasures,
                                     double tolerance_pct) {
  if (max_remeasures < 0) throw Error("--remeasure", "must be >= 0");
  Consistency c;
  c.tolerance_pct = tolerance_pct;
  do {
    c.last = measure();
    ++c.measurements;
  } while (!c.consistent() && c.measurements <= max_remeasures);
  return c;
}

std::string consistency_json(const Consistency& c) {
  const nlohmann::ordered_json j = {{"consistent", c.consistent()},  {"node_sum_ms", c.last.node_sum_ms},
                                    {"fixed_ms", c.last.fixed_ms},   {"whole_ms", c.last.whole_ms},
                                    {"gap_pct", c.last.gap_pct()},   {"tolerance_pct", c.tolerance_pct},
                                    {"measurements", c.measurements}};
  return j.dump();
}

std::string consistency_message(const Consistency& c) {
  return fmt::format(
      "inconsistent profile: the node sum{} ({:.3f} ms) and the whole-model median ({:.3f} ms) differ by {:+.1f}% "
      "after {} "
      "measurement(s) (tolerance {:.0f}%); the planner charges the node sum, so plans may be off by as much",
      c.last.fixed_ms > 0 ? " plus the fixed cost" : "", c.last.node_sum_ms + c.last.fixed_ms, c.last.whole_ms,
      c.last.gap_pct(), c.measurements, c.tolerance_pct);
}

}  // namespace dapdee
