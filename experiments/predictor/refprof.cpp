// The reference-normalised measurement of issue 12: a model and a reference model (resnet18) are
// loaded in one process and their forward passes alternated; each round's per-layer times of the
// model are divided by that round's whole-model time of the reference and multiplied by SCALE.
// The host's fast and slow periods (experiments/predictor/results/noise-2026-11-30-pm.md) then fall on both
// and cancel: two passes agree within a median of 3-4% where raw times differ by 8-25%.
// Writes a dapdee-profile/1 document on stdout (per-node `ms` and `total_ms` in those units, plus
// `reference_ms` and `raw_total_ms`, the medians before normalising). Built and run by
// experiments/predictor/measure-ref; OpenCV DNN 4.6, 1 thread, fusion off, input uniform(-1, 1).
//
//   refprof REF.onnx MODEL.onnx ROUNDS NAME SCALE SIDE
//
// Exits 2 on usage errors; an OpenCV error ends it with OpenCV's message (a measurement tool,
// given models that experiments/predictor/measure-ref prepared).
#include <opencv2/dnn.hpp>
#include <opencv2/core/utility.hpp>
#include <nlohmann/json.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>
using namespace cv;
static double med(std::vector<double> v) { std::sort(v.begin(), v.end()); size_t n = v.size(); return n == 0 ? 0 : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]); }
static dnn::Net load(const char* p, int side) {
  dnn::Net n = dnn::readNetFromONNX(p); n.enableFusion(false);
  n.setPreferableBackend(dnn::DNN_BACKEND_OPENCV); n.setPreferableTarget(dnn::DNN_TARGET_CPU);
  int sz[] = {1, 3, side, side}; Mat blob(4, sz, CV_32F); randu(blob, -1, 1); n.setInput(blob);
  n.forward(); n.forward(); return n;
}
int main(int argc, char** argv) {
  if (argc != 7) { fprintf(stderr, "usage: refprof REF.onnx MODEL.onnx ROUNDS NAME SCALE SIDE\n"); return 2; }
  setNumThreads(1);
  dnn::Net ref = load(argv[1], 224), mod = load(argv[2], atoi(argv[6]));
  const int R = atoi(argv[3]); const double scale = atof(argv[5]), f = getTickFrequency() / 1000;
  const auto names = mod.getLayerNames();
  std::vector<std::vector<double>> node(names.size());
  std::vector<double> tot, reft, raw;
  for (int r = 0; r < R; ++r) {
    std::vector<double> ts;
    ref.forward(); const double rt = ref.getPerfProfile(ts) / f;
    mod.forward(); const double mt = mod.getPerfProfile(ts) / f;
    reft.push_back(rt); raw.push_back(mt); tot.push_back(mt / rt * scale);
    for (size_t i = 0; i < ts.size() && i < names.size(); ++i) node[i].push_back(ts[i] / f / rt * scale);
  }
  nlohmann::ordered_json j;
  j["format"] = "dapdee-profile/1"; j["device"] = "AMD EPYC"; j["model"] = argv[4];
  j["runtime"] = "OpenCV DNN 4.6.0 (reference-normalised, experiments/predictor/refprof.cpp)"; j["predicted"] = false;
  nlohmann::ordered_json nodes = nlohmann::ordered_json::object();
  for (size_t i = 0; i < names.size(); ++i) {
    std::string n = names[i];
    if (n.rfind("onnx_node!", 0) == 0) n = n.substr(10);
    const double m = med(node[i]);
    if (nodes.contains(n)) nodes[n]["ms"] = nodes[n]["ms"].get<double>() + m; else nodes[n] = {{"ms", m}};
  }
  j["nodes"] = nodes; j["total_ms"] = med(tot); j["total"] = {{"ms", med(tot)}};
  j["reference_ms"] = med(reft); j["raw_total_ms"] = med(raw); j["rounds"] = R;
  std::cout << j.dump(1) << "\n";
}
