"""Regenerates the tiny ONNX models the contract tests load (needs the ``onnx`` package from
the ``train`` extra): ``python tests/data/quality_models/make_models.py``."""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).parent


def build(
    name: str,
    channels: int = 1,
    classes: int = 4,
    score: bool = True,
    softmax: bool = True,
    hw: tuple = (32, 32),
    metadata: str | None = "good,poor_contact,shadowed,no_contact",
) -> None:
    """image [N,C,H,W] -> global average pool -> linear heads (probs, score)."""
    rng = np.random.default_rng(0)
    nodes = [
        helper.make_node("GlobalAveragePool", ["image"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["feat"]),
        helper.make_node("MatMul", ["feat", "w_cls"], ["logits"]),
    ]
    w_cls = rng.normal(size=(channels, classes)).astype(np.float32) * (1.0 if softmax else 50.0)
    inits = [numpy_helper.from_array(w_cls, "w_cls")]
    nodes.append(
        helper.make_node("Softmax", ["logits"], ["probs"], axis=1)
        if softmax
        else helper.make_node("Identity", ["logits"], ["probs"])
    )
    outputs = [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["n", classes])]
    if score:
        inits.append(numpy_helper.from_array(np.ones((channels, 1), np.float32), "w_s"))
        nodes += [
            helper.make_node("MatMul", ["feat", "w_s"], ["s_raw"]),
            helper.make_node("Sigmoid", ["s_raw"], ["score"]),
        ]
        outputs.append(helper.make_tensor_value_info("score", TensorProto.FLOAT, ["n", 1]))
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["n", channels, *hw])
    graph = helper.make_graph(nodes, name, [image], outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if metadata is not None:
        entry = model.metadata_props.add()
        entry.key, entry.value = "classes", metadata
    onnx.checker.check_model(model)
    onnx.save(model, str(HERE / f"{name}.onnx"))


if __name__ == "__main__":
    build("valid_tiny")
    build("wrong_channels", channels=3)
    build("missing_score", score=False)
    build("three_classes", classes=3)
    build("not_probabilities", softmax=False)
    build("dynamic_size", hw=("h", "w"))
    build("wrong_metadata", metadata="a,b,c,d")
