// Shared by the constant folder's two files (fold.cpp: values and tensors; fold_ops.cpp: the
// evaluators). Internal to lib/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dapdee/onnx/fold_value.hpp"

namespace dapdee::fold::detail {

// A fault of the model in a constant subgraph (overflow, index out of range): evaluate() turns
// it into an Error naming the node.
struct Fault {
  std::string what;
};

// A result of `elements` elements, above kMaxElements: evaluate() leaves the node unevaluated and
// reports the count. Thrown before anything of that size is allocated.
struct OverCap {
  size_t elements;
};

// Throws OverCap when `dims` give more than kMaxElements elements; never allocates.
void check_cap(const std::vector<int64_t>& dims);

// True for the floating point element types (held in Value::f).
bool float_type(int32_t t);
// True for the integer and bool element types (held in Value::i).
bool int_type(int32_t t);
// Element count (element_count): saturates far above kMaxElements, so a huge or hostile shape
// never wraps around.
size_t product(const std::vector<int64_t>& dims);
// A zero-filled value; throws Fault for a negative dimension, OverCap for more than kMaxElements
// elements.
Value make(int32_t type, std::vector<int64_t> dims);

}  // namespace dapdee::fold::detail
