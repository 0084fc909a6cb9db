"""Writing our small ONNX graphs (built with onnx.helper): one place for the opset, the IR
version onnxruntime >= 1.14 reads, metadata, the checker and an atomic save."""

from __future__ import annotations

import os

OPSET = 17
IR_VERSION = 8


def save_graph(graph, path: str, meta: dict[str, str]) -> None:
    import onnx
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="facebridge")
    model.ir_version = IR_VERSION
    _add_meta(model, meta)
    onnx.checker.check_model(model)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".partial"
    onnx.save(model, tmp)
    os.replace(tmp, path)


def stamp(path: str, meta: dict[str, str]) -> None:
    """Add metadata to an ONNX file written by another exporter (torch.onnx), atomically."""
    import onnx

    model = onnx.load(path)
    _add_meta(model, meta)
    tmp = path + ".partial"
    onnx.save(model, tmp)
    os.replace(tmp, path)


def _add_meta(model, meta: dict[str, str]) -> None:
    import onnx

    for k, v in meta.items():
        model.metadata_props.append(onnx.StringStringEntryProto(key=k, value=v))
