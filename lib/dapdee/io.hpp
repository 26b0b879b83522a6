// File helpers shared by the tools: stdin/stdout as "-", atomic writes.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace dapdee {

// Reads a whole file, or stdin when path is "-"; throws Error(path, ...) when it cannot.
std::string read_input(const std::string& path);

// Writes `data` to path through a temporary file and a rename, so a failure leaves no partial
// file; "-" writes to stdout. Throws Error(path, ...) when the file cannot be written.
void write_output_atomic(const std::string& path, const std::string& data);

// Parses JSON text with bounded nesting (parse_json_bounded); throws Error(where, "not valid JSON: ...").
nlohmann::json parse_json(const std::string& text, const std::string& where);

// Returns the final component of a path without its extension ("a/b/resnet18.onnx" -> "resnet18").
std::string file_stem(const std::string& path);

}  // namespace dapdee
