// Exhaustive search of a block's partitions for the heavy-load planner: every downset of the
// block (closed under predecessors, holding the pinned nodes), reduced to the Pareto front of
// (device time, bytes sent, edge time), from which any bandwidth, delay and deadline is answered.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "dapdee/plan/cut_block.hpp"

namespace dapdee {

// Calls `emit(on_device)` for every downset of the block (pinned positions always on the
// device), include-before-exclude in position order. Stops and returns false once more than
// `limit` downsets were found. Never throws unless `emit` does.
bool for_each_downset(const CutBlock& block, long limit, const std::function<void(const std::vector<char>&)>& emit);

// One partition of G_k summarised by the three quantities the cost model needs.
struct Candidate {
  double t_d = 0, bytes = 0, t_e = 0;  // absolute T_d and T_e of the whole partition; bytes sent
  bool sends = false;                  // false only for device-only
  int block = -1;                      // the block the cut lies in (-1: device-only)
  long order = 0;                      // enumeration order, the last tie-break
  size_t bits = 0;                     // offset of its on_device positions in the pool
};

// The Pareto-minimal candidates of one exit (no candidate is worse in all of T_d, bytes, T_e
// than another with the same `sends`), with the block positions needed to rebuild them.
struct CandidateSet {
  std::vector<Candidate> items;   // sorted by `order`
  std::vector<char> pool;         // on_device positions of every item, concatenated
  long enumerated = 0;            // partitions enumerated before the Pareto filter
  uint64_t serial = 0;            // unique per enumeration in this process (caches key on it, not on addresses)
};

// Keeps the Pareto-minimal items of `set` (ties keep the lower `order`) and compacts its pool.
void pareto_filter(CandidateSet& set);

}  // namespace dapdee
