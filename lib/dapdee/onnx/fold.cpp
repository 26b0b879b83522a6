#include "dapdee/onnx/fold.hpp"

#include "dapdee/onnx/fold_detail.hpp"
#include "dapdee/onnx/onnx_types.hpp"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>

#include <fmt/format.h>

#include "dapdee/support/error.hpp"

namespace dapdee::fold {

using onnx::TensorProto;

namespace detail {

bool float_type(int32_t t) { return is_float_element(t); }
bool int_type(int32_t t) { return is_integer_element(t); }
size_t product(const std::vector<int64_t>& dims) { return element_count(dims); }

void check_cap(const std::vector<int64_t>& dims) {
  const size_t n = product(dims);
  if (n > kMaxElements) throw OverCap{n};
}

Value make(int32_t type, std::vector<int64_t> dims) {
  for (auto d : dims)
    if (d < 0) throw Fault{"negative dimension"};
  check_cap(dims);
  Value v;
  v.type = type;
  v.dims = std::move(dims);
  if (float_type(type)) v.f.resize(product(v.dims));
  else v.i.resize(product(v.dims));
  return v;
}

}  // namespace detail

using detail::float_type;
using detail::int_type;
using detail::make;
using detail::product;

bool Value::is_float() const { return float_type(type); }
size_t Value::numel() const { return product(dims); }

std::optional<Value> from_tensor(const TensorProto& t) {
  if (t.data_location() == TensorProto::EXTERNAL) return std::nullopt;
  const int32_t type = t.data_type();
  if (!float_type(type) && !int_type(type)) return std::nullopt;
  std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
  for (auto d : dims)
    if (d < 0) return std::nullopt;
  const size_t n = product(dims);
  if (n > kMaxElements) return std::nullopt;
  Value v = make(type, dims);
  const std::string& raw = t.raw_data();
  auto need = [&](size_t elem) { return raw.size() == n * elem; };
  if (!raw.empty()) {
    for (size_t k = 0; k < n; ++k) {
      switch (type) {
        case TensorProto::FLOAT: { float x; if (!need(4)) return std::nullopt; std::memcpy(&x, raw.data() + 4 * k, 4); v.f[k] = x; break; }
        case TensorProto::DOUBLE: { double x; if (!need(8)) return std::nullopt; std::memcpy(&x, raw.data() + 8 * k, 8); v.f[k] = x; break; }
        case TensorProto::INT64: { int64_t x; if (!need(8)) return std::nullopt; std::memcpy(&x, raw.data() + 8 * k, 8); v.i[k] = x; break; }
        case TensorProto::UINT64: { uint64_t x; if (!need(8)) return std::nullopt; std::memcpy(&x, raw.data() + 8 * k, 8); v.i[k] = static_cast<int64_t>(x); break; }
        case TensorProto::INT32: { int32_t x; if (!need(4)) return std::nullopt; std::memcpy(&x, raw.data() + 4 * k, 4); v.i[k] = x; break; }
        case TensorProto::UINT32: { uint32_t x; if (!need(4)) return std::nullopt; std::memcpy(&x, raw.data() + 4 * k, 4); v.i[k] = x; break; }
        case TensorProto::INT16: { int16_t x; if (!need(2)) return std::nullopt; std::memcpy(&x, raw.data() + 2 * k, 2); v.i[k] = x; break; }
        case TensorProto::UINT16: { uint16_t x; if (!need(2)) return std::nullopt; std::memcpy(&x, raw.data() + 2 * k, 2); v.i[k] = x; break; }
        // INT8 is signed: the sign extension is meant.
        case TensorProto::INT8: { if (!need(1)) return std::nullopt; v.i[k] = static_cast<int8_t>(raw[k]); break; }  // NOLINT(bugprone-signed-char-misuse)
        case TensorProto::UINT8: case TensorProto::BOOL: { if (!need(1)) return std::nullopt; v.i[k] = static_cast<uint8_t>(raw[k]); break; }
        default: return std::nullopt;  // float16 / bfloat16 raw: not needed for shape arithmetic
      }
    }
    return v;
  }
  auto fill = [&](const auto& field) -> bool {
    if (static_cast<size_t>(field.size()) != n) return false;
    for (size_t k = 0; k < n; ++k) {
      if (v.is_float()) v.f[k] = static_cast<double>(field[static_cast<int>(k)]);
      else v.i[k] = static_cast<int64_t>(field[static_cast<int>(k)]);
    }
    return true;
  };
  bool ok = false;
  switch (type) {
    case TensorProto::FLOAT: ok = fill(t.float_data()); break;
    case TensorProto::DOUBLE: ok = fill(t.double_data()); break;
    case TensorProto::INT64: ok = fill(t.int64_data()); break;
    case TensorProto::UINT64: case TensorProto::UINT32: ok = fill(t.uint64_data()); break;
    case TensorProto::INT32: case TensorProto::INT16: case TensorProto::INT8: case TensorProto::UINT16:
    case TensorProto::UINT8: case TensorProto::BOOL: ok = fill(t.int32_data()); break;
    default: ok = false;
  }
  if (!ok) return std::nullopt;
  return v;
}

void to_tensor(const Value& v, const std::string& name, TensorProto* out) {
  out->Clear();
  out->set_name(name);
  for (auto d : v.dims) out->add_dims(d);
  // Shape inference only needs dims, type and (for shape inputs) int64 values.
  if (v.is_float()) {
    out->set_data_type(TensorProto::FLOAT);
    if (v.type == TensorProto::DOUBLE) {
      out->set_data_type(TensorProto::DOUBLE);
      for (double x : v.f) out->add_double_data(x);
    } else {
      for (double x : v.f) out->add_float_data(static_cast<float>(x));
    }
    if (v.type == TensorProto::FLOAT16 || v.type == TensorProto::BFLOAT16) {
      // Keep the declared type for inference; values are irrelevant there.
      out->clear_float_data();
      out->set_data_type(v.type);
      for (size_t k = 0; k < v.numel(); ++k) out->add_int32_data(0);
    }
    return;
  }
  out->set_data_type(v.type);
  switch (v.type) {
    case TensorProto::INT64: for (auto x : v.i) out->add_int64_data(x); break;
    case TensorProto::UINT64: case TensorProto::UINT32: for (auto x : v.i) out->add_uint64_data(static_cast<uint64_t>(x)); break;
    default: for (auto x : v.i) out->add_int32_data(static_cast<int32_t>(x)); break;
  }
}

}  // namespace dapdee::fold
