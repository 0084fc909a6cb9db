"""How open the mouth is, read from the sound: a model fitted across speakers
(models/mouth.onnx, trained by `facebridge train mouth`).

Every 10 ms hop has 12 features:
- the mid-band opening cue (speech.frames: 600-2500 Hz loudness over the clip's own floor);
- the broadband level over the clip's floor;
- the 10 viseme-class probabilities of the viseme network (speech.viseme_net).
All three are relative to the recording, so gain and microphone drop out. The model reads
them at LAGS (240 ms of past, 20 ms ahead, the viseme network's own look-ahead) and gives the
opening on the cue's scale (0 closed, about 1 an open vowel at typical loudness).

Why not the cue alone: the cue was tuned on five clips, and on other speakers' continuous
speech loudness says little about the mouth. The viseme classes say which sound it is: a
closed /m/, a rounded /u/. Fitted leave-speaker-out on 21 speakers, the fusion raised the
mean best-lag correlation with the tracked mouth over the cue alone (models/mouth.md).

Whole clips only for now: the streamed path (motion/streaming.py) still drives the jaw with
the cue, computed causally.
"""

from __future__ import annotations

import functools
import os

import numpy as np

from bridge.errors import FacebridgeError
from bridge.speech import viseme_net as vn

LAGS = (-24, -16, -8, -4, 0, 2)  # hops relative to the one being estimated
PER_HOP = 2 + len(vn.CLASS_NAMES)
N_INPUTS = len(LAGS) * PER_HOP
DEFAULT_PATH = os.path.join(vn.MODELS, "mouth.onnx")
RETRAIN = "facebridge train mouth"
ENV = "FACEBRIDGE_MOUTH_MODEL"  # another model file (the benchmark's leave-speaker-out folds)
BLOCK = 20_000  # hops per network call: an hour of audio must not need a 1 GB input matrix


def hop_features(cue: np.ndarray, level: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """(n,), (n,), (n, classes) per-hop values -> (n, PER_HOP)."""
    n = min(len(cue), len(level), len(probs))
    return np.concatenate([cue[:n, None], level[:n, None], probs[:n]], 1).astype(np.float32)


def lagged(hops: np.ndarray, at: np.ndarray | None = None) -> np.ndarray:
    """(n, PER_HOP) -> (len(at), N_INPUTS): each hop's features at LAGS (edges repeated)."""
    at = np.arange(len(hops)) if at is None else np.asarray(at)
    idx = np.clip(at[:, None] + np.array(LAGS)[None, :], 0, len(hops) - 1)
    return hops[idx].reshape(len(at), N_INPUTS)


def viseme_probabilities(samples: np.ndarray) -> np.ndarray:
    """(hops, classes) for a whole recording, as a stream of it would read them."""
    feats = vn.pad_context(vn.utterance_features(samples))
    n = len(feats) - vn.PAST - vn.FUTURE
    if n <= 0:
        return np.zeros((0, len(vn.CLASS_NAMES)), np.float32)
    net = vn.default_viseme_net()
    return np.concatenate([net(vn.windows(feats, vn.PAST + h0, vn.PAST + min(n, h0 + BLOCK)))
                           for h0 in range(0, n, BLOCK)])


class MouthModel:
    """onnxruntime session of models/mouth.onnx: (N, N_INPUTS) -> (N,) opening."""

    def __init__(self, path: str = DEFAULT_PATH):
        import onnxruntime as ort

        if not os.path.isfile(path):
            raise FacebridgeError(path, "mouth model not found", f"reinstall facebridge or retrain it: {RETRAIN}")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own types for a corrupt file
            raise FacebridgeError(path, f"cannot be loaded as an ONNX model ({type(e).__name__})",
                                  f"restore it or retrain it: {RETRAIN}") from None
        lags = self.session.get_modelmeta().custom_metadata_map.get("lags", "")
        if lags != ",".join(map(str, LAGS)):
            raise FacebridgeError(path, f"was trained for lags {lags!r}, this code reads {LAGS}",
                                  f"retrain it: {RETRAIN}")

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        if len(inputs) == 0:
            return np.zeros(0, np.float32)
        out = self.session.run(None, {"features": inputs.astype(np.float32)})[0][:, 0]
        return np.clip(out, 0.0, 1.5)


@functools.cache
def _model(path: str) -> MouthModel:
    return MouthModel(path)


def mouth_model() -> MouthModel:
    """The shipped model, or the file FACEBRIDGE_MOUTH_MODEL names (read at each call)."""
    return _model(os.environ.get(ENV) or DEFAULT_PATH)


def opening(cue: np.ndarray, level: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """Per-hop mouth opening of a whole recording (cue, level: its envelope's per-hop values)."""
    hops = hop_features(cue, level, viseme_probabilities(samples))
    model = mouth_model()
    out = np.concatenate([model(lagged(hops, np.arange(h0, min(len(hops), h0 + BLOCK))))
                          for h0 in range(0, len(hops), BLOCK)]) if len(hops) else np.zeros(0, np.float32)
    n = len(cue)
    return np.pad(out, (0, max(0, n - len(out))), mode="edge")[:n] if len(out) else np.zeros(n, np.float32)
