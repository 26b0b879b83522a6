#include "dapdee/protocol/tensor_wire.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <onnx/onnx_pb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <cmath>
#include <cstring>

namespace dapdee {

size_t element_count(const std::vector<int64_t>& dims) {
  size_t n = 1;
  for (auto d : dims) n *= d < 0 ? 0 : static_cast<size_t>(d);
  return n;
}

std::string encode_frame(MsgType type, const std::string& payload, uint32_t max_frame_bytes) {
  if (payload.size() + 1 > max_frame_bytes)
    throw Error(fmt::format("a frame of {} bytes exceeds the frame limit of {} bytes", payload.size() + 1, max_frame_bytes));
  const uint32_t len = htonl(static_cast<uint32_t>(payload.size() + 1));
  std::string f(kFrameHeaderBytes + payload.size(), '\0');
  std::memcpy(f.data(), &len, 4);
  f[4] = static_cast<char>(type);
  std::memcpy(f.data() + kFrameHeaderBytes, payload.data(), payload.size());
  return f;
}

size_t wire_element_bytes(WireEncoding e) {
  switch (e) {
    case WireEncoding::Float32: return 4;
    case WireEncoding::Float16: return 2;
    case WireEncoding::Int8:
    case WireEncoding::Uint8: return 1;
  }
  return 4;
}

uint16_t float_to_half(float f) {
  uint32_t x = 0;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u, a = x & 0x7fffffffu;
  if (a >= 0x7f800000u) return static_cast<uint16_t>(sign | (a > 0x7f800000u ? 0x7e00u : 0x7c00u));
  if (a < 0x38800000u) {  // below 2^-14: a half subnormal (or zero), exactly round(|f| * 2^24)
    float m = 0;
    std::memcpy(&m, &a, 4);
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(std::nearbyint(m * 16777216.0f)));
  }
  const uint32_t mant = a & 0x7fffffu, rest = mant & 0x1fffu;
  uint32_t h = ((((a >> 23) - 127 + 15)) << 10) | (mant >> 13);
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // a carry into the exponent is right, up to infinity
  return static_cast<uint16_t>(sign | std::min(h, 0x7c00u));
}

float half_to_float(uint16_t h) {
  const uint32_t sign = (static_cast<uint32_t>(h) & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0) {
    const float v = std::ldexp(static_cast<float>(m), -24);
    return sign ? -v : v;
  }
  const uint32_t x = sign | (e == 31 ? 0x7f800000u | (m << 13) : ((e - 15 + 127) << 23) | (m << 13));
  float f = 0;
  std::memcpy(&f, &x, 4);
  return f;
}

namespace {

// The quantisation of one tensor: x = offset + q * scale.
struct Quant {
  double scale = 1, offset = 0;
};

Quant int8_quant(const std::vector<float>& v) {
  double m = 0;
  for (float x : v)
    if (std::isfinite(x)) m = std::max(m, static_cast<double>(std::fabs(x)));
  return {m > 0 ? m / 127.0 : 1.0, 0.0};
}

Quant uint8_quant(const std::vector<float>& v) {
  double lo = INFINITY, hi = -INFINITY;
  for (float x : v)
    if (std::isfinite(x)) lo = std::min(lo, static_cast<double>(x)), hi = std::max(hi, static_cast<double>(x));
  if (!(lo <= hi)) return {1.0, 0.0};
  return {hi > lo ? (hi - lo) / 255.0 : 1.0, lo};
}

std::string quantise(const std::vector<float>& v, const Quant& q, double lo, double hi) {
  std::string raw(v.size(), '\0');
  for (size_t i = 0; i < v.size(); ++i) {
    const double x = std::isfinite(v[i]) ? (v[i] - q.offset) / q.scale : 0.0;
    const long k = std::lround(std::clamp(x, lo, hi));
    raw[i] = static_cast<char>(static_cast<uint8_t>(static_cast<int>(k) & 0xff));
  }
  return raw;
}

std::string half_bytes(const std::vector<float>& v) {
  std::string raw(v.size() * 2, '\0');
  for (size_t i = 0; i < v.size(); ++i) {
    const uint16_t h = float_to_half(v[i]);
    raw[2 * i] = static_cast<char>(h & 0xff);  // little-endian, as ONNX's raw_data
    raw[2 * i + 1] = static_cast<char>(h >> 8);
  }
  return raw;
}

void set_quant(onnx::TensorProto& p, const Quant& q) { p.set_doc_string(fmt::format("{} scale={:a} offset={:a}", kQuantTag, q.scale, q.offset)); }

// The dapdee-quant parameters of a quantised TensorProto; nullopt when absent or malformed.
std::optional<Quant> read_quant(const std::string& doc) {
  const auto s = doc.find(" scale="), o = doc.find(" offset=");
  if (doc.rfind(kQuantTag, 0) != 0 || s == std::string::npos || o == std::string::npos) return std::nullopt;
  Quant q;
  char* end = nullptr;
  q.scale = std::strtod(doc.c_str() + s + 7, &end);
  q.offset = std::strtod(doc.c_str() + o + 8, &end);
  if (!std::isfinite(q.scale) || !std::isfinite(q.offset) || q.scale <= 0) return std::nullopt;
  return q;
}

}  // namespace

std::string encode_tensor(const HostTensor& t, WireEncoding encoding) {
  onnx::TensorProto p;
  p.set_name(t.name);
  for (auto d : t.dims) p.add_dims(d);
  switch (encoding) {
    case WireEncoding::Float32:
      p.set_data_type(onnx::TensorProto::FLOAT);
      p.set_raw_data(std::string(reinterpret_cast<const char*>(t.data.data()), t.data.size() * sizeof(float)));
      break;
    case WireEncoding::Float16:
      p.set_data_type(onnx::TensorProto::FLOAT16);
      p.set_raw_data(half_bytes(t.data));
      break;
    case WireEncoding::Int8: {
      const Quant q = int8_quant(t.data);
      p.set_data_type(onnx::TensorProto::INT8);
      p.set_raw_data(quantise(t.data, q, -127, 127));
      set_quant(p, q);
      break;
    }
    case WireEncoding::Uint8: {
      const Quant q = uint8_quant(t.data);
      p.set_data_type(onnx::TensorProto::UINT8);
      p.set_raw_data(quantise(t.data, q, 0, 255));
      set_quant(p, q);
      break;
    }
  }
  return p.SerializeAsString();
}

namespace {

// raw_data of `n` elements -> floats, by data_type (the caller checked the size).
void decode_raw(const onnx::TensorProto& p, const Quant& q, size_t n, std::vector<float>& out) {
  const auto* raw = reinterpret_cast<const uint8_t*>(p.raw_data().data());
  out.resize(n);
  for (size_t i = 0; i < n; ++i) {
    switch (p.data_type()) {
      case onnx::TensorProto::FLOAT16: out[i] = half_to_float(static_cast<uint16_t>(raw[2 * i] | (raw[2 * i + 1] << 8))); break;
      case onnx::TensorProto::INT8: out[i] = static_cast<float>(static_cast<int8_t>(raw[i]) * q.scale); break;
      default: out[i] = static_cast<float>(q.offset + raw[i] * q.scale); break;  // UINT8
    }
  }
}

std::optional<WireEncoding> encoding_of(int32_t data_type) {
  switch (data_type) {
    case onnx::TensorProto::FLOAT: return WireEncoding::Float32;
    case onnx::TensorProto::FLOAT16: return WireEncoding::Float16;
    case onnx::TensorProto::INT8: return WireEncoding::Int8;
    case onnx::TensorProto::UINT8: return WireEncoding::Uint8;
    default: return std::nullopt;
  }
}

}  // namespace

Parsed<HostTensor> decode_tensor(const std::string& payload) {
  onnx::TensorProto p;
  if (!p.ParseFromString(payload)) return Parsed<HostTensor>::failure("not an ONNX TensorProto");
  const auto enc = encoding_of(p.data_type());
  if (!enc)
    return Parsed<HostTensor>::failure(fmt::format("tensor '{}' has data_type {} (the wire carries float32, float16, "
                                                   "int8, uint8)", p.name(), p.data_type()));
  Quant q;
  if (*enc == WireEncoding::Int8 || *enc == WireEncoding::Uint8) {
    const auto r = read_quant(p.doc_string());
    if (!r) return Parsed<HostTensor>::failure(fmt::format("tensor '{}' is quantised but has no dapdee-quant/1 scale", p.name()));
    q = *r;
  }
  HostTensor t;
  t.name = p.name();
  constexpr size_t kMaxFloats = size_t{1} << 32;  // far above a frame's bound; the product cannot wrap
  size_t n = 1;
  for (auto d : p.dims()) {
    if (d < 0 || d > (int64_t{1} << 31)) return Parsed<HostTensor>::failure(fmt::format("tensor '{}' has a bad dim {}", t.name, d));
    if (d != 0 && n > kMaxFloats / static_cast<size_t>(d))
      return Parsed<HostTensor>::failure(fmt::format("tensor '{}': dims of more than 2^32 floats", t.name));
    n *= static_cast<size_t>(d);
    t.dims.push_back(d);
  }
  const size_t width = wire_element_bytes(*enc);
  if (p.raw_data().size() != n * width)
    return Parsed<HostTensor>::failure(fmt::format("tensor '{}': {} bytes of data for dims of {} elements of {} bytes", t.name,
                                                   p.raw_data().size(), n, width));
  if (*enc != WireEncoding::Float32) {
    decode_raw(p, q, n, t.data);
    return t;
  }
  t.data.resize(n);
  if (n > 0) std::memcpy(t.data.data(), p.raw_data().data(), p.raw_data().size());  // no null pointer for 0 dims (UBSan)
  return t;
}

namespace {

// Reads exactly n bytes into dst; Ok, Closed (EOF before any byte), Truncated, Timeout, Failed.
// Reads n bytes; `deadline` is set at a frame's first byte and bounds the rest of the frame.
ReadStatus read_exact(int fd, char* dst, size_t n, bool at_boundary, std::string& why, double patience_s,
                      std::optional<std::chrono::steady_clock::time_point>& deadline) {
  size_t got = 0;
  auto late = [&] {
    if (!deadline || std::chrono::steady_clock::now() <= *deadline) return false;
    why = fmt::format("the rest of a frame did not arrive within {} s", patience_s);
    return true;
  };
  while (got < n) {
    const ssize_t k = ::recv(fd, dst + got, n - got, 0);
    if (k > 0) {
      if (!deadline)
        deadline = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                          std::chrono::duration<double>(patience_s));
      got += static_cast<size_t>(k);
      if (got < n && patience_s > 0 && late()) return ReadStatus::Truncated;  // a trickle cannot hold a frame open
      continue;
    }
    if (k == 0) {
      why = got == 0 && at_boundary ? "connection closed" : "connection closed in the middle of a frame";
      return got == 0 && at_boundary ? ReadStatus::Closed : ReadStatus::Truncated;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (got == 0 && at_boundary) {
        why = "timed out waiting for a frame";
        return ReadStatus::Timeout;
      }
      if (late()) return ReadStatus::Truncated;
      continue;
    }
    why = std::string("receive failed: ") + std::strerror(errno);
    return ReadStatus::Failed;
  }
  return ReadStatus::Ok;
}

bool known_type(uint8_t t) {
  for (MsgType k : {MsgType::Hello, MsgType::Plan, MsgType::Frame, MsgType::Tensor, MsgType::Result, MsgType::Ok, MsgType::Error})
    if (t == static_cast<uint8_t>(k)) return true;
  return false;
}

}  // namespace

ReadStatus read_frame(int fd, Message& out, uint32_t max_frame_bytes, std::string& why, double patience_s) {
  char head[kFrameHeaderBytes];
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (auto s = read_exact(fd, head, 4, true, why, patience_s, deadline); s != ReadStatus::Ok) return s;
  uint32_t len = 0;
  std::memcpy(&len, head, 4);
  len = ntohl(len);
  if (len == 0 || len > max_frame_bytes) {
    why = fmt::format("frame length {} is outside 1..{} bytes", len, max_frame_bytes);
    return ReadStatus::TooLarge;
  }
  if (auto s = read_exact(fd, head + 4, 1, false, why, patience_s, deadline); s != ReadStatus::Ok) return s;
  const uint8_t type = static_cast<uint8_t>(head[4]);
  out.payload.clear();
  // Grow with what arrives: a prefix that lies costs at most one chunk.
  constexpr size_t kChunk = size_t{1} << 20;
  size_t remaining = len - 1;
  while (remaining > 0) {
    const size_t step = std::min(remaining, kChunk);
    const size_t at = out.payload.size();
    out.payload.resize(at + step);
    if (auto s = read_exact(fd, out.payload.data() + at, step, false, why, patience_s, deadline); s != ReadStatus::Ok)
      return s;
    remaining -= step;
  }
  if (!known_type(type)) {
    why = fmt::format("unknown frame type 0x{:02x}", type);
    return ReadStatus::BadType;
  }
  out.type = static_cast<MsgType>(type);
  return ReadStatus::Ok;
}

bool write_all(int fd, const char* data, size_t size) {
  size_t done = 0;
  while (done < size) {
    const ssize_t k = ::send(fd, data + done, size - done, MSG_NOSIGNAL);
    if (k > 0) {
      done += static_cast<size_t>(k);
      continue;
    }
    if (k < 0 && errno == EINTR) continue;
    return false;
  }
  return true;
}

Parsed<std::pair<std::string, int>> parse_endpoint(const std::string& spec) {
  const auto colon = spec.rfind(':');
  if (colon == std::string::npos) return Parsed<std::pair<std::string, int>>::failure("expected HOST:PORT");
  std::string host = spec.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port = spec.substr(colon + 1);
  if (host.empty()) return Parsed<std::pair<std::string, int>>::failure("empty host in HOST:PORT");
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return Parsed<std::pair<std::string, int>>::failure(fmt::format("port '{}' is not a number", port));
  const int p = std::stoi(port);
  if (p > 65535) return Parsed<std::pair<std::string, int>>::failure(fmt::format("port {} is above 65535", p));
  return std::make_pair(host, p);
}

namespace {
addrinfo* resolve(const std::string& host, int port, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  addrinfo* res = nullptr;
  const std::string where = fmt::format("{}:{}", host, port);
  if (const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res); rc != 0)
    throw Error(where, std::string("cannot resolve: ") + ::gai_strerror(rc));
  return res;
}
}  // namespace

int listen_tcp(const std::string& host, int port, int& bound_port) {
  const std::string where = fmt::format("{}:{}", host, port);
  addrinfo* res = resolve(host, port, true);
  int fd = -1;
  std::string err = "no address";
  for (addrinfo* a = res; a; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 16) == 0) break;
    err = std::strerror(errno);
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(res);
  if (fd < 0) throw Error(where, "cannot listen: " + err);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  bound_port = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                        : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return fd;
}

void set_socket_timeouts(int fd, double seconds) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(seconds);
  tv.tv_usec = static_cast<suseconds_t>((seconds - std::floor(seconds)) * 1e6);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

int connect_tcp(const std::string& host, int port, double timeout_s) {
  const std::string where = fmt::format("{}:{}", host, port);
  addrinfo* res = resolve(host, port, false);
  int fd = -1;
  std::string err = "no address";
  for (addrinfo* a = res; a; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    set_socket_timeouts(fd, timeout_s);
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
    err = errno == ECONNREFUSED ? "connection refused (is 'dapdee-run serve' running there?)" : std::strerror(errno);
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(res);
  if (fd < 0) throw Error(where, "cannot connect: " + err);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

}  // namespace dapdee
