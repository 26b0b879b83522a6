#include "onnx_builder.hpp"

namespace testing_onnx {

Builder chain_model() {
  Builder b(13, "chain");
  b.input("input", {1, 3, 8, 8});
  conv(b, "conv1", "input", "c1", 3, 4);
  b.node("Relu", {"c1"}, {"r1"}, "relu1");
  auto& p = b.node("MaxPool", {"r1"}, {"p1"}, "pool1");
  Builder::attr_ints(p, "kernel_shape", {2, 2});
  Builder::attr_ints(p, "strides", {2, 2});
  b.node("Flatten", {"p1"}, {"f1"}, "flatten");
  b.weight("fc.w", {10, 64}).weight("fc.b", {10});
  auto& g = b.node("Gemm", {"f1", "fc.w", "fc.b"}, {"output"}, "fc");
  Builder::attr_int(g, "transB", 1);
  b.output("output");
  return b;
}

Builder diamond_model() {
  Builder b(13, "diamond");
  b.input("input", {1, 3, 8, 8});
  conv(b, "a", "input", "ta", 3, 8);
  b.node("Relu", {"ta"}, {"tb"}, "b");
  b.node("Sigmoid", {"ta"}, {"tc"}, "c");
  b.node("Add", {"tb", "tc"}, {"output"}, "d");
  b.output("output");
  return b;
}

Builder inception_model() {
  Builder b(13, "inception");
  b.input("input", {1, 3, 16, 16});
  conv(b, "stem", "input", "s", 3, 8);
  conv(b, "b1", "s", "t1", 8, 4, 1);
  conv(b, "b2", "s", "t2", 8, 6, 3);
  auto& p = b.node("MaxPool", {"s"}, {"pm"}, "b3_pool");
  Builder::attr_ints(p, "kernel_shape", {3, 3});
  Builder::attr_ints(p, "pads", {1, 1, 1, 1});
  conv(b, "b3", "pm", "t3", 8, 2, 1);
  auto& c = b.node("Concat", {"t1", "t2", "t3"}, {"output"}, "concat");
  Builder::attr_int(c, "axis", 1);
  b.output("output");
  return b;
}

Builder residual_model() {
  Builder b(13, "residual");
  b.input("input", {1, 8, 8, 8});
  conv(b, "conv1", "input", "c1", 8, 8);
  b.node("Relu", {"c1"}, {"r1"}, "relu1");
  conv(b, "conv2", "r1", "c2", 8, 8);
  b.node("Add", {"c2", "input"}, {"s"}, "add");
  b.node("Relu", {"s"}, {"output"}, "relu2");
  b.output("output");
  return b;
}

Builder early_exit_model() {
  Builder b(13, "early_exit");
  b.input("input", {1, 3, 8, 8});
  conv(b, "conv1", "input", "c1", 3, 8);
  b.node("Relu", {"c1"}, {"r1"}, "relu1");
  b.node("GlobalAveragePool", {"r1"}, {"g1"}, "exit1_pool");
  b.node("Flatten", {"g1"}, {"f1"}, "exit1_flatten");
  b.weight("exit1.w", {10, 8});
  auto& e1 = b.node("Gemm", {"f1", "exit1.w"}, {"exit1"}, "exit1_fc");
  Builder::attr_int(e1, "transB", 1);
  conv(b, "conv2", "r1", "c2", 8, 16);
  b.node("Relu", {"c2"}, {"r2"}, "relu2");
  b.node("GlobalAveragePool", {"r2"}, {"g2"}, "final_pool");
  b.node("Flatten", {"g2"}, {"f2"}, "final_flatten");
  b.weight("final.w", {10, 16});
  auto& e2 = b.node("Gemm", {"f2", "final.w"}, {"final"}, "final_fc");
  Builder::attr_int(e2, "transB", 1);
  b.output("final").output("exit1");  // listed deepest first: the importer orders by depth
  b.metadata("dapdee.exits", R"({"exits":[{"name":"exit1","accuracy":0.625},{"name":"final","accuracy":0.75}]})");
  return b;
}

Builder reshape_shape_model() {
  Builder b(13, "reshape_shape");
  b.input("input", {-1, 4, 6, 6});
  b.node("Relu", {"input"}, {"r"}, "relu");
  b.node("Shape", {"r"}, {"shape"}, "shape");
  b.ints("zero", {0}, true).ints("axes0", {0}).ints("minus1", {-1});
  b.node("Gather", {"shape", "zero"}, {"batch"}, "gather");
  b.node("Unsqueeze", {"batch", "axes0"}, {"batch1"}, "unsqueeze");
  auto& c = b.node("Concat", {"batch1", "minus1"}, {"target"}, "concat");
  Builder::attr_int(c, "axis", 0);
  b.node("Reshape", {"r", "target"}, {"flat"}, "reshape");
  b.weight("fc.w", {144, 5});
  b.node("MatMul", {"flat", "fc.w"}, {"output"}, "matmul");
  b.output("output");
  return b;
}

}  // namespace testing_onnx
