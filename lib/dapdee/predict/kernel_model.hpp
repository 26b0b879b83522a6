// A kernel-level latency predictor in the class of nn-Meter / LitePred: per kernel class (the op,
// Conv split into depthwise / grouped / 1x1 / 3x3 stride 1 / other) a linear cost law fitted for
// relative error (it extrapolates to bigger tensors) times boosted regression trees on kernel
// features (FLOPs, bytes, reduction length, stride, kernel area, channels), fitted on measured
// profiles of many models.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "dapdee/model/dag.hpp"
#include "dapdee/model/profile.hpp"
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

// What a kernel model's times are in: ms of the machine its training profiles were measured on
// (reference empty), or, for profiles measured with `dapdee-profile --reference`, units in which
// the reference model's whole-model time is `reference_ms`.
struct KernelUnits {
  std::string reference;                 // the reference model's name (its file stem), e.g. "resnet18"
  double reference_ms = 0;               // its time in these units (the profiles' --reference-ms)
  std::vector<int64_t> reference_input;  // its input dims when a training profile of it recorded them
};

// The fitted predictor: per kernel class and per op, plus fallbacks for ops with MACs and without.
struct KernelModel {
  std::map<std::string, OpKernelModel> per_op;  // keyed by kernel class or op
  OpKernelModel fallback, fallback_macs;
  std::vector<std::string> trained_on;
  std::string device;
  double whole_factor = 1;  // median over the training profiles of whole-model / sum of node medians
  KernelUnits units;
};

// A kernel model's units turned into ms of one device: times are multiplied by `scale`, the
// reference's measured whole-model time on that device over its time in the model's units.
struct KernelCalibration {
  std::string profile;  // the reference profile's path
  std::string device;   // the device it was measured on
  double reference_total_ms = 0;
  double scale = 1;
};

// Fits on every timed node (ms > 0) of the profiled DAGs; a kernel class with fewer than
// `min_samples` nodes uses its op's model, an op with fewer the fallbacks. The units are the
// training profiles' (KernelUnits). Throws Error("fit", ...) when nothing is timed, or when the
// training profiles mix units (some reference-normalised, some not, or to different references).
KernelModel fit_kernel_model(const std::vector<ProfiledDag>& data, int min_samples = 12);

// The calibration that turns the model's reference units into ms of the device `reference` was
// measured on (its whole-model `total_ms`). Throws Error(reference.source, ...) when the model's
// units are plain ms (fitted without --reference), when `reference` is a profile of another
// model or of other input dims than the model's reference, is itself reference-normalised, or
// has no whole-model time.
KernelCalibration calibrate_kernel_model(const KernelModel& m, const Profile& reference);

// Predicted ms of one node (0 for Input nodes). Never fails.
double predict_kernel_ms(const KernelModel& m, const Dag& dag, int node);

// JSON round trip (dapdee-kernel-model/2); parse throws Error(where, ...) on a malformed file.
std::string kernel_model_to_json(const KernelModel& m);
KernelModel parse_kernel_model(const std::string& text, const std::string& where);

// A predicted dapdee-profile/1 from the kernel model, labelled as such; `whole_ms` is the node
// sum times `whole_factor` (the runtime's time outside the nodes). With a calibration every time
// is in ms of its device and `predicted_from` records it; without, in the model's units. Never fails.
std::string predict_profile_with_kernel_model(const Dag& dag, const KernelModel& m, const std::string& model_path,
                                              const KernelCalibration* calibration = nullptr);

// Held-out error of the kernel model, as evaluate_latency_model() reports it. Never fails.
ModelError evaluate_kernel_model(const KernelModel& m, const std::vector<ProfiledDag>& test);

}  // namespace dapdee
