// dapdee-split: apply a plan to the ONNX model -> the device part and the edge part.
#include <fmt/format.h>

#include "../common/run_tool.hpp"
#include "dapdee/error.hpp"
#include "dapdee/io.hpp"
#include "dapdee/split.hpp"

int main(int argc, char** argv) {
  CLI::App app{"dapdee-split: cut an ONNX model where a dapdee-plan/1 plan says.\n"
               "The device part outputs the tensors to send; the edge part takes them as inputs."};
  dapdee::SplitOptions opt;
  app.add_option("MODEL", opt.model_path, "the ONNX model the plan was made for")->required();
  app.add_option("--plan", opt.plan_path, "one dapdee-plan/1 object (- for stdin)")->required();
  app.add_option("--device-out", opt.device_out, "the device part (ONNX)")->required();
  app.add_option("--edge-out", opt.edge_out, "the edge part (ONNX)")->required();
  app.set_version_flag("--version", std::string("dapdee-split ") + DAPDEE_VERSION);
  return dapdee_tools::run_tool("dapdee-split", app, argc, argv, [&] {
    dapdee::check_output_paths({opt.model_path, opt.plan_path}, {opt.device_out, opt.edge_out});
    dapdee::OutputTransaction outputs;  // both parts or neither
    const dapdee::SplitResult r = dapdee::split_model(opt);
    outputs.commit();
    for (const auto& w : r.warnings) fmt::print(stderr, "dapdee-split: warning: {}\n", w);
    std::string sent;
    for (const auto& t : r.sent) sent += (sent.empty() ? "" : ", ") + t;
    fmt::print(stderr, "device part {} ({} nodes), edge part {} ({} nodes); sent: {}\n", opt.device_out, r.device_nodes,
               r.edge_written ? opt.edge_out : "not written", r.edge_nodes, sent.empty() ? "nothing" : sent);
  });
}
