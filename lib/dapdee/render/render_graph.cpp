#include "dapdee/render/render_graph.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "dapdee/plan/cut_block.hpp"
#include "dapdee/support/json_writer.hpp"

namespace dapdee {

namespace {

// DOT string literal: quotes escaped; "\\n" in `s` stays a DOT line break.
std::string dot_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '\\';
    out += c;
  }
  return out + '"';
}

std::string human_bytes(double b) {
  if (b >= 1024.0 * 1024.0) return fmt::format("{:.2f} MiB", b / (1024.0 * 1024.0));
  if (b >= 1024.0) return fmt::format("{:.1f} KiB", b / 1024.0);
  return fmt::format("{:.0f} B", b);
}

std::string ms_text(double ms) {
  if (ms >= 100) return fmt::format("{:.0f} ms", ms);
  if (ms >= 10) return fmt::format("{:.1f} ms", ms);
  return fmt::format("{:.2f} ms", ms);
}

// The last path component of an ONNX node name ("/inception3a/branch1/Conv" -> "branch1/Conv").
std::string short_name(const std::string& name) {
  const auto last = name.find_last_of('/');
  if (last == std::string::npos || last == 0) return name;
  const auto prev = name.find_last_of('/', last - 1);
  return prev == std::string::npos ? name : name.substr(prev + 1);
}

enum class Side { Device, Sent, Edge, Outside };

std::vector<Side> sides(const Dag& dag, const Plan& p) {
  std::vector<Side> s(dag.nodes.size(), Side::Outside);
  for (int v : p.v_d) s[v] = Side::Device;
  for (int v : p.v_s) s[v] = Side::Sent;
  for (int v : p.v_e) s[v] = Side::Edge;
  return s;
}

void dot_node(std::string& out, const Dag& dag, const Costs& costs, int v, Side side) {
  static constexpr std::array<const char*, 3> kFill = {"#9ecae1", "#fdae6b", "#a1d99b"};
  const Node& n = dag.nodes[v];
  const double ms = side == Side::Edge ? costs.t_edge[v] : costs.t_device[v];
  const std::string label = fmt::format("{}\\n{} {}", n.op, short_name(n.name), is_input(n) ? "" : ms_text(ms));
  out += fmt::format("    n{} [label={}, tooltip={}, fillcolor=\"{}\"];\n", v, dot_quote(label), dot_quote(n.name),
                     kFill[static_cast<int>(side)]);
}

}  // namespace

std::string plan_to_dot(const Dag& dag, const Costs& costs, const PlanPoint& pt) {
  const Plan& p = pt.plan;
  const auto side = sides(dag, p);
  std::string out = fmt::format("digraph {} {{\n", dot_quote(dag.model));
  out += fmt::format(
      "  label={};\n  labelloc=t;\n  fontname=\"Helvetica\";\n  rankdir=TB;\n  nodesep=0.25;\n  ranksep=0.3;\n"
      "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10, height=0.3];\n"
      "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#666666\"];\n",
      dot_quote(fmt::format("{} | exit {} | {} {:g} Mbit/s, {:g} ms | {} {} | T_d {}  T_t {}  T_e {}  latency {}  "
                            "T_max {} | sent {}",
                            dag.model, dag.exits[p.exit].name, pt.network, pt.link.bandwidth_mbps, pt.link.delay_ms,
                            mode_name(p.mode), method_name(p.method), ms_text(p.t_d), ms_text(p.t_t), ms_text(p.t_e),
                            ms_text(p.latency_ms), ms_text(p.t_max), human_bytes(p.sent_bytes))));
  const std::pair<const char*, std::string> clusters[] = {
      {"device", fmt::format("device: {} nodes, T_d {}", p.v_d.size(), ms_text(p.t_d))},
      {"edge", fmt::format("edge: {} nodes, T_e {}", p.v_e.size(), ms_text(p.t_e))}};
  for (const auto& [name, label] : clusters) {
    const bool device = std::string(name) == "device";
    out += fmt::format("  subgraph cluster_{} {{\n    label={};\n    style=\"rounded,dashed\";\n    color=\"{}\";\n",
                       name, dot_quote(label), device ? "#3182bd" : "#31a354");
    for (size_t v = 0; v < dag.nodes.size(); ++v)
      if ((device && (side[v] == Side::Device || side[v] == Side::Sent)) || (!device && side[v] == Side::Edge))
        dot_node(out, dag, costs, static_cast<int>(v), side[v]);
    out += "  }\n";
  }
  std::vector<char> labelled(dag.nodes.size(), 0);  // a tensor is sent once: one label per sent node
  for (size_t v = 0; v < dag.nodes.size(); ++v) {
    if (side[v] == Side::Outside) continue;
    for (int u : dag.nodes[v].input_ids) {
      if (side[u] == Side::Outside) continue;
      if (side[u] == Side::Sent && side[v] == Side::Edge) {
        const double ms = send_ms(costs.bytes[u], pt.link.bandwidth_mbps);
        const std::string label = labelled[u] ? "" : fmt::format("{}\\n{}", human_bytes(costs.bytes[u]), ms_text(ms));
        labelled[u] = 1;
        out += fmt::format("  n{} -> n{} [color=\"#e6550d\", penwidth=2.5, fontcolor=\"#a63603\"{}];\n", u, v,
                           label.empty() ? "" : ", label=" + dot_quote(label));
      } else {
        out += fmt::format("  n{} -> n{};\n", u, v);
      }
    }
  }
  return out + "}\n";
}

namespace {

// Microseconds with three decimals from whole nanoseconds: a slice's end and the next slice's
// start, equal as doubles, print equal (rounding ts and dur apart could make them overlap).
std::string micros(long long ns) { return fmt::format("{}.{:03d}", ns / 1000, static_cast<int>(ns % 1000)); }

void trace_event(std::string& out, const TraceSlice& s, bool& first) {
  out += first ? "\n  " : ",\n  ";
  first = false;
  const long long start = std::llround(s.start_ms * 1e6), end = std::llround((s.start_ms + s.dur_ms) * 1e6);
  out += fmt::format(R"({{"name":"{} {}","cat":"stage","ph":"X","pid":1,"tid":{},"ts":{},"dur":{},)"
                     R"("args":{{"frame":{},"ms":{}}}}})",
                     s.name, s.frame, s.tid, micros(start), micros(end - start), s.frame, s.dur_ms);
}

}  // namespace

std::string trace_json(const std::string& other_data, const std::string& process, const std::vector<TraceSlice>& slices,
                       bool downlink) {
  std::string out = "{\"displayTimeUnit\":\"ms\",\"otherData\":{" + other_data + "},\"traceEvents\":[";
  const std::pair<int, const char*> threads[] = {{1, "device"}, {2, "uplink"}, {3, "edge"}, {4, "downlink"}};
  out += fmt::format(R"(
  {{"name":"process_name","ph":"M","pid":1,"tid":0,"args":{{"name":{}}}}})", json_quote(process));
  bool first = false;
  for (const auto& [tid, name] : threads)
    if (tid < 4 || downlink)
      out += fmt::format(",\n  {{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":{},\"args\":{{\"name\":\"{}\"}}}}",
                         tid, name);
  for (const TraceSlice& s : slices)
    if (s.dur_ms > 0) trace_event(out, s, first);
  return out + "\n]}\n";
}

std::string plan_to_trace(const Dag& dag, const PlanPoint& pt, int frames) {
  const Plan& p = pt.plan;
  const int n = p.mode == Mode::Heavy ? std::max(frames, 1) : 1;
  const bool sends = !p.v_s.empty();
  const double delay = sends ? pt.link.delay_ms : 0.0;
  const double down = p.t_down.value_or(0.0);
  const std::string other = fmt::format(R"("model":{},"exit":{},"network":{},"mode":"{}","method":"{}","frames":{},)"
                                        R"("T_d":{},"T_t":{},"T_e":{},"latency_ms":{},"T_max":{})",
                                        json_quote(dag.model), json_quote(dag.exits[p.exit].name), json_quote(pt.network),
                                        mode_name(p.mode), method_name(p.method), n, p.t_d, p.t_t, p.t_e, p.latency_ms,
                                        p.t_max);
  std::vector<TraceSlice> slices;
  // Free times of the stages' resources: device, uplink, edge, downlink.
  double free_at[4] = {0, 0, 0, 0};
  for (int f = 0; f < n; ++f) {
    const double d0 = free_at[0], d1 = d0 + p.t_d;
    const double u0 = std::max(d1, free_at[1]), u1 = u0 + p.t_t;
    const double e0 = std::max(u1 + delay, free_at[2]), e1 = e0 + p.t_e;
    const double w0 = std::max(e1, free_at[3]), w1 = w0 + down;
    free_at[0] = d1, free_at[1] = u1, free_at[2] = e1, free_at[3] = w1;
    for (const TraceSlice& s : {TraceSlice{"device", 1, d0, p.t_d, f}, TraceSlice{"uplink", 2, u0, p.t_t, f},
                                TraceSlice{"edge", 3, e0, p.t_e, f}, TraceSlice{"downlink", 4, w0, down, f}})
      slices.push_back(s);
  }
  return trace_json(other, "DAPDEE plan", slices, p.t_down.has_value());
}

}  // namespace dapdee
