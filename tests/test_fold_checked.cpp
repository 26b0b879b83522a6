// Checked arithmetic in the constant folder (issue 13): overflow, division edge cases, indices
// out of range are errors naming the node; results are capped before allocation.
#include <onnx/onnx_pb.h>

#include <catch2/catch.hpp>
#include <limits>

#include "dapdee/onnx/fold.hpp"
#include "dapdee/support/error.hpp"
#include "onnx_builder.hpp"
#include "test_util.hpp"

using namespace test_util;
using dapdee::fold::Value;

namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

Value ints(std::vector<int64_t> v, std::vector<int64_t> dims = {}) {
  Value x;
  x.type = onnx::TensorProto::INT64;
  x.dims = dims.empty() ? std::vector<int64_t>{static_cast<int64_t>(v.size())} : dims;
  x.i = std::move(v);
  return x;
}

onnx::NodeProto node(const std::string& op, const std::string& name = "n1") {
  onnx::NodeProto n;
  n.set_op_type(op);
  n.set_name(name);
  n.add_output("out");
  return n;
}

std::optional<std::vector<Value>> eval(const onnx::NodeProto& n, const std::vector<const Value*>& in) {
  return dapdee::fold::evaluate(n, in, 13);
}

}  // namespace

TEST_CASE("folding: INT64_MIN / -1 and overflow are errors naming the node", "[reliability][fold]") {
  const Value min = ints({kMin}), minus1 = ints({-1}), max = ints({kMax}), one = ints({1}), two = ints({2});
  CHECK_THROWS_WITH(eval(node("Div", "div7"), {&min, &minus1}), Catch::Contains("node 'div7' (Div)") && Catch::Contains("INT64_MIN / -1"));
  const auto mod = eval(node("Mod"), {&min, &minus1});  // no SIGFPE; mathematically 0
  REQUIRE(mod);
  CHECK((*mod)[0].i[0] == 0);
  CHECK_THROWS_WITH(eval(node("Add", "add1"), {&max, &one}), Catch::Contains("node 'add1' (Add): integer overflow"));
  CHECK_THROWS_WITH(eval(node("Sub"), {&min, &one}), Catch::Contains("integer overflow"));
  CHECK_THROWS_WITH(eval(node("Mul"), {&max, &two}), Catch::Contains("integer overflow"));
  CHECK_THROWS_WITH(eval(node("Neg"), {&min}), Catch::Contains("integer overflow"));
  CHECK_THROWS_WITH(eval(node("Abs"), {&min}), Catch::Contains("integer overflow"));
  const Value big = ints({1, 1000000}, {2});
  CHECK_THROWS_WITH(eval(node("Pow"), {&big, &max}),
                    Catch::Contains("(Pow): integer overflow"));  // now in checked integers
  // In range, the answers are right.
  const Value a = ints({7, -7}), b = ints({2, 2});
  CHECK(eval(node("Div"), {&a, &b})->at(0).i == std::vector<int64_t>{3, -3});
  CHECK(eval(node("Mod"), {&a, &b})->at(0).i == std::vector<int64_t>{1, 1});
  CHECK(eval(node("Add"), {&a, &b})->at(0).i == std::vector<int64_t>{9, -5});
}

TEST_CASE("folding: Slice with a huge step takes one element, no overflow", "[reliability][fold]") {
  const Value data = ints({10, 11, 12, 13, 14}), st = ints({1}), en = ints({kMax}), ax = ints({0}), step = ints({kMax});
  const auto r = eval(node("Slice"), {&data, &st, &en, &ax, &step});
  REQUIRE(r);
  CHECK(r->at(0).i == std::vector<int64_t>{11});
  const Value nst = ints({-1}), nen = ints({kMin}), nstep = ints({kMin});
  const auto back = eval(node("Slice"), {&data, &nst, &nen, &ax, &nstep});
  REQUIRE(back);
  CHECK(back->at(0).i == std::vector<int64_t>{14});
}

TEST_CASE("folding: Transpose perm out of range or repeated is an error", "[reliability][fold]") {
  const Value m = ints({1, 2, 3, 4, 5, 6}, {2, 3});
  auto t = node("Transpose", "tr");
  auto* perm = t.add_attribute();
  perm->set_name("perm");
  perm->set_type(onnx::AttributeProto::INTS);
  perm->add_ints(0);
  perm->add_ints(5);
  CHECK_THROWS_WITH(eval(t, {&m}), Catch::Contains("node 'tr' (Transpose): perm entry 5"));
  perm->set_ints(1, 0);
  CHECK_THROWS_WITH(eval(t, {&m}), Catch::Contains("repeated"));
  perm->set_ints(0, 1);
  const auto ok = eval(t, {&m});
  REQUIRE(ok);
  CHECK(ok->at(0).i == std::vector<int64_t>{1, 4, 2, 5, 3, 6});
}

TEST_CASE("folding: Gather and Concat results far above the cap are not allocated", "[reliability][fold]") {
  std::vector<int64_t> many(1 << 20, 0);
  const Value data = ints(many, {1 << 20}), idx = ints(many, {1 << 20});
  // 2^20 rows of a [2, 2^19] table would be 2^39 elements: refused before allocation.
  const Value table = ints(many, {2, 1 << 19});
  CHECK_FALSE(eval(node("Gather"), {&table, &idx}));
  std::vector<const Value*> ins(64, &data);
  CHECK_FALSE(eval(node("Concat"), ins));
  const Value bad_idx = ints({5});
  const Value small = ints({1, 2, 3});
  CHECK_THROWS_WITH(eval(node("Gather", "g"), {&small, &bad_idx}), Catch::Contains("node 'g' (Gather): index 5 out of range"));
  const Value shape = ints({kMax, kMax});
  CHECK_FALSE(eval(node("Expand"), {&small, &shape}));
  const Value two_by = ints({1, 2, 3, 4}, {2, 2}), three_by = ints({1, 2, 3}, {1, 3});
  auto c = node("Concat", "cat");
  auto* axis = c.add_attribute();
  axis->set_name("axis");
  axis->set_type(onnx::AttributeProto::INT);
  axis->set_i(0);
  CHECK_THROWS_WITH(eval(c, {&two_by, &three_by}), Catch::Contains("node 'cat' (Concat)"));
}

TEST_CASE("dapdee-import names the node of a faulty constant subgraph", "[reliability][fold][import]") {
  TempDir d;
  testing_onnx::Builder b(13, "div_min");
  b.input("input", {1, 3, 4, 4});
  b.ints("num", {kMin}).ints("den", {-1}).ints("rest", {3, 16});
  b.node("Div", {"num", "den"}, {"q"}, "bad_div");
  testing_onnx::Builder::attr_int(b.node("Concat", {"q", "rest"}, {"shape"}, "cat"), "axis", 0);
  b.node("Reshape", {"input", "shape"}, {"output"}, "reshape");
  b.output("output");
  b.save(d / "m.onnx");
  const auto r = run(tool("dapdee-import") + " " + (d / "m.onnx") + " -o " + (d / "out.json"));
  INFO(r.err);
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::StartsWith("dapdee-import: error: " + (d / "m.onnx") + ": node 'bad_div' (Div)"));
  CHECK_FALSE(fs::exists(d / "out.json"));
}
