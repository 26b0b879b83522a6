#include "dapdee/onnx/infer_guard.hpp"

#include <cstdint>
#include <limits>
#include <string>

#include "dapdee/onnx/onnx_types.hpp"

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

// The typed field of each element type (TensorProto's comments); sizes come from onnx_types.hpp.
struct TypedField {
  int32_t code;
  Field field;
  size_t per_element;
};
constexpr TypedField kTypedFields[] = {
    {TensorProto::FLOAT, Field::Float, 1},      {TensorProto::COMPLEX64, Field::Float, 2},
    {TensorProto::DOUBLE, Field::Double, 1},    {TensorProto::COMPLEX128, Field::Double, 2},
    {TensorProto::INT64, Field::Int64, 1},      {TensorProto::UINT32, Field::Uint64, 1},
    {TensorProto::UINT64, Field::Uint64, 1},    {TensorProto::INT32, Field::Int32, 1},
    {TensorProto::INT16, Field::Int32, 1},      {TensorProto::UINT16, Field::Int32, 1},
    {TensorProto::FLOAT16, Field::Int32, 1},    {TensorProto::BFLOAT16, Field::Int32, 1},
    {TensorProto::INT8, Field::Int32, 1},       {TensorProto::UINT8, Field::Int32, 1},
    {TensorProto::BOOL, Field::Int32, 1},       {TensorProto::STRING, Field::String, 1},
};

Layout layout_of(int32_t type) {
  for (const auto& f : kTypedFields)
    if (f.code == type) return {f.field, static_cast<size_t>(element_type(type).size), f.per_element};
  return {};
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
