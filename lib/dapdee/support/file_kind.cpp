#include "dapdee/support/file_kind.hpp"

#include "dapdee/support/error.hpp"
#include "dapdee/support/formats.hpp"

namespace dapdee {

namespace {

struct KindInfo {
  FileKind kind;
  const char* format;  // "" for ONNX
  const char* what;
};
constexpr KindInfo kKinds[] = {
    {FileKind::Onnx, "", "an ONNX model"},
    {FileKind::Dag, kDagFormat, "a DAG (dapdee-dag/1)"},
    {FileKind::Plan, kPlanFormat, "a plan (dapdee-plan/1)"},
    {FileKind::PlanLines, kPlanFormat, "a sweep (dapdee-plan/1 JSON Lines, one plan a line)"},
    {FileKind::Profile, kProfileFormat, "a profile (dapdee-profile/1)"},
    {FileKind::Breakpoints, kBreakpointsFormat, "a breakpoint map (dapdee-breakpoints/1)"},
    {FileKind::Network, kNetworkFormat, "a network (dapdee-network/1)"},
    {FileKind::DeviceSpec, kDeviceSpecFormat, "a device spec (dapdee-device-spec/1)"},
    {FileKind::Metrics, kMetricsFormat, "a metrics stream (dapdee-metrics/1)"},
    {FileKind::LatencyModel, kLatencyModelFormat, "a latency model (dapdee-latency-model/1)"},
    {FileKind::KernelModel, kKernelModelFormat, "a kernel model (dapdee-kernel-model/2)"},
    {FileKind::RunReport, kRunReportFormat, "a run report (dapdee-run-report/1)"},
};

// What to run when the given kind comes earlier in the pipeline than the expected format.
struct Advice {
  FileKind given;
  const char* expected;
  const char* run;
};
constexpr Advice kAdvice[] = {
    {FileKind::Onnx, kDagFormat, "run dapdee-import first"},
    {FileKind::Onnx, kProfileFormat, "run dapdee-profile on it first"},
    {FileKind::Onnx, kPlanFormat, "run dapdee-import, then dapdee-plan"},
    {FileKind::Dag, kPlanFormat, "run dapdee-plan on it first"},
    {FileKind::Dag, kProfileFormat, "run dapdee-profile predict on it (or dapdee-profile on its ONNX model) first"},
    {FileKind::DeviceSpec, kProfileFormat, "run dapdee-profile predict DAG --device SPEC first"},
    {FileKind::PlanLines, kPlanFormat, "pick one line"},
};

std::string format_of(const std::string& json_text) {
  try {
    const auto j = nlohmann::json::parse(json_text);
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
    lines = !format.empty();
  }
  if (format.empty()) return FileKind::Unknown;
  if (format == kPlanFormat) return lines ? FileKind::PlanLines : FileKind::Plan;
  for (const auto& k : kKinds)
    if (format == k.format) return k.kind;
  return FileKind::Unknown;
}

std::string wrong_file_hint(const std::string& text, const std::string& expected_format) {
  const FileKind kind = sniff_file_kind(text);
  if (kind == FileKind::Unknown) return {};
  const KindInfo* info = nullptr;
  for (const auto& k : kKinds)
    if (k.kind == kind) info = &k;
  if (kind != FileKind::PlanLines && expected_format == info->format) return {};
  std::string s = std::string("this is ") + info->what;
  if (kind != FileKind::PlanLines || expected_format != info->format) s += ", not a " + expected_format + " file";
  for (const auto& a : kAdvice)
    if (a.given == kind && expected_format == a.expected) s += std::string(": ") + a.run;
  return s;
}

JsonField parse_json_root_as(const std::string& text, const std::string& where, const std::string& format,
                             nlohmann::json& storage) {
  try {
    JsonField root = parse_json_root(text, where, storage);
    root.expect_format(format);
    return root;
  } catch (const Error&) {
    if (const std::string hint = wrong_file_hint(text, format); !hint.empty()) throw Error(where, hint);
    throw;
  }
}

}  // namespace dapdee
