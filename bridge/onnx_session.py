"""Opening one of our ONNX models with onnxruntime: one place for the missing-file and
corrupt-file errors a user can meet, and for the thread settings."""

from __future__ import annotations

import os

from bridge.errors import FacebridgeError


def open_session(path: str, what: str, retrain: str, threads: int = 1, spin: bool = True):
    """-> onnxruntime.InferenceSession on the CPU. what: e.g. "viseme model" (for "not found");
    retrain: the command that rebuilds it; threads 0 lets onnxruntime choose; spin=False stops
    idle threads busy-waiting between calls (the daemon, beside other avatars' work)."""
    import onnxruntime as ort

    if not os.path.isfile(path):
        raise FacebridgeError(path, f"{what} not found", f"reinstall facebridge or retrain it: {retrain}")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    if not spin:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own types for a corrupt file
        raise FacebridgeError(path, f"cannot be loaded as an ONNX model ({type(e).__name__})",
                              f"restore it or retrain it: {retrain}") from None
