// The constant folder's value type, shared by its interface (fold.hpp) and its two source files
// (fold_detail.hpp). Internal to lib/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dapdee::fold {

// A small constant tensor: integers (and bool) in `i`, floating point values in `f`.
struct Value {
  int32_t type = 0;             // onnx::TensorProto_DataType
  std::vector<int64_t> dims;
  std::vector<int64_t> i;
  std::vector<double> f;
  bool is_float() const;
  size_t numel() const;
};

// Largest constant (in elements) the importer evaluates; bigger ones stay unevaluated.
inline constexpr size_t kMaxElements = 1 << 20;

}  // namespace dapdee::fold
