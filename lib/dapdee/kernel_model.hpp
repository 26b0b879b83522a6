// A kernel-level latency predictor in the class of nn-Meter / LitePred: per-op models on
// kernel features (FLOPs, input/output/weight bytes, reduction length, stride, kernel area,
// channels, depthwise), a log-log power law per op plus boosted regression trees on its
// residual, fitted on measured profiles of many models.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "dapdee/dag.hpp"
#include "dapdee/latency_model.hpp"

namespace dapdee {

inline constexpr const char* kKernelModelFormat = "dapdee-kernel-model/1";

// The features of one node (natural logs of sizes; see docs/PROFILING.md). Never fails.
std::vector<double> kernel_features(const Dag& dag, int node);

// The names of kernel_features()' entries, in order.
const std::vector<std::string>& kernel_feature_names();

// A regression tree over kernel features (internal nodes split feature < threshold).
struct RegressionTree {
  struct Split {
    int feature = -1;  // -1 = leaf
    double threshold = 0, value = 0;
    int left = -1, right = -1;
  };
  std::vector<Split> nodes;
  double eval(const std::vector<double>& x) const;
};

// One op's model: log(ms) = w . [1, log FLOP, log in, log out, log weights] + lr * sum(trees).
struct OpKernelModel {
  std::vector<double> w;
  std::vector<RegressionTree> trees;
  double learning_rate = 0.1;
  int samples = 0;
  double predict_log_ms(const std::vector<double>& x) const;
};

// The fitted predictor: per op, plus fallbacks for ops with MACs and without.
struct KernelModel {
  std::map<std::string, OpKernelModel> per_op;
  OpKernelModel fallback, fallback_macs;
  std::vector<std::string> trained_on;
  std::string device;
  double whole_factor = 1;  // median over the training profiles of whole-model / sum of node medians
};

// Fits on every timed node (ms > 0) of the profiled DAGs; op types with fewer than
// `min_samples` nodes use the fallbacks. Throws Error("fit", ...) when nothing is timed.
KernelModel fit_kernel_model(const std::vector<ProfiledDag>& data, int min_samples = 12);

// Predicted ms of one node (0 for Input nodes). Never fails.
double predict_kernel_ms(const KernelModel& m, const Dag& dag, int node);

// JSON round trip (dapdee-kernel-model/1); parse throws Error(where, ...) on a malformed file.
std::string kernel_model_to_json(const KernelModel& m);
KernelModel parse_kernel_model(const std::string& text, const std::string& where);

// A predicted dapdee-profile/1 from the kernel model, labelled as such; `whole_ms` is the node
// sum times `whole_factor` (the runtime's time outside the nodes). Never fails.
std::string predict_profile_with_kernel_model(const Dag& dag, const KernelModel& m, const std::string& model_path);

// Held-out error of the kernel model, as evaluate_latency_model() reports it. Never fails.
ModelError evaluate_kernel_model(const KernelModel& m, const std::vector<ProfiledDag>& test);

}  // namespace dapdee
