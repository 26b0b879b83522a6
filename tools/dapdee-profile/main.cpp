// dapdee-profile: per-node latency profiles (dapdee-profile/1): measured with OpenCV DNN on this
// machine, converted from an ONNX Runtime trace, or predicted from a device spec.
#include <fmt/format.h>
#include <unistd.h>

#include "../common/run_tool.hpp"
#include "dapdee/dag.hpp"
#include "dapdee/error.hpp"
#include "dapdee/io.hpp"
#include "dapdee/latency_model.hpp"
#include "dapdee/onnx_import.hpp"
#include "dapdee/ort_import.hpp"
#include "dapdee/predict.hpp"
#ifdef DAPDEE_HAVE_OPENCV
#include "dapdee/opencv_profiler.hpp"
#endif

int main(int argc, char** argv) {
  CLI::App app{"dapdee-profile: per-node latency of a model (dapdee-profile/1).\n"
               "  dapdee-profile MODEL.onnx [-o OUT]                 measure here with OpenCV DNN\n"
               "  dapdee-profile import-ort TRACE.json --dag DAG     convert an ONNX Runtime trace\n"
               "  dapdee-profile predict DAG.json --device SPEC      roofline estimate for absent hardware\n"
               "  dapdee-profile predict DAG.json --model FIT.json   per-op regression estimate\n"
               "  dapdee-profile fit --pair DAG=PROFILE... -o FIT   fit the per-op regression"};
  app.require_subcommand(0, 1);
  std::string model, out = "-", dag_path, spec_path, trace_path, device_name = "onnxruntime target";
  std::vector<std::string> shapes;
  int warmup = 3, repeat = 20, threads = 1;
  app.add_option("MODEL", model, "ONNX model to run and time");
  app.add_option("-o,--output", out, "output file (default: stdout)");
  app.add_option("--warmup", warmup, "untimed runs first")->check(CLI::Range(0, 100000))->capture_default_str();
  app.add_option("--repeat", repeat, "timed runs")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--threads", threads, "OpenCV threads")->check(CLI::Range(1, 1024))->capture_default_str();
  app.add_option("--input-shape", shapes, "pin an input's dims, NAME=1x3x224x224");
  auto* predict = app.add_subcommand("predict", "estimate a profile from a device spec (roofline)");
  predict->add_option("DAG", dag_path, "DAG JSON from dapdee-import, or -")->required();
  std::string fit_path;
  auto* dev_opt = predict->add_option("--device", spec_path, "device spec (dapdee-device-spec/1), e.g. profiles/specs/rpi4.json");
  auto* model_opt = predict->add_option("--model", fit_path, "latency model from 'dapdee-profile fit'");
  dev_opt->excludes(model_opt);
  std::vector<std::string> pairs, tests;
  std::string report_path;
  auto* fit = app.add_subcommand("fit", "fit a per-op-type latency model on measured profiles");
  fit->add_option("--pair", pairs, "DAG.json=PROFILE.json to train on (repeatable)")->required();
  fit->add_option("--test", tests, "DAG.json=PROFILE.json held out, to report the error on (repeatable)");
  fit->add_option("-o,--output", out, "the model (dapdee-latency-model/1)");
  predict->add_option("-o,--output", out, "output file (default: stdout)");
  auto* ort = app.add_subcommand("import-ort", "convert an ONNX Runtime profiling trace");
  ort->add_option("TRACE", trace_path, "trace JSON written by SessionOptions.enable_profiling")->required();
  ort->add_option("--dag", dag_path, "DAG JSON of the same model")->required();
  ort->add_option("--device-name", device_name, "device name to record");
  ort->add_option("-o,--output", out, "output file (default: stdout)");
  app.set_version_flag("--version", std::string("dapdee-profile ") + DAPDEE_VERSION);
  return dapdee_tools::run_tool("dapdee-profile", app, argc, argv, [&] {
    std::vector<std::string> inputs{model, dag_path, spec_path, trace_path, fit_path};
    for (const auto& p : pairs) inputs.push_back(p.substr(0, p.find('='))), inputs.push_back(p.substr(p.find('=') + 1));
    for (const auto& p : tests) inputs.push_back(p.substr(0, p.find('='))), inputs.push_back(p.substr(p.find('=') + 1));
    dapdee::check_output_paths(inputs, {out});
    auto load_pairs = [](const std::vector<std::string>& specs) {
      std::vector<dapdee::ProfiledDag> v;
      for (const auto& p : specs) {
        const auto eq = p.find('=');
        if (eq == std::string::npos) throw dapdee::Error("--pair", "expected DAG.json=PROFILE.json, got '" + p + "'");
        const std::string d = p.substr(0, eq), f = p.substr(eq + 1);
        v.push_back({dapdee::parse_dag(dapdee::read_input(d), d), dapdee::load_profile(f)});
      }
      return v;
    };
    if (*fit) {
      const auto model = dapdee::fit_latency_model(load_pairs(pairs));
      if (!tests.empty()) {
        const auto err = dapdee::evaluate_latency_model(model, load_pairs(tests));
        fmt::print(stderr, "held-out error (MAPE per op type over nodes):\n");
        for (const auto& [op, v] : err.op_mape) fmt::print(stderr, "  {:<20} {:7.1f}%  ({} nodes)\n", op, v.first, v.second);
        fmt::print(stderr, "whole-model latency error:\n");
        for (const auto& [m, e] : err.model_error) fmt::print(stderr, "  {:<20} {:+7.1f}%\n", m, e);
      }
      dapdee::write_output_atomic(out, dapdee::latency_model_to_json(model));
      return;
    }
    if (*predict && !fit_path.empty()) {
      const dapdee::Dag dag = dapdee::parse_dag(dapdee::read_input(dag_path), dag_path);
      const auto model = dapdee::parse_latency_model(dapdee::read_input(fit_path), fit_path);
      dapdee::write_output_atomic(out, dapdee::predict_profile_with_model(dag, model, fit_path));
      return;
    }
    if (*predict) {
      if (spec_path.empty()) dapdee_tools::usage_error("predict: give --device SPEC or --model FIT.json");
      const dapdee::Dag dag = dapdee::parse_dag(dapdee::read_input(dag_path), dag_path);
      const dapdee::DeviceSpec spec = dapdee::parse_device_spec(dapdee::read_input(spec_path), spec_path);
      dapdee::write_output_atomic(out, dapdee::predict_profile(dag, spec, spec_path));
      return;
    }
    if (*ort) {
      const dapdee::Dag dag = dapdee::parse_dag(dapdee::read_input(dag_path), dag_path);
      const auto r = dapdee::import_ort_trace(dapdee::read_input(trace_path), trace_path, dag, device_name);
      for (const auto& w : r.warnings) fmt::print(stderr, "dapdee-profile: warning: {}: {}\n", trace_path, w);
      dapdee::write_output_atomic(out, r.json);
      fmt::print(stderr, "{}: {} kernel events, {} runs, {} nodes timed\n", trace_path, r.events, r.runs, r.nodes_timed);
      return;
    }
    if (model.empty()) {
      dapdee_tools::usage_error("a MODEL or a subcommand is required");
    }
#ifdef DAPDEE_HAVE_OPENCV
    dapdee::ProfileOptions opt;
    opt.model_path = model;
    opt.warmup = warmup;
    opt.repeat = repeat;
    opt.threads = threads;
    for (const auto& s : shapes) opt.input_shapes.push_back(dapdee::parse_input_shape(s).take("--input-shape"));
    for (int i = 0; i < argc; ++i) opt.command += (i ? " " : "") + std::string(argv[i]);
    opt.progress = ::isatty(2) ? dapdee::Progress::Bar : dapdee::Progress::Off;
    const dapdee::ProfileRun r = dapdee::profile_with_opencv(opt);
    for (const auto& w : r.warnings) fmt::print(stderr, "dapdee-profile: warning: {}: {}\n", model, w);
    dapdee::write_output_atomic(out, r.json);
    fmt::print(stderr, "{}: whole model {:.3f} ms (median), sum of node medians {:.3f} ms ({:+.1f}%), {} nodes timed, {} without a layer\n",
               model, r.total_median_ms, r.sum_node_median_ms,
               r.total_median_ms > 0 ? 100.0 * (r.sum_node_median_ms / r.total_median_ms - 1) : 0.0, r.nodes_timed,
               r.nodes_without_layer);
#else
    throw dapdee::Error(model, "this build has no OpenCV DNN: install libopencv-dnn-dev and rebuild to measure");
#endif
  });
}
