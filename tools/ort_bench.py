#!/usr/bin/env python3
"""ONNX Runtime reference timing for `ik-studio bench --onnx-runtime`.

Reads the network `ik-studio` exported (its fast path's dense layers: raw
little-endian f32 weights plus a JSON list of layers, activations and residual
connections), builds the same network as an ONNX graph with the `onnx`
package (MatMul, Add, Relu / Gelu-by-Erf / Tanh), checks that ONNX Runtime
reproduces the expected outputs, and times it on one thread at each batch
size. Prints one JSON object.

The Python call itself costs a few microseconds; it is measured with an
Identity graph of the same input and reported as `call_overhead_us`, so that
`median_us - call_overhead_us` estimates ORT's own time.

Needs: pip install onnx onnxruntime numpy
"""
import argparse
import json
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

# Opset 17 with IR version 8: old enough for every ONNX Runtime of recent years
# (a new `onnx` package writes an IR version ORT may not read yet).
IR_VERSION = 8


def build_graph(layers, weights, inputs):
    nodes, inits = [], []
    x = "x"
    kept = None
    for k, layer in enumerate(layers):
        n_in, n_out = layer["inputs"], layer["outputs"]
        w = weights[layer["weights_at"]:layer["weights_at"] + n_in * n_out].reshape(n_in, n_out)
        b = weights[layer["bias_at"]:layer["bias_at"] + n_out]
        if layer["skip"] == "save":
            kept = x
        inits += [numpy_helper.from_array(w.astype(np.float32), f"w{k}"),
                  numpy_helper.from_array(b.astype(np.float32), f"b{k}")]
        nodes += [helper.make_node("MatMul", [x, f"w{k}"], [f"m{k}"]),
                  helper.make_node("Add", [f"m{k}", f"b{k}"], [f"a{k}"])]
        pre = f"a{k}"
        if layer["skip"] == "add":  # residual: the kept input joins before the activation
            nodes.append(helper.make_node("Add", [pre, kept], [f"r{k}"]))
            pre = f"r{k}"
        act = layer["activation"]
        out = f"h{k}"
        if act == "identity":
            nodes.append(helper.make_node("Identity", [pre], [out]))
        elif act == "relu":
            nodes.append(helper.make_node("Relu", [pre], [out]))
        elif act == "tanh":
            nodes.append(helper.make_node("Tanh", [pre], [out]))
        elif act == "leaky-relu":  # PyTorch's default slope
            nodes.append(helper.make_node("LeakyRelu", [pre], [out], alpha=0.01))
        elif act == "celu":
            nodes.append(helper.make_node("Celu", [pre], [out], alpha=1.0))
        elif act == "selu":  # ONNX's default alpha and gamma are PyTorch's
            nodes.append(helper.make_node("Selu", [pre], [out]))
        elif act == "gelu":  # x/2 (1 + erf(x/sqrt 2)); ORT fuses it into its Gelu kernel
            inits += [numpy_helper.from_array(np.array(0.70710678, np.float32), f"s{k}"),
                      numpy_helper.from_array(np.array(1.0, np.float32), f"one{k}"),
                      numpy_helper.from_array(np.array(0.5, np.float32), f"half{k}")]
            nodes += [helper.make_node("Mul", [pre, f"s{k}"], [f"g{k}a"]),
                      helper.make_node("Erf", [f"g{k}a"], [f"g{k}b"]),
                      helper.make_node("Add", [f"g{k}b", f"one{k}"], [f"g{k}c"]),
                      helper.make_node("Mul", [pre, f"g{k}c"], [f"g{k}d"]),
                      helper.make_node("Mul", [f"g{k}d", f"half{k}"], [out])]
        else:
            raise SystemExit(f"unknown activation {act}")
        x = out
    outputs = layers[-1]["outputs"]
    graph = helper.make_graph(
        nodes, "ik_studio_mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", inputs])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["batch", outputs])],
        inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=IR_VERSION)


def identity_graph(inputs):
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "call_overhead",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", inputs])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", inputs])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=IR_VERSION)


def session(model):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def timings(sess, x, runs):
    for _ in range(min(runs, 200)):
        sess.run(None, {"x": x})
    times = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        sess.run(None, {"x": x})
        times.append((time.perf_counter_ns() - start) / 1000.0)
    times.sort()
    return times[len(times) // 2], times[min(len(times) - 1, int(round((len(times) - 1) * 0.99)))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", required=True, help="raw little-endian f32 file written by ik-studio")
    parser.add_argument("--layers", required=True, help="JSON: layers, input width, test input and output")
    parser.add_argument("--batches", default="1,500")
    args = parser.parse_args()
    spec = json.load(open(args.layers))
    weights = np.fromfile(args.weights, dtype="<f4")
    model = build_graph(spec["layers"], weights, spec["inputs"])
    onnx.checker.check_model(model)
    sess = session(model)
    test_in = np.array(spec["test_input"], np.float32).reshape(-1, spec["inputs"])
    got = sess.run(None, {"x": test_in})[0]
    worst = float(np.max(np.abs(got - np.array(spec["test_output"], np.float32).reshape(got.shape))))
    overhead = session(identity_graph(spec["inputs"]))
    rng = np.random.default_rng(1)
    results = []
    for batch in [int(b) for b in args.batches.split(",")]:
        x = rng.uniform(-1, 1, (batch, spec["inputs"])).astype(np.float32)
        runs = 3000 if batch == 1 else 200
        median, p99 = timings(sess, x, runs)
        call, _ = timings(overhead, x, runs)
        results.append({"batch": batch, "median_us": median, "p99_us": p99, "call_overhead_us": call})
    print(json.dumps({"onnxruntime": ort.__version__, "max_abs_difference": worst, "timings": results}))


if __name__ == "__main__":
    main()
