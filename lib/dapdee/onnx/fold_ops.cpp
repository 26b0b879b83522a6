// The constant folder's evaluators: one function per ONNX op (per opset range where the op's
// inputs changed), looked up in one table, as ONNX's reference evaluator does.
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <string_view>
#include <unordered_map>

#include <fmt/format.h>

#include "dapdee/onnx/fold.hpp"
#include "dapdee/onnx/fold_detail.hpp"
#include "dapdee/onnx/onnx_types.hpp"
#include "dapdee/support/error.hpp"

namespace dapdee::fold {

using onnx::TensorProto;

namespace {

using detail::check_cap;
using detail::Fault;
using detail::make;
using detail::product;

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

double get_f(const Value& v, size_t k) { return v.is_float() ? v.f[k] : static_cast<double>(v.i[k]); }
int64_t get_i(const Value& v, size_t k) {
  if (!v.is_float()) return v.i[k];
  const double x = v.f[k];
  if (!(std::fabs(x) < 9.2e18)) return x > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(x);
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
  if (!dims) return std::nullopt;
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

// Copies the elements of `src` selected by per-axis index lists into a new value. Not inlined:
// GCC 12 inlined into slice() warns falsely of freeing a non-heap object (-Wfree-nonheap-object).
[[gnu::noinline]] Value gather_axes(const Value& src, const std::vector<std::vector<int64_t>>& sel) {
  std::vector<int64_t> dims;
  // No reserve(): with it GCC 12 warns falsely here too (-Wfree-nonheap-object).
  for (auto& s : sel) dims.push_back(static_cast<int64_t>(s.size()));  // NOLINT(performance-inefficient-vector-operation)
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


using Outputs = std::optional<std::vector<Value>>;

// One node to evaluate: the node (attributes), its input values (nullptr for an absent optional
// input) and the model's opset.
struct Call {
  const onnx::NodeProto& node;
  const std::vector<const Value*>& in;
  int64_t opset;
  bool has(size_t k) const { return k < in.size() && in[k] != nullptr; }
  const Value& a() const { return *in[0]; }
};

Outputs one(std::optional<Value> v) {
  if (!v) return std::nullopt;
  return std::vector<Value>{std::move(*v)};
}

// ---- Ops that read only the dims of their input (it may be a large tensor given without data).

Outputs eval_shape(const Call& c) {
  const Value& a = c.a();
  const int64_t rank = static_cast<int64_t>(a.dims.size());
  int64_t start = attr_i(c.node, "start", 0), end = attr_i(c.node, "end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  Value v = make(TensorProto::INT64, {std::max<int64_t>(end - start, 0)});
  for (int64_t d = start; d < end; ++d) v.i[d - start] = a.dims[d];
  return one(v);
}

Outputs eval_size(const Call& c) {
  Value v = make(TensorProto::INT64, {});
  v.i[0] = 1;
  for (auto d : c.a().dims)
    if (__builtin_mul_overflow(v.i[0], d, &v.i[0])) v.i[0] = std::numeric_limits<int64_t>::max();
  return one(v);
}

// ---- Ops that read attributes only.

Outputs eval_constant(const Call& c) {
  const auto& node = c.node;
  if (const auto* a = attr(node, "value")) return one(from_tensor(a->t()));
  if (const auto* a = attr(node, "value_int")) {
    Value v = make(TensorProto::INT64, {});
    v.i[0] = a->i();
    return one(v);
  }
  if (const auto* a = attr(node, "value_ints")) {
    Value v = make(TensorProto::INT64, {a->ints_size()});
    for (int k = 0; k < a->ints_size(); ++k) v.i[k] = a->ints(k);
    return one(v);
  }
  if (const auto* a = attr(node, "value_float")) {
    Value v = make(TensorProto::FLOAT, {});
    v.f[0] = a->f();
    return one(v);
  }
  if (const auto* a = attr(node, "value_floats")) {
    Value v = make(TensorProto::FLOAT, {a->floats_size()});
    for (int k = 0; k < a->floats_size(); ++k) v.f[k] = a->floats(k);
    return one(v);
  }
  return std::nullopt;
}

// ---- Elementwise unary ops.

Outputs eval_identity(const Call& c) { return one(c.a()); }
Outputs eval_cast(const Call& c) {
  return one(cast_to(c.a(), static_cast<int32_t>(attr_i(c.node, "to", TensorProto::FLOAT))));
}
Outputs eval_neg(const Call& c) {
  return one(unary(c.a(), [](int64_t x, int64_t) { return checked_sub(0, x); }, [](double x, double) { return -x; }));
}
Outputs eval_abs(const Call& c) {
  return one(unary(c.a(), [](int64_t x, int64_t) { return x < 0 ? checked_sub(0, x) : x; },
                   [](double x, double) { return std::fabs(x); }));
}
Outputs eval_floor(const Call& c) {
  return one(unary(c.a(), [](int64_t x, int64_t) { return x; }, [](double x, double) { return std::floor(x); }));
}
Outputs eval_ceil(const Call& c) {
  return one(unary(c.a(), [](int64_t x, int64_t) { return x; }, [](double x, double) { return std::ceil(x); }));
}
Outputs eval_sqrt(const Call& c) {
  if (!c.a().is_float()) return std::nullopt;
  return one(unary(c.a(), nullptr, [](double x, double) { return std::sqrt(x); }));
}
Outputs eval_reciprocal(const Call& c) {
  if (!c.a().is_float()) return std::nullopt;
  return one(unary(c.a(), nullptr, [](double x, double) { return 1.0 / x; }));
}
Outputs eval_not(const Call& c) {
  if (c.a().type != TensorProto::BOOL)
    throw Fault{fmt::format("Not takes a bool tensor, not one of element type {}", c.a().type)};
  return one(unary(c.a(), [](int64_t x, int64_t) -> int64_t { return !x; }, nullptr));
}

// ---- Shape manipulation.

Outputs eval_reshape(const Call& c) {
  if (!c.has(1)) return std::nullopt;
  const Value& a = c.a();
  auto shape = to_ints(*c.in[1]);
  const bool allowzero = attr_i(c.node, "allowzero", 0) != 0;
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

// Squeeze: every listed axis must be in range and of dim 1 (the spec's error cases); without
// axes every dim of 1 goes.
Outputs squeeze(const Call& c, const std::optional<std::vector<int64_t>>& axes) {
  const Value& a = c.a();
  const size_t rank = a.dims.size();
  std::vector<char> drop(rank, 0);
  for (size_t d = 0; d < rank && !axes; ++d) drop[d] = a.dims[d] == 1;
  for (const int64_t x : axes.value_or(std::vector<int64_t>{})) {
    const int64_t ax = norm_axis(x, rank);
    if (ax < 0 || ax >= static_cast<int64_t>(rank))
      throw Fault{fmt::format("axis {} out of range for a rank-{} input", x, rank)};
    if (a.dims[ax] != 1) throw Fault{fmt::format("axis {} has dim {}, not 1", x, a.dims[ax])};
    drop[ax] = 1;
  }
  Value v = a;
  v.dims.clear();
  for (size_t d = 0; d < rank; ++d)
    if (!drop[d]) v.dims.push_back(a.dims[d]);
  return one(v);
}

Outputs unsqueeze(const Call& c, const std::optional<std::vector<int64_t>>& axes) {
  const Value& a = c.a();
  if (!axes) return std::nullopt;
  Value v = a;
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
  return one(v);
}

// Squeeze and Unsqueeze take their axes from an attribute before opset 13, from input 1 since.
std::optional<std::vector<int64_t>> axes_attribute(const Call& c) { return attr_ints(c.node, "axes"); }
std::optional<std::vector<int64_t>> axes_input(const Call& c) {
  if (c.has(1)) return to_ints(*c.in[1]);
  return std::nullopt;
}
Outputs eval_squeeze_1(const Call& c) { return squeeze(c, axes_attribute(c)); }
Outputs eval_squeeze_13(const Call& c) { return squeeze(c, axes_input(c)); }
Outputs eval_unsqueeze_1(const Call& c) { return unsqueeze(c, axes_attribute(c)); }
Outputs eval_unsqueeze_13(const Call& c) { return unsqueeze(c, axes_input(c)); }

Outputs eval_gather(const Call& c) {
  if (!c.has(1)) return std::nullopt;
  const Value& a = c.a();
  const int64_t axis = norm_axis(attr_i(c.node, "axis", 0), a.dims.size());
  if (axis < 0 || axis >= static_cast<int64_t>(a.dims.size())) return std::nullopt;
  const Value& idx = *c.in[1];
  std::vector<int64_t> dims(a.dims.begin(), a.dims.begin() + axis);
  dims.insert(dims.end(), idx.dims.begin(), idx.dims.end());
  dims.insert(dims.end(), a.dims.begin() + axis + 1, a.dims.end());
  Value v = make(a.type, dims);       // OverCap: too large to fold, stays unevaluated
  if (v.numel() == 0) return one(v);  // leading dims may be huge beside a 0: no empty loops
  size_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= a.dims[d];
  for (size_t d = axis + 1; d < a.dims.size(); ++d) inner *= a.dims[d];
  const int64_t len = a.dims[axis];
  size_t k = 0;
  for (size_t o = 0; o < outer; ++o)
    for (size_t j = 0; j < idx.numel(); ++j) {
      int64_t p = get_i(idx, j);
      if (p < 0) p += len;
      if (p < 0 || p >= len)
        throw Fault{fmt::format("index {} out of range for a dimension of {}", get_i(idx, j), len)};
      for (size_t r = 0; r < inner; ++r, ++k) {
        const size_t src = (o * len + p) * inner + r;
        if (v.is_float()) v.f[k] = a.f[src];
        else v.i[k] = a.i[src];
      }
    }
  return one(v);
}

Outputs eval_concat(const Call& c) {
  const Value& a = c.a();
  const size_t rank = a.dims.size();
  const int64_t axis = norm_axis(attr_i(c.node, "axis", 0), rank);
  if (axis < 0 || axis >= static_cast<int64_t>(rank)) return std::nullopt;
  std::vector<int64_t> dims = a.dims;
  dims[axis] = 0;
  for (auto* v : c.in) {
    if (!v || v->dims.size() != rank || v->is_float() != a.is_float()) return std::nullopt;
    for (size_t d = 0; d < rank; ++d)
      if (static_cast<int64_t>(d) != axis && v->dims[d] != a.dims[d])
        throw Fault{"inputs differ outside the concatenation axis"};
    dims[axis] = checked_add(dims[axis], v->dims[axis]);
  }
  Value out = make(a.type, dims);         // OverCap: too large to fold, stays unevaluated
  if (out.numel() == 0) return one(out);  // leading dims may be huge beside a 0: no empty loops
  size_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= dims[d];
  for (size_t d = axis + 1; d < rank; ++d) inner *= dims[d];
  size_t k = 0;
  for (size_t o = 0; o < outer; ++o)
    for (auto* v : c.in) {
      const size_t chunk = v->dims[axis] * inner;
      for (size_t r = 0; r < chunk; ++r, ++k) {
        if (out.is_float()) out.f[k] = v->f[o * chunk + r];
        else out.i[k] = v->i[o * chunk + r];
      }
    }
  return one(out);
}

// The parameters of a Slice: attributes before opset 10, inputs since (with steps).
struct SliceArgs {
  std::vector<int64_t> starts, ends, axes, steps;
};

Outputs slice(const Value& a, SliceArgs s) {
  const size_t rank = a.dims.size();
  if (s.axes.empty()) {
    s.axes.resize(s.starts.size());
    std::iota(s.axes.begin(), s.axes.end(), 0);
  }
  if (s.steps.empty()) s.steps.assign(s.starts.size(), 1);
  const size_t n = s.starts.size();
  if (s.ends.size() != n || s.axes.size() != n || s.steps.size() != n) return std::nullopt;
  std::vector<std::vector<int64_t>> sel(rank);
  for (size_t d = 0; d < rank; ++d) {
    sel[d].resize(a.dims[d]);
    std::iota(sel[d].begin(), sel[d].end(), 0);
  }
  for (size_t k = 0; k < n; ++k) {
    const int64_t ax = norm_axis(s.axes[k], rank);
    if (ax < 0 || ax >= static_cast<int64_t>(rank) || s.steps[k] == 0) return std::nullopt;
    const int64_t len = a.dims[ax], step = s.steps[k];
    int64_t st = s.starts[k], en = s.ends[k];
    if (st < 0) st += len;
    if (en < 0) en += len;
    if (step > 0) {
      st = std::clamp<int64_t>(st, 0, len);
      en = std::clamp<int64_t>(en, 0, len);
    } else {
      st = std::clamp<int64_t>(st, 0, len - 1);
      en = std::clamp<int64_t>(en, -1, len - 1);
    }
    sel[ax].clear();
    for (int64_t x = st; step > 0 ? x < en : x > en;) {
      sel[ax].push_back(x);
      if (__builtin_add_overflow(x, step, &x)) break;  // a huge step takes one element
    }
  }
  return one(gather_axes(a, sel));
}

Outputs eval_slice_1(const Call& c) {
  SliceArgs s;
  s.starts = attr_ints(c.node, "starts").value_or(std::vector<int64_t>{});
  s.ends = attr_ints(c.node, "ends").value_or(std::vector<int64_t>{});
  s.axes = attr_ints(c.node, "axes").value_or(std::vector<int64_t>{});
  return slice(c.a(), std::move(s));
}

Outputs eval_slice_10(const Call& c) {
  if (!c.has(1) || !c.has(2)) return std::nullopt;
  SliceArgs s;
  s.starts = to_ints(*c.in[1]);
  s.ends = to_ints(*c.in[2]);
  if (c.has(3)) s.axes = to_ints(*c.in[3]);
  if (c.has(4)) s.steps = to_ints(*c.in[4]);
  return slice(c.a(), std::move(s));
}

Outputs eval_transpose(const Call& c) {
  const Value& a = c.a();
  const size_t rank = a.dims.size();
  std::vector<int64_t> perm = attr_ints(c.node, "perm").value_or(std::vector<int64_t>{});
  if (perm.empty())
    for (size_t d = 0; d < rank; ++d) perm.push_back(static_cast<int64_t>(rank - 1 - d));
  if (perm.size() != rank) throw Fault{fmt::format("perm has {} entries for a rank-{} input", perm.size(), rank)};
  std::vector<char> used(rank, 0);
  for (auto p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(rank) || used[p])
      throw Fault{fmt::format("perm entry {} is out of range or repeated", p)};
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

// ---- Generators.

// Range's element count, max(ceil((limit - start) / delta), 0), in integers: exact at any int64
// (in 128 bits, so limit - start never overflows).
int64_t range_count(int64_t start, int64_t limit, int64_t delta) {
  const __int128 span = static_cast<__int128>(limit) - start;
  if (span == 0 || (span > 0) != (delta > 0)) return 0;
  const __int128 d = delta, q = span / d + (span % d != 0 ? 1 : 0);
  return q > static_cast<__int128>(kElementCountCap) ? static_cast<int64_t>(kElementCountCap) : static_cast<int64_t>(q);
}

Outputs eval_range(const Call& c) {
  if (!c.has(1) || !c.has(2)) return std::nullopt;
  const Value &a = c.a(), &lim = *c.in[1], &delta = *c.in[2];
  if (a.numel() != 1 || lim.numel() != 1 || delta.numel() != 1) return std::nullopt;
  if (a.is_float()) {
    const double st = get_f(a, 0), li = get_f(lim, 0), de = get_f(delta, 0);
    if (de == 0) return std::nullopt;
    const double count = std::max(std::ceil((li - st) / de), 0.0);
    if (std::isnan(count)) return std::nullopt;
    if (count > static_cast<double>(kMaxElements)) throw detail::OverCap{static_cast<size_t>(std::min(count, 4e18))};
    Value v = make(a.type, {static_cast<int64_t>(count)});
    for (size_t k = 0; k < v.numel(); ++k) v.f[k] = st + de * static_cast<double>(k);
    return one(v);
  }
  const int64_t st = get_i(a, 0), de = get_i(delta, 0);
  if (de == 0) throw Fault{"delta is 0"};
  Value v = make(a.type, {range_count(st, get_i(lim, 0), de)});
  // Each element lies between start and limit, so it is an int64 (delta * k alone may not be).
  for (size_t k = 0; k < v.numel(); ++k)
    v.i[k] = static_cast<int64_t>(st + static_cast<__int128>(de) * static_cast<int64_t>(k));
  return one(v);
}

Outputs eval_constant_of_shape(const Call& c) {
  auto dims = to_ints(c.a());
  for (auto d : dims)
    if (d < 0) return std::nullopt;
  check_cap(dims);
  Value fillv = make(TensorProto::FLOAT, {1});
  if (const auto* at = attr(c.node, "value")) {
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

// ---- Broadcasting ops.

Outputs eval_expand(const Call& c) {
  if (!c.has(1)) return std::nullopt;
  const Value& a = c.a();
  Value shape_v;  // dims only: a hostile shape must not be allocated
  shape_v.type = a.type;
  shape_v.dims = to_ints(*c.in[1]);
  for (auto d : shape_v.dims)
    if (d < 0) throw Fault{fmt::format("negative dimension {} in the target shape", d)};
  auto dims = broadcast_dims({&a, &shape_v});
  if (!dims) return std::nullopt;
  Value out = make(a.type, *dims);
  const auto idx = broadcast_index(a, *dims);
  for (size_t k = 0; k < idx.size(); ++k) {
    if (out.is_float()) out.f[k] = a.f[idx[k]];
    else out.i[k] = a.i[idx[k]];
  }
  return one(out);
}

Outputs eval_where(const Call& c) {
  if (!c.has(1) || !c.has(2)) return std::nullopt;
  const Value &a = c.a(), &x = *c.in[1], &y = *c.in[2];
  auto dims = broadcast_dims({&a, &x, &y});
  if (!dims) return std::nullopt;
  Value out = make(x.type, *dims);
  const auto ic = broadcast_index(a, *dims), ix = broadcast_index(x, *dims), iy = broadcast_index(y, *dims);
  for (size_t k = 0; k < ic.size(); ++k) {
    const bool cond = get_i(a, ic[k]) != 0;
    if (out.is_float()) out.f[k] = cond ? get_f(x, ix[k]) : get_f(y, iy[k]);
    else out.i[k] = cond ? get_i(x, ix[k]) : get_i(y, iy[k]);
  }
  return one(out);
}

// ---- Reductions: only the all-axes reduction of a vector or scalar, as shape code uses it.

enum class Reduction { Prod, Sum, Min, Max };

// The reduction of `xs` in T (integers with the checked add and mul: an overflow is a Fault).
template <typename T, typename Add, typename Mul>
T accumulate(Reduction kind, const std::vector<T>& xs, Add add, Mul mul) {
  T acc = kind == Reduction::Prod ? T{1} : kind == Reduction::Sum ? T{0} : std::numeric_limits<T>::max();
  if (kind == Reduction::Max) acc = std::numeric_limits<T>::lowest();
  for (const T x : xs) {
    if (kind == Reduction::Prod)
      acc = mul(acc, x);
    else if (kind == Reduction::Sum)
      acc = add(acc, x);
    else if (kind == Reduction::Min)
      acc = std::min(acc, x);
    else
      acc = std::max(acc, x);
  }
  return acc;
}

Outputs reduce(const Call& c, Reduction kind, const std::optional<std::vector<int64_t>>& axes) {
  const Value& a = c.a();
  if (axes && !(a.dims.size() == 1 && axes->size() == 1 && norm_axis((*axes)[0], 1) == 0)) return std::nullopt;
  if (a.dims.size() > 1) return std::nullopt;
  const bool keep = attr_i(c.node, "keepdims", 1) != 0;
  Value out = make(a.type, keep ? std::vector<int64_t>(a.dims.size(), 1) : std::vector<int64_t>{});
  if (out.is_float())
    out.f[0] = accumulate<double>(kind, a.f, std::plus<double>(), std::multiplies<double>());
  else
    out.i[0] = accumulate<int64_t>(kind, a.i, checked_add, checked_mul);  // integers: exact, checked
  return one(out);
}

template <Reduction kind>
Outputs eval_reduce(const Call& c) {
  return reduce(c, kind, axes_attribute(c));
}
// ReduceSum takes its axes from input 1 since opset 13 (the attribute when the input is absent).
Outputs eval_reduce_sum_13(const Call& c) {
  return reduce(c, Reduction::Sum, c.has(1) ? axes_input(c) : axes_attribute(c));
}

// ---- Variadic and binary elementwise ops.

// Min, Max and Sum over any number of inputs.
template <Reduction kind>
Outputs eval_variadic(const Call& c) {
  const Value& a = c.a();
  Value acc = a;
  for (size_t k = 1; k < c.in.size(); ++k) {
    if (!c.in[k]) return std::nullopt;
    std::optional<Value> r;
    if (kind == Reduction::Min)
      r = binary(acc, *c.in[k], a.type, [](int64_t x, int64_t y) { return std::min(x, y); },
                 [](double x, double y) { return std::min(x, y); });
    else if (kind == Reduction::Max)
      r = binary(acc, *c.in[k], a.type, [](int64_t x, int64_t y) { return std::max(x, y); },
                 [](double x, double y) { return std::max(x, y); });
    else
      r = binary(acc, *c.in[k], a.type, checked_add, std::plus<double>());
    if (!r) return std::nullopt;
    acc = std::move(*r);
  }
  return one(acc);
}

// A binary op with the result type of input 0 (arithmetic) or bool (comparisons, logic).
enum class Result { SameType, Bool };

Outputs apply_binary(const Call& c, Result result, const IntFn& fi, const FloatFn& ff) {
  if (!c.has(1)) return std::nullopt;
  const int32_t t = result == Result::Bool ? static_cast<int32_t>(TensorProto::BOOL) : c.a().type;
  return one(binary(c.a(), *c.in[1], t, fi, ff));
}

Outputs eval_add(const Call& c) { return apply_binary(c, Result::SameType, checked_add, std::plus<double>()); }
Outputs eval_sub(const Call& c) { return apply_binary(c, Result::SameType, checked_sub, std::minus<double>()); }
Outputs eval_mul(const Call& c) { return apply_binary(c, Result::SameType, checked_mul, std::multiplies<double>()); }

Outputs eval_div(const Call& c) {
  if (!c.has(1)) return std::nullopt;
  const Value &a = c.a(), &b = *c.in[1];
  if (!a.is_float() || !b.is_float())
    for (size_t k = 0; k < b.numel(); ++k)
      if (get_i(b, k) == 0) return std::nullopt;
  return apply_binary(c, Result::SameType, checked_div, [](double x, double y) { return x / y; });
}

Outputs eval_mod(const Call& c) {
  if (!c.has(1)) return std::nullopt;
  const Value& b = *c.in[1];
  for (size_t k = 0; k < b.numel(); ++k)
    if (get_f(b, k) == 0) return std::nullopt;
  const bool fmod_c = attr_i(c.node, "fmod", 0) != 0;
  return apply_binary(
      c, Result::SameType,
      [fmod_c](int64_t x, int64_t y) {
        if (y == -1) return int64_t{0};  // INT64_MIN % -1 traps on x86; the result is 0
        int64_t r = x % y;
        if (!fmod_c && r != 0 && ((r < 0) != (y < 0))) r += y;
        return r;
      },
      [fmod_c](double x, double y) {
        double r = std::fmod(x, y);
        if (!fmod_c && r != 0 && ((r < 0) != (y < 0))) r += y;
        return r;
      });
}

// x to the power y in integers, by squaring with checked multiplication; a negative power is
// 1 or -1 for a base of 1 or -1 and refused otherwise (its value is not an integer).
int64_t int_pow(int64_t x, int64_t y) {
  if (y < 0) {
    if (x == 1 || x == -1) return (y % 2 != 0) ? x : 1;
    throw Fault{fmt::format("integer {} to the negative power {}", x, y)};
  }
  int64_t r = 1;
  for (; y > 0; y >>= 1) {
    if (y & 1) r = checked_mul(r, x);
    if (y > 1) x = checked_mul(x, x);
  }
  return r;
}

Outputs eval_pow(const Call& c) {
  return apply_binary(c, Result::SameType, int_pow, [](double x, double y) { return std::pow(x, y); });
}

// Comparisons and logic: the same predicate on integers and on doubles, a bool result.
template <typename Pred>
Outputs predicate(const Call& c, Pred p) {
  return apply_binary(c, Result::Bool, [p](int64_t x, int64_t y) -> int64_t { return p(x, y); },
                      [p](double x, double y) -> double { return p(x, y); });
}
Outputs eval_equal(const Call& c) { return predicate(c, [](auto x, auto y) { return x == y; }); }
Outputs eval_less(const Call& c) { return predicate(c, [](auto x, auto y) { return x < y; }); }
Outputs eval_greater(const Call& c) { return predicate(c, [](auto x, auto y) { return x > y; }); }
Outputs eval_less_or_equal(const Call& c) { return predicate(c, [](auto x, auto y) { return x <= y; }); }
Outputs eval_greater_or_equal(const Call& c) { return predicate(c, [](auto x, auto y) { return x >= y; }); }
Outputs eval_and(const Call& c) { return predicate(c, [](auto x, auto y) { return x && y; }); }
Outputs eval_or(const Call& c) { return predicate(c, [](auto x, auto y) { return x || y; }); }

// ---- The table.

// What an evaluator reads before it runs: attributes only (Constant), the dims of input 0 (Shape,
// Size: the input may be a large tensor without data), or input values (input 0 present, every
// input within kMaxElements).
enum class Reads { Attributes, Dims, Values };

struct Evaluator {
  int64_t since;  // first opset this implementation applies to
  Reads reads;
  Outputs (*fn)(const Call&);
};

// Every op the folder handles, each with its implementations by opset, oldest first.
const std::unordered_map<std::string_view, std::vector<Evaluator>>& evaluators() {
  static const std::unordered_map<std::string_view, std::vector<Evaluator>> table = {
      {"Shape", {{0, Reads::Dims, eval_shape}}},
      {"Size", {{0, Reads::Dims, eval_size}}},
      {"Constant", {{0, Reads::Attributes, eval_constant}}},
      {"Identity", {{0, Reads::Values, eval_identity}}},
      {"Cast", {{0, Reads::Values, eval_cast}}},
      {"Neg", {{0, Reads::Values, eval_neg}}},
      {"Abs", {{0, Reads::Values, eval_abs}}},
      {"Floor", {{0, Reads::Values, eval_floor}}},
      {"Ceil", {{0, Reads::Values, eval_ceil}}},
      {"Sqrt", {{0, Reads::Values, eval_sqrt}}},
      {"Reciprocal", {{0, Reads::Values, eval_reciprocal}}},
      {"Not", {{0, Reads::Values, eval_not}}},
      {"Reshape", {{0, Reads::Values, eval_reshape}}},
      {"Squeeze", {{0, Reads::Values, eval_squeeze_1}, {13, Reads::Values, eval_squeeze_13}}},
      {"Unsqueeze", {{0, Reads::Values, eval_unsqueeze_1}, {13, Reads::Values, eval_unsqueeze_13}}},
      {"Gather", {{0, Reads::Values, eval_gather}}},
      {"Concat", {{0, Reads::Values, eval_concat}}},
      {"Slice", {{0, Reads::Values, eval_slice_1}, {10, Reads::Values, eval_slice_10}}},
      {"Range", {{0, Reads::Values, eval_range}}},
      {"ConstantOfShape", {{0, Reads::Values, eval_constant_of_shape}}},
      {"Expand", {{0, Reads::Values, eval_expand}}},
      {"Where", {{0, Reads::Values, eval_where}}},
      {"Transpose", {{0, Reads::Values, eval_transpose}}},
      {"ReduceProd", {{0, Reads::Values, eval_reduce<Reduction::Prod>}}},
      {"ReduceSum", {{0, Reads::Values, eval_reduce<Reduction::Sum>}, {13, Reads::Values, eval_reduce_sum_13}}},
      {"ReduceMin", {{0, Reads::Values, eval_reduce<Reduction::Min>}}},
      {"ReduceMax", {{0, Reads::Values, eval_reduce<Reduction::Max>}}},
      {"Min", {{0, Reads::Values, eval_variadic<Reduction::Min>}}},
      {"Max", {{0, Reads::Values, eval_variadic<Reduction::Max>}}},
      {"Sum", {{0, Reads::Values, eval_variadic<Reduction::Sum>}}},
      {"Add", {{0, Reads::Values, eval_add}}},
      {"Sub", {{0, Reads::Values, eval_sub}}},
      {"Mul", {{0, Reads::Values, eval_mul}}},
      {"Div", {{0, Reads::Values, eval_div}}},
      {"Mod", {{0, Reads::Values, eval_mod}}},
      {"Pow", {{0, Reads::Values, eval_pow}}},
      {"Equal", {{0, Reads::Values, eval_equal}}},
      {"Less", {{0, Reads::Values, eval_less}}},
      {"Greater", {{0, Reads::Values, eval_greater}}},
      {"LessOrEqual", {{0, Reads::Values, eval_less_or_equal}}},
      {"GreaterOrEqual", {{0, Reads::Values, eval_greater_or_equal}}},
      {"And", {{0, Reads::Values, eval_and}}},
      {"Or", {{0, Reads::Values, eval_or}}},
  };
  return table;
}

// The implementation of `op` for `opset` (the newest one not newer than it); nullptr when the op
// is not handled.
const Evaluator* find_evaluator(const std::string& op, int64_t opset) {
  const auto& table = evaluators();
  const auto it = table.find(op);
  if (it == table.end()) return nullptr;
  const Evaluator* found = nullptr;
  for (const auto& e : it->second)
    if (e.since <= opset || !found) found = &e;
  return found;
}

Outputs evaluate_node(const onnx::NodeProto& node, const std::vector<const Value*>& in, int64_t opset) {
  const Evaluator* e = find_evaluator(node.op_type(), opset);
  const Call call{node, in, opset};
  if (e && e->reads == Reads::Dims && call.has(0)) return e->fn(call);
  for (size_t k = 0; k < in.size(); ++k)
    if (in[k] && in[k]->numel() > kMaxElements) return std::nullopt;
  if (!e) return std::nullopt;
  if (e->reads == Reads::Attributes) return e->fn(call);
  if (!call.has(0)) return std::nullopt;
  return e->fn(call);
}

}  // namespace

std::optional<std::vector<Value>> evaluate(const onnx::NodeProto& node, const std::vector<const Value*>& in,
                                           int64_t opset, size_t* over_cap) {
  try {
    return evaluate_node(node, in, opset);
  } catch (const detail::OverCap& o) {
    if (over_cap) *over_cap = o.elements;
    return std::nullopt;
  } catch (const Fault& f) {
    const std::string name = !node.name().empty() ? node.name() : node.output_size() ? node.output(0) : std::string("?");
    throw Error(fmt::format("node '{}' ({}): {} while folding constants", name, node.op_type(), f.what));
  }
}

std::vector<std::string> folded_ops() {
  std::vector<std::string> ops;
  for (const auto& [op, impls] : evaluators()) ops.emplace_back(op);
  std::sort(ops.begin(), ops.end());
  return ops;
}

}  // namespace dapdee::fold
