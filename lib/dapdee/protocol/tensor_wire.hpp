// dapdee-run's wire format: length-prefixed frames over TCP, tensors as ONNX TensorProto.
//
// A frame is a 4-byte big-endian length L (1 <= L <= the frame limit), then L bytes: one type
// byte and the payload. Hello/Plan/Ok/Error/Result payloads are JSON objects; a Tensor payload
// is a serialized onnx.TensorProto (name, dims, data_type, raw_data little-endian): FLOAT (1),
// FLOAT16 (10, IEEE half, round to nearest even), INT8 (3, symmetric: x = q * scale,
// scale = max|x| / 127) or UINT8 (2, affine: x = offset + q * scale, offset = min,
// scale = (max - min) / 255). The quantised types carry their parameters in the TensorProto's
// doc_string as "dapdee-quant/1 scale=<hex float> offset=<hex float>" (exact, C99 %a).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dapdee/support/error.hpp"
#include "dapdee/support/formats.hpp"

namespace dapdee {

// The default bound of one frame (length prefix included in nothing else): 256 MiB.
inline constexpr uint32_t kDefaultMaxFrameBytes = 256u << 20;
// Bytes of the length prefix and the type byte that precede every payload.
inline constexpr size_t kFrameHeaderBytes = 5;

// The frame types.
enum class MsgType : uint8_t {
  Hello = 'H',   // client -> server: protocol, model digest
  Plan = 'P',    // client -> server: exit and V_e of the plan the next frames use
  Frame = 'F',   // client -> server: a frame starts; its tensors follow
  Tensor = 'T',  // either way: one tensor
  Result = 'R',  // server -> client: a frame's timing, followed by its output tensors
  Ok = 'K',      // server -> client: a Hello or Plan accepted
  Error = 'E',   // server -> client: what was wrong with the last frame(s)
};

// One received frame.
struct Message {
  MsgType type = MsgType::Error;
  std::string payload;
};

// A dense float32 tensor on the host.
struct HostTensor {
  std::string name;
  std::vector<int64_t> dims;
  std::vector<float> data;
};

// How a float32 tensor is encoded on the wire (the plan's wire_dtype / input_encoding).
enum class WireEncoding { Float32, Float16, Int8, Uint8 };

// Bytes of raw_data per element under an encoding (4, 2, 1, 1). Never fails.
size_t wire_element_bytes(WireEncoding e);

// IEEE half <-> float (round to nearest even; overflow to infinity, NaN kept). Never fail.
uint16_t float_to_half(float f);
float half_to_float(uint16_t h);

// Number of elements of dims (0 for a negative dim). Never fails.
size_t element_count(const std::vector<int64_t>& dims);

// Encodes one frame (prefix, type, payload); throws Error when the payload exceeds the limit.
std::string encode_frame(MsgType type, const std::string& payload, uint32_t max_frame_bytes = kDefaultMaxFrameBytes);

// Serializes a tensor as an onnx.TensorProto in the given encoding (Float32 is byte-identical
// to the protocol's first version; non-finite values quantise as 0). Never fails.
std::string encode_tensor(const HostTensor& t, WireEncoding encoding = WireEncoding::Float32);

// Parses an onnx.TensorProto payload and decodes it to float32; the failure says why (not a
// TensorProto, a data_type other than FLOAT/FLOAT16/INT8/UINT8, a quantised tensor without its
// dapdee-quant parameters, data size not matching the dims).
Parsed<HostTensor> decode_tensor(const std::string& payload);

// How reading a frame ended.
enum class ReadStatus { Ok, Closed, Truncated, TooLarge, BadType, Timeout, Failed };

// Reads one frame from a socket, growing the buffer only as bytes arrive (a length prefix never
// makes it allocate more than it received plus 1 MiB). A receive timeout (SO_RCVTIMEO) before
// the first byte gives Timeout; once a frame has begun, timeouts are waited out until
// `patience_s` seconds after its first byte, then Truncated (the whole frame is bounded, not the
// gap between two bytes). `why` explains any status but Ok.
ReadStatus read_frame(int fd, Message& out, uint32_t max_frame_bytes, std::string& why, double patience_s = 0);

// Writes all bytes; false (errno set) when the peer is gone or the write timed out.
bool write_all(int fd, const char* data, size_t size);

// "HOST:PORT" -> host and port; the failure names what is wrong.
Parsed<std::pair<std::string, int>> parse_endpoint(const std::string& spec);

// A listening TCP socket on host:port (port 0 picks one); throws Error(host:port, ...).
int listen_tcp(const std::string& host, int port, int& bound_port);

// A connected TCP socket with TCP_NODELAY and receive/send timeouts of `timeout_s`; throws
// Error(host:port, "connection refused" ...).
int connect_tcp(const std::string& host, int port, double timeout_s);

// Sets SO_RCVTIMEO and SO_SNDTIMEO (0 = none). Never fails.
void set_socket_timeouts(int fd, double seconds);

}  // namespace dapdee
