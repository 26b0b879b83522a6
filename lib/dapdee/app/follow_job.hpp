// `dapdee-plan --follow` as one library call: samples in, one plan line per sample out.
#pragma once

#include <iosfwd>
#include <string>

#include "dapdee/app/plan_job.hpp"

namespace dapdee {

// Reads dapdee-metrics/1 samples from `in` and writes one dapdee-plan/1 line (with t_s,
// replanned, trigger) to `out` after each, flushed. Warnings go to `diag`. Throws Error on a
// bad option or input before the first line, and Error("-", "line N: ...") on a bad sample
// (the loop stops there; the lines already written stand).
void run_follow(const PlanJob& job, std::istream& in, std::ostream& out, std::ostream& diag);

// The same, writing to `out_path` ("-" = stdout; a file is written line by line, not atomically).
// Throws Error(out_path, ...) when the file cannot be opened, and as above.
void run_follow(const PlanJob& job, const std::string& out_path, std::istream& in, std::ostream& diag);

}  // namespace dapdee
