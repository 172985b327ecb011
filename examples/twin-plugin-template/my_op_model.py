"""A small ONNX model with the MyScale op, its inputs, and the check of
twinbrain's result against numpy.

    python3 my_op_model.py write        # my_op.onnx, my_op_inputs.h5
    python3 my_op_model.py check OUT.h5 # compares OUT.h5's y with numpy
"""
import sys

import h5py
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(1)
x = rng.normal(size=(2, 1, 3, 4, 5)).astype(np.float32)  # 2 batch instances of [1, 3, 4, 5]
scale = np.array([0.5, -2.0, 3.0], dtype=np.float32)
shift = 0.25

if sys.argv[1] == "write":
    node = helper.make_node("MyScale", ["x", "scale"], ["y"], name="scale_it", domain="org.example", shift=shift)
    graph = helper.make_graph([node], "my_op", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 5])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(scale, "scale")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 16), helper.make_opsetid("org.example", 1)])
    onnx.save(model, "my_op.onnx")
    with h5py.File("my_op_inputs.h5", "w") as f:
        f["x"] = x
else:
    with h5py.File(sys.argv[2]) as f:
        got = f["y"][()]
    want = x * scale[None, None, :, None, None] + shift
    err = float(np.max(np.abs(got - want)))
    print(f"max |twinbrain - numpy| = {err:.2e}")
    sys.exit(0 if got.shape == want.shape and err < 1e-5 else 1)
