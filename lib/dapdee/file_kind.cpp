#include "dapdee/file_kind.hpp"

#include <nlohmann/json.hpp>

namespace dapdee {

namespace {

std::string format_of(const std::string& line) {
  try {
    const auto j = nlohmann::json::parse(line);
    if (j.is_object() && j.contains("format") && j["format"].is_string()) return j["format"].get<std::string>();
  } catch (const nlohmann::json::exception&) {
  }
  return {};
}

}  // namespace

FileKind sniff_file_kind(const std::string& text) {
  // ModelProto: field 1 (ir_version, varint) first, then a small version number; never text.
  if (text.size() >= 8 && text[0] == '\x08' && static_cast<unsigned char>(text[1]) < 0x20) return FileKind::Onnx;
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || text[first] != '{') return FileKind::Unknown;
  std::string format = format_of(text);
  bool lines = false;
  if (format.empty()) {  // JSON Lines: the first line alone
    format = format_of(text.substr(first, text.find('\n', first) - first));
    lines = true;
  }
  if (format == "dapdee-dag/1") return FileKind::Dag;
  if (format == "dapdee-plan/1") return lines ? FileKind::PlanLines : FileKind::Plan;
  if (format == "dapdee-profile/1") return FileKind::Profile;
  if (format == "dapdee-breakpoints/1") return FileKind::Breakpoints;
  return FileKind::Unknown;
}

std::string wrong_file_hint(const std::string& text, const std::string& expected_format) {
  switch (sniff_file_kind(text)) {
    case FileKind::Onnx: return "this is an ONNX model, not a " + expected_format + " file: run dapdee-import first";
    case FileKind::Dag:
      if (expected_format == "dapdee-dag/1") return {};
      return "this is a DAG (dapdee-dag/1), not a " + expected_format + " file: run dapdee-plan on it first";
    case FileKind::Plan:
      if (expected_format == "dapdee-plan/1") return {};
      return "this is a plan (dapdee-plan/1), not a " + expected_format + " file";
    case FileKind::PlanLines: return "this is a sweep (dapdee-plan/1 JSON Lines, one plan a line): pick one line";
    case FileKind::Profile: return "this is a profile (dapdee-profile/1), not a " + expected_format + " file";
    case FileKind::Breakpoints: return "this is a breakpoint map (dapdee-breakpoints/1), not a " + expected_format + " file";
    case FileKind::Unknown: return {};
  }
  return {};
}

}  // namespace dapdee
