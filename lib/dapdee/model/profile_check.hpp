// The checks dapdee-plan runs on the pair of profiles it is given.
#pragma once

#include <string>
#include <vector>

#include "dapdee/model/dag.hpp"
#include "dapdee/model/profile.hpp"

namespace dapdee {

// The DAG's graph inputs and their dims (from its `Input` nodes' outputs). Never fails.
InputShapes dag_input_shapes(const Dag& dag);

// Checks a device and an edge profile against the DAG they will cost. Throws Error(profile
// source, ...) when a profile records input shapes that differ from the DAG's (a profile
// measured at another resolution); returns warnings for a profile that records none, and for
// an "edge" profile slower in total over the DAG's nodes than the "device" one (swapped?), and
// for two profiles scaled to the same time of the same reference (dapdee-profile --reference),
// and for a profile dapdee-profile marked inconsistent (node sum vs whole model), and for two
// profiles measured on the same machine (their "machine" objects, dapdee-profile from issue 25 on).
std::vector<std::string> check_profile_pair(const Dag& dag, const Profile& device, const Profile& edge);

// What a profile made for another model, or timing only part of the DAG, gets: refused (the
// default), or a warning (dapdee-plan --allow-partial-profile).
enum class PartialProfile { Refuse, Warn };

// Checks that a profile ("device" or "edge" in `role`) was made for the DAG's model (when it
// names one) and times every computing node of the DAG. Throws Error(profile source, ...) naming
// both models and the count of nodes without a time; under PartialProfile::Warn returns that
// sentence as a warning instead.
std::vector<std::string> check_profile_covers(const Dag& dag, const Profile& profile, const std::string& role,
                                              PartialProfile policy);

}  // namespace dapdee
