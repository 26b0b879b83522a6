// Exits as groups of graph outputs: declarations (--exits, sidecar, metadata_props) and the
// default rule for undeclared models (docs/COST-MODEL.md, "Exits").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dapdee/model/dag.hpp"

namespace dapdee {

// One declared exit: a name, the graph outputs it groups (empty in the older forms: accuracy only),
// and its accuracy when the declaration gives one (explicit null counts as given).
struct ExitDeclaration {
  std::string name;
  std::vector<std::string> outputs;
  bool accuracy_given = false;
  std::optional<double> accuracy;
};

// Where the exits of a model are declared, in one of three places.
enum class ExitSource { Option, Sidecar, Metadata };

// All declarations of one place. `groups` is true when some entry lists `outputs`: the place then
// fixes the grouping; otherwise it only gives accuracies by exit name (the older forms).
struct ExitDeclarations {
  ExitSource source = ExitSource::Option;
  std::string where;  // the file (or the model, for metadata_props) named in messages
  std::vector<ExitDeclaration> exits;
  bool groups = false;
};

// Parses `{"exits":[{"name","outputs"?,"accuracy"?}]}` or `{name: accuracy}` (keys "format" and
// "model" ignored); throws Error(where, ...) for invalid JSON, a missing name, an accuracy
// outside [0, 1], an empty or non-string output list, or an exit named twice.
ExitDeclarations parse_exit_declarations(const std::string& text, const std::string& where, ExitSource source);

// Adds one declaration of `dapdee.accuracy.<output>` metadata; throws Error(where, ...) for a value
// that is not a number in [0, 1].
void add_metadata_accuracy(ExitDeclarations& decl, const std::string& output, const std::string& value);

// One graph output as the importer sees it.
struct GraphOutput {
  std::string name;
  int node = -1;               // DAG id of its producer; -1 when no node computes it
  std::vector<int64_t> dims;   // static dims, empty when unknown
  bool static_shape = false;
};

// The exits of a model and a sentence saying which rule made them.
struct ExitGrouping {
  std::vector<Exit> exits;     // ordered by the depth of their deepest node
  std::string rule;
  std::vector<std::string> warnings;
};

// Groups the outputs into exits: the grouping of the first declaration (highest precedence
// first) that declares groups, else the default rule (outputs all of one shape: one exit each;
// otherwise one exit `final` with all). Accuracies come by exit name from the highest place that
// gives one. Needs finalize_nodes(dag). Throws Error(where of the declaration, ...) for a group
// naming an unknown output or one no node computes, an output in two groups, and a name in the
// highest-precedence declaration that is no exit; Error(dag_where, ...) when no output is computed.
ExitGrouping group_exits(const Dag& dag, const std::vector<GraphOutput>& outputs,
                         const std::vector<ExitDeclarations>& declarations, const std::string& dag_where);

}  // namespace dapdee
