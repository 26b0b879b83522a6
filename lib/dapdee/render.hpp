// Rendering of plans: JSON (dapdee-plan/1, one object per line), CSV and a readable table.
#pragma once

#include <string>
#include <vector>

#include "dapdee/dag.hpp"
#include "dapdee/sweep.hpp"

namespace dapdee {

enum class Format { Json, Csv, Table };

// Parses "json|csv|table"; nullopt when unknown.
std::optional<Format> parse_format(const std::string& s);
// Every name parse_format accepts (for option validation). Never fails.
std::vector<std::string> format_names();

// One plan as a single-line dapdee-plan/1 JSON object (no trailing newline). Never fails.
std::string plan_to_json(const Dag& dag, const PlanPoint& point);

// All points in a format: JSON Lines, CSV with a header, or an aligned table. Never fails.
std::string render_points(const Dag& dag, const std::vector<PlanPoint>& points, Format format);

// Escapes a string for JSON (quotes included).
std::string json_quote(const std::string& s);

}  // namespace dapdee
