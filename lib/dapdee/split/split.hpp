// dapdee-split: a plan applied to the ONNX model -> the device part and the edge part.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "dapdee/model/dag.hpp"

namespace onnx {
class ModelProto;
}

namespace dapdee {

// The part of a plan the split needs: the exit and the two node sets.
struct Partition {
  std::string exit;
  std::vector<std::string> v_d, v_e;
};

// Reads the partition of one dapdee-plan/1 object. Throws Error(where, ...) naming the missing
// or mistyped field (a lean plan line without V_d/V_s/V_e is rejected with a hint).
Partition partition_from_plan(const nlohmann::json& plan, const std::string& where);

// Reads a file holding one dapdee-plan/1 object; throws Error(path, ...) for a sweep (several
// lines), invalid JSON or another format.
nlohmann::json read_single_plan(const std::string& path);

// What weights the loaded model keeps.
enum class Weights { AsIs, Refill };

// The two parts of one partition, as serialized ONNX models.
struct SplitParts {
  std::string device;                       // always present (may hold no node: edge-only plans)
  std::string edge;                         // empty when V_e is empty
  std::vector<std::string> device_inputs;   // graph inputs the device part reads
  std::vector<std::string> sent;            // tensors the device part outputs for the edge part
  std::vector<std::string> device_exit;     // exit outputs computed on the device
  std::vector<std::string> edge_exit;       // exit outputs computed on the edge
  int device_nodes = 0, edge_nodes = 0;
};

// A loaded model that splits along any partition of any exit (the server caches one per plan).
class ModelSplitter {
 public:
  // Reads the model once ("-": stdin) and imports it; with Weights::Refill absent weights get the name-seeded
  // synthetic values and external data is loaded inline. Throws Error(model_path, ...).
  explicit ModelSplitter(const std::string& model_path, Weights weights = Weights::AsIs);
  ~ModelSplitter();
  ModelSplitter(const ModelSplitter&) = delete;
  ModelSplitter& operator=(const ModelSplitter&) = delete;

  // Splits along `p`. Throws Error(where, ...) when p names nodes or an exit the model lacks, or
  // when V_d is not closed under predecessors or V_e reads a node the plan puts nowhere.
  SplitParts split(const Partition& p, const std::string& where) const;

  // The partition with V_e as given and V_d = the rest of G_k (the server's view of a plan);
  // throws Error(where, ...) for an unknown exit or node.
  Partition complete(const std::string& exit, const std::vector<std::string>& v_e, const std::string& where) const;

  const Dag& dag() const;
  const std::string& path() const;
  // The whole model with output shapes filled (refilled when asked): what "whole" means in checks.
  const onnx::ModelProto& model() const;
  // Float initializers refilled with synthetic values (0 with Weights::AsIs or full weights).
  int refilled() const;
  // True when some initializer lives in an external data file (AsIs only).
  bool external_weights() const;
  // The type and static shape of a tensor computed by a DAG node (or a graph input), or nullptr.
  const TensorInfo* tensor(const std::string& name) const;
  // A digest of the model as loaded: the graph and every initializer's bytes (after the
  // name-seeded refill, so for a weightless model it stands for the refill scheme). Never fails.
  const std::string& digest() const;
  // The exit named `name`, or nullptr.
  const Exit* exit(const std::string& name) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The most bytes of random input dapdee-split --check makes for a model (its graph inputs as
// float32 together): 256 MiB.
inline constexpr int64_t kMaxCheckInputBytes = int64_t{256} << 20;

// Throws Error(model.path(), ...) naming the input when the model's graph inputs would take more
// than kMaxCheckInputBytes of float32 random input, before anything is allocated.
void check_input_budget(const ModelSplitter& model);

// What to split and where to write it.
struct SplitOptions {
  std::string model_path;   // the ONNX model the plan was made for
  std::string plan_path;    // one dapdee-plan/1 object ("-" for stdin)
  std::string device_out;   // the device part (ONNX)
  std::string edge_out;     // the edge part (ONNX); not written when the plan sends nothing
};

// What was written.
struct SplitResult {
  int device_nodes = 0, edge_nodes = 0;
  std::vector<std::string> sent;       // tensors the device part outputs for the edge part
  std::vector<std::string> warnings;
  bool edge_written = false;
};

// As split_model(options), with the model and the plan already read (splitter.path() is
// options.model_path, `plan` from read_single_plan(options.plan_path)): dapdee-split reads both
// once for the parts and --check, so that either may come from stdin. Throws as split_model(options).
SplitResult split_model(const SplitOptions& options, const ModelSplitter& splitter, const nlohmann::json& plan);

// Splits the model: the device part runs V_d and outputs every tensor of V_s that V_e reads (and
// the exit outputs that run on the device); the edge part takes those tensors as inputs and
// outputs the rest of the plan's exit. Folded constants are copied to the side that needs them.
// Throws Error naming the file at fault: a plan for another model, a node the model lacks, an
// unreadable model.
SplitResult split_model(const SplitOptions& options);

}  // namespace dapdee
