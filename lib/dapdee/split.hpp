// dapdee-split: a plan applied to the ONNX model -> the device part and the edge part.
#pragma once

#include <string>
#include <vector>

namespace dapdee {

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

// Splits the model: the device part runs V_d and outputs every tensor of V_s that V_e reads (and
// the exit when it runs on the device); the edge part takes those tensors as inputs and outputs
// the plan's exit. Folded constants are copied to the side that needs them. Throws Error naming
// the file at fault: a plan for another model, a node the model lacks, an unreadable model.
SplitResult split_model(const SplitOptions& options);

}  // namespace dapdee
