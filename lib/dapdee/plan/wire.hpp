// The wire of the cost model: how the graph input and the intermediate tensors are encoded when
// sent over the uplink, and the result's trip back down (docs/TOOLS.md, "The wire").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dapdee/plan/planner.hpp"
#include "dapdee/support/error.hpp"

namespace dapdee {

enum class InputEncoding { Float32, Uint8, Jpeg };
enum class WireDtype { Float32, Float16, Int8 };

// The wire choices of one dapdee-plan run; the defaults reproduce the float32 model exactly.
struct Wire {
  InputEncoding input = InputEncoding::Float32;
  double jpeg_ratio = 1;                 // jpeg: compression relative to uint8 (bytes = elements / ratio)
  WireDtype dtype = WireDtype::Float32;  // float tensors between layers
  std::optional<double> downlink_mbps;   // --result-downlink: report T_down and add it to latency_ms
};

// Parses "float32|uint8|jpeg:RATIO" (RATIO >= 1) into `wire`; the failure says what is wrong.
Parsed<bool> parse_input_encoding(const std::string& s, Wire& wire);
// The forms parse_input_encoding accepts, for messages and --help ("jpeg:RATIO" for the family).
std::vector<std::string> input_encoding_names();

// Parses "float32|float16|int8"; nullopt when unknown.
std::optional<WireDtype> parse_wire_dtype(const std::string& s);
// Every name parse_wire_dtype accepts (for option validation). Never fails.
std::vector<std::string> wire_dtype_names();

// Names as recorded in plans ("uint8", "jpeg:10", "float16"). Never fail.
std::string input_encoding_name(const Wire& wire);
const char* wire_dtype_name(WireDtype d);

// Rewrites the bytes of `costs` for the wire: graph inputs by their encoding, the float32
// tensors of the other nodes by the wire dtype; other dtypes (int64 indices) keep their size.
// Leaves costs untouched for the default wire. Never fails.
void apply_wire(const Dag& dag, const Wire& wire, Costs& costs);

// Bytes of the exit's result tensors that the edge computes in `plan` (0 when the device does).
double result_bytes_on_edge(const Dag& dag, const Plan& plan);

// Records the wire in a finished plan and, with a downlink, sets T_down (result bytes over the
// downlink plus the delay back, 0 when nothing comes back) and adds it to latency_ms; T_max is
// unchanged. Never fails.
void finish_wire(const Dag& dag, const Wire& wire, double delay_ms, Plan& plan);

}  // namespace dapdee
