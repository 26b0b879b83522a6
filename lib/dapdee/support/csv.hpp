// CSV fields per RFC 4180.
#pragma once

#include <string>

namespace dapdee {

// The field as CSV: unchanged when it holds no comma, double quote, CR or LF; otherwise in
// double quotes with inner quotes doubled ("a,b" -> "\"a,b\"", a"b -> "\"a\"\"b\""). Never fails.
std::string csv_field(const std::string& s);

}  // namespace dapdee
