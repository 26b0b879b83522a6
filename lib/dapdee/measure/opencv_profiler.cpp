#include "dapdee/measure/opencv_profiler.hpp"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "dapdee/import/model_import.hpp"
#include "dapdee/import/onnx_import.hpp"
#include "dapdee/model/consistency.hpp"
#include "dapdee/model/profile.hpp"
#include "dapdee/model/profile_json.hpp"
#include "dapdee/onnx/model_prep.hpp"
#include "dapdee/onnx/onnx_model.hpp"
#include "dapdee/onnx/onnx_rewrite.hpp"
#include "dapdee/support/error.hpp"
#include "dapdee/support/io.hpp"
#include "dapdee/support/stats.hpp"

namespace dapdee {

namespace {

// The graph inputs (not initializers) and their dims, as measured.
nlohmann::ordered_json input_shapes_json(const onnx::ModelProto& model, const std::unordered_set<std::string>& init_names) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& in : model.graph().input()) {
    if (init_names.count(in.name())) continue;
    std::vector<int64_t> dims;
    for (const auto& d : in.type().tensor_type().shape().dim()) dims.push_back(d.dim_value());
    out.push_back({{"name", in.name()}, {"shape", dims}});
  }
  return out;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// "Can't create layer "onnx_node!/a/Mod" of type "Mod"" -> the node and op, when present.
std::string explain_cv_error(const std::string& msg) {
  // "Node [Expand@ai.onnx]:(onnx_node!/Expand) parse error: ..."
  if (const auto node = msg.find("Node ["); node != std::string::npos) {
    const auto at = msg.find('@', node), close = msg.find("]:(", node);
    if (at != std::string::npos && close != std::string::npos && at < close) {
      const std::string op = msg.substr(node + 6, at - node - 6);
      std::string name = msg.substr(close + 3, msg.find(')', close + 3) - close - 3);
      if (name.rfind("onnx_node!", 0) == 0) name = name.substr(10);
      const auto detail = msg.rfind("error: ");
      std::string why = detail == std::string::npos ? "" : msg.substr(detail + 7);
      if (const auto paren = why.find(") "); why.rfind("(-", 0) == 0 && paren != std::string::npos && detail > close) why = why.substr(paren + 2);
      if (const auto cut = why.find(" in function"); cut != std::string::npos) why.resize(cut);
      return fmt::format("OpenCV DNN cannot run op {} (node '{}'){}", op, name, why.empty() ? "" : ": " + why);
    }
  }
  const auto layer = msg.find("layer \"");
  const auto type = msg.find("of type \"");
  if (layer != std::string::npos && type != std::string::npos) {
    std::string name = msg.substr(layer + 7, msg.find('"', layer + 7) - layer - 7);
    if (name.rfind("onnx_node!", 0) == 0) name = name.substr(10);
    const std::string op = msg.substr(type + 9, msg.find('"', type + 9) - type - 9);
    return fmt::format("OpenCV DNN cannot run op {} (node '{}')", op, name);
  }
  return "OpenCV DNN cannot run this model: " + msg;
}

void progress_bar(int done, int total, const std::string& model) {
  const int width = 30, filled = total ? width * done / total : width;
  fmt::print(stderr, "\rprofiling {} [{}{}] {}/{}", model, std::string(filled, '#'), std::string(width - filled, ' '),
             done, total);
  if (done == total) fmt::print(stderr, "\n");
}

// Adaptive repetition: the medians of the first and second half of the runs agree within 1%,
// for the whole model and for the sum of node medians.
bool medians_stable(const std::vector<double>& total, const std::vector<std::vector<double>>& node_ms) {
  const size_t n = total.size(), h = n / 2;
  if (h < 3) return false;
  auto half = [&](const std::vector<double>& x, bool second) {
    return summarize(std::vector<double>(x.begin() + (second ? static_cast<std::ptrdiff_t>(h) : 0),
                                         second ? x.end() : x.begin() + static_cast<std::ptrdiff_t>(h)))
        .median;
  };
  auto close = [](double a, double b) { return std::abs(a - b) <= 0.01 * std::max(a, b); };
  if (!close(half(total, false), half(total, true))) return false;
  double s0 = 0, s1 = 0;
  for (const auto& v : node_ms) {
    if (v.size() != n) continue;
    s0 += half(v, false);
    s1 += half(v, true);
  }
  return close(s0, s1);
}

}  // namespace

static ProfileRun profile_file(const ProfileOptions& opt, const std::string& model_name);

// readNetFromONNX on the model; when OpenCV refuses it, once more after the transformer
// rewrites (which are not applied otherwise: they would change what CNNs run). Throws Error
// naming the op OpenCV cannot run.
static cv::dnn::Net load_net(onnx::ModelProto& model, const Dag& dag, const std::string& where, TransformerRewrites& trep) {
  for (int attempt = 0;; ++attempt) {
    const std::string buffer = model.SerializeAsString();
    try {
      return cv::dnn::readNetFromONNX(buffer.data(), buffer.size());
    } catch (const cv::Exception& e) {
      if (attempt > 0) throw Error(where, explain_cv_error(e.what()));
    }
    std::unordered_map<std::string, std::vector<int64_t>> shapes;
    for (const auto& n : dag.nodes)
      for (const auto& t : n.outputs) shapes[t.name] = t.shape;
    trep = rewrite_for_opencv_transformers(model, shapes);
  }
}

ProfileRun profile_with_opencv(const ProfileOptions& options) {
  return profile_file(options, options.model_path == "-" ? "stdin" : "");
}

namespace {

// The model as OpenCV will run it, and what was done to it.
struct PreparedModel {
  onnx::ModelProto model;
  std::unordered_set<std::string> init_names;
  RewriteReport rewrites;
};

// The model read with its weights (input shapes pinned), its graph outputs given the import's
// static shapes (OpenCV wants them), absent weights refilled and the OpenCV rewrites applied.
// Throws Error(where) for bad external data.
PreparedModel prepare_for_opencv(const std::string& where, onnx::ModelProto model, const Dag& dag, ProfileRun& run) {
  PreparedModel p;
  p.model = std::move(model);
  auto* g = p.model.mutable_graph();
  for (const auto& t : g->initializer()) p.init_names.insert(t.name());
  std::unordered_map<std::string, const TensorInfo*> shapes;
  for (const auto& n : dag.nodes)
    for (const auto& t : n.outputs) shapes[t.name] = &t;
  for (auto& o : *g->mutable_output()) {
    auto* tt = o.mutable_type()->mutable_tensor_type();
    const auto it = shapes.find(o.name());
    if (tt->has_shape() || it == shapes.end() || it->second->shape.empty()) continue;
    for (auto d : it->second->shape) tt->mutable_shape()->add_dim()->set_dim_value(d);
  }
  const std::string dir = where == "-" ? "." : std::filesystem::path(where).parent_path().string();
  p.rewrites = refill_weights(p.model, dir.empty() ? "." : dir, where);
  rewrite_for_opencv(p.model, p.rewrites);
  if (p.rewrites.synthetic_weights())
    run.warnings.push_back(
        fmt::format("{} weight tensors were absent and refilled with synthetic values", p.rewrites.refilled));
  return p;
}

// Loads the prepared model into OpenCV DNN (CPU backend, fusion disabled, `threads` threads).
// Throws Error(where) naming the op OpenCV cannot run, or for an empty network.
cv::dnn::Net load_for_profiling(onnx::ModelProto& model, const Dag& dag, const std::string& where, int threads,
                                TransformerRewrites& trep) {
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);  // errors come back as exceptions
  cv::dnn::Net net = load_net(model, dag, where, trep);
  if (net.empty()) throw Error(where, "OpenCV DNN loaded an empty network");
  net.enableFusion(false);
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  cv::setNumThreads(threads);
  return net;
}

// Sets every graph input to uniform values in [-1, 1] (seeded: the same every run). Throws
// Error(where) for an input with a dynamic dimension, saying `remedy`.
void feed_inputs(cv::dnn::Net& net, const PreparedModel& p, const std::string& where, const char* remedy) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1, 1);
  for (const auto& in : p.model.graph().input()) {
    if (p.init_names.count(in.name())) continue;
    std::vector<int> dims;
    for (const auto& d : in.type().tensor_type().shape().dim()) {
      if (!d.has_dim_value() || d.dim_value() <= 0)
        throw Error(where, fmt::format("input '{}' has a dynamic dimension: {}", in.name(), remedy));
      dims.push_back(static_cast<int>(d.dim_value()));
    }
    cv::Mat blob(static_cast<int>(dims.size()), dims.data(), CV_32F);
    for (size_t k = 0; k < blob.total(); ++k) blob.ptr<float>()[k] = u(rng);
    net.setInput(blob, in.name());
  }
}

// Each OpenCV layer's DAG node: by name, by the ONNX node it comes from or the tensor it is named
// after ("\x01folded" for a folded computation), or by the longest DAG node name it starts with;
// the layers mapped to nothing.
struct LayerMap {
  std::vector<std::string> layer_node;
  std::vector<std::string> unmapped;
};

constexpr const char* kFoldedLayer = "\x01folded";

// The ONNX side of the layer mapping, taken before OpenCV's own rewrites: ONNX name (or derived)
// -> original node index, and tensor -> the original index of its producer.
struct OnnxNames {
  std::unordered_map<std::string, int> index, producer;
};

OnnxNames index_onnx_names(const onnx::ModelProto& model, const ImportResult& imp) {
  OnnxNames o;
  for (size_t i = 0; i < imp.onnx_names.size(); ++i) o.index[imp.onnx_names[i]] = static_cast<int>(i);
  for (const auto& node : model.graph().node()) {
    const auto it = o.index.find(node.name());
    if (it == o.index.end()) continue;
    for (const auto& t : node.output()) o.producer[t] = it->second;
  }
  return o;
}

LayerMap map_layers(const std::vector<std::string>& layer_names, const OnnxNames& names, const ImportResult& imp) {
  const Dag& dag = imp.dag;
  auto node_of_onnx = [&](int idx) -> std::string {
    const std::string& n = imp.onnx_to_dag[idx];
    return n.empty() ? kFoldedLayer : n;
  };
  LayerMap m;
  m.layer_node.resize(layer_names.size());
  for (size_t l = 0; l < layer_names.size(); ++l) {
    std::string name = layer_names[l];
    if (name.rfind("onnx_node!", 0) == 0) name = name.substr(10);
    if (dag.find(name) >= 0) {
      m.layer_node[l] = name;
    } else if (auto it = names.index.find(name); it != names.index.end()) {
      m.layer_node[l] = node_of_onnx(it->second);
    } else if (auto pt = names.producer.find(name); pt != names.producer.end()) {
      m.layer_node[l] = node_of_onnx(pt->second);
    } else {
      // Layers OpenCV adds itself are named after the node they come from plus a suffix.
      std::string best;
      for (const auto& n : dag.nodes)
        if (!is_input(n) && name.rfind(n.name, 0) == 0 && n.name.size() > best.size()) best = n.name;
      if (!best.empty()) m.layer_node[l] = best;
      else m.unmapped.push_back(layer_names[l]);
    }
  }
  return m;
}

// The measured times: per DAG node and run, whole model per run, time of layers mapped to no node.
// With a reference, node_ms, total_ms and unattributed_ms are in the reference's units (see
// scale_to_reference) and raw_total_ms / reference_ms keep the clock's times.
struct Timings {
  std::vector<std::vector<double>> node_ms;
  std::vector<double> total_ms, unattributed_ms;
  std::vector<double> raw_total_ms, reference_ms;
  double reference_scale_ms = 0;
};

// The reference model of a normalised measurement, loaded and fed, and its name.
struct ReferenceNet {
  cv::dnn::Net net;
  std::vector<std::string> out_names;
  std::string name;
};

// One forward pass of `net`; its wall time in ms. Throws Error(where) when OpenCV fails.
double timed_forward(cv::dnn::Net& net, const std::vector<std::string>& out_names, const std::string& where) {
  std::vector<cv::Mat> outs;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    net.forward(outs, out_names);
  } catch (const cv::Exception& e) {
    throw Error(where, explain_cv_error(e.what()));
  }
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// One timed forward pass: the whole-model time and each layer's time added to its node's. With a
// reference, the reference runs first and every time of the model is divided by its time (a ratio
// until scale_to_reference). Throws Error(where, or the reference's path) when OpenCV fails.
void time_one_run(cv::dnn::Net& net, const std::vector<std::string>& out_names, const std::vector<int>& layer_dag,
                  const std::string& where, ReferenceNet* ref, Timings& t, bool record) {
  const double ref_ms = ref ? timed_forward(ref->net, ref->out_names, ref->name) : 1.0;
  const double whole = timed_forward(net, out_names, where);
  if (!record) return;
  const double divisor = ref_ms > 0 ? ref_ms : 1e-6;
  t.raw_total_ms.push_back(whole);
  if (ref) t.reference_ms.push_back(ref_ms);
  t.total_ms.push_back(whole / divisor);
  std::vector<double> ticks;
  net.getPerfProfile(ticks);
  const double tick_ms = 1000.0 / cv::getTickFrequency() / divisor;
  std::vector<double> per(t.node_ms.size(), 0.0);
  double lost = 0;
  // getPerfProfile covers the layers after the input layer, in getLayerNames() order.
  for (size_t l = 0; l < ticks.size() && l < layer_dag.size(); ++l) {
    const double ms = ticks[l] * tick_ms;
    if (layer_dag[l] >= 0) per[layer_dag[l]] += ms;
    else lost += ms;
  }
  for (size_t i = 0; i < per.size(); ++i) t.node_ms[i].push_back(per[i]);
  t.unattributed_ms.push_back(lost);
}

// warmup + repeat runs, then (with a budget) more until the medians settle, the budget is spent
// or 100,000 runs are timed; sets run.stable. Throws Error(where) when OpenCV fails.
Timings time_layers(cv::dnn::Net& net, const std::vector<int>& layer_dag, const ProfileOptions& opt,
                    const Dag& dag, ReferenceNet* ref, ProfileRun& run) {
  const std::vector<std::string> out_names = net.getUnconnectedOutLayersNames();
  Timings t;
  t.node_ms.resize(dag.nodes.size());
  const int steps = opt.warmup + opt.repeat;
  const auto started = std::chrono::steady_clock::now();
  int next_check = opt.repeat;
  for (int r = 0;; ++r) {
    if (r >= steps) {
      if (opt.budget_s <= 0) break;
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      if (r - opt.warmup >= next_check) {
        run.stable = medians_stable(t.total_ms, t.node_ms);
        if (run.stable) break;
        next_check = r - opt.warmup + std::max(5, (r - opt.warmup) / 4);
      }
      if (elapsed > opt.budget_s || r - opt.warmup >= 100000) break;
    }
    time_one_run(net, out_names, layer_dag, opt.model_path, ref, t, r >= opt.warmup);
    if (opt.progress == Progress::Bar && r < steps) progress_bar(r + 1, steps, dag.model);
  }
  return t;
}

// With a reference: multiplies the ratios time_one_run recorded by --reference-ms, or by the
// reference's median time when none was given. Never fails.
void scale_to_reference(Timings& t, const ProfileOptions& opt) {
  if (t.reference_ms.empty()) return;
  t.reference_scale_ms = opt.reference_ms > 0 ? opt.reference_ms : summarize(t.reference_ms).median;
  const double k = t.reference_scale_ms;
  for (auto& v : t.node_ms)
    for (auto& x : v) x *= k;
  for (auto& x : t.total_ms) x *= k;
  for (auto& x : t.unattributed_ms) x *= k;
}

// The record of a normalised measurement: the reference, its times here, the scale and the
// model's own median before scaling; sets run's figures. Never fails.
nlohmann::ordered_json reference_json(const ProfileOptions& opt, const Timings& t, ProfileRun& run) {
  run.raw_total_median_ms = summarize(t.raw_total_ms).median;
  if (t.reference_ms.empty()) return nullptr;
  const Summary rs = summarize(t.reference_ms);
  run.reference_median_ms = rs.median;
  return {{"model", opt.reference_path},
          {"ms", rs.median},
          {"p10", rs.p10},
          {"p90", rs.p90},
          {"scale_ms", t.reference_scale_ms},
          {"scale_from", opt.reference_ms > 0 ? "--reference-ms" : "the reference's median in this measurement"},
          {"raw_total_ms", run.raw_total_median_ms},
          {"units", "every ms here is the model's time divided by the reference's in the same round, times scale_ms"}};
}

// The profile (dapdee-profile/1, written by profile_to_json); adds the noise and budget warnings to `run` and its
// figures. Throws Error(where) for a node time that is not finite.
std::string profile_json(const ProfileOptions& opt, const ImportResult& imp, const PreparedModel& p,
                         const TransformerRewrites& trep, const LayerMap& layers, const std::vector<char>& has_layer,
                         const Timings& t, const Consistency& c, ProfileRun& run) {
  const Dag& dag = imp.dag;
  const std::string& where = opt.model_path;
  const RewriteReport& rep = p.rewrites;
  ProfileDoc doc;
  doc.device = this_machine().cpu;
  doc.model = dag.model;
  doc.runtime = std::string("OpenCV DNN ") + CV_VERSION + " (CPU backend, fusion disabled)";
  nlohmann::ordered_json& j = doc.about;
  j["synthetic_weights"] = rep.synthetic_weights();
  j["rewrites"] = {{"refilled_weights", rep.refilled}, {"identity", rep.identity_rewrites}, {"clip", rep.clip_rewrites},
                   {"expand", trep.expand}, {"constant_folded", trep.folded}, {"broadcast_constant", trep.broadcast}, {"erf", trep.erf}};
  Machine machine = this_machine();
  machine.threads = opt.threads;
  machine.runtime = "OpenCV DNN";
  machine.runtime_version = CV_VERSION;
  j["host"] = {{"cpu", machine.cpu}, {"cores", machine.cores}, {"threads", opt.threads}};
  j["machine"] = nlohmann::ordered_json::parse(machine_json(machine));
  j["inputs"] = input_shapes_json(p.model, p.init_names);
  j["date"] = utc_now();
  j["command"] = opt.command;
  j["warmup"] = opt.warmup;
  run.runs = static_cast<int>(t.total_ms.size());
  j["repeat"] = run.runs;
  if (opt.budget_s > 0) j["adaptive"] = {{"min_repeat", opt.repeat}, {"budget_s", opt.budget_s}, {"runs", run.runs}, {"stable", run.stable}};
  if (auto r = reference_json(opt, t, run); !r.is_null()) j["reference"] = std::move(r);
  nlohmann::ordered_json& jn = doc.nodes;
  nlohmann::ordered_json without = nlohmann::ordered_json::array();
  std::vector<Summary> timed;
  for (size_t i = 0; i < dag.nodes.size(); ++i) {
    const Node& n = dag.nodes[i];
    if (is_input(n)) continue;
    const Summary s = summarize(t.node_ms[i]);
    check_time(s.median, where, fmt::format("node '{}'", n.name));
    if (has_layer[i]) timed.push_back(s);
    jn[n.name] = {{"ms", s.median}, {"mean", s.mean}, {"p10", s.p10}, {"p90", s.p90}, {"cv", s.cv}};
    if (has_layer[i]) {
      ++run.nodes_timed;
    } else {
      ++run.nodes_without_layer;
      without.push_back({{"name", n.name}, {"op", n.op},
                         {"why", "OpenCV DNN runs no layer of its own for it (merged into a neighbour or a no-op); 0 ms"}});
    }
    run.sum_node_median_ms += s.median;
  }
  const Summary tot = summarize(t.total_ms);
  run.total_median_ms = tot.median;
  doc.total_ms = tot.median;
  nlohmann::ordered_json& d = doc.details;
  d["total"] = {{"ms", tot.median}, {"mean", tot.mean}, {"p10", tot.p10}, {"p90", tot.p90}, {"cv", tot.cv}};
  d["sum_node_ms"] = run.sum_node_median_ms;
  const Noise noise = measure_noise(timed, run.sum_node_median_ms, tot);
  d["noise"] = nlohmann::ordered_json::parse(noise_json(noise));
  for (auto& w : noise_warnings(noise)) run.warnings.push_back(std::move(w));
  d["consistency"] = nlohmann::ordered_json::parse(consistency_json(c));
  if (!c.consistent()) run.warnings.push_back(consistency_message(c));
  if (opt.budget_s > 0 && !run.stable)
    run.warnings.push_back(fmt::format("the medians did not settle within --budget {} s ({} runs)", opt.budget_s, run.runs));
  d["unattributed_ms"] = summarize(t.unattributed_ms).median;
  d["nodes_without_layer"] = std::move(without);
  nlohmann::ordered_json folded = nlohmann::ordered_json::array();
  for (size_t i = 0; i < imp.onnx_to_dag.size(); ++i)
    if (imp.onnx_to_dag[i].empty()) folded.push_back(imp.onnx_names[i]);
  d["folded_nodes"] = std::move(folded);
  d["unmapped_layers"] = layers.unmapped;
  return profile_to_json(doc);
}

// The node sum and whole-model median of one measurement (as profile_json computes them). Never fails.
SumVsWhole sum_vs_whole(const Timings& t) {
  SumVsWhole s;
  for (const auto& v : t.node_ms) s.node_sum_ms += summarize(v).median;
  s.whole_ms = summarize(t.total_ms).median;
  return s;
}

// The reference model loaded as the measured one is (weights refilled, OpenCV's rewrites), with
// its inputs fed. Throws Error(reference path, ...) as profile_with_opencv does for the model.
ReferenceNet load_reference(const ProfileOptions& opt) {
  const std::string& where = opt.reference_path;
  OnnxModel model(where, FloatWeights::Keep, {});
  ImportOptions iopt;
  iopt.model_name = where == "-" ? "stdin" : "";
  ImportResult imp;
  try {
    imp = import_model(model, iopt).result;
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.find("dynamic") == std::string::npos) throw;
    throw Error(e.where(), what + " (for the reference: --input-shape pins MODEL's inputs only; a reference needs static input shapes)");
  }
  ProfileRun ignored;  // the reference's refill warning says nothing about the model measured
  PreparedModel p = prepare_for_opencv(where, std::move(model).release(), imp.dag, ignored);
  TransformerRewrites trep;
  ReferenceNet r;
  r.net = load_for_profiling(p.model, imp.dag, where, opt.threads, trep);
  feed_inputs(r.net, p, where, "a reference needs static input shapes (--input-shape pins MODEL's inputs only)");
  r.out_names = r.net.getUnconnectedOutLayersNames();
  r.name = where;
  return r;
}

}  // namespace

static ProfileRun profile_file(const ProfileOptions& opt, const std::string& model_name) {
  const std::string& where = opt.model_path;
  if (opt.repeat < 1 || opt.warmup < 0 || opt.threads < 1)
    throw Error("--repeat/--warmup/--threads", "need repeat >= 1, warmup >= 0, threads >= 1");
  if (opt.reference_ms < 0 || !std::isfinite(opt.reference_ms) || (opt.reference_ms > 0 && opt.reference_path.empty()))
    throw Error("--reference-ms", "needs --reference and a positive number of ms");
  ProfileRun run;
  // Read once, weights kept; the DAG gives the node names and which ONNX nodes were folded away.
  OnnxModel model(where, FloatWeights::Keep, opt.input_shapes);
  ImportOptions iopt;
  iopt.model_name = model_name;
  const ImportResult imp = import_model(model, iopt).result;
  const Dag& dag = imp.dag;
  PreparedModel p = prepare_for_opencv(where, std::move(model).release(), dag, run);
  const OnnxNames names = index_onnx_names(p.model, imp);
  TransformerRewrites trep;
  cv::dnn::Net net = load_for_profiling(p.model, dag, where, opt.threads, trep);
  feed_inputs(net, p, where, "pin it with --input-shape");
  const LayerMap layers = map_layers(net.getLayerNames(), names, imp);
  std::unordered_map<std::string, int> dag_index;
  for (size_t i = 0; i < dag.nodes.size(); ++i) dag_index[dag.nodes[i].name] = static_cast<int>(i);
  std::vector<int> layer_dag(layers.layer_node.size(), -1);  // layer -> DAG node index, -1 for none
  std::vector<char> has_layer(dag.nodes.size(), 0);
  for (size_t l = 0; l < layers.layer_node.size(); ++l)
    if (auto it = dag_index.find(layers.layer_node[l]); it != dag_index.end()) {
      layer_dag[l] = it->second;
      has_layer[it->second] = 1;
    }
  std::optional<ReferenceNet> ref;
  if (!opt.reference_path.empty()) ref = load_reference(opt);
  Timings t;
  const Consistency c = measure_until_consistent(
      [&] {
        t = time_layers(net, layer_dag, opt, dag, ref ? &*ref : nullptr, run);
        scale_to_reference(t, opt);
        return sum_vs_whole(t);
      },
      opt.remeasure);
  run.consistent = c.consistent();
  run.measurements = c.measurements;
  if (!c.consistent() && opt.strict) throw Error(where, consistency_message(c) + " (--strict: no profile written)");
  run.json = profile_json(opt, imp, p, trep, layers, has_layer, t, c, run);
  if (!layers.unmapped.empty())
    run.warnings.push_back(fmt::format("{} OpenCV layer(s) map to no DAG node (e.g. '{}'); their time is in unattributed_ms",
                                       layers.unmapped.size(), layers.unmapped.front()));
  return run;
}

}  // namespace dapdee
