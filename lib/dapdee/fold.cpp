#include "dapdee/fold.hpp"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>

#include <fmt/format.h>

#include "dapdee/error.hpp"

namespace dapdee::fold {

using onnx::TensorProto;

namespace {

// A fault of the model in a constant subgraph (overflow, index out of range): evaluate() turns
// it into an Error naming the node.
struct Fault {
  std::string what;
};

int64_t checked_add(int64_t x, int64_t y) {
  int64_t r;
  if (__builtin_add_overflow(x, y, &r)) throw Fault{"integer overflow in addition"};
  return r;
}
int64_t checked_sub(int64_t x, int64_t y) {
  int64_t r;
  if (__builtin_sub_overflow(x, y, &r)) throw Fault{"integer overflow in subtraction"};
  return r;
}
int64_t checked_mul(int64_t x, int64_t y) {
  int64_t r;
  if (__builtin_mul_overflow(x, y, &r)) throw Fault{"integer overflow in multiplication"};
  return r;
}
int64_t checked_div(int64_t x, int64_t y) {
  if (y == 0) throw Fault{"integer division by zero"};
  if (x == std::numeric_limits<int64_t>::min() && y == -1) throw Fault{"integer overflow: INT64_MIN / -1"};
  return x / y;
}
// A double as int64 where the result is an integer tensor: refused when not representable.
int64_t checked_int(double x) {
  if (!(x >= -9.2233720368547758e18 && x < 9.2233720368547758e18)) throw Fault{"value out of the int64 range"};
  return static_cast<int64_t>(x);
}

bool float_type(int32_t t) {
  return t == TensorProto::FLOAT || t == TensorProto::DOUBLE || t == TensorProto::FLOAT16 ||
         t == TensorProto::BFLOAT16;
}
bool int_type(int32_t t) {
  switch (t) {
    case TensorProto::INT8: case TensorProto::INT16: case TensorProto::INT32: case TensorProto::INT64:
    case TensorProto::UINT8: case TensorProto::UINT16: case TensorProto::UINT32: case TensorProto::UINT64:
    case TensorProto::BOOL:
      return true;
    default:
      return false;
  }
}

// Element count; saturates far above kMaxElements so a huge or hostile shape never wraps around.
size_t product(const std::vector<int64_t>& dims) {
  size_t n = 1;
  for (auto d : dims) {
    const size_t x = static_cast<size_t>(std::max<int64_t>(d, 0));
    if (x != 0 && n > (size_t{1} << 40) / x) return size_t{1} << 40;
    n *= x;
  }
  return n;
}

double get_f(const Value& v, size_t k) { return v.is_float() ? v.f[k] : static_cast<double>(v.i[k]); }
int64_t get_i(const Value& v, size_t k) {
  if (!v.is_float()) return v.i[k];
  const double x = v.f[k];
  if (!(std::fabs(x) < 9.2e18)) return x > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(x);
}

Value make(int32_t type, std::vector<int64_t> dims) {
  for (auto d : dims)
    if (d < 0) throw Fault{"negative dimension"};
  if (product(dims) > kMaxElements) throw Fault{"result larger than the folding cap"};
  Value v;
  v.type = type;
  v.dims = std::move(dims);
  if (float_type(type)) v.f.resize(product(v.dims));
  else v.i.resize(product(v.dims));
  return v;
}

std::vector<int64_t> to_ints(const Value& v) {
  std::vector<int64_t> out(v.numel());
  for (size_t k = 0; k < out.size(); ++k) out[k] = get_i(v, k);
  return out;
}

const onnx::AttributeProto* attr(const onnx::NodeProto& n, const char* name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}
int64_t attr_i(const onnx::NodeProto& n, const char* name, int64_t dflt) {
  const auto* a = attr(n, name);
  return a ? a->i() : dflt;
}
std::optional<std::vector<int64_t>> attr_ints(const onnx::NodeProto& n, const char* name) {
  const auto* a = attr(n, name);
  if (!a) return std::nullopt;
  return std::vector<int64_t>(a->ints().begin(), a->ints().end());
}

// Broadcast shape of several inputs (numpy rules); nullopt when incompatible.
std::optional<std::vector<int64_t>> broadcast_dims(const std::vector<const Value*>& in) {
  size_t rank = 0;
  for (auto* v : in) rank = std::max(rank, v->dims.size());
  std::vector<int64_t> out(rank, 1);
  for (auto* v : in) {
    const size_t off = rank - v->dims.size();
    for (size_t d = 0; d < v->dims.size(); ++d) {
      const int64_t x = v->dims[d];
      if (out[off + d] == 1) out[off + d] = x;
      else if (x != 1 && x != out[off + d]) return std::nullopt;
    }
  }
  return out;
}

// For each output element, the flat index into input `v` under broadcasting.
std::vector<size_t> broadcast_index(const Value& v, const std::vector<int64_t>& out_dims) {
  const size_t n = product(out_dims), rank = out_dims.size(), off = rank - v.dims.size();
  std::vector<size_t> idx(n);
  std::vector<int64_t> coord(rank, 0);
  std::vector<size_t> stride(v.dims.size(), 1);
  for (int d = static_cast<int>(v.dims.size()) - 2; d >= 0; --d) stride[d] = stride[d + 1] * v.dims[d + 1];
  for (size_t k = 0; k < n; ++k) {
    size_t flat = 0;
    for (size_t d = 0; d < v.dims.size(); ++d)
      if (v.dims[d] != 1) flat += static_cast<size_t>(coord[off + d]) * stride[d];
    idx[k] = flat;
    for (int d = static_cast<int>(rank) - 1; d >= 0; --d) {
      if (++coord[d] < out_dims[d]) break;
      coord[d] = 0;
    }
  }
  return idx;
}

using IntFn = std::function<int64_t(int64_t, int64_t)>;
using FloatFn = std::function<double(double, double)>;

std::optional<Value> binary(const Value& a, const Value& b, int32_t out_type, const IntFn& fi, const FloatFn& ff) {
  auto dims = broadcast_dims({&a, &b});
  if (!dims || product(*dims) > kMaxElements) return std::nullopt;
  Value out = make(out_type, *dims);
  const auto ia = broadcast_index(a, *dims), ib = broadcast_index(b, *dims);
  const bool fl = a.is_float() || b.is_float();
  for (size_t k = 0; k < ia.size(); ++k) {
    if (fl) {
      const double r = ff(get_f(a, ia[k]), get_f(b, ib[k]));
      if (out.is_float()) out.f[k] = r;
      else out.i[k] = checked_int(r);
    } else {
      const int64_t r = fi(get_i(a, ia[k]), get_i(b, ib[k]));
      if (out.is_float()) out.f[k] = static_cast<double>(r);
      else out.i[k] = r;
    }
  }
  return out;
}

std::optional<Value> unary(const Value& a, const IntFn& fi, const FloatFn& ff) {
  Value out = a;
  for (size_t k = 0; k < out.numel(); ++k) {
    if (out.is_float()) out.f[k] = ff(out.f[k], 0);
    else out.i[k] = fi(out.i[k], 0);
  }
  return out;
}

int64_t norm_axis(int64_t axis, size_t rank) { return axis < 0 ? axis + static_cast<int64_t>(rank) : axis; }

// Copies the elements of `src` selected by per-axis index lists into a new value.
Value gather_axes(const Value& src, const std::vector<std::vector<int64_t>>& sel) {
  std::vector<int64_t> dims;
  for (auto& s : sel) dims.push_back(static_cast<int64_t>(s.size()));
  Value out = make(src.type, dims);
  const size_t rank = src.dims.size(), n = out.numel();
  std::vector<size_t> stride(rank, 1);
  for (int d = static_cast<int>(rank) - 2; d >= 0; --d) stride[d] = stride[d + 1] * src.dims[d + 1];
  std::vector<size_t> coord(rank, 0);
  for (size_t k = 0; k < n; ++k) {
    size_t flat = 0;
    for (size_t d = 0; d < rank; ++d) flat += static_cast<size_t>(sel[d][coord[d]]) * stride[d];
    if (out.is_float()) out.f[k] = src.f[flat];
    else out.i[k] = src.i[flat];
    for (int d = static_cast<int>(rank) - 1; d >= 0; --d) {
      if (++coord[d] < sel[d].size()) break;
      coord[d] = 0;
    }
  }
  return out;
}

Value cast_to(const Value& v, int32_t to) {
  Value out = make(to, v.dims);
  for (size_t k = 0; k < out.numel(); ++k) {
    if (out.is_float()) out.f[k] = get_f(v, k);
    else if (to == TensorProto::BOOL) out.i[k] = get_f(v, k) != 0.0;
    else out.i[k] = get_i(v, k);
  }
  return out;
}

}  // namespace

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
        case TensorProto::INT8: { if (!need(1)) return std::nullopt; v.i[k] = static_cast<int8_t>(raw[k]); break; }
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

namespace {

std::optional<std::vector<Value>> evaluate_node(const onnx::NodeProto& node, const std::vector<const Value*>& in,
                                                int64_t opset) {
  const std::string& op = node.op_type();
  auto has = [&](size_t k) { return k < in.size() && in[k] != nullptr; };
  auto one = [](std::optional<Value> v) -> std::optional<std::vector<Value>> {
    if (!v) return std::nullopt;
    return std::vector<Value>{std::move(*v)};
  };
  // Shape and Size read only dims: their input may be a large tensor given without data.
  if ((op == "Shape" || op == "Size") && !in.empty() && in[0]) {
    const Value& a = *in[0];
    const int64_t rank = static_cast<int64_t>(a.dims.size());
    if (op == "Size") {
      Value v = make(TensorProto::INT64, {});
      v.i[0] = 1;
      for (auto d : a.dims)
        if (__builtin_mul_overflow(v.i[0], d, &v.i[0])) v.i[0] = std::numeric_limits<int64_t>::max();
      return one(v);
    }
    int64_t start = attr_i(node, "start", 0), end = attr_i(node, "end", rank);
    if (start < 0) start += rank;
    if (end < 0) end += rank;
    start = std::clamp<int64_t>(start, 0, rank);
    end = std::clamp<int64_t>(end, 0, rank);
    Value v = make(TensorProto::INT64, {std::max<int64_t>(end - start, 0)});
    for (int64_t d = start; d < end; ++d) v.i[d - start] = a.dims[d];
    return one(v);
  }
  for (size_t k = 0; k < in.size(); ++k)
    if (in[k] && in[k]->numel() > kMaxElements) return std::nullopt;

  if (op == "Constant") {
    if (const auto* a = attr(node, "value")) return one(from_tensor(a->t()));
    if (const auto* a = attr(node, "value_int")) { Value v = make(TensorProto::INT64, {}); v.i[0] = a->i(); return one(v); }
    if (const auto* a = attr(node, "value_ints")) {
      Value v = make(TensorProto::INT64, {a->ints_size()});
      for (int k = 0; k < a->ints_size(); ++k) v.i[k] = a->ints(k);
      return one(v);
    }
    if (const auto* a = attr(node, "value_float")) { Value v = make(TensorProto::FLOAT, {}); v.f[0] = a->f(); return one(v); }
    if (const auto* a = attr(node, "value_floats")) {
      Value v = make(TensorProto::FLOAT, {a->floats_size()});
      for (int k = 0; k < a->floats_size(); ++k) v.f[k] = a->floats(k);
      return one(v);
    }
    return std::nullopt;
  }
  if (!has(0)) {
    return std::nullopt;
  }
  const Value& a = *in[0];
  if (op == "Identity") return one(a);
  if (op == "Cast") return one(cast_to(a, static_cast<int32_t>(attr_i(node, "to", TensorProto::FLOAT))));
  if (op == "Neg") return one(unary(a, [](int64_t x, int64_t) { return checked_sub(0, x); }, [](double x, double) { return -x; }));
  if (op == "Abs") return one(unary(a, [](int64_t x, int64_t) { return x < 0 ? checked_sub(0, x) : x; }, [](double x, double) { return std::fabs(x); }));
  if (op == "Floor") return one(unary(a, [](int64_t x, int64_t) { return x; }, [](double x, double) { return std::floor(x); }));
  if (op == "Ceil") return one(unary(a, [](int64_t x, int64_t) { return x; }, [](double x, double) { return std::ceil(x); }));
  if (op == "Sqrt") {
    if (!a.is_float()) return std::nullopt;
    return one(unary(a, nullptr, [](double x, double) { return std::sqrt(x); }));
  }
  if (op == "Reciprocal") {
    if (!a.is_float()) return std::nullopt;
    return one(unary(a, nullptr, [](double x, double) { return 1.0 / x; }));
  }
  if (op == "Not") return one(unary(a, [](int64_t x, int64_t) -> int64_t { return !x; }, nullptr));
  if (op == "Reshape") {
    if (!has(1)) return std::nullopt;
    auto shape = to_ints(*in[1]);
    const bool allowzero = attr_i(node, "allowzero", 0) != 0;
    int64_t known = 1;
    int neg = -1;
    for (size_t d = 0; d < shape.size(); ++d) {
      if (shape[d] == 0 && !allowzero) shape[d] = d < a.dims.size() ? a.dims[d] : 1;
      if (shape[d] == -1) {
        if (neg >= 0) return std::nullopt;
        neg = static_cast<int>(d);
      } else if (shape[d] < 0) {
        throw Fault{fmt::format("negative dimension {} in the target shape", shape[d])};
      } else {
        known = checked_mul(known, shape[d]);
      }
    }
    if (neg >= 0) shape[neg] = known ? static_cast<int64_t>(a.numel()) / known : 0;
    if (product(shape) != a.numel()) return std::nullopt;
    Value v = a;
    v.dims = shape;
    return one(v);
  }
  if (op == "Squeeze" || op == "Unsqueeze") {
    std::optional<std::vector<int64_t>> axes;
    if (opset >= 13) { if (has(1)) axes = to_ints(*in[1]); }
    else axes = attr_ints(node, "axes");
    Value v = a;
    if (op == "Squeeze") {
      std::vector<int64_t> dims;
      for (size_t d = 0; d < a.dims.size(); ++d) {
        bool drop = false;
        if (!axes) drop = a.dims[d] == 1;
        else for (auto x : *axes) drop = drop || norm_axis(x, a.dims.size()) == static_cast<int64_t>(d);
        if (!drop) dims.push_back(a.dims[d]);
      }
      v.dims = dims;
    } else {
      if (!axes) return std::nullopt;
      const size_t rank = a.dims.size() + axes->size();
      std::vector<int64_t> dims(rank, -1);
      for (auto x : *axes) {
        const int64_t ax = norm_axis(x, rank);
        if (ax < 0 || ax >= static_cast<int64_t>(rank)) throw Fault{fmt::format("axis {} out of range", x)};
        if (dims[ax] == 1) throw Fault{fmt::format("axis {} repeated", x)};
        dims[ax] = 1;
      }
      size_t s = 0;
      for (auto& d : dims)
        if (d == -1) d = a.dims[s++];
      v.dims = dims;
    }
    return one(v);
  }
  if (op == "Gather") {
    if (!has(1)) return std::nullopt;
    const int64_t axis = norm_axis(attr_i(node, "axis", 0), a.dims.size());
    if (axis < 0 || axis >= static_cast<int64_t>(a.dims.size())) return std::nullopt;
    const Value& idx = *in[1];
    std::vector<int64_t> dims(a.dims.begin(), a.dims.begin() + axis);
    dims.insert(dims.end(), idx.dims.begin(), idx.dims.end());
    dims.insert(dims.end(), a.dims.begin() + axis + 1, a.dims.end());
    if (product(dims) > kMaxElements) return std::nullopt;  // too large to fold: stays unevaluated
    Value v = make(a.type, dims);
    size_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= a.dims[d];
    for (size_t d = axis + 1; d < a.dims.size(); ++d) inner *= a.dims[d];
    const int64_t len = a.dims[axis];
    size_t k = 0;
    for (size_t o = 0; o < outer; ++o)
      for (size_t j = 0; j < idx.numel(); ++j) {
        int64_t p = get_i(idx, j);
        if (p < 0) p += len;
        if (p < 0 || p >= len) throw Fault{fmt::format("index {} out of range for a dimension of {}", get_i(idx, j), len)};
        for (size_t r = 0; r < inner; ++r, ++k) {
          const size_t src = (o * len + p) * inner + r;
          if (v.is_float()) v.f[k] = a.f[src];
          else v.i[k] = a.i[src];
        }
      }
    return one(v);
  }
  if (op == "Concat") {
    const size_t rank = a.dims.size();
    const int64_t axis = norm_axis(attr_i(node, "axis", 0), rank);
    if (axis < 0 || axis >= static_cast<int64_t>(rank)) return std::nullopt;
    std::vector<int64_t> dims = a.dims;
    dims[axis] = 0;
    for (auto* v : in) {
      if (!v || v->dims.size() != rank || v->is_float() != a.is_float()) return std::nullopt;
      for (size_t d = 0; d < rank; ++d)
        if (static_cast<int64_t>(d) != axis && v->dims[d] != a.dims[d]) throw Fault{"inputs differ outside the concatenation axis"};
      dims[axis] = checked_add(dims[axis], v->dims[axis]);
    }
    if (product(dims) > kMaxElements) return std::nullopt;  // too large to fold: stays unevaluated
    Value out = make(a.type, dims);
    size_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= dims[d];
    for (size_t d = axis + 1; d < rank; ++d) inner *= dims[d];
    size_t k = 0;
    for (size_t o = 0; o < outer; ++o)
      for (auto* v : in) {
        const size_t chunk = v->dims[axis] * inner;
        for (size_t r = 0; r < chunk; ++r, ++k) {
          if (out.is_float()) out.f[k] = v->f[o * chunk + r];
          else out.i[k] = v->i[o * chunk + r];
        }
      }
    return one(out);
  }
  if (op == "Slice") {
    std::vector<int64_t> starts, ends, axes, steps;
    if (opset >= 10) {
      if (!has(1) || !has(2)) return std::nullopt;
      starts = to_ints(*in[1]);
      ends = to_ints(*in[2]);
      if (has(3)) axes = to_ints(*in[3]);
      if (has(4)) steps = to_ints(*in[4]);
    } else {
      starts = attr_ints(node, "starts").value_or(std::vector<int64_t>{});
      ends = attr_ints(node, "ends").value_or(std::vector<int64_t>{});
      axes = attr_ints(node, "axes").value_or(std::vector<int64_t>{});
    }
    const size_t rank = a.dims.size();
    if (axes.empty()) { axes.resize(starts.size()); std::iota(axes.begin(), axes.end(), 0); }
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size()) return std::nullopt;
    std::vector<std::vector<int64_t>> sel(rank);
    for (size_t d = 0; d < rank; ++d) { sel[d].resize(a.dims[d]); std::iota(sel[d].begin(), sel[d].end(), 0); }
    for (size_t s = 0; s < starts.size(); ++s) {
      const int64_t ax = norm_axis(axes[s], rank);
      if (ax < 0 || ax >= static_cast<int64_t>(rank) || steps[s] == 0) return std::nullopt;
      const int64_t len = a.dims[ax], step = steps[s];
      int64_t st = starts[s], en = ends[s];
      if (st < 0) st += len;
      if (en < 0) en += len;
      if (step > 0) { st = std::clamp<int64_t>(st, 0, len); en = std::clamp<int64_t>(en, 0, len); }
      else { st = std::clamp<int64_t>(st, 0, len - 1); en = std::clamp<int64_t>(en, -1, len - 1); }
      sel[ax].clear();
      for (int64_t x = st; step > 0 ? x < en : x > en;) {
        sel[ax].push_back(x);
        if (__builtin_add_overflow(x, step, &x)) break;  // a huge step takes one element
      }
    }
    return one(gather_axes(a, sel));
  }
  if (op == "Range") {
    if (!has(1) || !has(2)) return std::nullopt;
    const Value &lim = *in[1], &delta = *in[2];
    if (a.numel() != 1 || lim.numel() != 1 || delta.numel() != 1) return std::nullopt;
    const double st = get_f(a, 0), li = get_f(lim, 0), de = get_f(delta, 0);
    if (de == 0) return std::nullopt;
    const double count = std::max(std::ceil((li - st) / de), 0.0);
    if (!(count <= static_cast<double>(kMaxElements))) return std::nullopt;  // NaN, or too large
    Value v = make(a.type, {static_cast<int64_t>(count)});
    for (size_t k = 0; k < v.numel(); ++k) {
      if (v.is_float()) v.f[k] = st + de * static_cast<double>(k);
      else v.i[k] = checked_add(get_i(a, 0), checked_mul(get_i(delta, 0), static_cast<int64_t>(k)));
    }
    return one(v);
  }
  if (op == "ConstantOfShape") {
    auto dims = to_ints(a);
    for (auto d : dims) if (d < 0) return std::nullopt;
    if (product(dims) > kMaxElements) return std::nullopt;
    Value fillv = make(TensorProto::FLOAT, {1});
    if (const auto* at = attr(node, "value")) {
      auto t = from_tensor(at->t());
      if (!t || t->numel() != 1) return std::nullopt;
      fillv = *t;
    }
    Value v = make(fillv.type, dims);
    for (size_t k = 0; k < v.numel(); ++k) {
      if (v.is_float()) v.f[k] = fillv.f[0];
      else v.i[k] = fillv.i[0];
    }
    return one(v);
  }
  if (op == "Expand") {
    if (!has(1)) return std::nullopt;
    Value shape_v;  // dims only: a hostile shape must not be allocated
    shape_v.type = a.type;
    shape_v.dims = to_ints(*in[1]);
    for (auto d : shape_v.dims)
      if (d < 0) throw Fault{fmt::format("negative dimension {} in the target shape", d)};
    auto dims = broadcast_dims({&a, &shape_v});
    if (!dims || product(*dims) > kMaxElements) return std::nullopt;
    Value out = make(a.type, *dims);
    const auto idx = broadcast_index(a, *dims);
    for (size_t k = 0; k < idx.size(); ++k) {
      if (out.is_float()) out.f[k] = a.f[idx[k]];
      else out.i[k] = a.i[idx[k]];
    }
    return one(out);
  }
  if (op == "Where") {
    if (!has(1) || !has(2)) return std::nullopt;
    const Value &x = *in[1], &y = *in[2];
    auto dims = broadcast_dims({&a, &x, &y});
    if (!dims || product(*dims) > kMaxElements) return std::nullopt;
    Value out = make(x.type, *dims);
    const auto ic = broadcast_index(a, *dims), ix = broadcast_index(x, *dims), iy = broadcast_index(y, *dims);
    for (size_t k = 0; k < ic.size(); ++k) {
      const bool c = get_i(a, ic[k]) != 0;
      if (out.is_float()) out.f[k] = c ? get_f(x, ix[k]) : get_f(y, iy[k]);
      else out.i[k] = c ? get_i(x, ix[k]) : get_i(y, iy[k]);
    }
    return one(out);
  }
  if (op == "Transpose") {
    const size_t rank = a.dims.size();
    std::vector<int64_t> perm = attr_ints(node, "perm").value_or(std::vector<int64_t>{});
    if (perm.empty()) for (size_t d = 0; d < rank; ++d) perm.push_back(static_cast<int64_t>(rank - 1 - d));
    if (perm.size() != rank) throw Fault{fmt::format("perm has {} entries for a rank-{} input", perm.size(), rank)};
    std::vector<char> used(rank, 0);
    for (auto p : perm) {
      if (p < 0 || p >= static_cast<int64_t>(rank) || used[p]) throw Fault{fmt::format("perm entry {} is out of range or repeated", p)};
      used[p] = 1;
    }
    std::vector<int64_t> dims(rank);
    for (size_t d = 0; d < rank; ++d) dims[d] = a.dims[perm[d]];
    Value out = make(a.type, dims);
    std::vector<size_t> stride(rank, 1);
    for (int d = static_cast<int>(rank) - 2; d >= 0; --d) stride[d] = stride[d + 1] * a.dims[d + 1];
    std::vector<int64_t> coord(rank, 0);
    for (size_t k = 0; k < out.numel(); ++k) {
      size_t src = 0;
      for (size_t d = 0; d < rank; ++d) src += coord[d] * stride[perm[d]];
      if (out.is_float()) out.f[k] = a.f[src];
      else out.i[k] = a.i[src];
      for (int d = static_cast<int>(rank) - 1; d >= 0; --d) {
        if (++coord[d] < dims[d]) break;
        coord[d] = 0;
      }
    }
    return one(out);
  }
  if (op == "ReduceProd" || op == "ReduceSum" || op == "ReduceMin" || op == "ReduceMax") {
    // Only the all-axes reduction of a vector/scalar, as shape code uses it.
    std::optional<std::vector<int64_t>> axes = attr_ints(node, "axes");
    if (op == "ReduceSum" && opset >= 13 && has(1)) axes = to_ints(*in[1]);
    if (axes && !(a.dims.size() == 1 && axes->size() == 1 && norm_axis((*axes)[0], 1) == 0)) return std::nullopt;
    if (a.dims.size() > 1) return std::nullopt;
    const bool keep = attr_i(node, "keepdims", 1) != 0;
    Value out = make(a.type, keep ? std::vector<int64_t>(a.dims.size(), 1) : std::vector<int64_t>{});
    double acc = op == "ReduceProd" ? 1 : op == "ReduceSum" ? 0 : (op == "ReduceMin" ? 1e300 : -1e300);
    for (size_t k = 0; k < a.numel(); ++k) {
      const double x = get_f(a, k);
      if (op == "ReduceProd") acc *= x;
      else if (op == "ReduceSum") acc += x;
      else if (op == "ReduceMin") acc = std::min(acc, x);
      else acc = std::max(acc, x);
    }
    if (out.is_float()) out.f[0] = acc;
    else out.i[0] = checked_int(acc);
    return one(out);
  }
  if (op == "Min" || op == "Max" || op == "Sum") {
    Value acc = a;
    for (size_t k = 1; k < in.size(); ++k) {
      if (!in[k]) return std::nullopt;
      std::optional<Value> r;
      if (op == "Min") r = binary(acc, *in[k], a.type, [](int64_t x, int64_t y) { return std::min(x, y); }, [](double x, double y) { return std::min(x, y); });
      else if (op == "Max") r = binary(acc, *in[k], a.type, [](int64_t x, int64_t y) { return std::max(x, y); }, [](double x, double y) { return std::max(x, y); });
      else r = binary(acc, *in[k], a.type, checked_add, std::plus<double>());
      if (!r) return std::nullopt;
      acc = std::move(*r);
    }
    return one(acc);
  }
  if (!has(1)) return std::nullopt;
  const Value& b = *in[1];
  const int32_t t = a.type;
  constexpr int32_t kBool = TensorProto::BOOL;
  if (op == "Add") return one(binary(a, b, t, checked_add, std::plus<double>()));
  if (op == "Sub") return one(binary(a, b, t, checked_sub, std::minus<double>()));
  if (op == "Mul") return one(binary(a, b, t, checked_mul, std::multiplies<double>()));
  if (op == "Div") {
    if (!a.is_float() || !b.is_float())
      for (size_t k = 0; k < b.numel(); ++k) if (get_i(b, k) == 0) return std::nullopt;
    return one(binary(a, b, t, checked_div, [](double x, double y) { return x / y; }));
  }
  if (op == "Mod") {
    for (size_t k = 0; k < b.numel(); ++k) if (get_f(b, k) == 0) return std::nullopt;
    const bool fmod_c = attr_i(node, "fmod", 0) != 0;
    return one(binary(a, b, t,
                      [fmod_c](int64_t x, int64_t y) {
                        if (y == -1) return int64_t{0};  // INT64_MIN % -1 traps on x86; the result is 0
                        int64_t r = x % y;
                        if (!fmod_c && r != 0 && ((r < 0) != (y < 0))) r += y;
                        return r;
                      },
                      [fmod_c](double x, double y) { double r = std::fmod(x, y); if (!fmod_c && r != 0 && ((r < 0) != (y < 0))) r += y; return r; }));
  }
  if (op == "Pow") return one(binary(a, b, t, [](int64_t x, int64_t y) { return checked_int(std::pow(x, y)); }, [](double x, double y) { return std::pow(x, y); }));
  if (op == "Equal") return one(binary(a, b, kBool, [](int64_t x, int64_t y) -> int64_t { return x == y; }, [](double x, double y) -> double { return x == y; }));
  if (op == "Less") return one(binary(a, b, kBool, [](int64_t x, int64_t y) -> int64_t { return x < y; }, [](double x, double y) -> double { return x < y; }));
  if (op == "Greater") return one(binary(a, b, kBool, [](int64_t x, int64_t y) -> int64_t { return x > y; }, [](double x, double y) -> double { return x > y; }));
  if (op == "LessOrEqual") return one(binary(a, b, kBool, [](int64_t x, int64_t y) -> int64_t { return x <= y; }, [](double x, double y) -> double { return x <= y; }));
  if (op == "GreaterOrEqual") return one(binary(a, b, kBool, [](int64_t x, int64_t y) -> int64_t { return x >= y; }, [](double x, double y) -> double { return x >= y; }));
  if (op == "And") return one(binary(a, b, kBool, [](int64_t x, int64_t y) -> int64_t { return x && y; }, [](double x, double y) -> double { return x && y; }));
  if (op == "Or") return one(binary(a, b, kBool, [](int64_t x, int64_t y) -> int64_t { return x || y; }, [](double x, double y) -> double { return x || y; }));
  return std::nullopt;
}

}  // namespace

std::optional<std::vector<Value>> evaluate(const onnx::NodeProto& node, const std::vector<const Value*>& in,
                                           int64_t opset) {
  try {
    return evaluate_node(node, in, opset);
  } catch (const Fault& f) {
    const std::string name = !node.name().empty() ? node.name() : node.output_size() ? node.output(0) : std::string("?");
    throw Error(fmt::format("node '{}' ({}): {} while folding constants", name, node.op_type(), f.what));
  }
}

}  // namespace dapdee::fold
