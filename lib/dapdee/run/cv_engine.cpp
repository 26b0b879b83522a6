#include "dapdee/run/cv_engine.hpp"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>

#include "dapdee/onnx/onnx_rewrite.hpp"
#include "dapdee/support/error.hpp"

namespace dapdee {

void set_engine_threads(int threads) { cv::setNumThreads(std::max(threads, 1)); }

struct CvPart::Impl {
  std::string where;
  cv::dnn::Net net;
  int refilled = 0;
};

namespace {

std::string cv_message(const cv::Exception& e) {
  std::string m = e.what();
  if (const auto cut = m.find(" in function"); cut != std::string::npos) m.resize(cut);
  return "OpenCV DNN: " + m;
}

}  // namespace

CvPart::CvPart(const std::string& onnx_bytes, const std::string& where, const std::string& model_dir)
    : impl_(std::make_unique<Impl>()) {
  impl_->where = where;
  onnx::ModelProto m;
  if (!m.ParseFromString(onnx_bytes)) throw Error(where, "not a valid ONNX model");
  RewriteReport rep = refill_weights(m, model_dir, where);
  rewrite_for_opencv(m, rep);
  impl_->refilled = rep.refilled;
  const std::string buffer = m.SerializeAsString();
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
  try {
    impl_->net = cv::dnn::readNetFromONNX(buffer.data(), buffer.size());
  } catch (const cv::Exception& e) {
    throw Error(where, cv_message(e));
  }
  if (impl_->net.empty()) throw Error(where, "OpenCV DNN loaded an empty network");
  impl_->net.enableFusion(false);
  impl_->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  impl_->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
}

CvPart::~CvPart() = default;
int CvPart::refilled() const { return impl_->refilled; }

std::vector<HostTensor> CvPart::run(const std::vector<HostTensor>& inputs, const std::vector<std::string>& outputs) {
  try {
    for (const auto& t : inputs) {
      std::vector<int> dims(t.dims.begin(), t.dims.end());
      if (dims.empty()) dims.push_back(1);
      cv::Mat m(static_cast<int>(dims.size()), dims.data(), CV_32F, const_cast<float*>(t.data.data()));
      impl_->net.setInput(m.clone(), t.name);
    }
    std::vector<cv::Mat> outs;
    impl_->net.forward(outs, outputs);
    std::vector<HostTensor> r(outs.size());
    for (size_t k = 0; k < outs.size(); ++k) {
      const cv::Mat m = outs[k].isContinuous() ? outs[k] : outs[k].clone();
      if (m.depth() != CV_32F) throw Error(impl_->where, fmt::format("output '{}' is not float32", outputs[k]));
      r[k].name = outputs[k];
      for (int d = 0; d < m.dims; ++d) r[k].dims.push_back(m.size[d]);
      r[k].data.assign(m.ptr<float>(), m.ptr<float>() + m.total() * m.channels());
    }
    return r;
  } catch (const cv::Exception& e) {
    throw Error(impl_->where, cv_message(e));
  }
}

double max_abs_diff(const HostTensor& a, const HostTensor& b) {
  if (a.data.size() != b.data.size()) return std::numeric_limits<double>::infinity();
  double d = 0;
  for (size_t i = 0; i < a.data.size(); ++i) {
    const double x = std::fabs(static_cast<double>(a.data[i]) - b.data[i]);
    if (!(x <= d)) d = std::isnan(x) ? std::numeric_limits<double>::infinity() : x;
  }
  return d;
}

HostTensor random_tensor(const std::string& name, const std::vector<int64_t>& dims, uint64_t seed) {
  HostTensor t{name, dims, std::vector<float>(element_count(dims))};
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& x : t.data) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    x = static_cast<float>(static_cast<double>(s >> 11) * 0x1.0p-53 * 2.0 - 1.0);
  }
  return t;
}

}  // namespace dapdee
