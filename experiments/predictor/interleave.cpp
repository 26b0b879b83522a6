// Two models in one process, their forward passes alternated, so that the host's slow and fast
// periods fall on both alike: per-layer medians of each (OpenCV DNN 4.6, 1 thread, fusion off,
// input uniform(-1, 1) at 1x3x224x224). Answers whether the same layer is slower in one model than
// in another (issue 12's "same-config" question) without the host's noise in between.
//
//   dapdee-profile refill M.onnx -o M.rf.onnx          (weights, as dapdee-profile measures)
//   /usr/bin/python3 experiments/predictor/strip_identity.py M.rf.onnx M.cv.onnx   (OpenCV 4.6 refuses Identity of an initializer)
//   g++ -O2 -std=c++17 experiments/predictor/interleave.cpp -o interleave -I/usr/include/opencv4 -lopencv_dnn -lopencv_core
//   ./interleave A.cv.onnx B.cv.onnx ROUNDS
//
// Prints the whole-model medians, then per model each layer's median (layers above 0.3 ms).
// Exits 2 on usage errors; an OpenCV error ends it with OpenCV's message (a research tool).
#include <opencv2/dnn.hpp>
#include <opencv2/core/utility.hpp>
#include <cstdio>
#include <map>
#include <algorithm>
#include <vector>
#include <string>
using namespace cv;
struct NetT { dnn::Net net; std::vector<std::string> names; std::vector<std::vector<double>> t; std::vector<double> total; };
static void load(NetT& n, const char* p) {
  n.net = dnn::readNetFromONNX(p); n.net.enableFusion(false);
  n.net.setPreferableBackend(dnn::DNN_BACKEND_OPENCV); n.net.setPreferableTarget(dnn::DNN_TARGET_CPU);
  int sz[] = {1, 3, 224, 224}; Mat blob(4, sz, CV_32F); randu(blob, -1, 1); n.net.setInput(blob);
  n.net.forward(); n.net.forward();
  n.names = n.net.getLayerNames(); n.t.resize(n.names.size());
}
static void run(NetT& n) {
  n.net.forward(); std::vector<double> ts; double f = getTickFrequency() / 1000;
  int64 tot = n.net.getPerfProfile(ts); n.total.push_back(tot / f);
  for (size_t i = 0; i < ts.size() && i < n.t.size(); ++i) n.t[i].push_back(ts[i] / f);
}
static double med(std::vector<double> v) { std::sort(v.begin(), v.end()); return v.empty() ? 0 : v[v.size() / 2]; }
int main(int argc, char** argv) {
  if (argc != 4) { fprintf(stderr, "usage: interleave A.onnx B.onnx ROUNDS\n"); return 2; }
  setNumThreads(1);
  NetT a, b; load(a, argv[1]); load(b, argv[2]); int R = atoi(argv[3]);
  for (int r = 0; r < R; ++r) { run(a); run(b); }
  printf("total A %.2f  B %.2f ms (medians of %d, alternated)\n", med(a.total), med(b.total), R);
  for (NetT* n : {&a, &b}) { printf("== %s\n", n == &a ? argv[1] : argv[2]);
    for (size_t i = 0; i < n->names.size(); ++i) if (med(n->t[i]) > 0.3) printf("%-40s %8.3f\n", n->names[i].c_str(), med(n->t[i])); }
}
