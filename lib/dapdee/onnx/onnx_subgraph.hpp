// ONNX graph surgery for the import: input-shape pins, the subgraph that ends at chosen tensors
// (`--outputs`), and the tensors of static size to suggest when the import stops on a
// data-dependent size.
// Internal to lib/: the importer and the profiler (it includes the ONNX protobuf types).
#pragma once

#include <onnx/onnx_pb.h>

#include <functional>
#include <string>
#include <vector>

namespace dapdee {

// Gives each named graph input (initializers excluded) its pinned dims (--input-shape); when a pin
// contradicts a dim the input declares (a batch of 2 where the model was traced with 1), the
// shapes the exporter recorded (graph outputs, value_info) are forgotten so that shape inference
// derives them again. Throws Error(where) for a name that is no graph input, listing the inputs.
void pin_input_shapes(onnx::GraphProto& graph,
                      const std::vector<std::pair<std::string, std::vector<int64_t>>>& shapes,
                      const std::string& where);

// All tensors a node reads: its inputs plus what its subgraphs (If/Loop/Scan bodies) read from
// the enclosing scope. Never fails.
std::vector<std::string> node_reads(const onnx::NodeProto& node);

// Cuts the model's graph down to the nodes the named tensors need, makes those tensors its
// outputs and drops the inputs nothing reads any more; returns the names of the dropped inputs.
// Throws Error(where, ...) for an empty list, a name that is no tensor of the graph, a graph
// input or constant, and a tensor that does not depend on any graph input.
std::vector<std::string> restrict_to_outputs(onnx::ModelProto& model, const std::vector<std::string>& names,
                                             const std::string& where);

// What the suggestion needs to know of the imported graph.
struct StaticView {
  const onnx::GraphProto* graph = nullptr;
  const std::vector<int>* order = nullptr;                     // node indices, topological
  const std::vector<std::vector<std::string>>* reads = nullptr; // per node: tensors read
  const std::vector<char>* folded = nullptr;                   // per node: folded away as constant
  std::function<bool(const std::string&)> is_constant;
  std::function<bool(const std::string&)> is_static;           // static dims and a fixed element size
};

// The nearest tensors of static size that cover the graph outputs: the static tensors read by
// the part of the graph that has (or follows from) a data-dependent size, plus the static graph
// outputs, with tensors derived from one common tensor by weightless ops (slices, comparisons,
// softmax, ...) merged into it. Empty when there is no useful suggestion (the unknown size starts
// at a graph input). Never fails.
std::vector<std::string> suggest_static_outputs(const StaticView& view);

}  // namespace dapdee
