// In-memory rewrites that let OpenCV DNN run real exports: synthetic weights for weightless
// models, and the two torch-1.13 quirks OpenCV 4.6 cannot load. Internal to lib/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace onnx {
class ModelProto;
}

namespace dapdee {

// What prepare_for_opencv changed.
struct RewriteReport {
  int refilled = 0;            // float initializers given synthetic values
  int identity_rewrites = 0;   // Identity(initializer) replaced by a copy of the initializer
  int clip_rewrites = 0;       // opset-11 Clip min/max inputs moved to attributes
  bool synthetic_weights() const { return refilled > 0; }
};

// The name of the synthetic refill scheme (part of the model digest of weightless models).
inline constexpr const char* kRefillScheme = "dapdee-refill/2 splitmix64(fnv1a64(name))";

// The seed of one initializer's synthetic values: a hash of its name and the scheme. Never fails.
uint64_t refill_seed(const std::string& name);

// Refills every float initializer whose data is absent (external file missing, or cleared)
// with deterministic synthetic values: BatchNormalization scale and variance 1, bias and mean 0,
// other tensors uniform in +-1/sqrt(fan_in), each drawn from a generator seeded by the
// tensor's name (refill_seed), so a part of the model refilled alone gets the same values.
// Integer tensors are never touched (they are shapes). `model_dir` resolves external data;
// present external data is loaded inline.
// Throws Error(where, ...) when an external file exists but is shorter than the tensor.
RewriteReport refill_weights(onnx::ModelProto& model, const std::string& model_dir, const std::string& where);

// Rewrites Identity nodes fed by an initializer and opset-11+ Clip with constant min/max inputs.
void rewrite_for_opencv(onnx::ModelProto& model, RewriteReport& report);

}  // namespace dapdee
