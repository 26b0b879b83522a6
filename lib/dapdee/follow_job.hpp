// `dapdee-plan --follow` as one library call: samples in, one plan line per sample out.
#pragma once

#include <iosfwd>

#include "dapdee/plan_job.hpp"

namespace dapdee {

// Reads dapdee-metrics/1 samples from `in` and writes one dapdee-plan/1 line (with t_s,
// replanned, trigger) to `out` after each, flushed. Warnings go to `diag`. Throws Error on a
// bad option or input before the first line, and Error("-", "line N: ...") on a bad sample
// (the loop stops there; the lines already written stand).
void run_follow(const PlanJob& job, std::istream& in, std::ostream& out, std::ostream& diag);

}  // namespace dapdee
