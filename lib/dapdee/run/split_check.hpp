// dapdee-split --check: both parts against the whole model on random input, with OpenCV DNN.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "dapdee/protocol/tensor_wire.hpp"
#include "dapdee/split/split.hpp"

namespace dapdee {

// The largest absolute difference per exit output, and overall.
struct SplitCheck {
  std::vector<std::pair<std::string, double>> outputs;
  double max_abs_diff = 0;
  double max_abs_value = 0;  // the whole model's largest output magnitude (the scale of the difference)
  int refilled = 0;  // float initializers the whole model had refilled (synthetic weights)
};

// Random inputs (uniform [-1, 1), deterministic from `seed`) for every graph input of the model.
// Throws Error(model, ...) for an input whose shape is not static.
std::vector<HostTensor> random_inputs(const ModelSplitter& model, uint64_t seed);

// Runs the whole model and the two parts (each refilled on its own, name-seeded) with OpenCV on
// the same random input and compares every output of the exit. Throws Error(model, ...) when
// OpenCV cannot run a part.
SplitCheck check_split(const ModelSplitter& model, const Partition& p, const SplitParts& parts, uint64_t seed = 1);

}  // namespace dapdee
