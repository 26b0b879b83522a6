// A kernel-level latency predictor in the class of nn-Meter / LitePred: per kernel class (the op,
// Conv split into depthwise / grouped / 1x1 / 3x3 stride 1 / other) a linear cost law fitted for
// relative error (it extrapolates to bigger tensors) times boosted regression trees on kernel
// features (FLOPs, bytes, reduction length, stride, kernel area, channels), fitted on measured
// profiles of many models.
#pragma once

#include <array>
#include <map>
#include <string>
#include <vector>

#include "dapdee/model/dag.hpp"
#include "dapdee/predict/latency_model.hpp"
#include "dapdee/support/formats.hpp"

namespace dapdee {

// The features of one node (natural logs of sizes; see docs/PROFILING.md). Never fails.
std::vector<double> kernel_features(const Dag& dag, int node);

// The names of kernel_features()' entries, in order.
const std::vector<std::string>& kernel_feature_names();

// The kernel class of a node: its op, except Conv: "Conv/depthwise" (groups = channels, k = 3, 5
// or 7), "Conv/grouped", "Conv/1x1", "Conv/3x3s1", "Conv/kxk". Never fails.
std::string kernel_class(const Dag& dag, int node);

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

// One class's model: ms = (c0 + c1 MFLOP + c2 input MB + c3 output MB) * exp(lr * sum(trees)).
struct OpKernelModel {
  std::vector<double> c;  // the linear law, >= 0
  std::vector<RegressionTree> trees;
  double learning_rate = 0.1;
  int samples = 0;
  // ms from the linear-law features (latency_features()) and the kernel features.
  double predict_ms(const std::array<double, 4>& lin, const std::vector<double>& x) const;
};

// The fitted predictor: per kernel class and per op, plus fallbacks for ops with MACs and without.
struct KernelModel {
  std::map<std::string, OpKernelModel> per_op;  // keyed by kernel class or op
  OpKernelModel fallback, fallback_macs;
  std::vector<std::string> trained_on;
  std::string device;
  double whole_factor = 1;  // median over the training profiles of whole-model / sum of node medians
};

// Fits on every timed node (ms > 0) of the profiled DAGs; a kernel class with fewer than
// `min_samples` nodes uses its op's model, an op with fewer the fallbacks. Throws Error("fit", ...) when nothing is timed.
KernelModel fit_kernel_model(const std::vector<ProfiledDag>& data, int min_samples = 12);

// Predicted ms of one node (0 for Input nodes). Never fails.
double predict_kernel_ms(const KernelModel& m, const Dag& dag, int node);

// JSON round trip (dapdee-kernel-model/2); parse throws Error(where, ...) on a malformed file.
std::string kernel_model_to_json(const KernelModel& m);
KernelModel parse_kernel_model(const std::string& text, const std::string& where);

// A predicted dapdee-profile/1 from the kernel model, labelled as such; `whole_ms` is the node
// sum times `whole_factor` (the runtime's time outside the nodes). Never fails.
std::string predict_profile_with_kernel_model(const Dag& dag, const KernelModel& m, const std::string& model_path);

// Held-out error of the kernel model, as evaluate_latency_model() reports it. Never fails.
ModelError evaluate_kernel_model(const KernelModel& m, const std::vector<ProfiledDag>& test);

}  // namespace dapdee
