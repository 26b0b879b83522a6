#include "dapdee/run/split_check.hpp"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <unordered_map>

#include "dapdee/run/cv_engine.hpp"
#include "dapdee/support/error.hpp"

namespace dapdee {

std::vector<HostTensor> random_inputs(const ModelSplitter& model, uint64_t seed) {
  std::vector<HostTensor> in;
  for (const auto& n : model.dag().nodes) {
    if (!is_input(n)) continue;
    const TensorInfo* t = model.tensor(n.name);
    if (!t || t->shape.empty() || std::any_of(t->shape.begin(), t->shape.end(), [](int64_t d) { return d <= 0; }))
      throw Error(model.path(), fmt::format("input '{}' has no static shape", n.name));
    in.push_back(random_tensor(n.name, t->shape, seed + in.size()));
  }
  return in;
}

SplitCheck check_split(const ModelSplitter& model, const Partition& p, const SplitParts& parts, uint64_t seed) {
  const std::string dir = std::filesystem::path(model.path()).parent_path().string();
  const std::string model_dir = dir.empty() ? "." : dir;
  const Exit* exit = model.exit(p.exit);
  const std::vector<std::string> outs = exit->outputs.empty() ? std::vector<std::string>{exit->name} : exit->outputs;
  const std::vector<HostTensor> inputs = random_inputs(model, seed);

  CvPart whole(model.model().SerializeAsString(), model.path() + " (whole)", model_dir);
  const std::vector<HostTensor> expected = whole.run(inputs, outs);

  // Device part, then the edge part fed with what the device sent.
  std::unordered_map<std::string, HostTensor> got;
  std::vector<HostTensor> sent;
  if (parts.device_nodes > 0) {
    std::vector<std::string> wanted = parts.sent;
    for (const auto& o : parts.device_exit)
      if (std::find(wanted.begin(), wanted.end(), o) == wanted.end()) wanted.push_back(o);
    CvPart device(parts.device, model.path() + " (device part)", model_dir);
    for (auto& t : device.run(inputs, wanted)) {
      if (std::find(parts.sent.begin(), parts.sent.end(), t.name) != parts.sent.end()) sent.push_back(t);
      got[t.name] = std::move(t);
    }
  } else {
    sent = inputs;
    for (const auto& t : inputs) got[t.name] = t;
  }
  if (!parts.edge.empty()) {
    CvPart edge(parts.edge, model.path() + " (edge part)", model_dir);
    for (auto& t : edge.run(sent, parts.edge_exit)) got[t.name] = std::move(t);
  }
  SplitCheck c;
  c.refilled = whole.refilled();
  for (size_t k = 0; k < outs.size(); ++k) {
    const auto it = got.find(outs[k]);
    const double d = it == got.end() ? std::numeric_limits<double>::infinity() : max_abs_diff(it->second, expected[k]);
    c.outputs.emplace_back(outs[k], d);
    c.max_abs_diff = std::max(c.max_abs_diff, d);
    for (float v : expected[k].data) c.max_abs_value = std::max(c.max_abs_value, static_cast<double>(std::fabs(v)));
  }
  return c;
}

}  // namespace dapdee
