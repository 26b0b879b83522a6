// "Did you mean": the closest known name to a mistyped one (presets, option values, --fields
// names, JSON keys), and the readers' check that an object has no unknown key.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dapdee/support/json_field.hpp"

namespace dapdee {

// The known name closest to `given`: the same once case, '-', '_' and blanks are ignored
// ("CAT-1" -> "CAT1"), one a prefix of the other ("bandwidth" -> "bandwidth_mbps"), or a few
// edits away (at most 1 for names of 3 characters, 2 from 4); nullopt when none is close.
// Never fails.
std::optional<std::string> closest_name(const std::string& given, const std::vector<std::string>& known);

// " (did you mean 'X'?)" with the closest name, or "" when none is close. Never fails.
std::string did_you_mean(const std::string& given, const std::vector<std::string>& known);

// Throws Error(where, "<path>: unknown key 'k' (did you mean 'x'?); known keys: ...") at the
// first member of the object `obj` that is not in `known`, and as JsonField when `obj` is not
// an object.
void reject_unknown_keys(const JsonField& obj, const std::vector<std::string>& known);

}  // namespace dapdee
