#include "dapdee/app/follow_job.hpp"

#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <istream>
#include <memory>
#include <ostream>

#include "dapdee/model/network.hpp"
#include "dapdee/model/profile.hpp"
#include "dapdee/model/profile_check.hpp"
#include "dapdee/plan/controller.hpp"
#include "dapdee/render/render.hpp"
#include "dapdee/support/io.hpp"

namespace dapdee {

namespace {

// One value of an option that sweeps elsewhere; nullopt when not given.
std::optional<double> single_value(const std::string& spec, const char* option) {
  if (spec.empty()) return std::nullopt;
  const auto v = parse_values(spec).take(option);
  if (v.size() != 1) throw UsageError(option, "--follow takes one value (the controller picks the plan over time)");
  return v.front();
}

// Options -> what the controller plans for; the cheap checks run before any file is read.
ControllerSetup follow_setup(const PlanJob& job) {
  ControllerSetup c;
  const auto mode = parse_mode(job.mode);
  if (!mode) throw Error("--mode", fmt::format("unknown mode '{}' (light, heavy, auto)", job.mode));
  const auto method = parse_method(job.method);
  if (!method) throw Error("--method", fmt::format("unknown method '{}'", job.method));
  c.mode = *mode;
  c.method = *method;
  c.heavy = job.heavy;
  if (job.dag_path == "-" || job.device_profile == "-" || job.edge_profile == "-")
    throw UsageError("-", "--follow reads its samples on stdin: give the DAG and the profiles as files");
  if (!job.bandwidth_trace.empty())
    throw UsageError("--bandwidth-trace", "--follow reads its bandwidth from the samples");
  if (!job.exit.empty()) throw UsageError("--exit", "--follow chooses the exit itself");
  if (!job.metrics_path.empty()) throw UsageError("--metrics", "under --follow the load metrics come in the samples");
  if (job.networks.size() > 1) throw UsageError("--network", "--follow takes one network");
  c.deadline_ms = single_value(job.deadline, "--deadline");
  if (c.deadline_ms && !(*c.deadline_ms >= 0)) throw Error("--deadline", "a deadline must be >= 0 ms");
  if (!job.networks.empty()) {
    const Network n = resolve_network(job.networks.front());
    c.network = n.name;
    c.bandwidth_mbps = n.uplink_mbps;
    c.delay_ms = n.delay_ms;
  }
  if (const auto b = single_value(job.bandwidth, "--bandwidth")) {
    check_link(*b, 0, "--bandwidth");
    c.bandwidth_mbps = b;
  }
  if (job.delay_ms) {
    check_link(1, *job.delay_ms, "--delay");
    c.delay_ms = job.delay_ms;
  }
  c.metrics = job.metrics;
  for (double x : {c.metrics.cpu, c.metrics.memory, c.metrics.battery, c.metrics.priority})
    if (!(x >= 0 && x <= 1)) throw Error("--cpu/--memory/--battery/--priority", "load metrics must be in [0, 1]");
  return c;
}

// Options, DAG and profiles -> a ready controller; every input error is found here, before any
// output is opened.
std::unique_ptr<Controller> prepare(const PlanJob& job, std::ostream& diag) {
  const ControllerSetup setup = follow_setup(job);
  Dag dag = parse_dag(read_input(job.dag_path), job.dag_path);
  const Profile device = load_profile(job.device_profile), edge = load_profile(job.edge_profile);
  for (const auto& [p, role] : {std::pair{&device, "device"}, {&edge, "edge"}})
    for (const auto& w : check_profile_covers(dag, *p, role, job.partial_profile))
      diag << "dapdee-plan: warning: " << w << '\n';
  CostBuild cb = costs_from_profiles(dag, device, edge);
  return std::make_unique<Controller>(std::move(dag), std::move(cb.costs), setup);
}

// The loop: one flushed line per good sample; a bad sample stops it with its line number.
void follow(Controller& ctl, const std::vector<std::string>& fields, std::istream& in, std::ostream& out,
            std::ostream& diag) {
  MetricReader reader(in, "-", BadSample::Stop, diag);
  while (const auto sample = reader.next()) {
    Decision d;
    try {
      d = ctl.step(*sample);
    } catch (const Error& e) {
      throw Error("-", fmt::format("line {}: {}", reader.line_number(), e.what()));
    }
    out << decision_to_json(ctl.dag(), d, fields) << '\n' << std::flush;
  }
}

}  // namespace

void run_follow(const PlanJob& job, std::istream& in, std::ostream& out, std::ostream& diag) {
  follow(*prepare(job, diag), job.follow_fields, in, out, diag);
}

void run_follow(const PlanJob& job, const std::string& out_path, std::istream& in, std::ostream& diag) {
  const auto ctl = prepare(job, diag);
  if (out_path == "-") return follow(*ctl, job.follow_fields, in, std::cout, diag);
  std::ofstream file(out_path);
  if (!file) throw Error(out_path, "cannot open for writing");
  follow(*ctl, job.follow_fields, in, file, diag);
}

}  // namespace dapdee
