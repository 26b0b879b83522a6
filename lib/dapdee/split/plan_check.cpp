#include "dapdee/split/plan_check.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "dapdee/support/error.hpp"

namespace dapdee {

namespace {

// The smallest id of a set, so the message is deterministic whatever the hash order.
int first_of(const std::vector<int>& ids) { return *std::min_element(ids.begin(), ids.end()); }

}  // namespace

void validate_plan_sets(const Dag& dag, const std::unordered_set<int>& v_d, const std::unordered_set<int>& v_e,
                        const Exit& exit, const std::string& where) {
  std::vector<int> both, inputs_on_edge;
  for (int v : v_e) {
    if (v_d.count(v)) both.push_back(v);
    if (is_input(dag.nodes[v])) inputs_on_edge.push_back(v);
  }
  if (!both.empty())
    throw Error(where, fmt::format("V_d and V_e overlap: node '{}' is on both sides ({} in all)", dag.nodes[first_of(both)].name,
                                   both.size()));
  if (!inputs_on_edge.empty())
    throw Error(where, fmt::format("V_e holds the model input '{}': inputs are read on the device, put it in V_d",
                                   dag.nodes[first_of(inputs_on_edge)].name));
  for (int v : exit.node_ids)
    if (!v_d.count(v) && !v_e.count(v))
      throw Error(where, fmt::format("exit '{}': node '{}' is on neither side (in neither V_d nor V_e)", exit.name,
                                     dag.nodes[v].name));
}

}  // namespace dapdee
