// A guard in front of libonnx shape inference: ONNX 1.12's inference functions index the data of
// constant inputs (initializers, Constant values) without checking that the data is there, so a
// tensor whose inline values do not match its dims (a weightless or mutated model) can crash the
// process. The guard shows such tensors to shape inference by type and shape only.
#pragma once

#include <onnx/onnx_pb.h>

#include <optional>
#include <string>
#include <vector>

namespace dapdee {

// The number of elements the dims of `t` give, or nullopt for a negative dim or an overflow.
// Never fails.
std::optional<size_t> dims_element_count(const onnx::TensorProto& t);

// True when `t` holds exactly as many inline values as its dims give (raw_data or the typed
// field of its data type); false for external data, an unknown type or any mismatch. Never fails.
bool holds_all_values(const onnx::TensorProto& t);

// Prepares `model` (a working copy) for onnx::shape_inference::InferShapes: every initializer and
// every Constant `value` that does not hold all its values is turned into a tensor of the same
// type and dims without data (a graph input at the top level, a value_info entry in subgraphs),
// so inference reads its shape but never its values. Returns how many were turned. Never fails.
int hide_incomplete_constants(onnx::ModelProto& model);

// Runs onnx::shape_inference::InferShapes on `model` in place (lenient, with data propagation),
// with the inference of the ops libonnx 1.12 crashes or hangs on checked first: Conv and pooling
// strides, dilations and kernel sizes below 1 (SIGFPE), a Conv input whose rank is not its
// weight's, a TopK K outside its axis, an Expand shape of more than kMaxRank entries (a hang).
// Such a node is left uninferred and reported: the returned problems name each node and op; empty
// when there is none. The data propagation of Slice with a step beyond 2^31 and of Add, Sub, Mul,
// Div with an empty or unbroadcastable operand or a zero divisor is skipped (the constant folder
// evaluates those). Throws what InferShapes throws (std::exception).
std::vector<std::string> infer_shapes_guarded(onnx::ModelProto& model);

// The largest rank guarded shape inference accepts from an Expand shape.
inline constexpr int64_t kMaxRank = 64;

}  // namespace dapdee
