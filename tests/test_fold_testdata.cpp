// The constant folder against ONNX's own node test data (Debian's libonnx-testdata): every node
// case of an op the folder handles is replayed through fold::evaluate and compared with ONNX's
// expected outputs.
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <set>

#include "dapdee/onnx/fold.hpp"
#include "dapdee/support/error.hpp"
#include "test_util.hpp"

using namespace test_util;

namespace {

constexpr const char* kNodeData = "/usr/share/libonnx-testdata/data/node";

// One replayed case: what the folder answered.
enum class Outcome { Agree, Disagree, Declined, Unreadable };

struct Case {
  std::string name, op;
  Outcome outcome = Outcome::Unreadable;
  std::string detail;
};

bool read_tensor(const fs::path& p, onnx::TensorProto& t) { return t.ParseFromString(slurp(p.string())); }

// declared_type: a case whose data is stored in another element type than the graph declares
// (ONNX 1.12's bfloat16 cases store the bits as uint16) is not replayable: the folder would be
// given, or compared with, values of the wrong type.

// Same type class, dims and values (floats within 1e-5 relative, NaN equal to NaN).
std::string compare(const dapdee::fold::Value& got, const dapdee::fold::Value& want) {
  if (got.dims != want.dims) return "dims differ";
  if (got.is_float() != want.is_float()) return "element type differs";
  if (got.type != want.type)
    return "element type " + std::to_string(got.type) + " instead of " + std::to_string(want.type);
  for (size_t k = 0; k < got.numel(); ++k) {
    if (!got.is_float()) {
      if (got.i[k] != want.i[k]) return "value " + std::to_string(k) + " differs";
      continue;
    }
    const double a = got.f[k], b = want.f[k];
    if (std::isnan(a) && std::isnan(b)) continue;
    if (!(std::fabs(a - b) <= 1e-5 * std::max({1.0, std::fabs(a), std::fabs(b)})))
      return "value " + std::to_string(k) + " differs";
  }
  return "";
}

Case replay(const fs::path& dir, const std::set<std::string>& ops) {
  Case c;
  c.name = dir.filename().string();
  onnx::ModelProto model;
  if (!model.ParseFromString(slurp((dir / "model.onnx").string())) || model.graph().node_size() != 1) return c;
  const onnx::NodeProto& node = model.graph().node(0);
  c.op = node.op_type();
  if (!(node.domain().empty() || node.domain() == "ai.onnx") || !ops.count(c.op)) return c;
  int64_t opset = -1;
  for (const auto& o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
  const fs::path data = dir / "test_data_set_0";
  std::map<std::string, dapdee::fold::Value> inputs;
  for (int k = 0; k < model.graph().input_size(); ++k) {
    onnx::TensorProto t;
    if (!read_tensor(data / ("input_" + std::to_string(k) + ".pb"), t)) return c;
    if (t.data_type() != model.graph().input(k).type().tensor_type().elem_type()) return c;  // declared_type
    auto v = dapdee::fold::from_tensor(t);
    if (!v) return c;  // a type or size the folder does not hold
    inputs[model.graph().input(k).name()] = std::move(*v);
  }
  std::vector<const dapdee::fold::Value*> ins;
  for (const auto& name : node.input()) ins.push_back(name.empty() ? nullptr : &inputs.at(name));
  std::vector<dapdee::fold::Value> want;
  for (int k = 0; k < model.graph().output_size(); ++k) {
    onnx::TensorProto t;
    if (!read_tensor(data / ("output_" + std::to_string(k) + ".pb"), t)) return c;
    if (t.data_type() != model.graph().output(k).type().tensor_type().elem_type()) return c;
    auto v = dapdee::fold::from_tensor(t);
    if (!v) return c;
    want.push_back(std::move(*v));
  }
  std::optional<std::vector<dapdee::fold::Value>> got;
  try {
    got = dapdee::fold::evaluate(node, ins, opset);
  } catch (const dapdee::Error& e) {
    c.outcome = Outcome::Disagree;
    c.detail = e.what();
    return c;
  }
  if (!got) {
    c.outcome = Outcome::Declined;
    return c;
  }
  c.outcome = Outcome::Agree;
  for (size_t k = 0; k < want.size(); ++k) {
    const std::string diff = k < got->size() ? compare((*got)[k], want[k]) : "output missing";
    if (!diff.empty()) {
      c.outcome = Outcome::Disagree;
      c.detail = "output " + std::to_string(k) + ": " + diff;
      break;
    }
  }
  return c;
}

}  // namespace

TEST_CASE("the constant folder agrees with ONNX's node test data", "[fold][testdata]") {
  if (!fs::exists(kNodeData)) DAPDEE_SKIP("libonnx-testdata is not installed (no " + std::string(kNodeData) + ")");
  const auto op_list = dapdee::fold::folded_ops();
  const std::set<std::string> ops(op_list.begin(), op_list.end());
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(kNodeData))
    if (fs::exists(e.path() / "model.onnx")) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  int agree = 0, declined = 0, unreadable = 0;
  std::set<std::string> ops_seen;
  std::vector<std::string> disagreements;
  for (const auto& d : dirs) {
    const Case c = replay(d, ops);
    if (!ops.count(c.op)) continue;
    ops_seen.insert(c.op);
    switch (c.outcome) {
      case Outcome::Agree: ++agree; break;
      case Outcome::Declined: ++declined; break;
      case Outcome::Unreadable: ++unreadable; break;
      case Outcome::Disagree: disagreements.push_back(c.name + " (" + c.op + "): " + c.detail); break;
    }
  }
  std::cout << "fold vs ONNX node test data: " << agree << " agree, " << disagreements.size() << " disagree, "
            << declined << " declined (a case the folder leaves unevaluated), " << unreadable
            << " not replayable (types or sizes the folder does not hold); " << ops_seen.size() << " of "
            << ops.size() << " ops have cases\n";
  for (const auto& m : disagreements) std::cout << "  disagree: " << m << "\n";
  CHECK(disagreements.empty());
  CHECK(agree >= 100);
}
