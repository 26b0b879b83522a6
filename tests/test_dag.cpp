#include <catch2/catch.hpp>

#include "dapdee/model/dag.hpp"
#include "dapdee/support/error.hpp"

using dapdee::Error;
using dapdee::parse_dag;

namespace {
std::string dag_text(const std::string& nodes, const std::string& exits = R"([{"name":"out","node":"b"}])") {
  return R"({"format":"dapdee-dag/1","model":"m","nodes":)" + nodes + R"(,"exits":)" + exits + "}";
}
std::string error_of(const std::string& text) {
  try {
    parse_dag(text, "x.json");
  } catch (const Error& e) {
    CHECK(e.where() == "x.json");
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("a valid DAG round-trips", "[dag]") {
  const auto text = dag_text(R"([{"name":"in","op":"Input","inputs":[],"out_bytes":12},
    {"name":"a","op":"Relu","inputs":["in"],"out_bytes":12,"macs":0,"ops":3},
    {"name":"b","op":"Relu","inputs":["a","in"],"out_bytes":0}])");
  const auto dag = parse_dag(text, "x.json");
  REQUIRE(dag.nodes.size() == 3);
  CHECK(dag.nodes[2].input_ids == std::vector<int>{1, 0});
  CHECK(dag.exits[0].node_id == 2);
  const auto again = parse_dag(dapdee::dag_to_json(dag), "y.json");
  CHECK(dapdee::dag_to_json(again) == dapdee::dag_to_json(dag));
}

TEST_CASE("DAG validation reports the first problem with its location", "[dag]") {
  CHECK_THAT(error_of("not json"), Catch::Contains("not valid JSON"));
  CHECK_THAT(error_of(R"({"format":"other"})"), Catch::Contains("not a dapdee-dag/1 file"));
  CHECK_THAT(error_of(dag_text(R"([{"name":"in","op":"Input"},{"name":"in","op":"Relu","inputs":["in"]}])")),
             Catch::Contains("nodes[1]: duplicate node name 'in'"));
  CHECK_THAT(error_of(dag_text(R"([{"name":"in","op":"Input"},{"name":"b","op":"Relu","inputs":["zz"]}])")),
             Catch::Contains("nodes[1] ('b'): input 'zz' is not a node"));
  CHECK_THAT(error_of(dag_text(R"([{"name":"in","op":"Input"},{"name":"a","op":"Relu","inputs":["b"]},
                                  {"name":"b","op":"Relu","inputs":["a"]}])")),
             Catch::Contains("cycle"));
  CHECK_THAT(error_of(dag_text(R"([{"name":"in","op":"Input"},{"name":"b","op":"Relu","inputs":["c"]},
                                  {"name":"c","op":"Relu","inputs":["in"]}])")),
             Catch::Contains("topological order"));
  CHECK_THAT(error_of(dag_text(R"([{"name":"in","op":"Input"},{"name":"b","op":"Relu","inputs":["in"],"out_bytes":-4}])")),
             Catch::Contains("negative"));
  CHECK_THAT(error_of(dag_text(R"([{"name":"in","op":"Input"},{"name":"b","op":"Relu","inputs":["in"]}])",
                               R"([{"name":"out","node":"nope"}])")),
             Catch::Contains("exits[0] ('out'): node 'nope' is not a node"));
  CHECK_THAT(error_of(dag_text(R"([{"name":"in","op":"Input"},{"name":"b","op":"Relu","inputs":["in"]}])",
                               R"([{"name":"out","node":"b","accuracy":1.5}])")),
             Catch::Contains("not in [0, 1]"));
  CHECK_THAT(error_of(dag_text(R"([{"name":"in","op":"Input"},{"name":"b","op":"Relu","inputs":[]}])")),
             Catch::Contains("needs at least one input"));
  CHECK_THAT(error_of(dag_text(R"([{"name":"in","op":"Input"},{"name":"b","op":"Relu","inputs":["in"]}])", "[]")),
             Catch::Contains("no exits"));
}
