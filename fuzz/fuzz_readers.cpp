#include "fuzz_readers.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>

#include "dapdee/dag.hpp"
#include "dapdee/error.hpp"
#include "dapdee/io.hpp"
#include "dapdee/latency_model.hpp"
#include "dapdee/network.hpp"
#include "dapdee/onnx_import.hpp"
#include "dapdee/ort_import.hpp"
#include "dapdee/predict.hpp"
#include "dapdee/profile.hpp"
#include "dapdee/split.hpp"

#ifndef DAPDEE_SOURCE_DIR
#define DAPDEE_SOURCE_DIR "."
#endif

namespace dapdee_fuzz {

namespace fs = std::filesystem;

namespace {

// A private scratch folder for readers that take paths; removed at exit.
const fs::path& scratch() {
  static const fs::path dir = [] {
    std::string tmpl = (fs::temp_directory_path() / "dapdee-fuzz-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) std::abort();
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(scratch(), ec);
    });
    return fs::path(tmpl);
  }();
  return dir;
}

std::string put(const std::string& name, const std::string& data) {
  const std::string path = (scratch() / name).string();
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
  return path;
}

std::string source(const std::string& rel) { return std::string(DAPDEE_SOURCE_DIR) + "/" + rel; }

// The small fixed model the path-taking readers (exits sidecar, plan) pair the input with.
const std::string& fixed_model() {
  static const std::string path = source("models/ee_alexnet.onnx");
  return path;
}

const dapdee::Dag& fixed_dag() {
  static const dapdee::Dag dag =
      dapdee::parse_dag(dapdee::read_input(source("profiles/dags/ee_alexnet.dag.json")), "ee_alexnet.dag.json");
  return dag;
}

void read_onnx(const std::string& data) {
  dapdee::ImportOptions opt;
  opt.model_path = put("model.onnx", data);
  (void)dapdee::dag_to_json(dapdee::import_onnx(opt).dag);
}

void read_exits(const std::string& data) {
  dapdee::ImportOptions opt;
  opt.model_path = fixed_model();
  opt.exits_path = put("exits.json", data);
  (void)dapdee::import_onnx(opt);
}

void read_plan(const std::string& data) {
  dapdee::SplitOptions opt;
  opt.model_path = fixed_model();
  opt.plan_path = put("plan.json", data);
  opt.device_out = (scratch() / "device.onnx").string();
  opt.edge_out = (scratch() / "edge.onnx").string();
  (void)dapdee::split_model(opt);
}

void read_mahimahi(const std::string& data) {
  for (double window : {1000.0, 7.0}) (void)dapdee::mahimahi_windows(data, window);
}

}  // namespace

const std::vector<Reader>& readers() {
  static const std::vector<Reader> table = {
      {"onnx", read_onnx},
      {"dag", [](const std::string& d) { (void)dapdee::dag_to_json(dapdee::parse_dag(d, "in")); }},
      {"profile", [](const std::string& d) { (void)dapdee::parse_profile(d, "in"); }},
      {"network", [](const std::string& d) { (void)dapdee::parse_network(d, "in"); }},
      {"device_spec", [](const std::string& d) { (void)dapdee::predict_profile(fixed_dag(), dapdee::parse_device_spec(d, "in"), "in"); }},
      {"fit_model", [](const std::string& d) { (void)dapdee::predict_profile_with_model(fixed_dag(), dapdee::parse_latency_model(d, "in"), "in"); }},
      {"ort_trace", [](const std::string& d) { (void)dapdee::import_ort_trace(d, "in", fixed_dag(), "fuzz"); }},
      {"mahimahi", read_mahimahi},
      {"exits", read_exits},
      {"plan", read_plan},
  };
  return table;
}

const Reader* find_reader(const std::string& name) {
  for (const auto& r : readers())
    if (name == r.name) return &r;
  return nullptr;
}

void run_one(const Reader& reader, const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    reader.read(text);
  } catch (const dapdee::Error&) {
    // The contract: bad input is refused with the project's error.
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dapdee-fuzz: %s: exception other than dapdee::Error: %s\n", reader.name, e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "dapdee-fuzz: %s: unknown exception\n", reader.name);
    std::abort();
  }
}

}  // namespace dapdee_fuzz
