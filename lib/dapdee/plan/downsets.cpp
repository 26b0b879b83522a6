#include "dapdee/plan/downsets.hpp"

#include <algorithm>
#include <map>
#include <tuple>

namespace dapdee {

namespace {

// Depth-first include/exclude walk over positions; a position may join the downset only when
// all its predecessors in the block did.
struct Walker {
  const CutBlock& b;
  long limit;
  const std::function<void(const std::vector<char>&)>& emit;
  std::vector<char> in;
  long count = 0;

  bool walk(size_t p) {
    if (p == in.size()) {
      if (++count > limit) return false;
      emit(in);
      return true;
    }
    bool preds_in = true;
    for (int q : b.pred()[p]) preds_in = preds_in && in[q];
    if (preds_in) {
      in[p] = 1;
      if (!walk(p + 1)) return false;
    }
    if (b.pinned()[p]) return true;
    in[p] = 0;
    return walk(p + 1);
  }
};

}  // namespace

bool for_each_downset(const CutBlock& block, long limit, const std::function<void(const std::vector<char>&)>& emit) {
  Walker w{block, limit, emit, std::vector<char>(block.nodes().size(), 0)};
  // A pinned position whose predecessors are not all pinned cannot be satisfied by exclusion;
  // the walk handles it: the include branch is the only one, and it needs its predecessors.
  return w.walk(0);
}

void pareto_filter(CandidateSet& set) {
  std::vector<size_t> idx(set.items.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  auto key = [&](size_t i) {
    const Candidate& c = set.items[i];
    return std::make_tuple(!c.sends, c.t_d, c.bytes, c.t_e, c.order);
  };
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return key(a) < key(b); });
  std::vector<char> keep(set.items.size(), 0);
  // Sweep by T_d; a staircase over (bytes, T_e) of the items kept so far, per `sends` class.
  std::map<double, double> stair;
  bool sends_class = true;
  for (size_t i : idx) {
    const Candidate& c = set.items[i];
    if (c.sends != sends_class) {
      stair.clear();
      sends_class = c.sends;
    }
    auto it = stair.upper_bound(c.bytes);
    if (it != stair.begin() && std::prev(it)->second <= c.t_e) continue;  // dominated
    keep[i] = 1;
    // Remove the entries the new item dominates: bytes >= c.bytes and T_e >= c.t_e.
    auto jt = stair.lower_bound(c.bytes);
    while (jt != stair.end() && jt->second >= c.t_e) jt = stair.erase(jt);
    stair[c.bytes] = c.t_e;
  }
  CandidateSet out;
  out.enumerated = set.enumerated;
  out.serial = set.serial;
  for (size_t i = 0; i < set.items.size(); ++i) {
    if (!keep[i]) continue;
    Candidate c = set.items[i];
    const size_t next = i + 1 < set.items.size() ? set.items[i + 1].bits : set.pool.size();
    c.bits = out.pool.size();
    out.pool.insert(out.pool.end(), set.pool.begin() + static_cast<long>(set.items[i].bits),
                    set.pool.begin() + static_cast<long>(next));
    out.items.push_back(c);
  }
  set = std::move(out);
}

}  // namespace dapdee
