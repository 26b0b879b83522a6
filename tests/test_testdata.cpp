// ONNX's own test models (Debian's libonnx-testdata): each imports or fails with a clear error.
#include <catch2/catch.hpp>

#include "dapdee/import/onnx_import.hpp"
#include "dapdee/support/error.hpp"
#include "test_util.hpp"

using namespace test_util;

namespace {
struct Tally {
  int imported = 0, rejected = 0;
  std::vector<std::string> messages;
};

Tally import_folder(const std::string& folder) {
  Tally t;
  std::vector<fs::path> models;
  for (const auto& e : fs::recursive_directory_iterator(folder))
    if (e.path().filename() == "model.onnx") models.push_back(e.path());
  std::sort(models.begin(), models.end());
  for (const auto& m : models) {
    dapdee::ImportOptions opt;
    opt.model_path = m.string();
    try {
      const auto r = dapdee::import_onnx(opt);
      CHECK_FALSE(r.dag.nodes.empty());
      ++t.imported;
    } catch (const dapdee::Error& e) {
      ++t.rejected;
      const std::string msg = e.what();
      CHECK(e.where() == m.string());
      CHECK_FALSE(msg.empty());
      t.messages.push_back(m.parent_path().filename().string() + ": " + msg);
    }
  }
  return t;
}
}  // namespace

TEST_CASE("libonnx-testdata pytorch-converted and pytorch-operator models", "[import][testdata]") {
  const std::string root = "/usr/share/libonnx-testdata/data";
  if (!fs::exists(root + "/pytorch-converted")) DAPDEE_SKIP("libonnx-testdata is not installed");
  for (const char* sub : {"pytorch-converted", "pytorch-operator"}) {
    const Tally t = import_folder(root + "/" + sub);
    std::cout << sub << ": " << t.imported << " imported, " << t.rejected << " rejected\n";
    for (const auto& m : t.messages) std::cout << "  " << m << "\n";
    CHECK(t.imported > 0);
    // Every rejection names what is unsupported or unknown.
    for (const auto& m : t.messages)
      CHECK((m.find("not supported") != std::string::npos || m.find("no static size") != std::string::npos ||
             m.find("not a tensor") != std::string::npos || m.find("nothing to plan") != std::string::npos ||
             m.find("shape inference failed") != std::string::npos));
  }
}
