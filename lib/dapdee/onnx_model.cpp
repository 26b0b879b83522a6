#include "dapdee/onnx_model.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <set>

#include "dapdee/error.hpp"
#include "dapdee/io.hpp"
#include "dapdee/onnx_subgraph.hpp"
#include "dapdee/onnx_types.hpp"

namespace dapdee {

using onnx::TensorProto;

namespace {

// Parses a whole protobuf from a zero-copy stream (up to 2 GiB); true when it parsed to the end.
bool parse_model(google::protobuf::io::ZeroCopyInputStream& raw, onnx::ModelProto& model) {
  google::protobuf::io::CodedInputStream coded(&raw);
  coded.SetTotalBytesLimit(INT_MAX);
  return model.ParseFromCodedStream(&coded) && coded.ConsumedEntireMessage();
}

// Parses stdin, read once; throws Error("-") for empty input. False when it does not parse.
bool parse_stdin(const std::string& path, onnx::ModelProto& model) {
  const std::string data = read_input(path);
  if (data.empty()) throw Error(path, "empty input: not an ONNX model");
  google::protobuf::io::ArrayInputStream raw(data.data(), static_cast<int>(std::min<size_t>(data.size(), INT_MAX)));
  return parse_model(raw, model);
}

// Parses a file streamed from disk; throws Error(path) for a directory, an unreadable or empty
// file or one over 2 GiB. False when it does not parse.
bool parse_file(const std::string& path, onnx::ModelProto& model) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error(path, "is a directory");
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw Error(path, fmt::format("cannot open: {}", std::strerror(errno)));
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && size == 0) {
    ::close(fd);
    throw Error(path, "empty file: not an ONNX model");
  }
  if (!ec && size > static_cast<uintmax_t>(INT_MAX)) {
    ::close(fd);
    throw Error(path, "file over 2 GiB: protobuf cannot hold it; save the model with external data");
  }
  bool ok = false;
  {
    google::protobuf::io::FileInputStream raw(fd, 1 << 20);
    ok = parse_model(raw, model);
  }
  ::close(fd);
  return ok;
}

// The whole model (weights included) of a file or "-" (stdin), with the importer's checks.
onnx::ModelProto load_onnx_model(const std::string& path) {
  onnx::ModelProto model;
  const bool ok = path == "-" ? parse_stdin(path, model) : parse_file(path, model);
  if (!ok) throw Error(path, "not a valid ONNX model (protobuf parse failed: truncated or not ONNX)");
  if (!model.has_graph() || (model.graph().node_size() == 0 && model.graph().input_size() == 0))
    throw Error(path, "not an ONNX model (no graph)");
  return model;
}

// One warning per external data file the initializers name that does not exist (beside the model;
// for stdin, in the working directory). Never fails.
std::vector<std::string> missing_external_data(const onnx::GraphProto& g, const std::string& path) {
  const std::filesystem::path dir =
      path == "-" ? std::filesystem::current_path() : std::filesystem::path(path).parent_path();
  std::set<std::string> missing;
  for (const auto& t : g.initializer()) {
    if (t.data_location() != TensorProto::EXTERNAL) continue;
    for (const auto& kv : t.external_data())
      if (kv.key() == "location") {
        std::error_code ec;
        if (!std::filesystem::exists(dir / kv.value(), ec)) missing.insert(kv.value());
      }
  }
  std::vector<std::string> warnings;
  for (const auto& m : missing)
    warnings.push_back(fmt::format("external data file '{}' is missing; importing without weights", m));
  return warnings;
}

}  // namespace

bool is_weight(const TensorProto& t) {
  return t.data_location() != TensorProto::EXTERNAL && is_float_element(t.data_type()) &&
         element_count(t.dims()) > kWeightElements;
}

OnnxModel::OnnxModel(std::string path, FloatWeights weights, InputShapes pins)
    : path_(std::move(path)), pins_(std::move(pins)), model_(load_onnx_model(path_)) {
  auto& inits = *model_.mutable_graph()->mutable_initializer();
  warnings_ = missing_external_data(model_.graph(), path_);
  for (int k = 0; k < inits.size(); ++k) {
    TensorProto& t = inits[k];
    if (!is_weight(t)) continue;
    HeldValues h;  // the values move out (swapped, not copied): t is left as cleared
    h.index = k;
    h.had_raw = t.has_raw_data();
    h.raw.swap(*t.mutable_raw_data());
    t.clear_raw_data();
    h.floats.Swap(t.mutable_float_data());
    h.doubles.Swap(t.mutable_double_data());
    h.int32s.Swap(t.mutable_int32_data());
    if (weights == FloatWeights::Keep) held_.push_back(std::move(h));
  }
  pin_input_shapes(*model_.mutable_graph(), pins_, path_);
}

onnx::ModelProto OnnxModel::release() && {
  auto& inits = *model_.mutable_graph()->mutable_initializer();
  for (auto& h : held_) {
    TensorProto& t = inits[h.index];
    if (h.had_raw) t.mutable_raw_data()->swap(h.raw);
    t.mutable_float_data()->Swap(&h.floats);
    t.mutable_double_data()->Swap(&h.doubles);
    t.mutable_int32_data()->Swap(&h.int32s);
  }
  held_.clear();
  return std::move(model_);
}

}  // namespace dapdee
