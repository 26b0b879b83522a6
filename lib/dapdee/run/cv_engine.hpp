// The OpenCV DNN engine of dapdee-run and dapdee-split --check: the profiler's setup (CPU
// backend, fusion off, Identity/Clip rewrites, name-seeded refill of absent weights, threads)
// for one ONNX model or part held in memory.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dapdee/protocol/tensor_wire.hpp"

namespace dapdee {

// Sets OpenCV's worker threads for the whole process (as dapdee-profile --threads). Never fails.
void set_engine_threads(int threads);

// One ONNX model (a whole model or a part) loaded into OpenCV DNN.
class CvPart {
 public:
  // Parses `onnx_bytes`, refills absent float weights (name-seeded, external data resolved in
  // `model_dir`), rewrites for OpenCV and loads. Throws Error(where, ...) naming the op OpenCV
  // cannot run.
  CvPart(const std::string& onnx_bytes, const std::string& where, const std::string& model_dir = ".");
  ~CvPart();
  CvPart(const CvPart&) = delete;
  CvPart& operator=(const CvPart&) = delete;
  // Sets the inputs, runs forward and returns the named outputs (with the dims OpenCV gives).
  // Throws Error(where, ...) when OpenCV fails (a wrong input shape, an op error).
  std::vector<HostTensor> run(const std::vector<HostTensor>& inputs, const std::vector<std::string>& outputs);
  // Float initializers refilled with synthetic values on load.
  int refilled() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Largest absolute difference of two tensors; +inf when their element counts differ. Never fails.
double max_abs_diff(const HostTensor& a, const HostTensor& b);

// A tensor of `dims` with values uniform in [-1, 1) from `seed` (deterministic). Never fails.
HostTensor random_tensor(const std::string& name, const std::vector<int64_t>& dims, uint64_t seed);

}  // namespace dapdee
