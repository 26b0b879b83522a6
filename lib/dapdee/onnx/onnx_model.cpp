#include "dapdee/onnx/onnx_model.hpp"

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

#include "dapdee/onnx/onnx_subgraph.hpp"
#include "dapdee/onnx/onnx_types.hpp"
#include "dapdee/support/error.hpp"
#include "dapdee/support/io.hpp"

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

// Opens a file streamed from disk and hands the stream to `parse`; throws Error(path) for a
// directory, an unreadable or empty file or one over 2 GiB. Returns what `parse` returns.
template <typename Parse>
bool with_file(const std::string& path, Parse parse) {
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
    ok = parse(raw);
  }
  ::close(fd);
  return ok;
}

// Parses a file; throws as with_file. False when it does not parse.
bool parse_file(const std::string& path, onnx::ModelProto& model) {
  return with_file(path, [&](google::protobuf::io::ZeroCopyInputStream& raw) { return parse_model(raw, model); });
}

// A filtered copy of the file's protobuf, made while it streams in, in which the weights of
// graph.initializer have no data fields: what parsing the whole model and then stripping gives,
// without ever holding the weights (the plain import's peak memory). Any surprise (a malformed
// field, a tensor that turns out to be no weight after its data was skipped) gives up: the caller
// then parses the whole file, with the errors of that parse.
namespace wire {

using google::protobuf::io::CodedInputStream;

void append_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// Copies the value of a field whose tag was read (tag appended first); false on a bad field.
bool copy_field(CodedInputStream& in, uint32_t tag, std::string& out) {
  append_varint(out, tag);
  switch (tag & 7) {
    case 0: {
      uint64_t v = 0;
      if (!in.ReadVarint64(&v)) return false;
      append_varint(out, v);
      return true;
    }
    case 1:
    case 5: {
      const int n = (tag & 7) == 1 ? 8 : 4;
      std::string bytes;
      if (!in.ReadString(&bytes, n)) return false;
      out += bytes;
      return true;
    }
    case 2: {
      uint32_t len = 0;
      std::string bytes;
      if (!in.ReadVarint32(&len) || !in.ReadString(&bytes, static_cast<int>(len))) return false;
      append_varint(out, len);
      out += bytes;
      return true;
    }
    default: return false;  // groups: not in ONNX
  }
}

// The size in bytes of one element of a data field that stripping clears (raw_data: 1,
// float_data: 4, double_data: 8, int32_data: 0 for varints), or -1 for any other field.
int data_element_size(uint32_t field) {
  switch (field) {
    case TensorProto::kRawDataFieldNumber: return 1;
    case TensorProto::kFloatDataFieldNumber: return 4;
    case TensorProto::kDoubleDataFieldNumber: return 8;
    case TensorProto::kInt32DataFieldNumber: return 0;
    default: return -1;
  }
}

// True for a tag of a data field with the wire type the parser takes for it (packed or one
// element); other wire types are unknown fields to the parser, kept as they are.
bool is_data_tag(uint32_t tag) {
  const int size = data_element_size(tag >> 3), wt = static_cast<int>(tag & 7);
  if (size < 0) return false;
  if (wt == 2) return true;
  return (size == 4 && wt == 5) || (size == 8 && wt == 1) || (size == 0 && wt == 0);
}

// Skips the value of a data tag, checking what the parser checks (a packed length that is a
// whole number of elements, well-formed varints); false on a bad field.
bool skip_data(CodedInputStream& in, uint32_t tag) {
  const int size = data_element_size(tag >> 3);
  uint64_t v = 0;
  uint32_t len = 0;
  if ((tag & 7) != 2) return size == 0 ? in.ReadVarint64(&v) : in.Skip(size);
  if (!in.ReadVarint32(&len) || len > INT_MAX) return false;
  if (size > 0) return len % static_cast<uint32_t>(size) == 0 && in.Skip(static_cast<int>(len));
  if (in.BytesUntilLimit() >= 0 && static_cast<int>(len) > in.BytesUntilLimit()) return false;  // past its message
  const auto limit = in.PushLimit(static_cast<int>(len));
  while (in.BytesUntilLimit() > 0)
    if (!in.ReadVarint64(&v)) return false;
  in.PopLimit(limit);
  return true;
}

// One initializer (the length already read): its fields, the data of a weight left out (whether
// it is one is decided again whenever a field other than data arrived).
bool copy_tensor(CodedInputStream& in, uint32_t len, std::string& out) {
  if (len > INT_MAX) return false;
  const auto limit = in.PushLimit(static_cast<int>(len));
  std::string t;
  bool skipped = false, weight = false, changed = true;
  while (const uint32_t tag = in.ReadTag()) {
    const bool data = is_data_tag(tag);
    if (data && changed) {
      TensorProto head;
      weight = head.ParseFromString(t) && is_weight(head);
      changed = false;
    }
    if (data && weight) {
      if (!skip_data(in, tag)) return false;
      skipped = true;
      continue;
    }
    if (!copy_field(in, tag, t)) return false;
    changed = changed || !data;
  }
  if (!in.ConsumedEntireMessage() || in.BytesUntilLimit() != 0) return false;  // not cut short by the end of file
  in.PopLimit(limit);
  TensorProto head;
  if (skipped && !(head.ParseFromString(t) && is_weight(head))) return false;  // not a weight after all
  append_varint(out, (onnx::GraphProto::kInitializerFieldNumber << 3) | 2u);
  append_varint(out, t.size());
  out += t;
  return true;
}

// A graph (the length already read): its fields, each initializer through copy_tensor.
bool copy_graph(CodedInputStream& in, uint32_t len, std::string& out) {
  if (len > INT_MAX) return false;
  const auto limit = in.PushLimit(static_cast<int>(len));
  std::string g;
  while (const uint32_t tag = in.ReadTag()) {
    uint32_t n = 0;
    const bool initializer = tag == ((onnx::GraphProto::kInitializerFieldNumber << 3) | 2u);
    if (initializer ? !(in.ReadVarint32(&n) && copy_tensor(in, n, g)) : !copy_field(in, tag, g)) return false;
  }
  if (!in.ConsumedEntireMessage() || in.BytesUntilLimit() != 0) return false;  // not cut short by the end of file
  in.PopLimit(limit);
  append_varint(out, (onnx::ModelProto::kGraphFieldNumber << 3) | 2u);
  append_varint(out, g.size());
  out += g;
  return true;
}

// The whole model's bytes with the weights' data left out; false when it gives up.
bool filtered_model(google::protobuf::io::ZeroCopyInputStream& raw, std::string& out) {
  CodedInputStream in(&raw);
  in.SetTotalBytesLimit(INT_MAX);
  while (const uint32_t tag = in.ReadTag()) {
    uint32_t n = 0;
    const bool graph = tag == ((onnx::ModelProto::kGraphFieldNumber << 3) | 2u);
    if (graph ? !(in.ReadVarint32(&n) && copy_graph(in, n, out)) : !copy_field(in, tag, out)) return false;
  }
  return in.ConsumedEntireMessage();
}

}  // namespace wire

// Parses a regular file without reading the weights' data into memory (wire::filtered_model);
// when that gives up, parses the whole file (stripped later). Throws as with_file.
bool parse_file_stripped(const std::string& path, onnx::ModelProto& model) {
  std::string bytes;
  const auto filter = [&](google::protobuf::io::ZeroCopyInputStream& raw) { return wire::filtered_model(raw, bytes); };
  if (with_file(path, filter) && bytes.size() <= INT_MAX) {
    google::protobuf::io::ArrayInputStream raw(bytes.data(), static_cast<int>(bytes.size()));
    if (parse_model(raw, model)) return true;
    model.Clear();
  }
  return parse_file(path, model);
}

// The model of a file or "-" (stdin), with the importer's checks; with FloatWeights::Strip, a
// regular file's weights are never read into memory whole.
onnx::ModelProto load_onnx_model(const std::string& path, FloatWeights weights) {
  onnx::ModelProto model;
  std::error_code ec;
  const bool stream_stripped = weights == FloatWeights::Strip && std::filesystem::is_regular_file(path, ec);
  const bool ok = path == "-"       ? parse_stdin(path, model)
                  : stream_stripped ? parse_file_stripped(path, model)
                                    : parse_file(path, model);
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
  warnings.reserve(missing.size());
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
    : path_(std::move(path)), pins_(std::move(pins)), model_(load_onnx_model(path_, weights)) {
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
