// Recognising what a file is, so a reader that fails can say what was given instead and which
// tool makes what it expects ("an ONNX model: run dapdee-import first").
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "dapdee/support/json_field.hpp"

namespace dapdee {

enum class FileKind {
  Unknown,
  Onnx,
  Dag,
  Plan,
  PlanLines,
  Profile,
  Breakpoints,
  Network,
  DeviceSpec,
  Metrics,
  LatencyModel,
  KernelModel,
  RunReport
};

// Guesses the kind from the content: an ONNX protobuf (ModelProto starts with ir_version,
// field 1), or JSON (or JSON Lines) whose "format" is a dapdee format. Never fails; Unknown
// when unsure.
FileKind sniff_file_kind(const std::string& text);

// A sentence for an error message when `text` is not a file of `expected_format` (e.g.
// "dapdee-dag/1"): what it is and, when it comes earlier in the pipeline, what to run; empty
// when the kind is unknown or as expected. Never fails.
std::string wrong_file_hint(const std::string& text, const std::string& expected_format);

// parse_json_root and expect_format in one; when either fails and the text is recognisably
// another kind of file, throws Error(where, wrong_file_hint) instead of the parser's message.
JsonField parse_json_root_as(const std::string& text, const std::string& where, const std::string& format,
                             nlohmann::json& storage);

}  // namespace dapdee
