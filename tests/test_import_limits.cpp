// Issue 29, the importer half: folding at the integer limits, op types that are no operators,
// custom-domain ops, what libonnx 1.12 shape inference crashes or hangs on, IR-3 models, the
// --check input cap. Each case is a model of the shape that failed; expected values are the ONNX
// operator specification's.
#include <onnx/onnx_pb.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <limits>
#include <nlohmann/json.hpp>

#include "dapdee/onnx/fold.hpp"
#include "onnx_builder.hpp"
#include "test_util.hpp"

using namespace test_util;
using dapdee::fold::Value;
using testing_onnx::Builder;

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kP53 = int64_t{1} << 53;  // doubles count integers exactly only up to here

// Imports `b` with dapdee-import into `d`; the tool's result.
RunResult import(Builder& b, const TempDir& d) {
  b.save(d / "m.onnx");
  return run(tool("dapdee-import") + " " + (d / "m.onnx") + " -o " + (d / "out.json"));
}

// Exit 1, nothing written, stderr "dapdee-import: error: <file>: " + `what`...
void check_refused(const RunResult& r, const TempDir& d, const std::string& what) {
  INFO(r.err);
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::StartsWith("dapdee-import: error: " + (d / "m.onnx") + ": " + what));
  CHECK_FALSE(fs::exists(d / "out.json"));
}

// The shape of tensor `t` in the imported DAG.
std::vector<int64_t> shape_of(const TempDir& d, const std::string& t) {
  const auto dag = nlohmann::json::parse(slurp(d / "out.json"));
  for (const auto& n : dag.at("nodes"))
    for (const auto& o : n.value("outputs", nlohmann::json::array()))
      if (o.at("name") == t) return o.at("shape").get<std::vector<int64_t>>();
  FAIL("no tensor " << t);
  return {};
}

Value ints(std::vector<int64_t> v, std::vector<int64_t> dims) {
  Value x;
  x.type = onnx::TensorProto::INT64;
  x.dims = std::move(dims);
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

TEST_CASE("limits: a Slice over a Shape with a step near INT64_MAX imports (was SIGSEGV)", "[limits][import]") {
  TempDir d;
  Builder b(13, "slice_steps");
  b.input("x", {1, 3, 4, 5});
  b.ints("st", {3}).ints("en", {kMax}).ints("ax", {0}).ints("sp", {kMax - 1});
  b.node("Shape", {"x"}, {"s"}, "shape");
  b.node("Slice", {"s", "st", "en", "ax", "sp"}, {"sl"}, "slice");  // [5]: one element, from index 3
  b.node("Expand", {"x", "sl"}, {"y"}, "expand");                   // x broadcast to [5]: [1,3,4,5]
  b.output("y");
  const auto r = import(b, d);
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(shape_of(d, "y") == std::vector<int64_t>{1, 3, 4, 5});
}

TEST_CASE("limits: a Concat of many million-element constants stays unfolded, in bounded time", "[limits][import]") {
  TempDir d;
  Builder b(13, "concat_many");
  b.input("x", {1});
  b.ints("cs", {1 << 20});
  std::vector<std::string> copies, parts;
  for (int k = 0; k < 12; ++k) {  // 12 million elements: past the 8 million all folded values may hold
    parts.push_back("c" + std::to_string(k));
    b.node("ConstantOfShape", {"cs"}, {parts.back()}, "cos" + std::to_string(k));
  }
  for (int k = 0; k < 40; ++k) copies.push_back("c0");
  Builder::attr_int(b.node("Concat", copies, {"cc"}, "concat"), "axis", 0);
  Builder::attr_int(b.node("Concat", parts, {"all"}, "concat_all"), "axis", 0);
  b.node("Add", {"x", "cc"}, {"y"}, "add");
  b.node("Add", {"x", "all"}, {"z"}, "add_all");
  b.output("y").output("z");
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = import(b, d);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(s < 10);  // 13 s and 770 MB for 60 copies before
  CHECK_THAT(r.err, Catch::Contains("warning: " + (d / "m.onnx") +
                                    ": node 'concat' (Concat): its result of 41943040 "
                                    "elements passes the folding cap of 1048576 elements; left unfolded"));
  CHECK_THAT(r.err, Catch::Contains("node 'cos8' (ConstantOfShape): its result of 1048576 elements after 8388608 "
                                    "folded passes the folding cap of 8388608 elements; left unfolded"));
  CHECK(shape_of(d, "y") == std::vector<int64_t>{40 << 20});
  CHECK(shape_of(d, "z") == std::vector<int64_t>{12 << 20});
}

TEST_CASE("limits: an op type that is no operator of the opset is an error naming node, op and opset",
          "[limits][import]") {
  SECTION("invalid UTF-8, escaped") {
    TempDir d;
    Builder b(13, "bad_op");
    b.input("x", {1, 3});
    b.node(std::string("\xff\xfeRu"), {"x"}, {"y"}, "weird");
    b.output("y");
    check_refused(import(b, d), d,
                  "node 'weird': op type '\\xff\\xfeRu' is not an operator of the default domain at opset 13");
  }
  SECTION("a name of no operator") {
    TempDir d;
    Builder b(13, "frob");
    b.input("x", {1, 3});
    b.node("Frobnicate", {"x"}, {"y"}, "frob");
    b.output("y");
    check_refused(import(b, d), d,
                  "node 'frob': op type 'Frobnicate' is not an operator of the default domain at opset 13");
  }
  SECTION("an operator of a later opset") {  // GridSample came in opset 16
    TempDir d;
    Builder b(13, "late");
    b.input("x", {1, 1, 4, 4}).weight("grid", {1, 4, 4, 2});
    b.node("GridSample", {"x", "grid"}, {"y"}, "gs");
    b.output("y");
    check_refused(import(b, d), d,
                  "node 'gs': op type 'GridSample' is not an operator of the default domain at opset 13");
  }
}

TEST_CASE("limits: a custom-domain op is imported with a warning, its sizes declared or an error", "[limits][import]") {
  auto custom = [](bool declare, bool as_output) {
    auto b = std::make_unique<Builder>(13, "custom");
    auto* o = b->model().add_opset_import();
    o->set_domain("com.acme");
    o->set_version(1);
    b->input("x", {1, 3});
    b->node("Frob", {"x"}, {"t"}, "frob").set_domain("com.acme");
    if (!as_output) b->node("Relu", {"t"}, {"y"}, "relu");
    b->output(as_output ? "t" : "y");
    if (declare) {
      auto* vi = b->model().mutable_graph()->add_value_info();
      vi->set_name("t");
      vi->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
      for (int64_t dim : {1, 3})
        vi->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(dim);
    }
    return b;
  };
  SECTION("declared in value_info") {
    TempDir d;
    const auto r = import(*custom(true, false), d);
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK_THAT(r.err, Catch::Contains("node 'frob': op 'Frob' of custom domain 'com.acme' is imported without a cost"));
    CHECK(shape_of(d, "t") == std::vector<int64_t>{1, 3});
  }
  SECTION("undeclared, read by another node") {
    TempDir d;
    const auto r = import(*custom(false, false), d);
    check_refused(r, d, "tensor 't' (output of 'frob', read by 'relu') has no static size");
    CHECK_THAT(r.err, Catch::Contains("declare the shape of 't' in the graph's value_info"));
  }
  SECTION("undeclared graph output: no 0 bytes without a word") {
    TempDir d;
    const auto r = import(*custom(false, true), d);
    check_refused(r, d, "graph output 't' (of node 'frob') has no static size");
    CHECK_THAT(r.err, Catch::Contains("declare the shape of 't' in the graph's value_info"));
  }
}

TEST_CASE("limits: what libonnx shape inference crashes or hangs on is refused naming the node", "[limits][import]") {
  TempDir d;
  SECTION("Conv with strides 0 (SIGFPE)") {
    Builder b(13, "conv_s0");
    b.input("x", {1, 3, 8, 8}).weight("w", {4, 3, 3, 3});
    Builder::attr_ints(b.node("Conv", {"x", "w"}, {"y"}, "conv"), "strides", {0, 0});
    b.output("y");
    check_refused(import(b, d), d, "node 'conv' (Conv): attribute strides holds 0; each must be at least 1");
  }
  SECTION("AveragePool with strides 0 (SIGFPE)") {
    Builder b(13, "pool_s0");
    b.input("x", {1, 3, 8, 8});
    auto& n = b.node("AveragePool", {"x"}, {"y"}, "pool");
    Builder::attr_ints(n, "kernel_shape", {2, 2});
    Builder::attr_ints(n, "strides", {0, 0});
    b.output("y");
    check_refused(import(b, d), d, "node 'pool' (AveragePool): attribute strides holds 0");
  }
  SECTION("Conv of a rank-2 input with a 4-D weight (SIGSEGV)") {
    Builder b(13, "conv_rank2");
    b.input("x", {3, 8}).weight("w", {4, 3, 3, 3});
    b.node("Conv", {"x", "w"}, {"y"}, "conv");
    b.output("y");
    check_refused(import(b, d), d, "node 'conv' (Conv): input of rank 2 with a weight of rank 4");
  }
  SECTION("TopK with K above its axis, then Shape at opset 15 (SIGSEGV)") {
    Builder b(15, "topk");
    b.input("x", {1, 3}).ints("k", {10});
    Builder::attr_int(b.node("TopK", {"x", "k"}, {"v", "i"}, "topk"), "axis", 1);
    b.node("Shape", {"v"}, {"s"}, "shape");
    b.node("Reshape", {"x", "s"}, {"y"}, "reshape");
    b.output("y");
    check_refused(import(b, d), d, "node 'topk' (TopK): K is 10, larger than the 3 elements of axis 1");
  }
  SECTION("Expand to a ConstantOfShape([INT64_MAX]) (a hang growing 200 MB/s)") {
    Builder b(13, "expand");
    b.input("x", {1}).ints("cs", {kMax});
    b.node("ConstantOfShape", {"cs"}, {"sh"}, "cos");
    b.node("Expand", {"x", "sh"}, {"y"}, "expand");
    b.output("y");
    const auto t0 = std::chrono::steady_clock::now();
    check_refused(import(b, d), d, "node 'expand' (Expand): its shape input has 9223372036854775807 entries");
    CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 10);
  }
  SECTION("data propagation through a Div of empty constants") {
    Builder b(15, "div_empty");
    b.input("x", {3}).ints("a", {}).ints("b", {}).ints("three", {3});
    b.node("Div", {"a", "b"}, {"q"}, "div");
    b.node("Shape", {"x"}, {"sx"}, "shape");
    b.node("Div", {"sx", "a"}, {"q2"}, "div2");  // [3] / []: broadcast to [] (size 0)
    Builder::attr_int(b.node("Concat", {"q", "q2", "three"}, {"s"}, "cat"), "axis", 0);
    b.node("Reshape", {"x", "s"}, {"y"}, "reshape");
    b.output("y");
    const auto r = import(b, d);
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(shape_of(d, "y") == std::vector<int64_t>{3});
  }
}

TEST_CASE("limits: Squeeze checks its axes: in range and of dim 1", "[limits][fold]") {
  const Value m = ints({1, 2, 3, 4, 5, 6}, {2, 3}), empty = ints({}, {0, 3}), one = ints({7, 8, 9}, {1, 3});
  const Value ax0 = ints({0}, {1}), ax5 = ints({5}, {1}), axm2 = ints({-2}, {1});
  CHECK_THROWS_WITH(eval(node("Squeeze", "sq"), {&m, &ax0}),
                    Catch::Contains("node 'sq' (Squeeze): axis 0 has dim 2, not 1"));
  CHECK_THROWS_WITH(eval(node("Squeeze"), {&empty, &ax0}), Catch::Contains("axis 0 has dim 0, not 1"));
  CHECK_THROWS_WITH(eval(node("Squeeze"), {&m, &ax5}), Catch::Contains("axis 5 out of range for a rank-2 input"));
  const auto r = eval(node("Squeeze"), {&one, &axm2});
  REQUIRE(r);
  CHECK(r->at(0).dims == std::vector<int64_t>{3});
  CHECK(r->at(0).i == std::vector<int64_t>{7, 8, 9});
}

TEST_CASE("limits: Range counts in integers", "[limits][fold]") {
  auto range = [](int64_t s, int64_t l, int64_t dl) {
    const Value a = ints({s}, {}), b = ints({l}, {}), c = ints({dl}, {});
    return eval(node("Range"), {&a, &b, &c})->at(0).i;
  };
  CHECK(range(kP53, kP53 + 3, 1) == std::vector<int64_t>{kP53, kP53 + 1, kP53 + 2});  // 4 elements in doubles
  CHECK(range(kMax - 4, kMax, 1) == std::vector<int64_t>{kMax - 4, kMax - 3, kMax - 2, kMax - 1});  // was 0
  CHECK(range(-kMax, kMax, kMax) == std::vector<int64_t>{-kMax, 0});  // delta * k alone overflows
  CHECK(range(10, 4, -3) == std::vector<int64_t>{10, 7});
  CHECK(range(1, 1, 1).empty());
  const Value a = ints({0}, {}), b = ints({kMax}, {}), c = ints({1}, {});
  size_t over = 0;
  CHECK_FALSE(dapdee::fold::evaluate(node("Range"), {&a, &b, &c}, 13, &over));  // over the cap: not allocated
  CHECK(over > dapdee::fold::kMaxElements);
}

TEST_CASE("limits: integer Pow, ReduceSum and ReduceProd accumulate in integers, checked", "[limits][fold]") {
  const Value base = ints({3, -3, 2, 1, -1}, {5}), exp = ints({39, 39, 62, -5, -5}, {5});
  const auto p = eval(node("Pow"), {&base, &exp});
  REQUIRE(p);  // 3^39 = 4052555153018976267 is not a double
  CHECK(p->at(0).i == std::vector<int64_t>{4052555153018976267, -4052555153018976267, int64_t{1} << 62, 1, -1});
  const Value two = ints({2}, {}), e63 = ints({63}, {}), zero = ints({0}, {}), neg = ints({-1}, {});
  CHECK_THROWS_WITH(eval(node("Pow", "pw"), {&two, &e63}), Catch::Contains("node 'pw' (Pow): integer overflow"));
  CHECK_THROWS_WITH(eval(node("Pow"), {&zero, &neg}), Catch::Contains("negative power"));
  const Value big = ints({kP53, 1, 1}, {3});
  auto sum = node("ReduceSum");
  Builder::attr_int(sum, "keepdims", 0);
  CHECK(eval(sum, {&big})->at(0).i == std::vector<int64_t>{kP53 + 2});  // in doubles each + 1 is lost
  const Value odd = ints({kP53 + 1, 3}, {2});
  auto prod = node("ReduceProd");
  Builder::attr_int(prod, "keepdims", 0);
  CHECK(eval(prod, {&odd})->at(0).i == std::vector<int64_t>{3 * (kP53 + 1)});
  const Value huge = ints({kMax, 2}, {2});
  CHECK_THROWS_WITH(eval(prod, {&huge}), Catch::Contains("integer overflow"));
  CHECK_THROWS_WITH(eval(sum, {&huge}), Catch::Contains("integer overflow"));
}

TEST_CASE("limits: Not of a float constant is an error naming the node", "[limits][import]") {
  TempDir d;
  Builder b(13, "not_float");
  b.input("x", {1}).weight("f", {1});
  b.node("Not", {"f"}, {"n"}, "notf");
  b.node("Add", {"x", "n"}, {"y"}, "add");
  b.output("y");
  check_refused(import(b, d), d, "node 'notf' (Not): Not takes a bool tensor");
}

TEST_CASE("limits: int64 overflow in a folded Add, Mul or Div of shapes is an error naming the node",
          "[limits][import]") {
  for (const char* op : {"Add", "Mul", "Div"}) {
    TempDir d;
    Builder b(13, "ovf");
    b.input("x", {1});
    b.ints("big", {std::string(op) == "Div" ? std::numeric_limits<int64_t>::min() : kMax});
    b.ints("k", {std::string(op) == "Div" ? -1 : 2});
    b.node(op, {"big", "k"}, {"a"}, "bad");
    b.node("Reshape", {"x", "a"}, {"y"}, "reshape");
    b.output("y");
    check_refused(import(b, d), d, std::string("node 'bad' (") + op + "): integer overflow");
  }
}

TEST_CASE("limits: a valid IR-3 / opset-7 model imports with its shapes", "[limits][import]") {
  TempDir d;
  Builder b(7, "ir3");
  b.model().set_ir_version(3);
  b.input("x", {1, 3});
  auto& c = b.node("Constant", {}, {"c"}, "const");
  auto* a = c.add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  a->mutable_t()->set_data_type(onnx::TensorProto::FLOAT);
  a->mutable_t()->add_dims(1);
  a->mutable_t()->add_dims(3);
  for (int k = 0; k < 3; ++k) a->mutable_t()->add_float_data(1.0f);
  b.node("Add", {"x", "c"}, {"s"}, "add");
  b.node("Relu", {"s"}, {"y"}, "relu");
  b.output("s").output("y");
  const auto r = import(b, d);
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(shape_of(d, "s") == std::vector<int64_t>{1, 3});
  CHECK(shape_of(d, "y") == std::vector<int64_t>{1, 3});
  CHECK_THAT(r.err, !Catch::Contains("no static size"));
}
