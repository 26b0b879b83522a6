// Whether a measured profile agrees with itself: the sum of its node medians (plus the fixed cost
// of a forward pass) against its whole-model median, and the re-measuring that tries to make it so.
#pragma once

#include <functional>
#include <string>

namespace dapdee {

// One measurement's two figures of the same forward pass, ms.
struct SumVsWhole {
  double node_sum_ms = 0;  // sum of the node medians
  double fixed_ms = 0;     // the fixed cost of a forward pass (0 until it is measured: docs/COST-MODEL.md)
  double whole_ms = 0;     // the whole-model median
  // (node_sum + fixed) / whole - 1, in percent; 0 when whole is 0. Never fails.
  double gap_pct() const;
  // |gap| <= tolerance_pct (the 10% of kSumVsWholeTolerance by default). Never fails.
  bool agrees(double tolerance_pct) const;
};

// The outcome of measuring until the figures agree: the last measurement's figures and how many
// measurements were taken.
struct Consistency {
  SumVsWhole last;
  int measurements = 0;
  double tolerance_pct = 10;
  bool consistent() const { return last.agrees(tolerance_pct); }
};

// Calls `measure` once, then again while its figures disagree by more than tolerance_pct, at most
// `max_remeasures` more times; each call replaces the previous measurement. Throws what `measure`
// throws, and Error("--remeasure", ...) when max_remeasures < 0.
Consistency measure_until_consistent(const std::function<SumVsWhole()>& measure, int max_remeasures,
                                     double tolerance_pct = 10);

// The profile's "consistency" object as JSON text: consistent, node_sum_ms, fixed_ms, whole_ms,
// gap_pct, tolerance_pct, measurements. Never fails.
std::string consistency_json(const Consistency& c);

// The warning (or, under --strict, the error) an inconsistent profile deserves, as one sentence
// naming both figures. Never fails.
std::string consistency_message(const Consistency& c);

}  // namespace dapdee
