#include "dapdee/render/render.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <nlohmann/json.hpp>

#include "dapdee/render/render_graph.hpp"
#include "dapdee/support/csv.hpp"
#include "dapdee/support/error.hpp"
#include "dapdee/support/formats.hpp"
#include "dapdee/support/json_writer.hpp"

namespace dapdee {

namespace {

struct FormatName {
  const char* name;
  Format format;
};
constexpr FormatName kFormats[] = {{"json", Format::Json}, {"jsonl", Format::Json}, {"csv", Format::Csv},
                                   {"table", Format::Table}, {"dot", Format::Dot},   {"trace", Format::Trace}};

}  // namespace

std::optional<Format> parse_format(const std::string& s) {
  for (const auto& f : kFormats)
    if (s == f.name) return f.format;
  return std::nullopt;
}

std::vector<std::string> format_names() {
  std::vector<std::string> v;
  for (const auto& f : kFormats) v.emplace_back(f.name);
  return v;
}

bool is_picture(Format f) { return f == Format::Dot || f == Format::Trace; }

namespace {

// Shortest round-trip representation; JSON has no NaN or infinity, so those become null.
void num(std::string& out, double x) {
  if (!std::isfinite(x)) {
    out += "null";
  } else if (x == 0) {
    out += '0';
  } else {
    fmt::format_to(std::back_inserter(out), "{}", x);
  }
}

double throughput(const Plan& p) { return p.t_max > 0 ? 1000.0 / p.t_max : INFINITY; }

void names(std::string& out, const Dag& dag, const std::vector<int>& ids) {
  out += '[';
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ',';
    out += json_quote(dag.nodes[ids[i]].name);
  }
  out += ']';
}

// The tensors of V_s's nodes that the edge reads, as names.
std::vector<std::string> sent_tensors(const Dag& dag, const Plan& p) {
  std::vector<std::string> out;
  for (int v : p.v_s)
    for (const auto& t : dag.nodes[v].outputs)
      if (t.consumed) out.push_back(t.name);
  return out;
}

enum class Kind { Number, String, Bool, List, Object };

// One output field: how to append its JSON value (false when the field is absent for this plan).
struct Field {
  const char* name;
  Kind kind;
  bool (*json)(std::string& out, const Dag& dag, const PlanPoint& pt);
};

using P = const PlanPoint&;
using D = const Dag&;
bool put_num(std::string& o, double x) { return num(o, x), true; }
bool put_opt(std::string& o, const std::optional<double>& x) { return x ? put_num(o, *x) : false; }
bool put_str(std::string& o, const std::string& x) { return o += json_quote(x), true; }
bool put_bool(std::string& o, bool x) { return o += x ? "true" : "false", true; }

// A stream figure that only a stable stream has (null when unstable, absent without --fps).
bool stream_num(std::string& o, const PlanPoint& pt, double StreamOutcome::*field) {
  if (!pt.plan.stream) return false;
  if (!pt.plan.stream->stable) return o += "null", true;
  return put_num(o, pt.plan.stream.value().*field);
}

bool utilisation_of(std::string& o, const PlanPoint& pt, StageKind k) {
  if (!pt.plan.stream) return false;
  for (const auto& u : pt.plan.stream->utilisation)
    if (u.kind == k) return put_num(o, u.utilisation);
  return false;
}

const Field kFields[] = {
    {"format", Kind::String, [](std::string& o, D, P) { return put_str(o, kPlanFormat); }},
    {"model", Kind::String, [](std::string& o, D d, P) { return put_str(o, d.model); }},
    {"network", Kind::String, [](std::string& o, D, P pt) { return put_str(o, pt.network); }},
    {"trace_time_s", Kind::Number, [](std::string& o, D, P pt) { return put_opt(o, pt.trace_time_s); }},
    {"bandwidth_mbps", Kind::Number, [](std::string& o, D, P pt) { return put_num(o, pt.link.bandwidth_mbps); }},
    {"delay_ms", Kind::Number, [](std::string& o, D, P pt) { return put_num(o, pt.link.delay_ms); }},
    {"deadline_ms", Kind::Number,
     [](std::string& o, D, P pt) { return pt.deadline_ms ? put_num(o, *pt.deadline_ms) : (o += "null", true); }},
    {"mode", Kind::String, [](std::string& o, D, P pt) { return put_str(o, mode_name(pt.plan.mode)); }},
    {"method", Kind::String, [](std::string& o, D, P pt) { return put_str(o, method_name(pt.plan.method)); }},
    {"load_score", Kind::Number, [](std::string& o, D, P pt) { return put_opt(o, pt.load_score); }},
    {"exit", Kind::String, [](std::string& o, D d, P pt) { return put_str(o, d.exits[pt.plan.exit].name); }},
    {"exit_index", Kind::Number, [](std::string& o, D, P pt) { return put_num(o, pt.plan.exit + 1); }},
    {"accuracy", Kind::Number,
     [](std::string& o, D d, P pt) {
       const auto& a = d.exits[pt.plan.exit].accuracy;
       return a ? put_num(o, *a) : (o += "null", true);
     }},
    {"V_d", Kind::List, [](std::string& o, D d, P pt) { return names(o, d, pt.plan.v_d), true; }},
    {"V_s", Kind::List, [](std::string& o, D d, P pt) { return names(o, d, pt.plan.v_s), true; }},
    {"V_e", Kind::List, [](std::string& o, D d, P pt) { return names(o, d, pt.plan.v_e), true; }},
    {"T_d", Kind::Number, [](std::string& o, D, P pt) { return put_num(o, pt.plan.t_d); }},
    {"T_t", Kind::Number, [](std::string& o, D, P pt) { return put_num(o, pt.plan.t_t); }},
    {"T_e", Kind::Number, [](std::string& o, D, P pt) { return put_num(o, pt.plan.t_e); }},
    {"latency_ms", Kind::Number, [](std::string& o, D, P pt) { return put_num(o, pt.plan.latency_ms); }},
    {"T_max", Kind::Number, [](std::string& o, D, P pt) { return put_num(o, pt.plan.t_max); }},
    {"throughput_fps", Kind::Number, [](std::string& o, D, P pt) { return put_num(o, throughput(pt.plan)); }},
    {"sent_bytes", Kind::Number, [](std::string& o, D, P pt) { return put_num(o, pt.plan.sent_bytes); }},
    {"fixed_cut", Kind::Bool,
     [](std::string& o, D, P pt) { return pt.plan.candidate == Candidacy::Cut ? put_bool(o, true) : false; }},
    {"heavy_search", Kind::String,
     [](std::string& o, D, P pt) {
       return pt.plan.heavy_search != HeavySearch::None ? put_str(o, heavy_search_name(pt.plan.heavy_search)) : false;
     }},
    {"heavy_candidate", Kind::String,
     [](std::string& o, D, P pt) {
       const bool heavy = pt.plan.mode == Mode::Heavy && pt.plan.candidate != Candidacy::Cut;
       return heavy ? put_str(o, candidacy_name(pt.plan.candidate)) : false;
     }},
    {"T_max_lower_bound", Kind::Number, [](std::string& o, D, P pt) { return put_opt(o, pt.plan.t_max_lower_bound); }},
    {"alpha", Kind::Number, [](std::string& o, D, P pt) { return put_opt(o, pt.plan.alpha); }},
    {"gamma", Kind::Number, [](std::string& o, D, P pt) { return put_opt(o, pt.plan.gamma); }},
    {"meets_deadline", Kind::Bool, [](std::string& o, D, P pt) { return put_bool(o, pt.plan.meets_deadline); }},
    // The wire (docs/TOOLS.md, "The wire"): present only when not the float32 default.
    {"input_encoding", Kind::String,
     [](std::string& o, D, P pt) {
       return !pt.plan.input_encoding.empty() ? put_str(o, pt.plan.input_encoding) : false;
     }},
    {"wire_dtype", Kind::String,
     [](std::string& o, D, P pt) { return !pt.plan.wire_dtype.empty() ? put_str(o, pt.plan.wire_dtype) : false; }},
    {"result_downlink_mbps", Kind::Number,
     [](std::string& o, D, P pt) { return put_opt(o, pt.plan.result_downlink_mbps); }},
    {"T_down", Kind::Number, [](std::string& o, D, P pt) { return put_opt(o, pt.plan.t_down); }},
    // Streams (--fps): present only then.
    {"fps", Kind::Number,
     [](std::string& o, D, P pt) { return pt.plan.stream ? put_num(o, pt.plan.stream->spec.fps) : false; }},
    {"arrivals", Kind::String,
     [](std::string& o, D, P pt) {
       return pt.plan.stream ? put_str(o, arrivals_name(pt.plan.stream->spec.arrivals)) : false;
     }},
    {"clients", Kind::Number,
     [](std::string& o, D, P pt) { return pt.plan.stream ? put_num(o, pt.plan.stream->spec.clients) : false; }},
    {"stable", Kind::Bool,
     [](std::string& o, D, P pt) { return pt.plan.stream ? put_bool(o, pt.plan.stream->stable) : false; }},
    {"wait_ms", Kind::Number, [](std::string& o, D, P pt) { return stream_num(o, pt, &StreamOutcome::wait_ms); }},
    {"latency_p95_ms", Kind::Number,
     [](std::string& o, D, P pt) { return stream_num(o, pt, &StreamOutcome::latency_p95_ms); }},
    {"latency_p95_method", Kind::String,
     [](std::string& o, D, P pt) {
       return pt.plan.stream && pt.plan.stream->stable ? put_str(o, p95_method_name(pt.plan.stream->p95_method))
                                                       : false;
     }},
    {"backlog_growth_fps", Kind::Number,
     [](std::string& o, D, P pt) {
       return pt.plan.stream && !pt.plan.stream->stable ? put_num(o, pt.plan.stream->backlog_growth_fps) : false;
     }},
    {"utilisation", Kind::Object,
     [](std::string& o, D, P pt) {
       if (!pt.plan.stream) return false;
       o += '{';
       for (const auto& u : pt.plan.stream->utilisation) {
         if (o.back() != '{') o += ',';
         (o += json_quote(stage_name(u.kind))) += ':';
         num(o, u.utilisation);
       }
       o += '}';
       return true;
     }},
    // Device energy (docs/COST-MODEL.md, "Device energy"): present only with power figures.
    {"objective", Kind::String,
     [](std::string& o, D, P pt) { return pt.plan.objective == Objective::Energy ? put_str(o, "energy") : false; }},
    {"energy_mj", Kind::Number,
     [](std::string& o, D, P pt) { return pt.plan.energy ? put_num(o, pt.plan.energy->total()) : false; }},
    {"energy_breakdown", Kind::Object,
     [](std::string& o, D, P pt) {
       if (!pt.plan.energy) return false;
       const EnergyBreakdown& e = *pt.plan.energy;
       const std::pair<const char*, double> parts[] = {{"compute", e.compute}, {"radio", e.radio}, {"idle", e.idle}, {"tail", e.tail}};
       o += '{';
       for (const auto& [name, v] : parts) {
         if (o.back() != '{') o += ',';
         (o += json_quote(name)) += ':';
         num(o, v);
       }
       o += '}';
       return true;
     }},
    {"energy_budget_mj", Kind::Number, [](std::string& o, D, P pt) { return put_opt(o, pt.plan.energy_budget_mj); }},
    {"meets_budget", Kind::Bool,
     [](std::string& o, D, P pt) { return pt.plan.energy_budget_mj ? put_bool(o, pt.plan.meets_budget) : false; }},
    {"energy_lower_bound_mj", Kind::Number,
     [](std::string& o, D, P pt) { return put_opt(o, pt.plan.energy_lower_bound_mj); }},
    // Not in the default JSON line: counts and names for people and spreadsheets.
    {"n_device", Kind::Number, [](std::string& o, D, P pt) { return put_num(o, double(pt.plan.v_d.size())); }},
    {"n_sent", Kind::Number, [](std::string& o, D, P pt) { return put_num(o, double(pt.plan.v_s.size())); }},
    {"n_edge", Kind::Number, [](std::string& o, D, P pt) { return put_num(o, double(pt.plan.v_e.size())); }},
    {"sent_tensors", Kind::List,
     [](std::string& o, D d, P pt) {
       o += '[';
       const auto t = sent_tensors(d, pt.plan);
       for (size_t i = 0; i < t.size(); ++i) o += (i ? "," : "") + json_quote(t[i]);
       o += ']';
       return true;
     }},
    {"utilisation_device", Kind::Number,
     [](std::string& o, D, P pt) { return utilisation_of(o, pt, StageKind::Device); }},
    {"utilisation_uplink", Kind::Number,
     [](std::string& o, D, P pt) { return utilisation_of(o, pt, StageKind::Uplink); }},
    {"utilisation_edge", Kind::Number, [](std::string& o, D, P pt) { return utilisation_of(o, pt, StageKind::Edge); }},
    {"energy_compute_mj", Kind::Number,
     [](std::string& o, D, P pt) { return pt.plan.energy ? put_num(o, pt.plan.energy->compute) : false; }},
    {"energy_radio_mj", Kind::Number,
     [](std::string& o, D, P pt) { return pt.plan.energy ? put_num(o, pt.plan.energy->radio) : false; }},
    {"energy_idle_mj", Kind::Number,
     [](std::string& o, D, P pt) { return pt.plan.energy ? put_num(o, pt.plan.energy->idle) : false; }},
    {"energy_tail_mj", Kind::Number,
     [](std::string& o, D, P pt) { return pt.plan.energy ? put_num(o, pt.plan.energy->tail) : false; }},
};
constexpr size_t kJsonDefault = 49;  // the fields before n_device

int field_index(const std::string& name) {
  for (size_t i = 0; i < std::size(kFields); ++i)
    if (name == kFields[i].name) return static_cast<int>(i);
  return -1;
}

const std::vector<std::string> kCsvDefault = {
    "model", "network", "bandwidth_mbps", "delay_ms", "deadline_ms", "mode", "method", "exit", "exit_index",
    "accuracy", "n_device", "n_sent", "n_edge", "T_d", "T_t", "T_e", "latency_ms", "T_max", "throughput_fps",
    "meets_deadline", "trace_time_s", "sent_bytes", "sent_tensors"};

// The CSV text of a field: numbers as in JSON (empty when absent or null), strings raw, lists
// of names joined with ';'.
std::string csv_value(const Field& f, const Dag& dag, const PlanPoint& pt) {
  std::string j;
  if (!f.json(j, dag, pt) || j == "null") return {};
  if (f.kind == Kind::Number || f.kind == Kind::Bool || f.kind == Kind::Object) return j;
  const nlohmann::json v = nlohmann::json::parse(j);
  if (f.kind == Kind::String) return v.get<std::string>();
  std::string joined;
  for (size_t i = 0; i < v.size(); ++i) joined += (i ? ";" : "") + v[i].get<std::string>();
  return joined;
}

// Whether the points rendered are planned for streams (--fps): the CSV's default columns add theirs.
enum class Streams { No, Yes };
// Whether the points rendered carry the device's energy: the CSV's default columns add theirs.
enum class Energy { No, Yes };

std::vector<int> resolve_fields(const std::vector<std::string>& requested, Format format, Streams streams = Streams::No,
                                Energy energy = Energy::No) {
  std::vector<std::string> names = requested;
  const bool short_preset = names.size() == 1 && names[0] == "short";
  if (names.empty() || short_preset || (names.size() == 1 && names[0] == "all")) {
    names.clear();
    if (format == Format::Csv) {
      names = kCsvDefault;
      if (streams == Streams::Yes)
        names.insert(names.end(),
                     {"fps", "arrivals", "clients", "stable", "wait_ms", "latency_p95_ms", "backlog_growth_fps",
                      "utilisation_device", "utilisation_uplink", "utilisation_edge"});
      if (energy == Energy::Yes)
        names.insert(names.end(),
                     {"energy_mj", "energy_compute_mj", "energy_radio_mj", "energy_idle_mj", "energy_tail_mj"});
    } else {
      for (size_t i = 0; i < kJsonDefault; ++i) names.emplace_back(kFields[i].name);
    }
    if (short_preset)
      names.erase(std::remove_if(names.begin(), names.end(), [](const std::string& n) {
                    return n == "V_d" || n == "V_s" || n == "V_e" || n == "sent_tensors";
                  }), names.end());
  }
  std::vector<int> idx;
  if (format == Format::Json && std::find(names.begin(), names.end(), "format") == names.end()) idx.push_back(0);
  for (const auto& n : names) idx.push_back(field_index(n));
  return idx;
}

}  // namespace

std::vector<std::string> plan_field_names() {
  std::vector<std::string> out{"all", "short"};
  for (const auto& f : kFields) out.emplace_back(f.name);
  return out;
}

namespace {

// The members of one plan's JSON object, without its braces: plan_to_json and decision_to_json
// both write them.
void append_plan_members(std::string& s, const Dag& dag, const PlanPoint& pt, const std::vector<int>* fields) {
  const size_t n = fields ? fields->size() : kJsonDefault;
  bool first = true;
  for (size_t i = 0; i < n; ++i) {
    const Field& f = kFields[fields ? (*fields)[i] : i];
    const size_t mark = s.size();
    if (!first) s += ',';
    s += '"';
    s += f.name;
    s += "\":";
    if (f.json(s, dag, pt)) first = false;
    else s.resize(mark);
  }
}

}  // namespace

std::string plan_to_json(const Dag& dag, const PlanPoint& pt, const std::vector<int>* fields) {
  std::string s;
  s.reserve(512 + 32 * (pt.plan.v_d.size() + pt.plan.v_e.size() + pt.plan.v_s.size()));
  s += '{';
  append_plan_members(s, dag, pt, fields);
  s += '}';
  return s;
}

std::string decision_to_json(const Dag& dag, const Decision& d) {
  std::string s = "{";
  append_plan_members(s, dag, d.point, nullptr);
  s += fmt::format(",\"t_s\":{},\"replanned\":{},\"trigger\":{}}}", d.t_s, d.replanned ? "true" : "false",
                   d.trigger.empty() ? "null" : json_quote(d.trigger));
  return s;
}

std::string plan_to_json(const Dag& dag, const PlanPoint& pt) { return plan_to_json(dag, pt, nullptr); }

bool is_decision_field(const std::string& name) { return name == "t_s" || name == "replanned" || name == "trigger"; }

std::vector<std::string> decision_field_names() {
  std::vector<std::string> out = plan_field_names();
  out.insert(out.end(), {"t_s", "replanned", "trigger"});
  return out;
}

std::string decision_to_json(const Dag& dag, const Decision& d, const std::vector<std::string>& fields) {
  if (fields.empty()) return decision_to_json(dag, d);
  const bool preset = fields.size() == 1 && (fields[0] == "all" || fields[0] == "short");
  std::vector<std::string> plan_names, extra;
  for (const auto& n : fields) (is_decision_field(n) ? extra : plan_names).push_back(n);
  if (preset) extra = {"t_s", "replanned", "trigger"};
  // Only t_s, replanned or trigger named: the plan's "format" alone, not its default set.
  const std::vector<int> idx =
      plan_names.empty() ? std::vector<int>{field_index("format")} : resolve_fields(plan_names, Format::Json);
  std::string s = "{";
  append_plan_members(s, dag, d.point, &idx);
  for (const auto& n : extra) {
    if (n == "t_s") s += fmt::format(",\"t_s\":{}", d.t_s);
    if (n == "replanned") s += fmt::format(",\"replanned\":{}", d.replanned ? "true" : "false");
    if (n == "trigger") s += fmt::format(",\"trigger\":{}", d.trigger.empty() ? "null" : json_quote(d.trigger));
  }
  return s + "}";
}

std::string render_breakpoints(const Dag& dag, const std::vector<BandwidthInterval>& intervals) {
  std::string out;
  for (const auto& iv : intervals) {
    std::vector<int> v_d, v_s;
    std::vector<char> sent(dag.nodes.size(), 0);
    const auto gk = exit_subgraph(dag, iv.exit);
    for (size_t v = 0; v < dag.nodes.size(); ++v) {
      if (!gk[v]) continue;
      if (iv.on_device[v]) v_d.push_back(static_cast<int>(v));
      else
        for (int u : dag.nodes[v].input_ids) sent[u] = iv.on_device[u];
    }
    for (size_t v = 0; v < dag.nodes.size(); ++v)
      if (sent[v]) v_s.push_back(static_cast<int>(v));
    out += std::string("{\"format\":\"") + kBreakpointsFormat + "\",\"exit\":" + json_quote(dag.exits[iv.exit].name);
    out += fmt::format(",\"exit_index\":{},\"bw_lo\":", iv.exit + 1);
    num(out, iv.bw_lo);
    out += ",\"bw_hi\":";
    num(out, iv.bw_hi);  // +inf prints null: unbounded
    out += ",\"V_d\":";
    names(out, dag, v_d);
    out += ",\"V_s\":";
    names(out, dag, v_s);
    out += ",\"sent_bytes\":";
    num(out, iv.sent_bytes);
    out += ",\"T_d\":";
    num(out, iv.t_d);
    out += ",\"T_e\":";
    num(out, iv.t_e);
    out += "}\n";
  }
  return out;
}

std::string render_points(const Dag& dag, const std::vector<PlanPoint>& points, Format format,
                          const std::vector<std::string>& fields, CsvHeader header) {
  std::string out;
  if (format == Format::Json) {
    const auto idx = resolve_fields(fields, format);
    const bool all = fields.empty();
    for (const auto& pt : points) {
      out += all ? plan_to_json(dag, pt) : plan_to_json(dag, pt, &idx);
      out += '\n';
    }
    return out;
  }
  if (format == Format::Csv) {
    const bool streams =
        std::any_of(points.begin(), points.end(), [](const PlanPoint& p) { return p.plan.stream.has_value(); });
    const bool energy =
        std::any_of(points.begin(), points.end(), [](const PlanPoint& p) { return p.plan.energy.has_value(); });
    const auto idx =
        resolve_fields(fields, format, streams ? Streams::Yes : Streams::No, energy ? Energy::Yes : Energy::No);
    if (header == CsvHeader::Write) {
      for (size_t i = 0; i < idx.size(); ++i) out += (i ? "," : "") + std::string(kFields[idx[i]].name);
      out += '\n';
    }
    for (const auto& pt : points) {
      for (size_t i = 0; i < idx.size(); ++i) {
        if (i) out += ',';
        out += csv_field(csv_value(kFields[idx[i]], dag, pt));
      }
      out += '\n';
    }
    return out;
  }
  return out + render_table(dag, points);
}

std::string render_picture(const Dag& dag, const Costs& costs, const PlanPoint& point, Format format) {
  if (format == Format::Dot) return plan_to_dot(dag, costs, point);
  if (format == Format::Trace) return plan_to_trace(dag, point);
  throw Error("--format", "only dot and trace are pictures");
}

namespace {

// A time for people: three significant digits or so (CSV and JSON keep full precision).
std::string rounded(double ms) {
  if (!std::isfinite(ms)) return "-";
  if (std::fabs(ms) >= 100) return fmt::format("{:.0f}", ms);
  if (std::fabs(ms) >= 10) return fmt::format("{:.1f}", ms);
  return fmt::format("{:.2f}", ms);
}

}  // namespace

namespace {

// The table's stream columns (--fps): the rate offered, the mean waiting, the 95th percentile
// of the latency and whether the stream is stable.
std::string stream_columns(const PlanPoint* pt) {
  if (!pt) return fmt::format(" {:>7} {:>8} {:>8} {:<6}", "at fps", "wait ms", "p95 ms", "stable");
  const auto& s = *pt->plan.stream;
  return fmt::format(" {:>7.3g} {:>8} {:>8} {:<6}", s.spec.fps, s.stable ? rounded(s.wait_ms) : "-",
                     s.stable ? rounded(s.latency_p95_ms) : "-", s.stable ? "yes" : "NO");
}

// The table's energy column: the device's energy per frame.
std::string energy_column(const PlanPoint* pt) {
  if (!pt) return fmt::format(" {:>9}", "energy mJ");
  return fmt::format(" {:>9}", pt->plan.energy ? rounded(pt->plan.energy->total()) : "-");
}

}  // namespace

std::string render_table(const Dag& dag, const std::vector<PlanPoint>& points) {
  std::string out;
  const bool streams =
      std::any_of(points.begin(), points.end(), [](const PlanPoint& pt) { return pt.plan.stream.has_value(); });
  out += fmt::format("model {}: {} nodes, {} exits\n", dag.model, dag.nodes.size(), dag.exits.size());
  const bool down = std::any_of(points.begin(), points.end(), [](const PlanPoint& pt) { return pt.plan.t_down.has_value(); });
  out += fmt::format("{:<8} {:>9} {:>7} {:>9} {:<6} {:<12} {:<10} {:>3} {:>5} {:>4} {:>4} {:>8} {:>8} {:>8}{} {:>10} {:>8} {:>7} {}\n",
                     "network", "Mbit/s", "delay", "deadline", "mode", "method", "exit", "#", "acc", "V_d", "V_s",
                     "T_d ms", "T_t ms", "T_e ms", down ? fmt::format(" {:>8}", "T_down") : "", "latency ms",
                     "T_max ms", "fps", "meets");
  if (streams) out.insert(out.size() - 1, stream_columns(nullptr));
  const bool energy =
      std::any_of(points.begin(), points.end(), [](const PlanPoint& pt) { return pt.plan.energy.has_value(); });
  if (energy) out.insert(out.size() - 1, energy_column(nullptr));
  for (const auto& pt : points) {
    const Plan& p = pt.plan;
    const auto& acc = dag.exits[p.exit].accuracy;
    out += fmt::format("{:<8} {:>9.3g} {:>7.1f} {:>9} {:<6} {:<12} {:<10} {:>3} {:>5} {:>4} {:>4} {:>8} {:>8} {:>8}{} {:>10} {:>8} {:>7.1f} {}\n",
                       pt.network, pt.link.bandwidth_mbps, pt.link.delay_ms,
                       pt.deadline_ms ? rounded(*pt.deadline_ms) : "-", mode_name(p.mode),
                       method_name(p.method), dag.exits[p.exit].name, p.exit + 1,
                       acc ? fmt::format("{:.3f}", *acc) : "-", p.v_d.size(), p.v_s.size(), rounded(p.t_d),
                       rounded(p.t_t), rounded(p.t_e), down ? fmt::format(" {:>8}", p.t_down ? rounded(*p.t_down) : "-") : "",
                       rounded(p.latency_ms), rounded(p.t_max), p.t_max > 0 ? 1000.0 / p.t_max : 0.0,
                       p.meets_deadline ? "yes" : "NO");
    if (p.stream) out.insert(out.size() - 1, stream_columns(&pt));
    if (energy) out.insert(out.size() - 1, energy_column(&pt));
  }
  if (points.size() == 1) {
    const Plan& p = points[0].plan;
    out += "sent to the edge:";
    if (p.v_s.empty()) out += " nothing (runs on the device)";
    for (int v : p.v_s)
      out += fmt::format("\n  {} ({}, {} B)", dag.nodes[v].name, dag.nodes[v].op, dag.nodes[v].out_bytes);
    if (!p.v_s.empty() && (!p.input_encoding.empty() || !p.wire_dtype.empty()))
      out += fmt::format("\n  on the wire: {} B in all (input {}, tensors {})", p.sent_bytes,
                         p.input_encoding.empty() ? "float32" : p.input_encoding, p.wire_dtype.empty() ? "float32" : p.wire_dtype);
    out += "\n";
  }
  return out;
}

}  // namespace dapdee
