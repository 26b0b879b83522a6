// The DAG model (`dapdee-dag/1`): nodes in topological order, producer edges, exits.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "dapdee/support/formats.hpp"

namespace dapdee {

// One output tensor of a node.
struct TensorInfo {
  std::string name;
  std::string dtype;            // ONNX element type name, e.g. "float32"
  std::vector<int64_t> shape;   // static dims
  int64_t bytes = 0;            // product of dims times the element size
  bool consumed = false;        // read by some DAG node
};

// One computing node (or an `Input`).
struct Node {
  std::string name;
  std::string op;
  std::vector<std::string> inputs;  // producer node names
  std::vector<int> input_ids;       // producer indices into Dag::nodes (filled by finalize())
  int64_t out_bytes = 0;            // bytes of its outputs that some DAG node consumes
  int64_t macs = 0;                 // multiply-accumulates (Conv, Gemm, MatMul, ...)
  int64_t ops = 0;                  // other elementary arithmetic operations (see docs)
  int64_t params = 0;               // bytes of the weights it reads
  std::vector<TensorInfo> outputs;
};

// The op of the DAG node that stands for a graph input.
inline constexpr const char* kInputOp = "Input";

// True for the node of a graph input. Never fails.
inline bool is_input(const Node& n) { return n.op == kInputOp; }

// An exit: a group of graph outputs (usually one; a detector's boxes and scores are one exit)
// and the nodes that produce them.
struct Exit {
  std::string name;
  std::vector<std::string> outputs;  // graph output names
  std::vector<std::string> nodes;    // their producer nodes (distinct, in output order)
  std::string node;                  // nodes[0] (older DAGs carry only this)
  std::optional<double> accuracy;    // quality figure in [0,1] (top-1, mAP), null when unknown
  std::vector<int> node_ids;         // indices of `nodes` (filled by finalize())
  int node_id = -1;                  // node_ids[0] (filled by finalize())
};

// An exit of one output named `name` produced by `node`. Never fails.
Exit single_exit(std::string name, std::string node, std::optional<double> accuracy = std::nullopt);

// A whole model: nodes in a topological order and exits from shallowest to deepest.
struct Dag {
  std::string model;
  std::string source;
  std::vector<Node> nodes;
  std::vector<Exit> exits;
  std::unordered_map<std::string, int> index;  // node name -> position (filled by finalize())

  // Index of a node by name, or -1.
  int find(const std::string& name) const;
};

// Checks the invariants (unique names, topological order, no cycle, known inputs, sizes >= 0,
// known exit nodes) and fills the derived indices; returns the first problem as a message.
std::optional<std::string> finalize(Dag& dag);

// The node half of finalize(): names, order, inputs and sizes, without looking at exits.
std::optional<std::string> finalize_nodes(Dag& dag);

// Parses and validates DAG JSON text; the failure message names the location of the problem.
Dag parse_dag(const std::string& text, const std::string& where);

// Serialises a DAG as `dapdee-dag/1` JSON text (pretty-printed, stable field order).
std::string dag_to_json(const Dag& dag);

// Marks, for every node, which nodes are ancestors of `target` (target included).
std::vector<char> ancestors_of(const Dag& dag, int target);

// Marks the union of the ancestors of several targets (targets included): G_k of a group exit.
std::vector<char> ancestors_of(const Dag& dag, const std::vector<int>& targets);

}  // namespace dapdee
