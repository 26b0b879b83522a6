#include "dapdee/import/op_cost.hpp"

#include <onnx/onnx_pb.h>

#include <set>
#include <string>

namespace dapdee {

namespace {

// Products saturate at 2^62 so hostile shapes never overflow.
constexpr int64_t kCap = int64_t{1} << 62;
int64_t mul(int64_t a, int64_t b) {
  int64_t r = 0;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r) || r > kCap) return kCap;
  return r;
}

int64_t numel(const OperandShape& s) {
  if (!s.known) return 0;
  int64_t n = 1;
  for (auto d : s.dims) n = mul(n, d);
  return n;
}

int64_t attr_i(const onnx::NodeProto& n, const char* name, int64_t dflt) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return a.i();
  return dflt;
}

std::vector<int64_t> attr_ints(const onnx::NodeProto& n, const char* name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return {a.ints().begin(), a.ints().end()};
  return {};
}

const std::set<std::string> kUnary = {
    "Relu", "LeakyRelu", "PRelu", "Sigmoid", "Tanh", "Elu", "Selu", "Celu", "HardSigmoid", "HardSwish",
    "Softplus", "Softsign", "Exp", "Log", "Sqrt", "Reciprocal", "Neg", "Abs", "Clip", "Erf", "Sin", "Cos",
    "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Floor", "Ceil", "Round",
    "Sign", "Not", "IsNaN", "IsInf", "ThresholdedRelu", "Shrink", "Mish", "Gelu", "Cast", "BitShift"};
const std::set<std::string> kBinary = {"Add", "Sub", "Mul", "Div", "Pow", "Mod", "Max", "Min", "Sum", "Mean",
                                       "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And",
                                       "Or", "Xor", "Where", "BitwiseAnd", "BitwiseOr", "BitwiseXor"};

}  // namespace

OpCost op_cost(const onnx::NodeProto& node, const std::vector<OperandShape>& in,
               const std::vector<OperandShape>& out) {
  OpCost c;
  const std::string& op = node.op_type();
  const int64_t out0 = out.empty() ? 0 : numel(out[0]);
  auto in_known = [&](size_t k) { return k < in.size() && in[k].known; };
  if (op == "Conv" || op == "ConvInteger" || op == "QLinearConv") {
    const size_t w = op == "QLinearConv" ? 3 : 1;
    if (in_known(w) && in[w].dims.size() >= 2) {
      int64_t per = 1;  // (Cin / group) * prod(kernel)
      for (size_t d = 1; d < in[w].dims.size(); ++d) per = mul(per, in[w].dims[d]);
      c.macs = mul(out0, per);
      if (in.size() > 2 && op == "Conv" && in[2].known) c.ops = out0;  // bias
    }
  } else if (op == "ConvTranspose") {
    if (in_known(0) && in_known(1) && in[1].dims.size() >= 2) {
      int64_t per = 1;  // (Cout / group) * prod(kernel), per input element
      for (size_t d = 1; d < in[1].dims.size(); ++d) per = mul(per, in[1].dims[d]);
      c.macs = mul(numel(in[0]), per);
      if (in.size() > 2 && in[2].known) c.ops = out0;
    }
  } else if (op == "Gemm") {
    if (in_known(0) && in[0].dims.size() == 2) {
      const int64_t k = attr_i(node, "transA", 0) ? in[0].dims[0] : in[0].dims[1];
      c.macs = mul(out0, k);
      if (in.size() > 2 && in[2].known) c.ops = out0;
    }
  } else if (op == "MatMul" || op == "MatMulInteger" || op == "QLinearMatMul" || op == "Einsum") {
    // Einsum without parsing the equation: output elements times the first operand's last dim,
    // as for MatMul.
    if (in_known(0) && !in[0].dims.empty()) c.macs = mul(out0, in[0].dims.back());
  } else if (op == "LSTM" || op == "GRU" || op == "RNN") {
    // W: [dirs, gates*hidden, input], R: [dirs, gates*hidden, hidden]; X: [seq, batch, input].
    if (in_known(0) && in_known(1) && in_known(2) && in[0].dims.size() == 3) {
      const int64_t steps = mul(in[0].dims[0], in[0].dims[1]);
      c.macs = mul(steps, numel(in[1]) + numel(in[2]));
      c.ops = mul(mul(steps, in[1].dims[0]), mul(in[1].dims[1], 3));
    }
  } else if (op == "BatchNormalization" || op == "InstanceNormalization") {
    c.ops = mul(2, out0);  // scale and shift (statistics folded)
  } else if (op == "LayerNormalization" || op == "GroupNormalization" || op == "LpNormalization" ||
             op == "MeanVarianceNormalization") {
    c.ops = mul(5, out0);  // mean, subtract, variance, divide, scale+shift
  } else if (op == "Softmax" || op == "LogSoftmax" || op == "Hardmax") {
    c.ops = mul(3, out0);  // exp, sum, divide
  } else if (op == "MaxPool" || op == "AveragePool" || op == "LpPool") {
    int64_t k = 1;
    for (auto d : attr_ints(node, "kernel_shape")) k = mul(k, d);
    c.ops = mul(out0, k);
  } else if (op == "GlobalAveragePool" || op == "GlobalMaxPool" || op == "GlobalLpPool" ||
             op.rfind("Reduce", 0) == 0 || op == "ArgMax" || op == "ArgMin" || op == "CumSum" || op == "TopK") {
    c.ops = in_known(0) ? numel(in[0]) : out0;
  } else if (op == "Resize" || op == "Upsample") {
    c.ops = mul(4, out0);  // up to four taps per output for (bi)linear; nearest counts the same
  } else if (kUnary.count(op)) {
    c.ops = out0;
  } else if (kBinary.count(op)) {
    int64_t operands = 0;
    for (const auto& s : in) operands += s.known ? 1 : 0;
    c.ops = mul(out0, std::max<int64_t>(operands - 1, 1));
  }
  // Data movement (Reshape, Transpose, Concat, Split, Gather, Slice, Pad, Flatten, ...): 0.
  return c;
}

}  // namespace dapdee
