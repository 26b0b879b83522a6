// Builds small ONNX models in memory for tests (the tests make their own models).
#pragma once

#include <onnx/onnx_pb.h>

#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace testing_onnx {

class Builder {
 public:
  explicit Builder(int opset = 13, const std::string& name = "test") {
    m_.set_ir_version(8);
    auto* o = m_.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
    m_.mutable_graph()->set_name(name);
    m_.set_producer_name("dapdee-tests");
  }
  // A graph input; a negative dim becomes a symbolic one ("N").
  Builder& input(const std::string& name, const std::vector<int64_t>& dims, int type = onnx::TensorProto::FLOAT) {
    auto* v = m_.mutable_graph()->add_input();
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(type);
    auto* sh = tt->mutable_shape();
    for (auto d : dims) {
      if (d < 0) sh->add_dim()->set_dim_param("N");
      else sh->add_dim()->set_dim_value(d);
    }
    return *this;
  }
  Builder& output(const std::string& name) {
    auto* v = m_.mutable_graph()->add_output();
    v->set_name(name);
    v->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
    return *this;
  }
  // A float weight (zeros as raw data) or an int64 constant with values.
  Builder& weight(const std::string& name, const std::vector<int64_t>& dims) {
    auto* t = m_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    int64_t n = 1;
    for (auto d : dims) {
      t->add_dims(d);
      n *= d;
    }
    t->set_raw_data(std::string(static_cast<size_t>(n) * 4, '\0'));
    return *this;
  }
  Builder& ints(const std::string& name, const std::vector<int64_t>& values, bool scalar = false) {
    auto* t = m_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    if (!scalar) t->add_dims(static_cast<int64_t>(values.size()));
    for (auto v : values) t->add_int64_data(v);
    return *this;
  }
  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& in, const std::vector<std::string>& out,
                        const std::string& name) {
    auto* n = m_.mutable_graph()->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& s : in) n->add_input(s);
    for (const auto& s : out) n->add_output(s);
    return *n;
  }
  static void attr_ints(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (auto x : v) a->add_ints(x);
  }
  static void attr_int(onnx::NodeProto& n, const std::string& name, int64_t v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  Builder& metadata(const std::string& key, const std::string& value) {
    auto* p = m_.add_metadata_props();
    p->set_key(key);
    p->set_value(value);
    return *this;
  }
  // Fills every float initializer with uniform values in [-0.5, 0.5] (for numeric checks).
  Builder& random_weights(unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-0.5f, 0.5f);
    for (auto& t : *m_.mutable_graph()->mutable_initializer()) {
      if (t.data_type() != onnx::TensorProto::FLOAT) continue;
      std::string raw = t.raw_data();
      for (size_t k = 0; k + 4 <= raw.size(); k += 4) {
        const float x = u(rng);
        std::memcpy(raw.data() + k, &x, 4);
      }
      t.set_raw_data(raw);
    }
    return *this;
  }
  onnx::ModelProto& model() { return m_; }
  std::string bytes() const { return m_.SerializeAsString(); }
  void save(const std::string& path) const {
    std::ofstream out(path, std::ios::binary);
    out << bytes();
  }

 private:
  onnx::ModelProto m_;
};

// conv3x3 with padding 1 (same spatial size), named after `name`.
inline void conv(Builder& b, const std::string& name, const std::string& in, const std::string& out, int64_t cin,
                 int64_t cout, int64_t k = 3) {
  b.weight(name + ".w", {cout, cin, k, k});
  auto& n = b.node("Conv", {in, name + ".w"}, {out}, name);
  Builder::attr_ints(n, "kernel_shape", {k, k});
  Builder::attr_ints(n, "pads", {k / 2, k / 2, k / 2, k / 2});
}

// The small models of the golden tests.
Builder chain_model();
Builder diamond_model();
Builder inception_model();
Builder residual_model();
Builder early_exit_model();
Builder reshape_shape_model();

}  // namespace testing_onnx
