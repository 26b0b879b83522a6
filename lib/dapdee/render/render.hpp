// Rendering of plans: JSON (dapdee-plan/1, one object per line), CSV and a readable table.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dapdee/model/dag.hpp"
#include "dapdee/plan/breakpoints.hpp"
#include "dapdee/plan/controller.hpp"
#include "dapdee/plan/plan_types.hpp"

namespace dapdee {

// Dot and Trace draw one plan (render_graph.hpp); the others render any number of points.
enum class Format { Json, Csv, Table, Dot, Trace };

// Parses "json|csv|table|dot|trace"; nullopt when unknown.
std::optional<Format> parse_format(const std::string& s);
// Every name parse_format accepts (for option validation). Never fails.
std::vector<std::string> format_names();
// True for the formats that draw one plan (Dot, Trace). Never fails.
bool is_picture(Format f);

// One plan as a single-line dapdee-plan/1 JSON object (no trailing newline), every field.
// Never fails.
std::string plan_to_json(const Dag& dag, const PlanPoint& point);

// The same with only the fields at the given indices of the field table. Never fails.
std::string plan_to_json(const Dag& dag, const PlanPoint& point, const std::vector<int>* fields);

// A decision of the online controller as one dapdee-plan/1 line, every plan field then t_s,
// replanned and trigger (no newline); `dag` is the controller's own (its accuracies). Never fails.
std::string decision_to_json(const Dag& dag, const Decision& d);

// The same with the fields named (from decision_field_names; empty: every field): the plan's
// in the order of its field table ("format" always), then t_s, replanned and trigger as given;
// "all" and "short" add all three. Never fails for names from decision_field_names.
std::string decision_to_json(const Dag& dag, const Decision& d, const std::vector<std::string>& fields);

// Names --fields accepts under --follow: plan_field_names() and t_s, replanned, trigger.
std::vector<std::string> decision_field_names();

// True for t_s, replanned and trigger: the fields only a --follow line has. Never fails.
bool is_decision_field(const std::string& name);

// Names accepted by --fields: the presets "all" and "short" (no node lists), then every field.
std::vector<std::string> plan_field_names();

// All points in a format: JSON Lines, CSV with a header, or an aligned table; `fields` (names
// from plan_field_names, empty for the default) selects the JSON/CSV fields. Never fails for
// names from plan_field_names.
enum class CsvHeader { Write, Omit };
std::string render_points(const Dag& dag, const std::vector<PlanPoint>& points, Format format,
                          const std::vector<std::string>& fields = {}, CsvHeader header = CsvHeader::Write);

// All points as an aligned table for people: times rounded, the exit's accuracy, T_down when
// set; one plan also lists its sent nodes. Never fails.
std::string render_table(const Dag& dag, const std::vector<PlanPoint>& points);

// A breakpoint map as dapdee-breakpoints/1 JSON Lines (one interval a line). Never fails.
std::string render_breakpoints(const Dag& dag, const std::vector<BandwidthInterval>& intervals);

// A picture format (Dot, Trace) of one plan, with the planner's costs; throws Error for other
// formats.
std::string render_picture(const Dag& dag, const Costs& costs, const PlanPoint& point, Format format);


}  // namespace dapdee
