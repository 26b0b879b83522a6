#!/usr/bin/python3
"""Replaces Identity nodes that read an initializer by a copy of the initializer under the output's name
(OpenCV 4.6 cannot load them), for experiments/predictor/interleave.cpp.

    /usr/bin/python3 experiments/predictor/strip_identity.py IN.onnx OUT.onnx
"""
import onnx, sys
m = onnx.load(sys.argv[1]); g = m.graph
inits = {t.name: t for t in g.initializer}
keep = []
for n in g.node:
    if n.op_type == 'Identity' and n.input[0] in inits:
        t = onnx.TensorProto(); t.CopyFrom(inits[n.input[0]]); t.name = n.output[0]; g.initializer.append(t)
    else:
        keep.append(n)
del g.node[:]; g.node.extend(keep)
onnx.save(m, sys.argv[2])
