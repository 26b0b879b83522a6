#include "dapdee/render.hpp"

#include <fmt/format.h>

#include <cmath>

namespace dapdee {

std::optional<Format> parse_format(const std::string& s) {
  if (s == "json" || s == "jsonl") return Format::Json;
  if (s == "csv") return Format::Csv;
  if (s == "table") return Format::Table;
  return std::nullopt;
}

std::string json_quote(const std::string& s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) out += fmt::format("\\u{:04x}", c);
        else out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

namespace {

// Shortest round-trip representation; JSON has no NaN or infinity, so those become null.
std::string num(double x) {
  if (!std::isfinite(x)) return "null";
  if (x == 0) return "0";
  return fmt::format("{}", x);
}

std::string opt_num(const std::optional<double>& x) { return x ? num(*x) : "null"; }

double throughput(const Plan& p) { return p.t_max > 0 ? 1000.0 / p.t_max : INFINITY; }

void names(std::string& out, const Dag& dag, const std::vector<int>& ids) {
  out += '[';
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ',';
    out += json_quote(dag.nodes[ids[i]].name);
  }
  out += ']';
}

}  // namespace

std::string plan_to_json(const Dag& dag, const PlanPoint& pt) {
  const Plan& p = pt.plan;
  const Exit& e = dag.exits[p.exit];
  std::string s;
  s.reserve(256 + 32 * (p.v_d.size() + p.v_e.size() + p.v_s.size()));
  s += "{\"format\":\"dapdee-plan/1\",\"model\":" + json_quote(dag.model);
  s += ",\"network\":" + json_quote(pt.network);
  if (pt.trace_time_s) s += ",\"trace_time_s\":" + num(*pt.trace_time_s);
  s += ",\"bandwidth_mbps\":" + num(pt.link.bandwidth_mbps);
  s += ",\"delay_ms\":" + num(pt.link.delay_ms);
  s += ",\"deadline_ms\":" + opt_num(pt.deadline_ms);
  s += fmt::format(",\"mode\":\"{}\",\"method\":\"{}\"", mode_name(p.mode), method_name(p.method));
  if (pt.load_score) s += ",\"load_score\":" + num(*pt.load_score);
  s += ",\"exit\":" + json_quote(e.name);
  s += fmt::format(",\"exit_index\":{}", p.exit + 1);
  s += ",\"accuracy\":" + opt_num(e.accuracy);
  s += ",\"V_d\":";
  names(s, dag, p.v_d);
  s += ",\"V_s\":";
  names(s, dag, p.v_s);
  s += ",\"V_e\":";
  names(s, dag, p.v_e);
  s += ",\"T_d\":" + num(p.t_d) + ",\"T_t\":" + num(p.t_t) + ",\"T_e\":" + num(p.t_e);
  s += ",\"latency_ms\":" + num(p.latency_ms) + ",\"T_max\":" + num(p.t_max);
  s += ",\"throughput_fps\":" + num(throughput(p));
  if (p.candidate == Candidacy::Cut) s += ",\"fixed_cut\":true";
  if (p.mode == Mode::Heavy && p.candidate != Candidacy::Cut) {
    if (p.heavy_search != HeavySearch::None)
      s += fmt::format(",\"heavy_search\":\"{}\"", heavy_search_name(p.heavy_search));
    s += fmt::format(",\"heavy_candidate\":\"{}\"", candidacy_name(p.candidate));
    if (p.t_max_lower_bound) s += ",\"T_max_lower_bound\":" + num(*p.t_max_lower_bound);
    if (p.alpha) s += ",\"alpha\":" + num(*p.alpha) + ",\"gamma\":" + num(p.gamma.value_or(1));
  }
  s += fmt::format(",\"meets_deadline\":{}}}", p.meets_deadline ? "true" : "false");
  return s;
}

std::string render_points(const Dag& dag, const std::vector<PlanPoint>& points, Format format) {
  std::string out;
  if (format == Format::Json) {
    for (const auto& pt : points) {
      out += plan_to_json(dag, pt);
      out += '\n';
    }
    return out;
  }
  if (format == Format::Csv) {
    out += "model,network,bandwidth_mbps,delay_ms,deadline_ms,mode,method,exit,exit_index,accuracy,"
           "n_device,n_sent,n_edge,T_d,T_t,T_e,latency_ms,T_max,throughput_fps,meets_deadline,trace_time_s\n";
    for (const auto& pt : points) {
      const Plan& p = pt.plan;
      const Exit& e = dag.exits[p.exit];
      auto csvnum = [](const std::optional<double>& x) { return x && std::isfinite(*x) ? fmt::format("{}", *x) : std::string(); };
      out += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", dag.model, pt.network,
                         pt.link.bandwidth_mbps, pt.link.delay_ms, csvnum(pt.deadline_ms), mode_name(p.mode),
                         method_name(p.method), e.name, p.exit + 1, csvnum(e.accuracy), p.v_d.size(), p.v_s.size(),
                         p.v_e.size(), p.t_d, p.t_t, p.t_e, p.latency_ms, p.t_max, csvnum(throughput(p)),
                         p.meets_deadline ? "true" : "false", csvnum(pt.trace_time_s));
    }
    return out;
  }
  out += fmt::format("model {}: {} nodes, {} exits\n", dag.model, dag.nodes.size(), dag.exits.size());
  out += fmt::format("{:<8} {:>9} {:>7} {:>9} {:<6} {:<12} {:<10} {:>3} {:>4} {:>4} {:>10} {:>10} {:>10} {:>11} {:>10} {:>9} {}\n",
                     "network", "Mbit/s", "delay", "deadline", "mode", "method", "exit", "#", "V_d", "V_s", "T_d ms",
                     "T_t ms", "T_e ms", "latency ms", "T_max ms", "fps", "meets");
  for (const auto& pt : points) {
    const Plan& p = pt.plan;
    out += fmt::format("{:<8} {:>9.3f} {:>7.1f} {:>9} {:<6} {:<12} {:<10} {:>3} {:>4} {:>4} {:>10.3f} {:>10.3f} {:>10.3f} {:>11.3f} {:>10.3f} {:>9.1f} {}\n",
                       pt.network, pt.link.bandwidth_mbps, pt.link.delay_ms,
                       pt.deadline_ms ? fmt::format("{:.1f}", *pt.deadline_ms) : "-", mode_name(p.mode),
                       method_name(p.method), dag.exits[p.exit].name, p.exit + 1, p.v_d.size(), p.v_s.size(), p.t_d,
                       p.t_t, p.t_e, p.latency_ms, p.t_max, p.t_max > 0 ? 1000.0 / p.t_max : 0.0,
                       p.meets_deadline ? "yes" : "NO");
  }
  if (points.size() == 1) {
    const Plan& p = points[0].plan;
    out += "sent to the edge:";
    if (p.v_s.empty()) out += " nothing (runs on the device)";
    for (int v : p.v_s)
      out += fmt::format("\n  {} ({}, {} B)", dag.nodes[v].name, dag.nodes[v].op, dag.nodes[v].out_bytes);
    out += "\n";
  }
  return out;
}

}  // namespace dapdee
