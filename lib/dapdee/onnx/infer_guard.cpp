#include "dapdee/onnx/infer_guard.hpp"

#include <fmt/format.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <unordered_map>

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

// ---- Guarded shape inference.

namespace dapdee {

namespace {

// What a check reads of a node: its attributes, input types and constant input values, from
// libonnx's inference context or, after inference, from the inferred graph.
struct NodeInputs {
  std::function<const onnx::AttributeProto*(const std::string&)> attr;
  std::function<const onnx::TypeProto*(size_t)> type;
  std::function<const TensorProto*(size_t)> data;
};

// The static rank of input k, or -1.
int64_t rank_of(const NodeInputs& in, size_t k) {
  const onnx::TypeProto* t = in.type(k);
  if (!t || !t->has_tensor_type() || !t->tensor_type().has_shape()) return -1;
  return t->tensor_type().shape().dim_size();
}

// Attribute ints of a conv or pool: every stride, dilation and kernel size at least 1.
std::string check_window(const NodeInputs& in) {
  for (const char* name : {"strides", "dilations", "kernel_shape"}) {
    const onnx::AttributeProto* a = in.attr(name);
    if (!a) continue;
    for (int64_t v : a->ints())
      if (v < 1) return fmt::format("attribute {} holds {}; each must be at least 1", name, v);
  }
  return {};
}

std::string check_conv(const NodeInputs& in) {
  std::string problem = check_window(in);
  const int64_t rx = rank_of(in, 0), rw = rank_of(in, 1);
  if (problem.empty() && rx >= 0 && rw >= 0 && rx != rw)
    problem = fmt::format("input of rank {} with a weight of rank {}; they must be equal", rx, rw);
  return problem;
}

std::string check_topk(const NodeInputs& in) {
  const TensorProto* k = in.data(1);
  const onnx::TypeProto* t = in.type(0);
  if (!k || k->data_type() != TensorProto::INT64 || k->int64_data_size() + k->raw_data().size() == 0 || !t ||
      !t->has_tensor_type() || !t->tensor_type().has_shape())
    return {};
  int64_t kv = 0;
  if (k->int64_data_size() > 0)
    kv = k->int64_data(0);
  else if (k->raw_data().size() >= 8)
    std::memcpy(&kv, k->raw_data().data(), 8);
  const auto& shape = t->tensor_type().shape();
  const onnx::AttributeProto* a = in.attr("axis");
  const int64_t rank = shape.dim_size(), axis = a ? (a->i() < 0 ? a->i() + rank : a->i()) : rank - 1;
  if (axis < 0 || axis >= rank) return fmt::format("axis {} out of range for a rank-{} input", a ? a->i() : -1, rank);
  if (kv < 0) return fmt::format("K is {}; it must not be negative", kv);
  const auto& dim = shape.dim(static_cast<int>(axis));
  if (dim.has_dim_value() && kv > dim.dim_value())
    return fmt::format("K is {}, larger than the {} elements of axis {}", kv, dim.dim_value(), axis);
  return {};
}

std::string check_expand(const NodeInputs& in) {
  const onnx::TypeProto* t = in.type(1);
  if (!t || !t->has_tensor_type() || !t->tensor_type().has_shape() || t->tensor_type().shape().dim_size() != 1)
    return {};
  const auto& d = t->tensor_type().shape().dim(0);
  if (d.has_dim_value() && d.dim_value() > kMaxRank)
    return fmt::format("its shape input has {} entries: a result of more than {} dimensions", d.dim_value(), kMaxRank);
  return {};
}

using Check = std::string (*)(const NodeInputs&);

// The default-domain ops whose libonnx 1.12 inference is checked first, and their checks.
const std::unordered_map<std::string, Check>& inference_checks() {
  static const std::unordered_map<std::string, Check> table = {
      {"Conv", check_conv},          {"ConvInteger", check_conv}, {"ConvTranspose", check_conv},
      {"AveragePool", check_window}, {"MaxPool", check_window},   {"LpPool", check_window},
      {"TopK", check_topk},          {"Expand", check_expand},
  };
  return table;
}

// The values of data-propagation input k as integers, or nullopt when some is not known.
std::optional<std::vector<int64_t>> propagated(onnx::DataPropagationContext& ctx, size_t k) {
  const onnx::TensorShapeProto* d = k < ctx.getNumInputs() ? ctx.getInputData(k) : nullptr;
  if (!d) return std::nullopt;
  std::vector<int64_t> v;
  for (const auto& x : d->dim()) v.push_back(x.has_dim_value() ? x.dim_value() : 1);
  return v;
}

// Data propagation libonnx 1.12 may run safely: Shape of an input of known rank, Slice steps within 2^31 (it adds them
// without an overflow check), binary math on operands of equal sizes or of size 1, never empty, no zero or INT64_MIN /
// -1 division.
bool safe_to_propagate(const std::string& op, onnx::DataPropagationContext& ctx) {
  if (op == "Shape") {  // since opset 15 it reads its input's shape unchecked: absent after a failed inference
    const onnx::TypeProto* t = ctx.getNumInputs() > 0 ? ctx.getInputType(0) : nullptr;
    return t && t->has_tensor_type() && t->tensor_type().has_shape();
  }
  if (op == "Slice") {
    const auto steps = propagated(ctx, 4);
    if (!steps) return ctx.getNumInputs() < 5;
    return std::all_of(steps->begin(), steps->end(),
                       [](int64_t s) { return s > -(int64_t{1} << 31) && s < (int64_t{1} << 31); });
  }
  const auto a = propagated(ctx, 0), b = propagated(ctx, 1);
  if (!a || !b) return false;
  if (a->empty() || b->empty() || (a->size() != b->size() && a->size() != 1 && b->size() != 1)) return false;
  if (op != "Div") return true;
  for (size_t k = 0; k < b->size(); ++k)
    if ((*b)[k] == 0 || ((*b)[k] == -1 && (*a)[a->size() == 1 ? 0 : k] == std::numeric_limits<int64_t>::min()))
      return false;
  return true;
}

bool guards_propagation(const std::string& op) {
  return op == "Shape" || op == "Slice" || op == "Add" || op == "Sub" || op == "Mul" || op == "Div";
}

// libonnx's registry with the guarded ops' functions wrapped (copies of their schemas).
class GuardedRegistry : public onnx::ISchemaRegistry {
 public:
  const onnx::OpSchema* GetSchema(const std::string& key, const int version, const std::string& domain) const override {
    const onnx::OpSchema* real = onnx::OpSchemaRegistry::Schema(key, version, domain);
    const auto check = inference_checks().find(key);
    const bool guarded = check != inference_checks().end() || guards_propagation(key);
    if (!real || !(domain.empty() || domain == "ai.onnx") || !guarded) return real;
    auto& copy = copies_[real];
    if (copy) return copy.get();
    copy = std::make_unique<onnx::OpSchema>(*real);
    if (check != inference_checks().end() && real->has_type_and_shape_inference_function())
      copy->TypeAndShapeInferenceFunction(
          [fn = real->GetTypeAndShapeInferenceFunction(), c = check->second](onnx::InferenceContext& ctx) {
            NodeInputs in{[&](const std::string& n) { return ctx.getAttribute(n); },
                          [&](size_t k) { return k < ctx.getNumInputs() ? ctx.getInputType(k) : nullptr; },
                          [&](size_t k) { return k < ctx.getNumInputs() ? ctx.getInputData(k) : nullptr; }};
            if (!c(in).empty()) fail_shape_inference("refused by the importer's guard");  // left uninferred
            fn(ctx);
          });
    if (guards_propagation(key) && real->has_data_propagation_function())
      copy->PartialDataPropagationFunction(
          [fn = real->GetDataPropagationFunction(), key](onnx::DataPropagationContext& ctx) {
            if (safe_to_propagate(key, ctx)) fn(ctx);
          });
    return copy.get();
  }

 private:
  mutable std::unordered_map<const onnx::OpSchema*, std::unique_ptr<onnx::OpSchema>> copies_;
};

// The checks again after inference, on the inferred graph: each problem naming its node.
std::vector<std::string> problems_after(const onnx::GraphProto& g) {
  std::unordered_map<std::string, const onnx::TypeProto*> types;
  std::unordered_map<std::string, const TensorProto*> data;
  for (const auto* list : {&g.input(), &g.value_info(), &g.output()})
    for (const auto& vi : *list) types.emplace(vi.name(), &vi.type());
  std::vector<std::unique_ptr<onnx::TypeProto>> init_types;  // initializers not declared as inputs
  for (const auto& t : g.initializer()) {
    data.emplace(t.name(), &t);
    if (types.count(t.name())) continue;
    init_types.push_back(std::make_unique<onnx::TypeProto>(type_of(t)));
    types.emplace(t.name(), init_types.back().get());
  }
  std::vector<std::string> problems;
  for (const auto& n : g.node()) {
    const auto check = inference_checks().find(n.op_type());
    if (check == inference_checks().end() || !(n.domain().empty() || n.domain() == "ai.onnx")) continue;
    auto lookup = [&n](const auto& map, size_t k) -> decltype(map.begin()->second) {
      if (k >= static_cast<size_t>(n.input_size())) return nullptr;
      const auto it = map.find(n.input(static_cast<int>(k)));
      return it == map.end() ? nullptr : it->second;
    };
    NodeInputs in{[&n](const std::string& name) -> const onnx::AttributeProto* {
                    for (const auto& a : n.attribute())
                      if (a.name() == name) return &a;
                    return nullptr;
                  },
                  [&](size_t k) { return lookup(types, k); }, [&](size_t k) { return lookup(data, k); }};
    const std::string p = check->second(in);
    if (!p.empty())
      problems.push_back(fmt::format("node '{}' ({}): {}", n.name().empty() ? n.output(0) : n.name(), n.op_type(), p));
  }
  return problems;
}

}  // namespace

std::vector<std::string> infer_shapes_guarded(onnx::ModelProto& model) {
  const GuardedRegistry registry;
  onnx::ShapeInferenceOptions so(false, 0, true);
  onnx::shape_inference::InferShapes(model, &registry, so);
  return problems_after(model.graph());
}

}  // namespace dapdee
