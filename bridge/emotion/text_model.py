"""The shipped text emotion model: hashed n-grams -> 7 Ekman label probabilities, on onnxruntime.

The ONNX graph is a bag of n-grams: it gathers one weight row per hashed n-gram id, sums the
rows weighted by `features.batch`, adds a bias and applies a softmax. `models/emotion_text.md`
is its card (data, method, scores, how to retrain).
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass

import numpy as np

from bridge.emotion import features
from bridge.errors import FacebridgeError

log = logging.getLogger(__name__)
LABELS = ["anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"]
MODELS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "models")
DEFAULT_PATH = os.environ.get("FACEBRIDGE_EMOTION_MODEL", os.path.join(MODELS, "emotion_text.onnx"))
BATCH = 256


@dataclass
class Prediction:
    text: str
    label: str
    scores: dict[str, float]


class EmotionReader:
    """What every text emotion model offers; subclasses implement probabilities()."""

    name = ""

    def probabilities(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def predict(self, texts: list[str]) -> list[Prediction]:
        probs = self.probabilities(texts)
        return [Prediction(t, LABELS[int(p.argmax())], {k: round(float(v), 4) for k, v in zip(LABELS, p)})
                for t, p in zip(texts, probs)]

    def predict_lines(self, lines: list[str]) -> list[Prediction]:
        """Like predict, but blank lines and text that is not English come back neutral (the
        model only knows English; guessing on other languages would put false emotion on a face)."""
        out: list[Prediction | None] = [None] * len(lines)
        todo = []
        for i, line in enumerate(lines):
            if not line.strip():
                out[i] = _neutral(line)
            elif not looks_english(line):
                log.warning("emotion: line %d does not look like English; using neutral", i + 1)
                out[i] = _neutral(line)
            else:
                todo.append(i)
        for i, p in zip(todo, self.predict([lines[i] for i in todo])):
            out[i] = p
        return out


class TextEmotionModel(EmotionReader):
    """The shipped model (models/emotion_text.onnx)."""

    def __init__(self, path: str = DEFAULT_PATH):
        if not os.path.isfile(path):
            raise FacebridgeError(f"emotion model {path}", "not found",
                                  "reinstall facebridge, or retrain it with `facebridge train emotion`")
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


def looks_english(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return True  # emoji, digits, punctuation: let the model read them
    return sum(c.isascii() for c in letters) / len(letters) >= 0.6


def _neutral(text: str) -> Prediction:
    return Prediction(text, "neutral", {k: (1.0 if k == "neutral" else 0.0) for k in LABELS})


@functools.cache
def default_model() -> TextEmotionModel:
    """The shipped model, loaded once per process."""
    return TextEmotionModel()


def load_reader(folder: str | None = None) -> EmotionReader:
    """The shipped model, or a local Hugging Face folder (needs torch)."""
    if folder is None:
        return default_model()
    from bridge.emotion.hf_model import HFEmotionModel

    return HFEmotionModel(folder)
