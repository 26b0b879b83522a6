// Whole-model preparation for runtimes: a weightless export refilled for ONNX Runtime, and the
// in-memory rewrites OpenCV DNN 4.6 needs beyond onnx_rewrite's (transformer exports).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace onnx {
class ModelProto;
}

namespace dapdee {

// The model at `path` with every absent float weight refilled (as dapdee-profile does before
// measuring) and present external data inlined, serialised. Throws Error(path, ...) when the
// file is not an ONNX model (OnnxModel's checks) or an external file is short; `refilled` counts
// refilled tensors.
std::string refilled_model_bytes(const std::string& path, int& refilled);

}  // namespace dapdee

namespace dapdee {

// What rewrite_for_opencv_transformers changed.
struct TransformerRewrites {
  int expand = 0;     // Expand of a constant folded into an initializer
  int folded = 0;     // nodes of constant inputs folded into initializers (Expand included)
  int broadcast = 0;  // element-wise op with a constant of another shape: constant broadcast
  int erf = 0;        // Erf replaced by tanh(z * (a + b z^2)) (max abs error 4e-4; same cost class)
};

// Rewrites, in memory, what OpenCV DNN 4.6 cannot load in transformer exports (vit_b_16):
// `Expand` whose data and shape are constant becomes an initializer; `Add`/`Sub`/`Mul`/`Div`
// with a constant input of another shape than the output get the constant broadcast to the
// output's static shape (`shapes`: tensor name -> dims, from the import); `Erf` becomes an
// approximation from ops OpenCV has, its nodes named `<Erf node>/erf_approx/...` so their time
// maps back to the Erf node. Needs the weights present (refilled). Never fails; leaves alone
// what it cannot evaluate.
TransformerRewrites rewrite_for_opencv_transformers(onnx::ModelProto& model,
                                                    const std::unordered_map<std::string, std::vector<int64_t>>& shapes);

}  // namespace dapdee
