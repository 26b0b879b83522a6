// Arithmetic cost of one ONNX node from its static shapes. Internal to lib/.
#pragma once

#include <cstdint>
#include <vector>

namespace onnx {
class NodeProto;
}

namespace dapdee {

// The static shape of one operand, if known.
struct OperandShape {
  bool known = false;
  bool constant = false;  // a weight or other constant
  std::vector<int64_t> dims;
};

// Multiply-accumulates, and other elementary operations (adds, compares, exps, ...).
struct OpCost {
  int64_t macs = 0;
  int64_t ops = 0;
};

// Counts the cost of a node; unknown shapes or ops with no arithmetic give 0 (never fails).
// The rules are documented in docs/COST-MODEL.md.
OpCost op_cost(const onnx::NodeProto& node, const std::vector<OperandShape>& inputs,
               const std::vector<OperandShape>& outputs);

}  // namespace dapdee
