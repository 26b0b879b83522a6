// One block of the extended graph G' (docs/COST-MODEL.md, "The extended graph G'"), solved as a minimum
// s-t cut. Like OR-Tools' SimpleMaxFlow, the class hides the solver (LEMON Preflow): callers give
// the block's structure once, then ask for cuts under costs, bandwidths and weights.
#pragma once

#include <memory>
#include <vector>

namespace dapdee {

struct Costs;

// Weights of the three terms of a cut's cost: device time, transfer time, edge time.
struct CutWeights {
  double device = 1, transfer = 1, edge = 1;
};

// The answer of one cut: per block position, 1 when the node runs on the device, and the
// weighted cost of that partition recomputed from it (never read off the flow).
struct BlockCut {
  std::vector<char> on_device;
  double cost = 0;
};

// The block between two consecutive dominators of an exit: `nodes` (DAG ids, topological) with
// pinned positions (on the device in every valid partition: the block's first dominator and
// graph inputs). A successor position of -1 is the block's sink: the next dominator, which runs
// on the edge when the cut lies in this block, or a virtual sink that costs nothing.
class CutBlock {
 public:
  enum class Sink { Real, Virtual };

  // Builds G' for the block; throws Error when a successor position is out of range.
  CutBlock(std::vector<int> nodes, std::vector<char> pinned, std::vector<std::vector<int>> succ, Sink sink);
  ~CutBlock();
  CutBlock(const CutBlock&) = delete;
  CutBlock& operator=(const CutBlock&) = delete;

  // The minimum weighted cut of the block at `bandwidth_mbps` (may be +inf: free transfers).
  // `force_edge` (a position, or -1) must run on the edge; returns nullopt-like empty
  // on_device when that position is pinned to the device. Never throws.
  BlockCut solve(const Costs& costs, double bandwidth_mbps, const CutWeights& w, int force_edge = -1) const;

  // The weighted cost of a given partition of the block (on_device per position). Never throws.
  double cost_of(const Costs& costs, double bandwidth_mbps, const CutWeights& w,
                 const std::vector<char>& on_device) const;

  // Bytes sent by a partition of the block: outputs of device nodes read by an edge node or the
  // real sink. Never throws.
  double sent_bytes(const Costs& costs, const std::vector<char>& on_device) const;

  const std::vector<int>& nodes() const { return nodes_; }
  const std::vector<char>& pinned() const { return pinned_; }
  const std::vector<std::vector<int>>& succ() const { return succ_; }
  const std::vector<std::vector<int>>& pred() const { return pred_; }
  Sink sink() const { return sink_; }
  // True when every node is pinned: the only partition is all on the device.
  bool trivial() const { return trivial_; }

 private:
  struct Graph;
  std::vector<int> nodes_;
  std::vector<char> pinned_;
  std::vector<std::vector<int>> succ_, pred_;
  Sink sink_;
  bool trivial_ = true;
  std::unique_ptr<Graph> graph_;
};

// ms to send `bytes` over `mbps` Mbit/s (0 when mbps is +inf).
inline double send_ms(double bytes, double mbps) { return bytes * 8.0 / (mbps * 1e6) * 1000.0; }

}  // namespace dapdee
