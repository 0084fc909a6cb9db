"""The previous text emotion model: hashed n-grams -> 7 Ekman label probabilities, on onnxruntime.

The ONNX graph is a bag of n-grams: it gathers one weight row per hashed n-gram id, sums the
rows weighted by `features.batch`, adds a bias and applies a softmax. `models/emotion_text.md`
is its card (data, method, scores, how to retrain).
"""

from __future__ import annotations

import os

import numpy as np

from bridge.emotion import features
from bridge.emotion.reader import LABELS, MODELS, EmotionReader
from bridge.errors import FacebridgeError

DEFAULT_PATH = os.environ.get("FACEBRIDGE_EMOTION_MODEL", os.path.join(MODELS, "emotion_text.onnx"))
BATCH = 256


class TextEmotionModel(EmotionReader):
    """The previous model (models/emotion_text.onnx): the benchmark's reference, not used at run time."""

    def __init__(self, path: str = DEFAULT_PATH):
        if not os.path.isfile(path):
            raise FacebridgeError(f"emotion model {path}", "not found",
                                  "reinstall facebridge, or retrain it with `facebridge train emotion-ngram`")
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = min(2, os.cpu_count() or 1)
        self.session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        meta = self.session.get_modelmeta().custom_metadata_map
        labels = meta.get("labels", ",".join(LABELS)).split(",")
        if labels != LABELS:
            raise FacebridgeError(f"emotion model {path}", f"has labels {labels}", f"expected {LABELS}")
        self.name = os.path.basename(path)

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """(N, 7) label probabilities, in LABELS order."""
        out = np.zeros((len(texts), len(LABELS)), np.float32)
        for b in range(0, len(texts), BATCH):
            ids, ws = features.batch(texts[b:b + BATCH])
            out[b:b + BATCH] = self.session.run(["probs"], {"ids": ids, "weights": ws})[0]
        return out
