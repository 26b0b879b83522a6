// ONNX element types in one place (the code, the name dapdee-dag/1 writes, the size in bytes)
// and element counting. Internal to lib/ (includes the ONNX protobuf header).
#pragma once

#include <onnx/onnx_pb.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dapdee {

// One element type of ONNX tensors.
struct ElementType {
  int32_t code;      // onnx::TensorProto_DataType
  const char* name;  // as dapdee-dag/1 writes it, e.g. "float32"
  int size;          // bytes per element; 0 for a type without a fixed size (string)
};

inline constexpr std::array<ElementType, 16> kElementTypes = {{
    {onnx::TensorProto::FLOAT, "float32", 4},
    {onnx::TensorProto::UINT8, "uint8", 1},
    {onnx::TensorProto::INT8, "int8", 1},
    {onnx::TensorProto::UINT16, "uint16", 2},
    {onnx::TensorProto::INT16, "int16", 2},
    {onnx::TensorProto::INT32, "int32", 4},
    {onnx::TensorProto::INT64, "int64", 8},
    {onnx::TensorProto::BOOL, "bool", 1},
    {onnx::TensorProto::FLOAT16, "float16", 2},
    {onnx::TensorProto::DOUBLE, "float64", 8},
    {onnx::TensorProto::UINT32, "uint32", 4},
    {onnx::TensorProto::UINT64, "uint64", 8},
    {onnx::TensorProto::COMPLEX64, "complex64", 8},
    {onnx::TensorProto::COMPLEX128, "complex128", 16},
    {onnx::TensorProto::BFLOAT16, "bfloat16", 2},
    {onnx::TensorProto::STRING, "string", 0},
}};

// The element type of a TensorProto data type code; {code, "unknown", 0} for a code the table
// lacks. Never fails.
inline ElementType element_type(int32_t code) {
  for (const auto& t : kElementTypes)
    if (t.code == code) return t;
  return {code, "unknown", 0};
}

// The code of a type name as the DAG writes it; `fallback` for a name the table lacks. Never fails.
inline int32_t element_code(std::string_view name, int32_t fallback) {
  for (const auto& t : kElementTypes)
    if (name == t.name) return t.code;
  return fallback;
}

// True for the floating point types (float32, float64, float16, bfloat16).
inline bool is_float_element(int32_t code) {
  return code == onnx::TensorProto::FLOAT || code == onnx::TensorProto::DOUBLE ||
         code == onnx::TensorProto::FLOAT16 || code == onnx::TensorProto::BFLOAT16;
}

// True for the integer types and bool.
inline bool is_integer_element(int32_t code) {
  switch (code) {
    case onnx::TensorProto::INT8: case onnx::TensorProto::INT16: case onnx::TensorProto::INT32:
    case onnx::TensorProto::INT64: case onnx::TensorProto::UINT8: case onnx::TensorProto::UINT16:
    case onnx::TensorProto::UINT32: case onnx::TensorProto::UINT64: case onnx::TensorProto::BOOL:
      return true;
    default:
      return false;
  }
}

// The largest count element_count returns: a huge or hostile shape saturates there, never wraps.
inline constexpr size_t kElementCountCap = size_t{1} << 62;

// Elements of a tensor with these dims (any range of integers); a negative dim counts as 0 and
// the product saturates at kElementCountCap (stopping at the first dim that would pass it).
template <typename Dims>
size_t element_count(const Dims& dims) {
  size_t n = 1;
  for (auto d : dims) {
    const size_t x = d < 0 ? 0 : static_cast<size_t>(d);
    if (x != 0 && n > kElementCountCap / x) return kElementCountCap;
    n *= x;
  }
  return n;
}

}  // namespace dapdee
