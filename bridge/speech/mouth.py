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

Streams (motion/streaming.py) get the same kind of model, fitted the same way on features a
stream can compute: the cue and its level normalised by the stream's running floor, smoothed
causally, lags up to the hop itself, so it adds no latency (models/mouth_stream.onnx).
"""

from __future__ import annotations

import functools
import os

import numpy as np

from bridge.errors import FacebridgeError
from bridge.speech import viseme_net as vn

LAGS = (-24, -16, -8, -4, 0, 2)  # hops relative to the one being estimated
STREAM_LAGS = (-24, -16, -8, -4, 0)  # a stream has no hop ahead without waiting for it
PER_HOP = 2 + len(vn.CLASS_NAMES)
N_INPUTS = len(LAGS) * PER_HOP
DEFAULT_PATH = os.path.join(vn.MODELS, "mouth.onnx")
STREAM_PATH = os.path.join(vn.MODELS, "mouth_stream.onnx")
RETRAIN = "facebridge train mouth"
ENV = "FACEBRIDGE_MOUTH_MODEL"  # another model file (the benchmark's leave-speaker-out folds)
BLOCK = 20_000  # hops per network call: an hour of audio must not need a 1 GB input matrix


def hop_features(cue: np.ndarray, level: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """(n,), (n,), (n, classes) per-hop values -> (n, PER_HOP)."""
    n = min(len(cue), len(level), len(probs))
    return np.concatenate([cue[:n, None], level[:n, None], probs[:n]], 1).astype(np.float32)


def lagged(hops: np.ndarray, at: np.ndarray | None = None, lags=LAGS) -> np.ndarray:
    """(n, PER_HOP) -> (len(at), len(lags) * PER_HOP): each hop's features at `lags` (edges
    repeated)."""
    at = np.arange(len(hops)) if at is None else np.asarray(at)
    idx = np.clip(at[:, None] + np.array(lags)[None, :], 0, len(hops) - 1)
    return hops[idx].reshape(len(at), len(lags) * PER_HOP)


def viseme_probabilities(samples: np.ndarray) -> np.ndarray:
    """(hops, classes) for a whole recording, as a stream of it would read them."""
    feats = vn.pad_context(vn.utterance_features(samples))
    n = len(feats) - vn.PAST - vn.FUTURE
    if n <= 0:
        return np.zeros((0, len(vn.CLASS_NAMES)), np.float32)
    net = vn.default_viseme_net()
    return np.concatenate([net(vn.windows(feats, vn.PAST + h0, vn.PAST + min(n, h0 + BLOCK)))
                           for h0 in range(0, n, BLOCK)])


def stream_cue(levels: np.ndarray, state: float = 0.0) -> tuple[np.ndarray, float]:
    """A stream's running mid-band levels -> its opening cue, smoothed causally as the stream
    smooths it (motion/streaming.py), and the smoother's state."""
    from bridge.smooth import causal_ema
    from bridge.motion.streaming import SMOOTH_S
    from bridge.speech.frames import HOP_S, OPENING_GAMMA

    return causal_ema(np.asarray(levels, np.float64) ** OPENING_GAMMA, 1 - np.exp(-HOP_S / SMOOTH_S), state)


def stream_hops(samples: np.ndarray) -> np.ndarray:
    """(hops, PER_HOP) features of a whole recording exactly as a stream of it computes them
    (for fitting the stream model)."""
    feats = vn.utterance_features(samples)
    levels = feats[:, -1]  # the viseme features' last column: the stream's running level
    probs = viseme_probabilities(samples)
    return hop_features(stream_cue(levels)[0], levels, probs)


class MouthModel:
    """onnxruntime session of models/mouth.onnx (or mouth_stream.onnx, with STREAM_LAGS):
    (N, lags x PER_HOP) -> (N,) opening."""

    def __init__(self, path: str = DEFAULT_PATH, lags=LAGS):
        from bridge.onnx_session import open_session

        self.session = open_session(path, "mouth model", RETRAIN)
        trained = self.session.get_modelmeta().custom_metadata_map.get("lags", "")
        if trained != ",".join(map(str, lags)):
            raise FacebridgeError(path, f"was trained for lags {trained!r}, this code reads {tuple(lags)}",
                                  f"retrain it: {RETRAIN}")

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        if len(inputs) == 0:
            return np.zeros(0, np.float32)
        out = self.session.run(None, {"features": inputs.astype(np.float32)})[0][:, 0]
        return np.clip(out, 0.0, 1.5)


@functools.cache
def _model(path: str, lags=LAGS) -> MouthModel:
    return MouthModel(path, lags)


def mouth_model() -> MouthModel:
    """The shipped model, or the file FACEBRIDGE_MOUTH_MODEL names (read at each call)."""
    return _model(os.environ.get(ENV) or DEFAULT_PATH)


def stream_model() -> MouthModel:
    """The shipped stream model, or the file FACEBRIDGE_MOUTH_STREAM_MODEL names."""
    return _model(os.environ.get(ENV.replace("MOUTH", "MOUTH_STREAM")) or STREAM_PATH, STREAM_LAGS)


class StreamMouth:
    """The stream model hop by hop: push each new hop's cue, running level and viseme
    probabilities as the stream computes them; a hop's opening needs nothing after it."""

    def __init__(self):
        self.model = stream_model()
        self.history = np.zeros((0, PER_HOP), np.float32)  # the hops the longest lag reaches back to

    def push(self, cue: np.ndarray, levels: np.ndarray, probs: np.ndarray) -> np.ndarray:
        """k new hops -> (k,) openings."""
        new = hop_features(np.asarray(cue, np.float32), np.asarray(levels, np.float32), probs)
        if len(new) == 0:
            return np.zeros(0, np.float32)
        buf = np.concatenate([self.history, new])
        # Before the stream's first hop the lags read that hop, as lagged() does at a clip's
        # start; later the history holds exactly the hops the longest lag reaches back to.
        out = self.model(lagged(buf, np.arange(len(self.history), len(buf)), STREAM_LAGS))
        self.history = buf[-(-min(STREAM_LAGS)):]
        return out


def opening(cue: np.ndarray, level: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """Per-hop mouth opening of a whole recording (cue, level: its envelope's per-hop values)."""
    hops = hop_features(cue, level, viseme_probabilities(samples))
    model = mouth_model()
    out = np.concatenate([model(lagged(hops, np.arange(h0, min(len(hops), h0 + BLOCK))))
                          for h0 in range(0, len(hops), BLOCK)]) if len(hops) else np.zeros(0, np.float32)
    n = len(cue)
    return np.pad(out, (0, max(0, n - len(out))), mode="edge")[:n] if len(out) else np.zeros(n, np.float32)
