// Validation of a plan's node sets against its DAG, before anything is cut (dapdee-split).
#pragma once

#include <string>
#include <unordered_set>

#include "dapdee/model/dag.hpp"

namespace dapdee {

// Checks that V_d and V_e are disjoint, that V_e holds no Input node (inputs are read on the
// device), and that every node of the exit is on one side. Throws Error(where, ...) naming the
// first node at fault; ids are indices into dag.nodes.
void validate_plan_sets(const Dag& dag, const std::unordered_set<int>& v_d, const std::unordered_set<int>& v_e,
                        const Exit& exit, const std::string& where);

}  // namespace dapdee
