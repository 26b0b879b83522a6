// Recognising what a file is, so a reader that fails can say what was given instead and which
// tool makes what it expects ("an ONNX model: run dapdee-import first").
#pragma once

#include <string>

namespace dapdee {

enum class FileKind { Unknown, Onnx, Dag, Plan, PlanLines, Profile, Breakpoints };

// Guesses the kind from the content: an ONNX protobuf (ModelProto starts with ir_version,
// field 1), or JSON whose "format" is a dapdee format. Never fails; Unknown when unsure.
FileKind sniff_file_kind(const std::string& text);

// A sentence for an error message when `text` is not a file of `expected_format` (e.g.
// "dapdee-dag/1"): what it is and what to run; empty when the kind is unknown or as expected.
std::string wrong_file_hint(const std::string& text, const std::string& expected_format);

}  // namespace dapdee
