#include "dapdee/import/ort_import.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "dapdee/model/profile.hpp"
#include "dapdee/model/profile_json.hpp"
#include "dapdee/support/error.hpp"
#include "dapdee/support/io.hpp"
#include "dapdee/support/stats.hpp"

namespace dapdee {

namespace {

using Shape = std::vector<int64_t>;

// How a kernel found its nodes.
enum class Mapping { Anchored, Matched, Attached, Lost };

// One kernel of the trace (all its occurrences).
struct Kernel {
  std::string key, op, provider;
  std::vector<Shape> in_shapes, out_shapes;
  std::vector<double> per_run;  // ms, summed per kept run
  std::vector<int> group;       // DAG nodes it covers
  Mapping mapping = Mapping::Lost;
  int attach_to = -1;           // kernel index whose nodes get this kernel's time
  int threads = 1;
};

// The trace's kernels in execution order (of the first kept run), and the per-run totals.
struct Trace {
  std::vector<Kernel> kernels;
  std::vector<double> whole_ms;  // model_run durations of the kept runs
  int runs = 0, events = 0;
};

const std::string kSuffix = "_kernel_time";

std::vector<Shape> shapes_of(const nlohmann::json& args, const char* key) {
  std::vector<Shape> out;
  if (!args.contains(key) || !args[key].is_array()) return out;
  for (const auto& t : args[key]) {
    Shape s;
    if (t.is_object() && !t.empty() && t.begin()->is_array())
      for (const auto& d : *t.begin()) s.push_back(d.is_number_integer() ? d.get<int64_t>() : -1);
    out.push_back(std::move(s));
  }
  return out;
}

// A kernel event: key, duration (ms) and start (us), validated.
struct Event {
  std::string key;
  double ms = 0, ts = -1;
  const nlohmann::json* e = nullptr;
};

// A string member, or "" when absent or of another type (traces are read leniently, never
// trusting a field's type).
std::string str_of(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

std::vector<Event> kernel_events(const nlohmann::json& events, const std::string& where) {
  std::vector<Event> out;
  for (const auto& e : events) {
    if (!e.is_object() || str_of(e, "cat") != "Node") continue;
    const std::string name = str_of(e, "name");
    if (name.size() <= kSuffix.size() || name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) continue;
    if (!e.contains("dur") || !e["dur"].is_number()) throw Error(where, fmt::format("event '{}' has no numeric 'dur'", name));
    const double dur = e["dur"].get<double>();
    if (!(dur >= 0 && dur <= 1e15))
      throw Error(where, fmt::format("event '{}' has a negative duration or one above 1e15 us ({} us): a corrupt trace", name, dur));
    out.push_back({name.substr(0, name.size() - kSuffix.size()), dur / 1000.0,
                   e.contains("ts") && e["ts"].is_number() ? e["ts"].get<double>() : -1.0, &e});
  }
  return out;
}

// Run index of every event: the model_run interval holding its start, or (traces without
// timestamps) the occurrence count of its kernel. -1 = outside every run.
std::vector<int> run_of_events(const std::vector<Event>& ev, const std::vector<std::pair<double, double>>& runs) {
  std::vector<int> r(ev.size(), -1);
  const bool timed = !runs.empty() && std::all_of(ev.begin(), ev.end(), [](const Event& e) { return e.ts >= 0; });
  if (!timed) {
    std::unordered_map<std::string, int> seen;
    for (size_t i = 0; i < ev.size(); ++i) r[i] = seen[ev[i].key]++;
    return r;
  }
  for (size_t i = 0; i < ev.size(); ++i) {
    auto it = std::upper_bound(runs.begin(), runs.end(), std::make_pair(ev[i].ts, 1e300));
    if (it == runs.begin()) continue;
    --it;
    if (ev[i].ts <= it->first + it->second) r[i] = static_cast<int>(it - runs.begin());
  }
  return r;
}

Trace read_trace(const nlohmann::json& events, const std::string& where, int skip_runs) {
  Trace t;
  std::vector<std::pair<double, double>> runs;  // (ts, dur) of model_run
  for (const auto& e : events)
    if (e.is_object() && str_of(e, "cat") == "Session" && str_of(e, "name") == "model_run" && e.contains("ts") &&
        e["ts"].is_number() && e.contains("dur") && e["dur"].is_number())
      runs.emplace_back(e["ts"].get<double>(), e["dur"].get<double>());
  std::sort(runs.begin(), runs.end());
  const std::vector<Event> ev = kernel_events(events, where);
  t.events = static_cast<int>(ev.size());
  if (ev.empty()) throw Error(where, "no 'Node' kernel events: not an ONNX Runtime profiling trace");
  const std::vector<int> run = run_of_events(ev, runs);
  const int nruns = *std::max_element(run.begin(), run.end()) + 1;
  if (nruns <= skip_runs) throw Error(where, fmt::format("the trace has {} run(s): none left after --skip-runs {}", nruns, skip_runs));
  t.runs = nruns - skip_runs;
  for (size_t i = skip_runs; i < runs.size() && static_cast<int>(i) < nruns; ++i) t.whole_ms.push_back(runs[i].second / 1000.0);
  // Execution order: the first kept run's order (events are in start order), then the rest.
  std::vector<size_t> order(ev.size());
  for (size_t i = 0; i < ev.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const bool fa = run[a] == skip_runs, fb = run[b] == skip_runs;
    if (fa != fb) return fa;
    return fa && ev[a].ts >= 0 && ev[b].ts >= 0 ? ev[a].ts < ev[b].ts : false;
  });
  std::unordered_map<std::string, size_t> index;
  for (size_t i : order) {
    if (run[i] < skip_runs) continue;
    auto [it, fresh] = index.emplace(ev[i].key, t.kernels.size());
    if (fresh) {
      Kernel k;
      k.key = ev[i].key;
      const nlohmann::json& e = *ev[i].e;
      if (e.contains("args") && e["args"].is_object()) {
        const auto& a = e["args"];
        k.op = str_of(a, "op_name");
        k.provider = str_of(a, "provider");
        k.in_shapes = shapes_of(a, "input_type_shape");
        k.out_shapes = shapes_of(a, "output_type_shape");
        if (a.contains("thread_scheduling_stats") && a["thread_scheduling_stats"].is_object() &&
            a["thread_scheduling_stats"].contains("sub_threads") && a["thread_scheduling_stats"]["sub_threads"].is_object())
          k.threads = 1 + static_cast<int>(a["thread_scheduling_stats"]["sub_threads"].size());
      }
      k.per_run.assign(t.runs, 0.0);
      t.kernels.push_back(std::move(k));
    }
    if (run[i] >= 0) t.kernels[it->second].per_run[run[i] - skip_runs] += ev[i].ms;
  }
  return t;
}

// The DAG seen from the kernels' side: tensors, consumers, topological positions.
struct DagView {
  const Dag& dag;
  std::unordered_map<std::string, int> producer;  // tensor -> node
  std::vector<std::vector<int>> consumers;
  std::vector<int> owner;  // node -> kernel, -1 = uncovered
  explicit DagView(const Dag& d) : dag(d), consumers(d.nodes.size()), owner(d.nodes.size(), -1) {
    for (size_t i = 0; i < d.nodes.size(); ++i) {
      for (const auto& t : d.nodes[i].outputs) producer[t.name] = static_cast<int>(i);
      for (int u : d.nodes[i].input_ids) consumers[u].push_back(static_cast<int>(i));
    }
  }
  bool free(int v) const { return owner[v] < 0 && !is_input(dag.nodes[v]); }
  void claim(int v, int k, std::vector<Kernel>& ks) {
    owner[v] = k;
    ks[k].group.push_back(v);
  }
};

// ORT's own layout conversions, and data movement it inserts (`gemm_input_reshape`,
// `Transpose_token_N`): kernels that stand for no node of the model when no name maps them.
bool is_layout_op(const std::string& op) {
  static const std::unordered_set<std::string> moves = {"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Identity", "Cast"};
  return op.rfind("Reorder", 0) == 0 || op.rfind("Memcpy", 0) == 0 || moves.count(op) > 0;
}

// A kernel's node by name: the node itself, the producer of the tensor it is named after, or
// either after dropping ORT's suffixes one `_part` or `/part` at a time ("_nchwc", "_token_3",
// "/LayerNormFusion/", "/MatMulAddFusion").
int anchor_of(const DagView& g, std::string key) {
  for (int strip = 0; strip < 5; ++strip) {
    while (key.size() > 1 && key.back() == '/') key.pop_back();
    if (int v = g.dag.find(key); v >= 0) return v;
    if (auto it = g.producer.find(key); it != g.producer.end()) return it->second;
    const auto cut = key.find_last_of("_/");
    if (cut == std::string::npos || cut == 0) break;
    key.resize(cut);
  }
  return -1;
}

// Adds to kernel k the free nodes before `from` whose every consumer is already in k: the
// inside of a fused subgraph named after its last node. A node feeding the kernel's own op
// (the Conv of a Conv+Add+Relu kernel) is its input, not inside. Looks back at most 64 nodes.
void absorb_inside(DagView& g, std::vector<Kernel>& ks, int k, int from) {
  std::unordered_set<int> in(ks[k].group.begin(), ks[k].group.end());
  const std::string& host = ks[k].op;
  for (int u = from - 1; u >= 0 && u >= from - 64; --u) {
    if (!g.free(u) || g.consumers[u].empty()) continue;
    if (std::all_of(g.consumers[u].begin(), g.consumers[u].end(),
                    [&](int c) { return in.count(c) > 0 && g.dag.nodes[c].op != host; })) {
      g.claim(u, k, ks);
      in.insert(u);
    }
  }
}

void anchor_kernels(DagView& g, std::vector<Kernel>& ks) {
  for (size_t k = 0; k < ks.size(); ++k) {
    const int v = anchor_of(g, ks[k].key);
    if (v < 0 || g.owner[v] >= 0 || is_input(g.dag.nodes[v])) continue;
    g.claim(v, static_cast<int>(k), ks);
    ks[k].mapping = Mapping::Anchored;
  }
  // A fused kernel named after its last node (Conv+Relu named after the Relu's output, a
  // LayerNorm after its Mul) covers the free nodes feeding only it. One named after a node with
  // MACs (MatMul+Add after the MatMul) starts there: nothing before it is inside.
  for (size_t k = 0; k < ks.size(); ++k) {
    if (ks[k].mapping != Mapping::Anchored || ks[k].group.empty()) continue;  // unanchored: no group yet
    const Node& a = g.dag.nodes[ks[k].group[0]];
    if (ks[k].op != a.op && a.macs == 0) absorb_inside(g, ks, static_cast<int>(k), ks[k].group[0]);
  }
}

// Kernels with generated names (LayerNormalization, Gelu, FusedMatMul, ...), from the last one
// run to the first: the last free node before the nodes run after it whose output shape is the
// kernel's and whose output leaves the free region (a consumer already mapped, or none), with
// the inside of its subgraph. Without such a boundary node, the last free node of that shape.
void match_generated(DagView& g, std::vector<Kernel>& ks) {
  int next = static_cast<int>(g.dag.nodes.size());
  for (int k = static_cast<int>(ks.size()) - 1; k >= 0; --k) {
    Kernel& K = ks[k];
    if (!K.group.empty()) {
      for (int v : K.group) next = std::min(next, v);
      continue;
    }
    if (is_layout_op(K.op) || K.out_shapes.empty()) continue;
    int boundary = -1, any = -1;
    for (int v = next - 1; v >= 0 && boundary < 0; --v) {
      const Node& n = g.dag.nodes[v];
      if (!g.free(v) || n.outputs.empty() || n.outputs[0].shape != K.out_shapes[0]) continue;
      if (any < 0) any = v;
      const auto& cs = g.consumers[v];
      if (cs.empty() || std::any_of(cs.begin(), cs.end(), [&](int c) { return g.owner[c] >= 0; })) boundary = v;
    }
    const int best = boundary >= 0 ? boundary : any;
    if (best < 0) continue;
    g.claim(best, k, ks);
    K.mapping = Mapping::Matched;
    absorb_inside(g, ks, k, best);
    next = std::min(next, *std::min_element(K.group.begin(), K.group.end()));
  }
}

// Ops ORT folds into the kernel of their producer (Conv+BatchNorm, Conv+activation, bias Add).
bool fuses_into_producer(const std::string& op) {
  static const std::unordered_set<std::string> ops = {"BatchNormalization", "Relu", "Clip", "Sigmoid", "HardSigmoid",
                                                      "HardSwish", "LeakyRelu", "Tanh", "Add", "Mul", "Div", "Sub",
                                                      "Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Dropout"};
  return ops.count(op) > 0;
}

// Every free node joins a neighbour's kernel: one of its own op first, then its producer's for
// ops ORT fuses into their producer, then its consumer's, then its producer's.
void attach_free_nodes(DagView& g, std::vector<Kernel>& ks) {
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t v = 0; v < g.dag.nodes.size(); ++v) {
      if (!g.free(static_cast<int>(v))) continue;
      const Node& n = g.dag.nodes[v];
      // The producer run last hosts a fused element-wise op (Conv+Add: the Add waits for both).
      int pick = -1, pred = -1, succ = -1;
      for (int u : n.input_ids)
        if (g.owner[u] >= 0) pred = std::max(pred, g.owner[u]);
      for (int c : g.consumers[v])
        if (g.owner[c] >= 0 && succ < 0) succ = g.owner[c];
      if (succ >= 0 && ks[succ].op == n.op) pick = succ;
      else if (pred >= 0 && (ks[pred].op == n.op || fuses_into_producer(n.op))) pick = pred;
      else pick = succ >= 0 ? succ : pred;
      if (pick < 0) continue;
      g.claim(static_cast<int>(v), pick, ks);
      changed = true;
    }
  }
}

// Kernels without nodes (ORT's layout reorders and data movement, unmatched generated kernels)
// give their time to a neighbour in execution order: ReorderOutput and `gemm_output_reshape` to
// the kernel before, others to the one after.
void attach_leftover_kernels(std::vector<Kernel>& ks) {
  const int n = static_cast<int>(ks.size());
  auto find = [&](int from, int step) {
    for (int i = from + step; i >= 0 && i < n; i += step)
      if (!ks[i].group.empty()) return i;
    return -1;
  };
  for (int k = 0; k < n; ++k) {
    if (!ks[k].group.empty()) continue;
    const bool back = ks[k].op == "ReorderOutput" || ks[k].key.find("output_reshape") != std::string::npos;
    int t = find(k, back ? -1 : 1);
    if (t < 0) t = find(k, back ? 1 : -1);
    ks[k].attach_to = t;
    if (t >= 0) ks[k].mapping = Mapping::Attached;
  }
}

double weight(const Node& n) { return 2.0 * static_cast<double>(n.macs) + static_cast<double>(n.ops) + 1.0; }

}  // namespace

namespace {

// Per-node times per run: every kernel's time (with the kernels attached to it) split over its
// nodes by 2 x MACs + other ops + 1.
std::vector<std::vector<double>> node_times(const Dag& dag, const std::vector<Kernel>& ks, int runs, std::vector<double>& lost) {
  std::vector<std::vector<double>> per_node(dag.nodes.size());
  std::vector<std::vector<double>> kernel_ms(ks.size());
  lost.assign(runs, 0.0);
  for (size_t k = 0; k < ks.size(); ++k) kernel_ms[k] = ks[k].per_run;
  for (size_t k = 0; k < ks.size(); ++k) {
    if (!ks[k].group.empty()) continue;
    for (int r = 0; r < runs; ++r) (ks[k].attach_to >= 0 ? kernel_ms[ks[k].attach_to][r] : lost[r]) += ks[k].per_run[r];
  }
  for (size_t k = 0; k < ks.size(); ++k) {
    double sum = 0;
    for (int v : ks[k].group) sum += weight(dag.nodes[v]);
    for (int v : ks[k].group) {
      auto& dst = per_node[v];
      dst.resize(runs, 0.0);
      for (int r = 0; r < runs; ++r) dst[r] += kernel_ms[k][r] * weight(dag.nodes[v]) / sum;
    }
  }
  return per_node;
}

// The graph inputs' dims as the trace saw them: the first input of the same rank of the
// earliest kernel that reads the Input node (directly, or through a layout reorder before it).
nlohmann::ordered_json trace_inputs(const Dag& dag, const std::vector<Kernel>& ks, const DagView& g) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (size_t x = 0; x < dag.nodes.size(); ++x) {
    if (!is_input(dag.nodes[x]) || dag.nodes[x].outputs.empty()) continue;
    const size_t rank = dag.nodes[x].outputs[0].shape.size();
    std::unordered_set<int> readers;
    for (int c : g.consumers[x])
      if (g.owner[c] >= 0) readers.insert(g.owner[c]);
    for (size_t k = 0; k < ks.size(); ++k) {
      const bool reads = readers.count(static_cast<int>(k)) || (ks[k].attach_to >= 0 && readers.count(ks[k].attach_to));
      if (!reads) continue;
      const auto it = std::find_if(ks[k].in_shapes.begin(), ks[k].in_shapes.end(), [&](const Shape& s) { return s.size() == rank; });
      if (it == ks[k].in_shapes.end()) continue;
      out.push_back({{"name", dag.nodes[x].name}, {"shape", *it}});
      break;
    }
  }
  return out;
}

const char* mapping_name(Mapping m) {
  static const std::map<Mapping, const char*> names = {
      {Mapping::Anchored, "by name"}, {Mapping::Matched, "by op and shape"}, {Mapping::Attached, "to a neighbour"}, {Mapping::Lost, "none"}};
  return names.at(m);
}

nlohmann::ordered_json kernel_table(const Dag& dag, const std::vector<Kernel>& ks) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& k : ks) {
    nlohmann::ordered_json nodes = nlohmann::ordered_json::array();
    for (int v : k.group) nodes.push_back(dag.nodes[v].name);
    nlohmann::ordered_json x = {{"op", k.op}, {"ms", summarize(k.per_run).median}, {"mapped", mapping_name(k.mapping)}, {"nodes", nodes}};
    if (k.attach_to >= 0) x["time_to"] = ks[k.attach_to].key;
    out[k.key] = std::move(x);
  }
  return out;
}

}  // namespace

namespace {

// The profile JSON and the figures of the report.
OrtImport finish_ort_import(const Dag& dag, const Trace& t, const DagView& g, const std::vector<std::vector<double>>& per_node,
                            const std::vector<double>& lost, const std::string& where, const OrtImportOptions& opt, OrtImport out) {
  nlohmann::ordered_json jn = nlohmann::ordered_json::object();
  std::vector<std::string> missing;
  std::vector<Summary> summaries;
  for (size_t v = 0; v < dag.nodes.size(); ++v) {
    if (is_input(dag.nodes[v])) continue;
    if (per_node[v].empty()) {
      missing.push_back(dag.nodes[v].name);
      continue;
    }
    const Summary s = summarize(per_node[v]);
    check_time(s.median, where, fmt::format("node '{}'", dag.nodes[v].name));
    const Kernel& k = t.kernels[g.owner[v]];
    nlohmann::ordered_json x = {{"ms", s.median}, {"mean", s.mean}, {"p10", s.p10}, {"p90", s.p90}, {"cv", s.cv}, {"kernel", k.key}};
    if (k.group.size() > 1) x["fused_kernel"] = k.key;
    jn[dag.nodes[v].name] = std::move(x);
    summaries.push_back(s);
    out.node_sum_ms += s.median;
    ++out.nodes_timed;
  }
  std::vector<double> run_total(t.runs, 0.0);
  for (const auto& k : t.kernels)
    for (int r = 0; r < t.runs; ++r) run_total[r] += k.per_run[r];
  std::vector<double> sorted = run_total;
  std::sort(sorted.begin(), sorted.end());
  out.median_run_kernel_ms = sorted[(sorted.size() - 1) / 2];
  const Summary whole = summarize(t.whole_ms);
  out.whole_ms = whole.median;
  std::vector<std::string> lost_names, attached_names;
  for (const auto& k : t.kernels) {
    out.kernels_anchored += k.mapping == Mapping::Anchored;
    out.kernels_matched += k.mapping == Mapping::Matched;
    out.kernels_attached += k.mapping == Mapping::Attached;
    if (k.mapping == Mapping::Lost) lost_names.push_back(k.key);
    if (k.mapping == Mapping::Attached) attached_names.push_back(k.key);
  }
  const Noise noise = measure_noise(summaries, out.node_sum_ms, whole.median > 0 ? whole : summarize(run_total));
  for (auto& w : noise_warnings(noise)) out.warnings.push_back(std::move(w));
  if (!missing.empty())
    out.warnings.push_back(fmt::format("{} DAG node(s) have no kernel in the trace (e.g. '{}'); the planner counts them as 0 ms",
                                       missing.size(), missing.front()));
  if (!lost_names.empty())
    out.warnings.push_back(fmt::format("{} kernel(s) map to no DAG node (e.g. '{}'); {:.3f} ms per run left in unattributed_ms",
                                       lost_names.size(), lost_names.front(), summarize(lost).median));
  const nlohmann::ordered_json inputs = trace_inputs(dag, t.kernels, g);
  if (inputs.empty()) out.warnings.emplace_back("the trace shows no input shape: the profile records none");
  ProfileDoc doc;
  doc.device = opt.device_name;
  doc.model = dag.model;
  const std::string provider = t.kernels.empty() ? std::string() : t.kernels.front().provider;
  doc.runtime = "ONNX Runtime (profiling trace" + (provider.empty() ? std::string() : ", " + provider) + ")";
  doc.about["source_trace"] = where;
  doc.about["runs"] = t.runs;
  doc.about["skipped_runs"] = opt.skip_runs;
  if (!inputs.empty()) doc.about["inputs"] = inputs;
  int threads = 1;
  for (const auto& k : t.kernels) threads = std::max(threads, k.threads);
  doc.about["machine"] = {{"cpu", opt.device_name}, {"threads", threads}};
  doc.about["noise"] = nlohmann::ordered_json::parse(noise_json(noise));
  doc.nodes = std::move(jn);
  doc.total_ms = out.node_sum_ms;
  doc.details["run_kernel_ms"] = out.median_run_kernel_ms;
  doc.details["whole_ms"] = out.whole_ms;
  doc.details["unattributed_ms"] = summarize(lost).median;
  doc.details["unmatched_kernels"] = lost_names;
  doc.details["attached_kernels"] = attached_names;
  doc.details["nodes_without_kernel"] = missing;
  doc.details["kernels"] = kernel_table(dag, t.kernels);
  out.json = profile_to_json(doc);
  return out;
}

}  // namespace

OrtImport import_ort_trace(const std::string& text, const std::string& where, const Dag& dag, const std::string& device_name) {
  OrtImportOptions o;
  o.device_name = device_name;
  return import_ort_trace(text, where, dag, o);
}

OrtImport import_ort_trace(const std::string& text, const std::string& where, const Dag& dag, const OrtImportOptions& opt) {
  const nlohmann::json j = parse_json(text, where);
  const nlohmann::json* events = &j;
  if (j.is_object() && j.contains("traceEvents")) events = &j["traceEvents"];
  if (!events->is_array()) throw Error(where, "not an ONNX Runtime trace (expected an array of events)");
  Trace t = read_trace(*events, where, opt.skip_runs);
  DagView g(dag);
  anchor_kernels(g, t.kernels);
  OrtImport out;
  out.events = t.events;
  out.runs = t.runs;
  out.kernels = static_cast<int>(t.kernels.size());
  for (const auto& n : dag.nodes) out.computing_nodes += !is_input(n);
  // A trace of another model names (almost) none of the DAG's nodes; a fused trace names few
  // nodes but most of its own kernels.
  int anchored_nodes = 0, anchored = 0, computing_kernels = 0;
  for (const auto& k : t.kernels) {
    anchored_nodes += static_cast<int>(k.group.size());
    anchored += !k.group.empty();
    computing_kernels += !is_layout_op(k.op);
  }
  if (2 * anchored_nodes < out.computing_nodes && 2 * anchored < computing_kernels)
    throw Error(where, fmt::format("the trace names only {} of the {} nodes of the DAG of '{}' and {} of its {} kernels (e.g. "
                                   "kernel '{}' matches none): is it for another model?",
                                   anchored_nodes, out.computing_nodes, dag.model, anchored, computing_kernels,
                                   t.kernels.front().key));
  match_generated(g, t.kernels);
  attach_free_nodes(g, t.kernels);
  attach_leftover_kernels(t.kernels);
  std::vector<double> lost;
  const auto per_node = node_times(dag, t.kernels, t.runs, lost);
  return finish_ort_import(dag, t, g, per_node, lost, where, opt, out);
}

}  // namespace dapdee
