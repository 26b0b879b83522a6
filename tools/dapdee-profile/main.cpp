// dapdee-profile: per-node latency profiles. This build has the `predict` subcommand (roofline
// estimate from a device spec); measuring with OpenCV DNN is not built yet (see README).
#include <fmt/format.h>

#include "../common/cli.hpp"
#include "dapdee/dag.hpp"
#include "dapdee/error.hpp"
#include "dapdee/io.hpp"
#include "dapdee/predict.hpp"

int main(int argc, char** argv) {
  CLI::App app{"dapdee-profile: per-node latency profiles (dapdee-profile/1)."};
  app.require_subcommand(1);
  std::string dag_path, spec_path, out = "-";
  auto* predict = app.add_subcommand("predict", "estimate a profile from a device spec (roofline)");
  predict->add_option("DAG", dag_path, "DAG JSON from dapdee-import, or -")->required();
  predict->add_option("--device", spec_path, "device spec (dapdee-device-spec/1), e.g. profiles/specs/rpi4.json")
      ->required();
  predict->add_option("-o,--output", out, "output file (default: stdout)");
  app.set_version_flag("--version", std::string("dapdee-profile ") + DAPDEE_VERSION);
  if (int rc = dapdee_tools::parse_args(app, argc, argv); rc >= 0) return rc;
  try {
    const dapdee::Dag dag = dapdee::parse_dag(dapdee::read_input(dag_path), dag_path);
    const dapdee::DeviceSpec spec = dapdee::parse_device_spec(dapdee::read_input(spec_path), spec_path);
    dapdee::write_output_atomic(out, dapdee::predict_profile(dag, spec, spec_path));
  } catch (const dapdee::Error& e) {
    fmt::print(stderr, "dapdee-profile: error: {}{}\n", e.where().empty() ? "" : e.where() + ": ", e.what());
    return 1;
  }
  return 0;
}
