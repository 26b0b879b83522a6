#include "dapdee/model/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <istream>
#include <nlohmann/json.hpp>
#include <ostream>

#include "dapdee/support/suggest.hpp"

namespace dapdee {

namespace {

enum class Range { NonNegative, Positive, Unit };

struct FieldRule {
  const char* name;
  std::optional<double> MetricSample::*field;
  Range range;
};

// Every optional field of a sample and the values it accepts.
constexpr FieldRule kFields[] = {
    {"bandwidth_mbps", &MetricSample::bandwidth_mbps, Range::Positive},
    {"delay_ms", &MetricSample::delay_ms, Range::NonNegative},
    {"cpu", &MetricSample::cpu, Range::Unit},
    {"memory", &MetricSample::memory, Range::Unit},
    {"battery", &MetricSample::battery, Range::Unit},
    {"priority", &MetricSample::priority, Range::Unit},
    {"measured_latency_ms", &MetricSample::measured_latency_ms, Range::NonNegative},
    {"measured_t_d", &MetricSample::measured_t_d, Range::NonNegative},
    {"measured_t_t", &MetricSample::measured_t_t, Range::NonNegative},
    {"measured_t_e", &MetricSample::measured_t_e, Range::NonNegative},
    {"measured_accuracy", &MetricSample::measured_accuracy, Range::Unit},
};

const char* range_text(Range r) {
  switch (r) {
    case Range::NonNegative: return "a finite number >= 0";
    case Range::Positive: return "a finite number > 0";
    case Range::Unit: return "a number in [0, 1]";
  }
  return "";
}

bool in_range(double x, Range r) {
  if (!std::isfinite(x)) return false;
  switch (r) {
    case Range::NonNegative: return x >= 0;
    case Range::Positive: return x > 0;
    case Range::Unit: return x >= 0 && x <= 1;
  }
  return false;
}

// One numeric field: absent or null -> nullopt; anything else must be a number in range.
Parsed<std::optional<double>> number_field(const nlohmann::json& j, const char* name, Range r) {
  using R = Parsed<std::optional<double>>;
  const auto it = j.find(name);
  if (it == j.end() || it->is_null()) return std::optional<double>{};
  if (!it->is_number())
    return R::failure(fmt::format("'{}' must be {} (got {} {})", name, range_text(r), it->type_name(), it->dump()));
  const double x = it->get<double>();
  if (!in_range(x, r)) return R::failure(fmt::format("'{}' must be {} (got {})", name, range_text(r), it->dump()));
  return std::optional<double>{x};
}

// The first key of a sample that is no field of dapdee-metrics/1, named with the closest one; ""
// when every key is known.
std::string unknown_key(const nlohmann::json& j) {
  std::vector<std::string> known{"format", "t_s"};
  for (const FieldRule& f : kFields) known.emplace_back(f.name);
  for (auto it = j.begin(); it != j.end(); ++it)
    if (std::find(known.begin(), known.end(), it.key()) == known.end())
      return fmt::format(
          "unknown key {}{}: a sample has t_s and any of bandwidth_mbps, delay_ms, cpu, memory, battery, "
          "priority, measured_latency_ms, measured_t_d, measured_t_t, measured_t_e, measured_accuracy",
          nlohmann::json(it.key().substr(0, 60)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
          did_you_mean(it.key(), known));
  return {};
}

bool mentions_non_finite(const std::string& line) {
  for (const char* w : {"NaN", "nan", "Infinity", "inf"})
    if (line.find(w) != std::string::npos) return true;
  return false;
}

}  // namespace

Parsed<MetricSample> parse_metric_line(const std::string& line) {
  using R = Parsed<MetricSample>;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {
    if (mentions_non_finite(line)) return R::failure("not JSON: NaN and Infinity are not JSON numbers");
    return R::failure(fmt::format("not JSON ({})", e.what()));
  }
  if (!j.is_object()) return R::failure(fmt::format("a sample must be a JSON object (got {})", j.type_name()));
  if (j.contains("format") && j["format"] != kMetricsFormat)
    return R::failure(fmt::format("'format' must be \"{}\" (got {})", kMetricsFormat, j["format"].dump()));
  if (const std::string unknown = unknown_key(j); !unknown.empty()) return R::failure(unknown);
  MetricSample s;
  const auto t = number_field(j, "t_s", Range::NonNegative);
  if (!t.ok()) return R::failure(t.message());
  if (!t.value()) return R::failure("'t_s' is missing (every sample needs its time in s)");
  s.t_s = *t.value();
  for (const FieldRule& f : kFields) {
    auto v = number_field(j, f.name, f.range);
    if (!v.ok()) return R::failure(v.message());
    s.*f.field = v.value();
  }
  return s;
}

MetricReader::MetricReader(std::istream& in, std::string where, BadSample policy, std::ostream& warn)
    : in_(in), where_(std::move(where)), policy_(policy), warn_(warn) {}

std::optional<MetricSample> MetricReader::next() {
  std::string line;
  while (std::getline(in_, line)) {
    ++line_no_;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    auto s = parse_metric_line(line);
    std::string problem = s.ok() ? "" : s.message();
    if (s.ok() && last_t_s_ && s.value().t_s < *last_t_s_)
      problem = fmt::format("time goes backwards ('t_s' {} after {})", s.value().t_s, *last_t_s_);
    if (problem.empty()) {
      last_t_s_ = s.value().t_s;
      return std::move(s).value();
    }
    const std::string msg = fmt::format("line {}: {}", line_no_, problem);
    if (policy_ == BadSample::Stop) throw Error(where_, msg);
    warn_ << "warning: " << where_ << ": " << msg << " (sample skipped)\n" << std::flush;
  }
  return std::nullopt;
}

}  // namespace dapdee
