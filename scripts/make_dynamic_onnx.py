"""Make CenterFace's ONNX file take any input size in onnxruntime, as it does in OpenCV's DNN.

The published file fixes its input at (10, 3, 32, 32) and lists its weights among the graph's
inputs; OpenCV ignores both, onnxruntime refuses other sizes. This rewrites the input and
output shapes as symbolic (batch, height, width) and drops the weights from the input list.
Operators and weights are unchanged: the script checks that both runtimes give the original's
outputs on random input. Needs the `onnx` package (a development tool only).

    .venv/bin/python scripts/make_dynamic_onnx.py ../shared/models/centerface.onnx \
        tracker/detect/weights/centerface.onnx
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import cv2
import numpy as np
import onnx


def dynamic(model: onnx.ModelProto) -> onnx.ModelProto:
    weights = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(inputs)  # copies: edit the graph's own entries below
    used = {name for node in model.graph.node for name in node.input}
    unused = [i for i in model.graph.initializer if i.name not in used]  # batch-norm counters
    for init in unused:
        model.graph.initializer.remove(init)
    for value, names in [(model.graph.input[0], ("batch", None, "height", "width"))] + [
            (o, ("batch", None, "height_4", "width_4")) for o in model.graph.output]:
        for dim, name in zip(value.type.tensor_type.shape.dim, names):
            if name is not None:
                dim.ClearField("dim_value")
                dim.dim_param = name
    onnx.checker.check_model(model)
    return model


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("source", type=Path)
    p.add_argument("target", type=Path)
    args = p.parse_args()
    out = dynamic(onnx.load(str(args.source)))
    args.target.write_bytes(out.SerializeToString())
    x = np.random.default_rng(0).uniform(0, 255, (2, 3, 96, 160)).astype(np.float32)
    original = cv2.dnn.readNetFromONNX(str(args.source))
    original.setInput(x)
    want = original.forward(original.getUnconnectedOutLayersNames())
    rewritten = cv2.dnn.readNetFromONNX(str(args.target))
    rewritten.setInput(x)
    got = rewritten.forward(rewritten.getUnconnectedOutLayersNames())
    assert all(np.allclose(a, b, atol=1e-4) for a, b in zip(want, got)), "OpenCV: outputs changed"
    try:
        import onnxruntime as ort
    except ImportError:
        print("onnxruntime not installed: checked with OpenCV only")
    else:
        sess = ort.InferenceSession(str(args.target), providers=["CPUExecutionProvider"])
        ort_out = sess.run(None, {sess.get_inputs()[0].name: x})
        assert all(np.allclose(a, b, atol=1e-4) for a, b in zip(want, ort_out)), "onnxruntime: outputs differ"
    for path in (args.source, args.target):
        print(f"{path}: {path.stat().st_size} bytes, sha256 {hashlib.sha256(path.read_bytes()).hexdigest()}")


if __name__ == "__main__":
    main()
