// Evaluation of small constant subgraphs (shape arithmetic) during import. Internal to lib/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dapdee/onnx/fold_value.hpp"

namespace onnx {
class NodeProto;
class TensorProto;
}  // namespace onnx

namespace dapdee::fold {

// Reads a TensorProto with inline data; nullopt when it has no data here (external, stripped),
// is too large, or has a type that folding does not handle.
std::optional<Value> from_tensor(const onnx::TensorProto& t);

// Writes a value as a TensorProto named `name` (for feeding shape inference).
void to_tensor(const Value& v, const std::string& name, onnx::TensorProto* out);

// Evaluates one node given the values of its inputs (nullptr for an absent optional input)
// and the opset (Shape and Size need only the dims of their input); returns its outputs, or
// nullopt when the op or a case of it is not handled or a result would exceed kMaxElements
// (checked before anything is allocated; then *over_cap, when given, is set to its element
// count). Integers are computed in integers. Throws Error naming the node when the model is at
// fault: integer overflow (Add, Sub, Mul, Neg, Abs, Sum, Pow, ReduceSum, ReduceProd; INT64_MIN /
// -1 in Div), a zero Range delta, an index, axis or Transpose perm out of range, a Squeeze axis
// whose dim is not 1, Not of a non-bool tensor, mismatched Concat inputs.
std::optional<std::vector<Value>> evaluate(const onnx::NodeProto& node, const std::vector<const Value*>& inputs,
                                           int64_t opset, size_t* over_cap = nullptr);

// The default-domain ops evaluate() handles (some cases of them may still be refused), sorted.
// Never fails.
std::vector<std::string> folded_ops();

}  // namespace dapdee::fold
