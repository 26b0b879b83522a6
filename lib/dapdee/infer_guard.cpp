#include "dapdee/infer_guard.hpp"

#include <cstdint>
#include <limits>
#include <string>

namespace dapdee {

using onnx::TensorProto;

namespace {

// Where a data type keeps its values when not in raw_data, and their sizes.
enum class Field { Float, Double, Int32, Int64, Uint64, String, None };
struct Layout {
  Field field = Field::None;
  size_t bytes = 0;       // bytes of one element in raw_data (0: raw_data not allowed)
  size_t per_element = 1;  // typed-field entries per element (2 for complex)
};

Layout layout_of(int32_t type) {
  switch (type) {
    case TensorProto::FLOAT: return {Field::Float, 4, 1};
    case TensorProto::COMPLEX64: return {Field::Float, 8, 2};
    case TensorProto::DOUBLE: return {Field::Double, 8, 1};
    case TensorProto::COMPLEX128: return {Field::Double, 16, 2};
    case TensorProto::INT64: return {Field::Int64, 8, 1};
    case TensorProto::UINT32: return {Field::Uint64, 4, 1};
    case TensorProto::UINT64: return {Field::Uint64, 8, 1};
    case TensorProto::INT32: return {Field::Int32, 4, 1};
    case TensorProto::INT16:
    case TensorProto::UINT16:
    case TensorProto::FLOAT16:
    case TensorProto::BFLOAT16: return {Field::Int32, 2, 1};
    case TensorProto::INT8:
    case TensorProto::UINT8:
    case TensorProto::BOOL: return {Field::Int32, 1, 1};
    case TensorProto::STRING: return {Field::String, 0, 1};
    default: return {};
  }
}

size_t typed_count(const TensorProto& t, Field f) {
  switch (f) {
    case Field::Float: return static_cast<size_t>(t.float_data_size());
    case Field::Double: return static_cast<size_t>(t.double_data_size());
    case Field::Int32: return static_cast<size_t>(t.int32_data_size());
    case Field::Int64: return static_cast<size_t>(t.int64_data_size());
    case Field::Uint64: return static_cast<size_t>(t.uint64_data_size());
    case Field::String: return static_cast<size_t>(t.string_data_size());
    case Field::None: break;
  }
  return 0;
}

// The type a data-less stand-in of `t` has: its element type and dims (a negative dim unknown).
onnx::TypeProto type_of(const TensorProto& t) {
  onnx::TypeProto type;
  auto* tt = type.mutable_tensor_type();
  tt->set_elem_type(t.data_type());
  auto* shape = tt->mutable_shape();
  for (int64_t d : t.dims()) {
    auto* dim = shape->add_dim();
    if (d >= 0) dim->set_dim_value(d);
  }
  return type;
}

// Declares `name` with `type` in `list` (replacing the type of an entry of that name).
void declare(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>& list, const std::string& name,
             const onnx::TypeProto& type) {
  for (auto& vi : list)
    if (vi.name() == name) {
      *vi.mutable_type() = type;
      return;
    }
  auto* vi = list.Add();
  vi->set_name(name);
  *vi->mutable_type() = type;
}

// The value tensor of a default-domain Constant node that lacks some of its values, or nullptr.
const TensorProto* incomplete_constant(const onnx::NodeProto& n) {
  if (n.op_type() != "Constant" || !(n.domain().empty() || n.domain() == "ai.onnx")) return nullptr;
  for (const auto& a : n.attribute())
    if (a.name() == "value" && a.has_t() && !holds_all_values(a.t())) return &a.t();
  return nullptr;
}

int hide_in_graph(onnx::GraphProto& g, bool top) {
  int hidden = 0;
  for (auto& n : *g.mutable_node())
    for (auto& a : *n.mutable_attribute()) {
      if (a.has_g()) hidden += hide_in_graph(*a.mutable_g(), false);
      for (auto& sub : *a.mutable_graphs()) hidden += hide_in_graph(sub, false);
    }
  auto& declared = top ? *g.mutable_input() : *g.mutable_value_info();
  google::protobuf::RepeatedPtrField<TensorProto> kept_init;
  for (auto& t : *g.mutable_initializer()) {
    if (holds_all_values(t)) {
      kept_init.Add()->Swap(&t);
      continue;
    }
    declare(declared, t.name(), type_of(t));
    ++hidden;
  }
  g.mutable_initializer()->Swap(&kept_init);
  google::protobuf::RepeatedPtrField<onnx::NodeProto> kept_nodes;
  for (auto& n : *g.mutable_node()) {
    const TensorProto* value = incomplete_constant(n);
    if (!value) {
      kept_nodes.Add()->Swap(&n);
      continue;
    }
    for (const auto& o : n.output())
      if (!o.empty()) declare(declared, o, type_of(*value));
    ++hidden;
  }
  g.mutable_node()->Swap(&kept_nodes);
  return hidden;
}

}  // namespace

std::optional<size_t> dims_element_count(const TensorProto& t) {
  size_t n = 1;
  for (int64_t d : t.dims()) {
    if (d < 0) return std::nullopt;
    const auto u = static_cast<uint64_t>(d);
    if (u != 0 && n > std::numeric_limits<size_t>::max() / u) return std::nullopt;
    n *= static_cast<size_t>(u);
  }
  return n;
}

bool holds_all_values(const TensorProto& t) {
  if (t.data_location() == TensorProto::EXTERNAL) return false;
  const Layout l = layout_of(t.data_type());
  const auto n = dims_element_count(t);
  if (l.field == Field::None || !n) return false;
  if (t.has_raw_data()) {
    if (l.bytes == 0 || *n > std::numeric_limits<size_t>::max() / l.bytes) return false;
    return t.raw_data().size() == *n * l.bytes;
  }
  if (*n > std::numeric_limits<size_t>::max() / l.per_element) return false;
  return typed_count(t, l.field) == *n * l.per_element;
}

int hide_incomplete_constants(onnx::ModelProto& model) {
  return model.has_graph() ? hide_in_graph(*model.mutable_graph(), true) : 0;
}

}  // namespace dapdee
