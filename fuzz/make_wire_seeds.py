#!/usr/bin/python3
"""Writes the seed corpus of the `wire` fuzz reader (fuzz/corpus/wire/): dapdee-run frame streams
as a client and a server send them (tensor_wire.hpp: 4-byte big-endian length, type byte, payload;
tensors as onnx.TensorProto). Run from the repository root: /usr/bin/python3 fuzz/make_wire_seeds.py"""
import json
import struct

from onnx import TensorProto


def frame(kind, payload):
    if isinstance(payload, (dict, list)):
        payload = json.dumps(payload, separators=(",", ":")).encode()
    return struct.pack(">I", len(payload) + 1) + kind.encode() + payload


def tensor(name, dims, values=None, dtype=TensorProto.FLOAT):
    t = TensorProto()
    t.name = name
    t.data_type = dtype
    t.dims.extend(dims)
    n = 1
    for d in dims:
        n *= d
    values = values if values is not None else [0.25 * k for k in range(n)]
    t.raw_data = struct.pack("<%df" % len(values), *values)
    return t.SerializeToString()


def write(name, data):
    with open("fuzz/corpus/wire/" + name, "wb") as f:
        f.write(data)


hello = frame("H", {"protocol": "dapdee-run/1", "model": "ee_alexnet", "digest": "0123456789abcdef"})
plan = frame("P", {"exit": "output", "V_e": ["pool1", "flatten", "fc"]})
write("client_session", hello + plan + frame("F", {"frame": 0, "tensors": 1}) + frame("T", tensor("r1", [1, 4, 2, 2]))
      + frame("F", {"frame": 1, "tensors": 2}) + frame("T", tensor("a", [2, 3])) + frame("T", tensor("b", [], [1.5])))
write("server_replies", frame("K", {"model": "ee_alexnet", "digest": "0123456789abcdef", "max_frame_bytes": 268435456})
      + frame("K", {"inputs": ["r1"], "outputs": ["fc"], "edge_nodes": ["pool1", "flatten", "fc"]})
      + frame("R", {"frame": 0, "t_e_ms": 1.25, "t_server_ms": 1.5, "tensors": 1}) + frame("T", tensor("fc", [1, 10]))
      + frame("E", {"error": "frame 1: tensor 'x' is not an input of the edge part", "frame": 1}))
write("tensor_edge_cases", frame("T", tensor("zero", [0, 5], [])) + frame("T", tensor("scalar", [], [3.0]))
      + frame("T", tensor("big_dims", [1 << 31, 2], [])) + frame("T", tensor("int64", [2], [0.0, 0.0], TensorProto.INT64))
      + frame("T", tensor("short", [4], [1.0])))
write("truncated", frame("T", tensor("r1", [1, 4, 2, 2]))[:-7])
write("bad_type_and_length", frame("X", b"?") + struct.pack(">I", 0x7FFFFFFF) + b"T")

# Found by reading decode_tensor, not by the fuzzer: dims whose product times 4 wraps to 0 were
# accepted with no data, then the resize threw std::length_error (an internal error in the server).
with open("fuzz/crashes/wire/dims_product_wraps", "wb") as f:
    f.write(frame("T", tensor("wrap", [1 << 31, 1 << 31], [])))
