// dapdee-split: apply a plan to the ONNX model -> the device part and the edge part.
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "../common/run_tool.hpp"
#include "dapdee/split/split.hpp"
#include "dapdee/support/error.hpp"
#include "dapdee/support/io.hpp"
#ifdef DAPDEE_HAVE_OPENCV
#include "dapdee/run/split_check.hpp"
#endif

namespace {

// --check: the parts against the whole model on random input; prints the max abs difference.
int check(const dapdee::SplitOptions& opt, double tolerance, const dapdee::ModelSplitter& model, const nlohmann::json& plan) {
#ifdef DAPDEE_HAVE_OPENCV
  const auto p = dapdee::partition_from_plan(plan, opt.plan_path);
  dapdee::check_input_budget(model);  // before any input is made
  const auto parts = model.split(p, opt.plan_path);
  const auto c = dapdee::check_split(model, p, parts);
  for (const auto& [name, d] : c.outputs) fmt::print("{}\t{:.3g}\n", name, d);
  fmt::print("max_abs_diff\t{:.3g}\n", c.max_abs_diff);
  fmt::print("max_abs_output\t{:.3g}\n", c.max_abs_value);
  if (c.refilled > 0) fmt::print(stderr, "dapdee-split: note: {} absent weight tensors were refilled (name-seeded)\n", c.refilled);
  if (!(c.max_abs_diff <= tolerance))
    throw dapdee::Error(opt.model_path, fmt::format("the parts differ from the whole model by {:.3g} (> {:.3g})", c.max_abs_diff, tolerance));
  return 0;
#else
  (void)opt;
  (void)tolerance;
  (void)model;
  (void)plan;
  throw dapdee::Error("--check", "this dapdee-split was built without OpenCV DNN");
#endif
}

// Writes both parts (or neither) and says what was written; `model` and `plan`: read already, or
// nullptr to read the plan, then the model. Throws as split_model.
void write_parts(const dapdee::SplitOptions& opt, const dapdee::ModelSplitter* model, const nlohmann::json* plan) {
  dapdee::OutputTransaction outputs;  // both parts or neither
  const dapdee::SplitResult r = model ? dapdee::split_model(opt, *model, *plan) : dapdee::split_model(opt);
  outputs.commit();
  for (const auto& w : r.warnings) fmt::print(stderr, "dapdee-split: warning: {}\n", w);
  std::string sent;
  for (const auto& t : r.sent) sent += (sent.empty() ? "" : ", ") + t;
  fmt::print(stderr, "device part {} ({} nodes), edge part {} ({} nodes); sent: {}\n", opt.device_out, r.device_nodes,
             r.edge_written ? opt.edge_out : "not written", r.edge_nodes, sent.empty() ? "nothing" : sent);
}

int tool_main(int argc, char** argv) {
  CLI::App app{"dapdee-split: cut an ONNX model where a dapdee-plan/1 plan says.\n"
               "The device part outputs the tensors to send; the edge part takes them as inputs."};
  dapdee::SplitOptions opt;
  bool do_check = false;
  double tolerance = 1e-4;
  app.add_option("MODEL", opt.model_path, "the ONNX model the plan was made for (- for stdin)")->required();
  app.add_option("--plan", opt.plan_path, "one dapdee-plan/1 object (- for stdin)")->required();
  app.add_option("--device-out", opt.device_out, "the device part (ONNX)");
  app.add_option("--edge-out", opt.edge_out, "the edge part (ONNX)");
  app.add_flag("--check", do_check,
               "run both parts and the whole model with OpenCV DNN on random input; print the max abs difference per "
               "exit output (exit 1 above --tolerance)");
  app.add_option("--tolerance", tolerance, "--check: largest difference accepted")->capture_default_str();
  app.set_version_flag("--version", std::string("dapdee-split ") + DAPDEE_VERSION);
  return dapdee_tools::run_tool("dapdee-split", app, argc, argv, [&] {
    if (!do_check && (opt.device_out.empty() || opt.edge_out.empty()))
      dapdee_tools::usage_error("--device-out and --edge-out are required (or --check)");
    if (opt.model_path == "-" && opt.plan_path == "-") dapdee_tools::usage_error("MODEL and --plan cannot both be stdin");
    const bool parts = !opt.device_out.empty() || !opt.edge_out.empty();
    if (parts) dapdee::check_output_paths({opt.model_path, opt.plan_path}, {opt.device_out, opt.edge_out});
    // With --check: the model, then the plan, read once for the parts and the check.
    std::optional<dapdee::ModelSplitter> model;
    std::optional<nlohmann::json> plan;
    if (do_check) {
      model.emplace(opt.model_path);
      plan = dapdee::read_single_plan(opt.plan_path);
    }
    if (parts) write_parts(opt, model ? &*model : nullptr, plan ? &*plan : nullptr);
    if (do_check) check(opt, tolerance, *model, *plan);
  });
}

}  // namespace

int main(int argc, char** argv) { return dapdee_tools::guarded_main("dapdee-split", argc, argv, tool_main); }
