#include "dapdee/tensor_wire.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <onnx/onnx_pb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
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

std::string encode_tensor(const HostTensor& t) {
  onnx::TensorProto p;
  p.set_name(t.name);
  p.set_data_type(onnx::TensorProto::FLOAT);
  for (auto d : t.dims) p.add_dims(d);
  p.set_raw_data(std::string(reinterpret_cast<const char*>(t.data.data()), t.data.size() * sizeof(float)));
  return p.SerializeAsString();
}

Parsed<HostTensor> decode_tensor(const std::string& payload) {
  onnx::TensorProto p;
  if (!p.ParseFromString(payload)) return Parsed<HostTensor>::failure("not an ONNX TensorProto");
  if (p.data_type() != onnx::TensorProto::FLOAT)
    return Parsed<HostTensor>::failure(fmt::format("tensor '{}' is not float32 (data_type {})", p.name(), p.data_type()));
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
  if (p.raw_data().size() != n * sizeof(float))
    return Parsed<HostTensor>::failure(fmt::format("tensor '{}': {} bytes of data for dims of {} floats", t.name,
                                                   p.raw_data().size(), n));
  t.data.resize(n);
  if (n > 0) std::memcpy(t.data.data(), p.raw_data().data(), p.raw_data().size());  // no null pointer for 0 dims (UBSan)
  return t;
}

namespace {

// Reads exactly n bytes into dst; Ok, Closed (EOF before any byte), Truncated, Timeout, Failed.
ReadStatus read_exact(int fd, char* dst, size_t n, bool at_boundary, std::string& why, int patience) {
  size_t got = 0;
  int waited = 0;
  while (got < n) {
    const ssize_t k = ::recv(fd, dst + got, n - got, 0);
    if (k > 0) {
      got += static_cast<size_t>(k);
      waited = 0;
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
      if (++waited <= patience) continue;
      why = "timed out waiting for the rest of a frame";
      return ReadStatus::Truncated;
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

ReadStatus read_frame(int fd, Message& out, uint32_t max_frame_bytes, std::string& why, int patience) {
  char head[kFrameHeaderBytes];
  if (auto s = read_exact(fd, head, 4, true, why, patience); s != ReadStatus::Ok) return s;
  uint32_t len = 0;
  std::memcpy(&len, head, 4);
  len = ntohl(len);
  if (len == 0 || len > max_frame_bytes) {
    why = fmt::format("frame length {} is outside 1..{} bytes", len, max_frame_bytes);
    return ReadStatus::TooLarge;
  }
  if (auto s = read_exact(fd, head + 4, 1, false, why, patience); s != ReadStatus::Ok) return s;
  const uint8_t type = static_cast<uint8_t>(head[4]);
  out.payload.clear();
  // Grow with what arrives: a prefix that lies costs at most one chunk.
  constexpr size_t kChunk = size_t{1} << 20;
  size_t remaining = len - 1;
  while (remaining > 0) {
    const size_t step = std::min(remaining, kChunk);
    const size_t at = out.payload.size();
    out.payload.resize(at + step);
    if (auto s = read_exact(fd, out.payload.data() + at, step, false, why, patience); s != ReadStatus::Ok) return s;
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
