// Two models alternated in one process, one forward pass each per round, printing per round the
// first's time, the second's and their ratio (ms, ms, ratio): the raw data behind the choice of
// per-round normalisation in `dapdee-profile --reference` (experiments/predictor/results/ratio-spread/).
// OpenCV DNN 4.6, 1 thread, fusion off, input uniform(-1, 1) at 1x3x224x224; the models are
// prepared as for experiments/predictor/interleave.cpp (refilled, Identity-of-initializer stripped).
//
//   g++ -O2 -std=c++17 experiments/predictor/alternate.cpp -o alternate -I/usr/include/opencv4 -lopencv_dnn -lopencv_core
//   ./alternate REF.onnx MODEL.onnx ROUNDS
//
// Exits 2 on usage errors; an OpenCV error ends it with OpenCV's message (a research tool).
#include <opencv2/core/utility.hpp>
#include <opencv2/dnn.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>

static cv::dnn::Net load(const char* path) {
  cv::dnn::Net n = cv::dnn::readNetFromONNX(path);
  n.enableFusion(false);
  n.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  n.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  int sz[] = {1, 3, 224, 224};
  cv::Mat b(4, sz, CV_32F);
  cv::randu(b, -1, 1);
  n.setInput(b);
  n.forward();
  n.forward();
  return n;
}

static double timed(cv::dnn::Net& n) {
  const auto t0 = std::chrono::steady_clock::now();
  n.forward();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: alternate REF.onnx MODEL.onnx ROUNDS\n");
    return 2;
  }
  cv::setNumThreads(1);
  cv::dnn::Net ref = load(argv[1]), model = load(argv[2]);
  const int rounds = std::atoi(argv[3]);
  for (int r = 0; r < rounds; ++r) {
    const double x = timed(ref), y = timed(model);
    std::printf("%.2f %.2f %.4f\n", x, y, y / x);
  }
}
