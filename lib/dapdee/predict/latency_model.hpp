// Neurosurgeon-style per-op-type latency regression, fitted on measured profiles.
#pragma once

#include <array>
#include <functional>

#include <map>
#include <string>
#include <vector>

#include "dapdee/model/dag.hpp"
#include "dapdee/model/profile.hpp"

namespace dapdee {

// ms = c0 + c1 * MFLOP + c2 * input MB + c3 * output MB, one per op type, plus two fallbacks
// (nodes with and without MACs) for op types seen fewer than `min_samples` times.
struct LatencyModel {
  struct Fit {
    double c[4] = {0, 0, 0, 0};
    int samples = 0;
  };
  std::map<std::string, Fit> per_op;
  Fit fallback;        // op types without a fit of their own and no MACs (element-wise, pooling, ...)
  Fit fallback_macs;   // op types without a fit of their own that have MACs
  std::vector<std::string> trained_on;  // profile sources
  std::string device;
};

// A DAG with the profile measured for it.
struct ProfiledDag {
  Dag dag;
  Profile profile;
};

// The regression's features of one node: [1, MFLOP, input MB, output MB]. Never fails.
std::array<double, 4> latency_features(const Dag& dag, int node);

// Least-squares fit (ridge 1e-9, coefficients clamped to >= 0); throws Error when there is no
// sample at all.
LatencyModel fit_latency_model(const std::vector<ProfiledDag>& data, int min_samples = 6);

// Predicted ms of one node (never negative).
double predict_node_ms(const LatencyModel& m, const Dag& dag, int node);

// MAPE per op type and on whole-model latency of `test` sets, as a readable report.
struct ModelError {
  std::map<std::string, std::pair<double, int>> op_mape;  // op -> (MAPE %, nodes)
  std::vector<std::pair<std::string, double>> model_error;  // model -> signed % error of the total
};
ModelError evaluate_latency_model(const LatencyModel& m, const std::vector<ProfiledDag>& test);

// The evaluation every predictor shares: per-op MAPE over the profiled nodes, and per test DAG
// the whole-model error that `model_error(profile, predicted sum, measured sum)` gives in
// percent; `predict(dag, node)` is the predictor's ms. Never fails by itself.
ModelError evaluate_per_node(const std::vector<ProfiledDag>& test, const std::function<double(const Dag&, int)>& predict,
                             const std::function<double(const Profile&, double, double)>& model_error);

// JSON (dapdee-latency-model/1) round trip; parse throws Error(where, ...).
std::string latency_model_to_json(const LatencyModel& m);
LatencyModel parse_latency_model(const std::string& text, const std::string& where);

// A profile predicted with the model, labelled as predicted and from what.
std::string predict_profile_with_model(const Dag& dag, const LatencyModel& m, const std::string& model_path);

}  // namespace dapdee
