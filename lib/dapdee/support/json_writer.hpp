// Writing JSON text by hand where the byte layout is part of a format (plans, traces): the one
// string quoter every writer shares.
#pragma once

#include <string>

namespace dapdee {

// Escapes a string for JSON (quotes included); never fails: bytes below 0x20 become \u00XX and
// everything else is copied as it is.
std::string json_quote(const std::string& s);

}  // namespace dapdee
