// dapdee-import: ONNX model -> dapdee-dag/1 JSON.
#include "../common/run_tool.hpp"
#include <fmt/format.h>

#include "dapdee/import/onnx_import.hpp"
#include "dapdee/support/error.hpp"
#include "dapdee/support/io.hpp"

namespace {

int tool_main(int argc, char** argv) {
  CLI::App app{"dapdee-import: turn an ONNX model into the DAG JSON that dapdee-plan reads.\n"
               "Weights are never loaded; shapes are inferred and shape subgraphs folded."};
  dapdee::ImportOptions opt;
  std::string out = "-", format = "json";
  std::vector<std::string> shapes;
  app.add_option("MODEL", opt.model_path, "ONNX model file, or - for stdin")->required();
  app.add_option("-o,--output", out, "output file (default: stdout)");
  app.add_option("--input-shape", shapes, "pin an input's dims, NAME=1x3x224x224 (repeatable)");
  app.add_option("--exits", opt.exits_path,
                 "JSON declaring the exits: {\"exits\":[{\"name\",\"outputs\":[...],\"accuracy\"}]} or {name: accuracy} "
                 "(default: <model>.exits.json beside the model, then metadata_props)");
  app.add_option("--outputs", opt.outputs, "import only the subgraph ending at these tensors, T1,T2 (e.g. raw heads)")
      ->delimiter(',');
  app.add_option("--model-name", opt.model_name, "model name to record (default: file stem)");
  app.add_option("--format", format, "json (default) or table (the summary on stdout)")
      ->check(CLI::IsMember({"json", "table"}));
  app.set_version_flag("--version", std::string("dapdee-import ") + DAPDEE_VERSION);
  return dapdee_tools::run_tool("dapdee-import", app, argc, argv, [&] {
    dapdee::check_output_paths({opt.model_path, opt.exits_path}, {out});
    for (const auto& s : shapes) opt.input_shapes.push_back(dapdee::parse_input_shape(s).take("--input-shape"));
    const dapdee::ImportResult r = dapdee::import_onnx(opt);
    for (const auto& w : r.warnings) fmt::print(stderr, "dapdee-import: warning: {}: {}\n", opt.model_path, w);
    fmt::print(stderr, "dapdee-import: exits: {}\n", r.exit_rule);
    const std::string summary = dapdee::dag_summary(r.dag);
    if (format == "table") {
      dapdee::write_output_atomic(out, summary);
    } else {
      dapdee::write_output_atomic(out, dapdee::dag_to_json(r.dag));
      fmt::print(stderr, "{}", summary);
    }
  });
}

}  // namespace

int main(int argc, char** argv) { return dapdee_tools::guarded_main("dapdee-import", argc, argv, tool_main); }
