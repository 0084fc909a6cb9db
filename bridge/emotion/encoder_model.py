"""The text emotion model on a pretrained sentence encoder: all-MiniLM-L6-v2 fine-tuned on
GoEmotions-Ekman, int8 ONNX (models/emotion_encoder.onnx, its card models/emotion_encoder.md).

Run time needs onnxruntime and the `tokenizers` library only: no torch, no transformers. The
session is opened at the first lines it reads, so a command that never reads text (an
`--emotion` override, a listening file without words) pays nothing for it.
"""

from __future__ import annotations

import os
import threading

import numpy as np

from bridge.emotion.reader import LABELS, MODELS, EmotionReader
from bridge.errors import FacebridgeError

DEFAULT_PATH = os.environ.get("FACEBRIDGE_EMOTION_ENCODER", os.path.join(MODELS, "emotion_encoder.onnx"))
RETRAIN = "retrain it with `facebridge train emotion` (needs the train extra)"
BATCH = 64


def tokenizer_path(model_path: str) -> str:
    """The tokenizer shipped beside a model: m.onnx -> m.tokenizer.json."""
    base = model_path[:-len(".onnx")] if model_path.endswith(".onnx") else model_path
    return base + ".tokenizer.json"


class EncoderEmotionModel(EmotionReader):
    def __init__(self, path: str = DEFAULT_PATH):
        for p, what in ((path, "emotion model"), (tokenizer_path(path), "emotion tokenizer")):
            if not os.path.isfile(p):
                raise FacebridgeError(f"{what} {p}", "not found", f"reinstall facebridge, or {RETRAIN}")
        self.path = path
        self.name = os.path.basename(path)
        self._session = None
        self._tok = None
        self._max_tokens = 96
        self._lock = threading.Lock()

    def _open(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            from tokenizers import Tokenizer

            from bridge.onnx_session import open_session

            session = open_session(self.path, "emotion model", RETRAIN, threads=min(2, os.cpu_count() or 1))
            meta = session.get_modelmeta().custom_metadata_map
            labels = meta.get("labels", "").split(",")
            if labels != LABELS:
                raise FacebridgeError(f"emotion model {self.path}", f"has labels {labels}", f"expected {LABELS}; {RETRAIN}")
            self._max_tokens = int(meta.get("max_tokens", "96"))
            try:
                tok = Tokenizer.from_file(tokenizer_path(self.path))
            except Exception as e:  # tokenizers raises its own Exception type on a bad file
                raise FacebridgeError(f"emotion tokenizer {tokenizer_path(self.path)}",
                                      f"cannot be read ({str(e).splitlines()[0][:100]})", RETRAIN) from None
            tok.no_padding()
            tok.enable_truncation(self._max_tokens)
            self._tok, self._session = tok, session

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """(N, 7) label probabilities, in LABELS order. Lines are batched by length."""
        out = np.zeros((len(texts), len(LABELS)), np.float32)
        if not texts:
            return out
        self._open()
        ids = [e.ids for e in self._tok.encode_batch([t if t.strip() else "." for t in texts])]
        for idx in length_batches(ids, BATCH):
            x, m = pad(ids, idx)
            out[idx] = self._session.run(["probs"], {"input_ids": x, "attention_mask": m})[0]
        return out


def length_batches(ids: list[list[int]], size: int, rng=None) -> list[np.ndarray]:
    """Index batches of similar length (padding costs time on CPU), shuffled when rng is given."""
    order = np.argsort([len(x) for x in ids], kind="stable")
    groups = [order[i:i + size] for i in range(0, len(order), size)]
    if rng is not None:
        rng.shuffle(groups)
    return groups


def pad(ids: list[list[int]], idx) -> tuple[np.ndarray, np.ndarray]:
    """The token ids of lines idx -> (input_ids, attention_mask), zero-padded to the longest."""
    n = max(len(ids[i]) for i in idx)
    x = np.zeros((len(idx), n), np.int64)
    m = np.zeros((len(idx), n), np.int64)
    for r, i in enumerate(idx):
        x[r, :len(ids[i])] = ids[i]
        m[r, :len(ids[i])] = 1
    return x, m
