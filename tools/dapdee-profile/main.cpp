// dapdee-profile: per-node latency profiles (dapdee-profile/1): measured with OpenCV DNN on this
// machine, converted from an ONNX Runtime trace, or predicted from a device spec or a fitted
// model.
#include <fmt/format.h>
#include <unistd.h>

#include <optional>

#include "../common/run_tool.hpp"
#include "dapdee/import/onnx_import.hpp"
#include "dapdee/import/ort_import.hpp"
#include "dapdee/model/dag.hpp"
#include "dapdee/model/network.hpp"
#include "dapdee/onnx/model_prep.hpp"
#include "dapdee/predict/kernel_model.hpp"
#include "dapdee/predict/latency_model.hpp"
#include "dapdee/predict/predict.hpp"
#include "dapdee/support/error.hpp"
#include "dapdee/support/io.hpp"
#ifdef DAPDEE_HAVE_OPENCV
#include "dapdee/measure/opencv_profiler.hpp"
#endif

namespace {

struct Options {
  std::string model, out = "-", dag_path, spec_path, trace_path, device_name = "onnxruntime target", fit_path;
  std::string kind = "op", refill_model, command, reference, calibrate;
  std::vector<std::string> shapes, pairs, tests;
  int warmup = 3, repeat = 20, threads = 1, skip_runs = 0, remeasure = 2;
  bool strict = false;
  double budget_s = 0, reference_ms = 0;
};

std::vector<dapdee::ProfiledDag> load_pairs(const std::vector<std::string>& specs) {
  std::vector<dapdee::ProfiledDag> v;
  for (const auto& p : specs) {
    const auto eq = p.find('=');
    if (eq == std::string::npos) throw dapdee::Error("--pair", "expected DAG.json=PROFILE.json, got '" + p + "'");
    const std::string d = p.substr(0, eq), f = p.substr(eq + 1);
    v.push_back({dapdee::parse_dag(dapdee::read_input(d), d), dapdee::load_profile(f)});
  }
  return v;
}

void print_error(const dapdee::ModelError& err) {
  fmt::print(stderr, "held-out error (MAPE per op type over nodes):\n");
  for (const auto& [op, v] : err.op_mape) fmt::print(stderr, "  {:<20} {:7.1f}%  ({} nodes)\n", op, v.first, v.second);
  fmt::print(stderr, "whole-model latency error:\n");
  for (const auto& [m, e] : err.model_error) fmt::print(stderr, "  {:<20} {:+7.1f}%\n", m, e);
}

void run_fit(const Options& o) {
  if (o.kind == "kernel") {
    const auto model = dapdee::fit_kernel_model(load_pairs(o.pairs));
    if (!o.tests.empty()) print_error(dapdee::evaluate_kernel_model(model, load_pairs(o.tests)));
    dapdee::write_output_atomic(o.out, dapdee::kernel_model_to_json(model));
    return;
  }
  const auto model = dapdee::fit_latency_model(load_pairs(o.pairs));
  if (!o.tests.empty()) print_error(dapdee::evaluate_latency_model(model, load_pairs(o.tests)));
  dapdee::write_output_atomic(o.out, dapdee::latency_model_to_json(model));
}

void run_predict(const Options& o) {
  const dapdee::Dag dag = dapdee::parse_dag(dapdee::read_input(o.dag_path), o.dag_path);
  if (!o.fit_path.empty()) {
    const std::string text = dapdee::read_input(o.fit_path);
    if (text.find(dapdee::kKernelModelFormat) != std::string::npos) {
      const auto model = dapdee::parse_kernel_model(text, o.fit_path);
      std::optional<dapdee::KernelCalibration> cal;
      if (!o.calibrate.empty()) cal = dapdee::calibrate_kernel_model(model, dapdee::load_profile(o.calibrate));
      dapdee::write_output_atomic(
          o.out, dapdee::predict_profile_with_kernel_model(dag, model, o.fit_path, cal ? &*cal : nullptr));
      return;
    }
    if (!o.calibrate.empty()) throw dapdee::Error(o.fit_path, "--calibrate needs a kernel model (fit --kind kernel)");
    const auto model = dapdee::parse_latency_model(text, o.fit_path);
    dapdee::write_output_atomic(o.out, dapdee::predict_profile_with_model(dag, model, o.fit_path));
    return;
  }
  if (o.spec_path.empty()) dapdee_tools::usage_error("predict: give --device SPEC or --model FIT.json");
  const std::string spec_path = dapdee::resolve_device_spec(o.spec_path);
  const dapdee::DeviceSpec spec = dapdee::parse_device_spec(dapdee::read_input(spec_path), spec_path);
  dapdee::write_output_atomic(o.out, dapdee::predict_profile(dag, spec, spec_path));
}

void run_import_ort(const Options& o) {
  if (o.skip_runs < 0) throw dapdee::Error("--skip-runs", "must be >= 0");
  const dapdee::Dag dag = dapdee::parse_dag(dapdee::read_input(o.dag_path), o.dag_path);
  dapdee::OrtImportOptions io;
  io.device_name = o.device_name;
  io.skip_runs = o.skip_runs;
  const auto r = dapdee::import_ort_trace(dapdee::read_input(o.trace_path), o.trace_path, dag, io);
  for (const auto& w : r.warnings) fmt::print(stderr, "dapdee-profile: warning: {}: {}\n", o.trace_path, w);
  dapdee::write_output_atomic(o.out, r.json);
  fmt::print(stderr,
             "{}: {} kernel events, {} runs, {} kernels ({} by name, {} by op and shape, {} to a neighbour); {} of {} "
             "nodes timed; node sum {:.3f} ms vs median-run kernel total {:.3f} ms ({:+.2f}%); model_run {:.3f} ms\n",
             o.trace_path, r.events, r.runs, r.kernels, r.kernels_anchored, r.kernels_matched, r.kernels_attached, r.nodes_timed,
             r.computing_nodes, r.node_sum_ms, r.median_run_kernel_ms,
             r.median_run_kernel_ms > 0 ? 100.0 * (r.node_sum_ms / r.median_run_kernel_ms - 1) : 0.0, r.whole_ms);
}

void run_refill(const Options& o) {
  int refilled = 0;
  const std::string bytes = dapdee::refilled_model_bytes(o.refill_model, refilled);
  dapdee::write_output_atomic(o.out, bytes);
  fmt::print(stderr, "{}: {} weight tensor(s) refilled with synthetic values\n", o.refill_model, refilled);
}

void run_measure(const Options& o) {
#ifdef DAPDEE_HAVE_OPENCV
  dapdee::ProfileOptions opt;
  opt.model_path = o.model;
  opt.warmup = o.warmup;
  opt.repeat = o.repeat;
  opt.threads = o.threads;
  opt.budget_s = o.budget_s;
  opt.reference_path = o.reference;
  opt.reference_ms = o.reference_ms;
  opt.remeasure = o.remeasure;
  opt.strict = o.strict;
  if (o.model == "-" && o.reference == "-") dapdee_tools::usage_error("MODEL and --reference cannot both be stdin");
  for (const auto& s : o.shapes) opt.input_shapes.push_back(dapdee::parse_input_shape(s).take("--input-shape"));
  opt.command = o.command;
  opt.progress = ::isatty(2) ? dapdee::Progress::Bar : dapdee::Progress::Off;
  const dapdee::ProfileRun r = dapdee::profile_with_opencv(opt);
  for (const auto& w : r.warnings) fmt::print(stderr, "dapdee-profile: warning: {}: {}\n", o.model, w);
  dapdee::write_output_atomic(o.out, r.json);
  fmt::print(stderr, "{}: whole model {:.3f} ms (median of {} runs), sum of node medians {:.3f} ms ({:+.1f}%), {} nodes timed, {} without a layer\n",
             o.model, r.total_median_ms, r.runs, r.sum_node_median_ms,
             r.total_median_ms > 0 ? 100.0 * (r.sum_node_median_ms / r.total_median_ms - 1) : 0.0, r.nodes_timed,
             r.nodes_without_layer);
  if (!o.reference.empty())
    fmt::print(stderr, "{}: times relative to {}: its median here {:.3f} ms, the model's {:.3f} ms before scaling\n", o.model,
               o.reference, r.reference_median_ms, r.raw_total_median_ms);
#else
  throw dapdee::Error(o.model, "this build has no OpenCV DNN: install libopencv-dnn-dev and rebuild to measure");
#endif
}

int tool_main(int argc, char** argv) {
  CLI::App app{"dapdee-profile: per-node latency of a model (dapdee-profile/1).\n"
               "  dapdee-profile MODEL.onnx [-o OUT]                 measure here with OpenCV DNN\n"
               "  dapdee-profile import-ort TRACE.json --dag DAG     convert an ONNX Runtime trace\n"
               "  dapdee-profile predict DAG.json --device SPEC      roofline estimate for absent hardware\n"
               "  dapdee-profile predict DAG.json --model FIT.json   fitted-model estimate (per-op or kernel)\n"
               "  dapdee-profile fit [--kind op|kernel] --pair DAG=PROFILE... -o FIT   fit a predictor\n"
               "  dapdee-profile refill MODEL.onnx -o OUT.onnx       weights refilled, for ONNX Runtime"};
  app.require_subcommand(0, 1);
  Options o;
  app.add_option("MODEL", o.model, "ONNX model to run and time");
  app.add_option("-o,--output", o.out, "output file (default: stdout)");
  app.add_option("--warmup", o.warmup, "untimed runs first")->check(CLI::Range(0, 100000))->capture_default_str();
  app.add_option("--repeat", o.repeat, "timed runs (the minimum with --budget)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--threads", o.threads, "OpenCV threads")->check(CLI::Range(1, 1024))->capture_default_str();
  app.add_option("--budget", o.budget_s, "adaptive: after --repeat runs, repeat until the medians are stable or SECONDS passed")
      ->capture_default_str();
  app.add_option("--input-shape", o.shapes, "pin an input's dims, NAME=1x3x224x224");
  app.add_option("--remeasure", o.remeasure,
                 "measure again up to N times while the node sum and the whole model differ by > 10%")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  app.add_flag("--strict", o.strict,
               "a profile whose node sum and whole model still differ by > 10% is an error, not written");
  auto* ref_opt = app.add_option("--reference", o.reference,
                                 "alternate every run with this model and give times relative to it (noisy shared hosts)");
  app.add_option("--reference-ms", o.reference_ms, "with --reference: its time in the profile's units (default: its median here)")
      ->check(CLI::PositiveNumber)
      ->needs(ref_opt);
  auto* predict = app.add_subcommand("predict", "estimate a profile from a device spec (roofline) or a fitted model");
  predict->add_option("DAG", o.dag_path, "DAG JSON from dapdee-import, or -")->required();
  auto* dev_opt = predict->add_option("--device", o.spec_path,
                                      "device spec (dapdee-device-spec/1): a file, or a bundled one by name (rpi4)");
  auto* model_opt = predict->add_option("--model", o.fit_path, "model from 'dapdee-profile fit' (per-op or kernel)");
  dev_opt->excludes(model_opt);
  predict
      ->add_option("--calibrate", o.calibrate,
                   "with a kernel model: a profile of its reference model measured on the device, to predict ms there")
      ->needs(model_opt);
  predict->add_option("-o,--output", o.out, "output file (default: stdout)");
  auto* fit = app.add_subcommand("fit", "fit a latency predictor on measured profiles");
  fit->add_option("--pair", o.pairs, "DAG.json=PROFILE.json to train on (repeatable)")->required();
  fit->add_option("--test", o.tests, "DAG.json=PROFILE.json held out, to report the error on (repeatable)");
  fit->add_option("-o,--output", o.out, "the model (dapdee-latency-model/1 or dapdee-kernel-model/1)");
  fit->add_option("--kind", o.kind, "op: per-op-type linear regression; kernel: per kernel class a linear law x boosted trees")
      ->check(CLI::IsMember({"op", "kernel"}))
      ->capture_default_str();
  auto* ort = app.add_subcommand("import-ort", "convert an ONNX Runtime profiling trace");
  ort->add_option("TRACE", o.trace_path, "trace JSON written by SessionOptions.enable_profiling")->required();
  ort->add_option("--dag", o.dag_path, "DAG JSON of the same model")->required();
  ort->add_option("--device-name", o.device_name, "device name to record");
  ort->add_option("-o,--output", o.out, "output file (default: stdout)");
  ort->add_option("--skip-runs", o.skip_runs, "ignore the first N model runs of the trace (profiled warm-up)")->capture_default_str();
  auto* refill = app.add_subcommand("refill", "write the model with absent weights refilled (synthetic, as measured)");
  refill->add_option("MODEL", o.refill_model, "ONNX model, or -")->required();
  refill->add_option("-o,--output", o.out, "output file (default: stdout)");
  app.set_version_flag("--version", std::string("dapdee-profile ") + DAPDEE_VERSION);
  return dapdee_tools::run_tool("dapdee-profile", app, argc, argv, [&] {
    for (int i = 0; i < argc; ++i) o.command += (i ? " " : "") + std::string(argv[i]);
    std::vector<std::string> inputs{o.model,    o.dag_path,     o.spec_path, o.trace_path,
                                    o.fit_path, o.refill_model, o.reference, o.calibrate};
    for (const auto* list : {&o.pairs, &o.tests})
      for (const auto& p : *list) inputs.push_back(p.substr(0, p.find('='))), inputs.push_back(p.substr(p.find('=') + 1));
    dapdee::check_output_paths(inputs, {o.out});
    const std::pair<const CLI::App*, void (*)(const Options&)> jobs[] = {
        {fit, run_fit}, {predict, run_predict}, {ort, run_import_ort}, {refill, run_refill}};
    void (*job)(const Options&) = run_measure;
    for (const auto& [sub, fn] : jobs)
      if (sub->parsed()) job = fn;
    if (job == run_measure && o.model.empty()) dapdee_tools::usage_error("a MODEL or a subcommand is required");
    job(o);
  });
}

}  // namespace

int main(int argc, char** argv) { return dapdee_tools::guarded_main("dapdee-profile", argc, argv, tool_main); }
