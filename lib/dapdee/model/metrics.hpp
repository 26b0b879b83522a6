// `dapdee-metrics/1` samples (one JSON object a line) for `dapdee-plan --follow`: parsing and a
// line reader that names the line of every bad sample.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>

#include "dapdee/support/error.hpp"
#include "dapdee/support/formats.hpp"

namespace dapdee {

// One sample (docs/FORMATS.md, "dapdee-metrics/1"); every field but `t_s` is optional. The measured fields refer to the
// plan of the previous output line.
struct MetricSample {
  double t_s = 0;
  std::optional<double> bandwidth_mbps, delay_ms;
  std::optional<double> cpu, memory, battery, priority;
  std::optional<double> measured_latency_ms, measured_t_d, measured_t_t, measured_t_e;
  std::optional<double> measured_accuracy;
};

// Parses one line; the failure says which field is wrong and why (not JSON, NaN/Infinity,
// wrong type, out of range, wrong format tag, an unknown key named with the closest known one).
// `null` means absent.
Parsed<MetricSample> parse_metric_line(const std::string& line);

// What the reader does with a bad line: stop with an Error, or warn and skip it.
enum class BadSample { Stop, Skip };

// Reads samples line by line (blank lines ignored) and checks that time never goes backwards.
class MetricReader {
 public:
  // `where` names the stream in messages ("-" for stdin); `warn` receives skip warnings.
  MetricReader(std::istream& in, std::string where, BadSample policy, std::ostream& warn);

  // The next good sample, or nullopt at the end of the stream. With BadSample::Stop a bad line
  // throws Error(where, "line N: ..."); with Skip it prints "warning: ... line N: ..." and goes on.
  std::optional<MetricSample> next();

  // Number of the last line read (1-based).
  size_t line_number() const { return line_no_; }

 private:
  std::istream& in_;
  std::string where_;
  BadSample policy_;
  std::ostream& warn_;
  size_t line_no_ = 0;
  std::optional<double> last_t_s_;
};

}  // namespace dapdee
