"""Viseme classes read from the sound, for streamed speech (models/visemes.onnx).

A stream cannot wait for the whole utterance, so phones cannot be decoded or aligned as in
the whole-clip path. Instead a small network reads, every 10 ms, which viseme class
(`motion.visemes.CLASSES`: lips closed, rounded, spread, open…) is being spoken, from the
log-mel spectrum of the last 160 ms and the next 20 ms. The 20 ms look-ahead is all the
latency it adds.

Features per hop: 40 log-mel bands minus their mean (the spectrum's shape, independent of
the recording gain) and the hop's loudness relative to the stream's own floor and speech
level (`RunningLevel`), which tells pauses from quiet speech.

Trained by `facebridge train visemes` (bridge/train/visemes.py); see models/visemes.md.
"""

from __future__ import annotations

import functools
import os

import numpy as np

from bridge.errors import FacebridgeError
from bridge.motion.visemes import CLASS_NAMES
from bridge.speech.audio import RATE
from bridge.speech.frames import HOP_S, NFFT, RunningLevel, _power_spectra, mid_band_of

N_MELS = 40
MEL_HZ = (80.0, 7600.0)
PAST, FUTURE = 16, 2  # hops of context before and after the hop being classified
PER_HOP = N_MELS + 1
N_INPUTS = (PAST + 1 + FUTURE) * PER_HOP
HOP = int(HOP_S * RATE)
MODELS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "models")
DEFAULT_PATH = os.path.join(MODELS, "visemes.onnx")
RETRAIN = "facebridge train visemes"


@functools.cache
def _mel_matrix() -> np.ndarray:
    """(bins, N_MELS) triangular filters, equally spaced on the mel scale."""
    def mel(f):
        return 2595 * np.log10(1 + f / 700)

    edges = 700 * (10 ** (np.linspace(mel(MEL_HZ[0]), mel(MEL_HZ[1]), N_MELS + 2) / 2595) - 1)
    freqs = np.fft.rfftfreq(NFFT, 1 / RATE)
    m = np.zeros((len(freqs), N_MELS), np.float32)
    for i in range(N_MELS):
        lo, c, hi = edges[i:i + 3]
        m[:, i] = np.clip(np.minimum((freqs - lo) / (c - lo), (hi - freqs) / (hi - c)), 0, None)
    return m


def hop_spectra(x: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """-> (n, N_MELS) log-mel dB and (n,) mid-band dB, from one pass over the audio."""
    mel, mid = np.empty((n, N_MELS), np.float32), np.empty(n, np.float32)
    for b0, b1, power in _power_spectra(x, n, HOP):
        mel[b0:b1] = 10 * np.log10(power @ _mel_matrix() + 1e-10)
        mid[b0:b1] = mid_band_of(power)
    return mel, mid


def hop_features(mel: np.ndarray, level: np.ndarray) -> np.ndarray:
    """(n, N_MELS) log-mel dB + (n,) relative level -> (n, PER_HOP) network features."""
    shape = (mel - mel.mean(1, keepdims=True)) / 10.0
    return np.concatenate([shape, level[:, None]], 1).astype(np.float32)


def utterance_features(x: np.ndarray) -> np.ndarray:
    """Features of a whole recording, exactly as a stream of it would compute them."""
    n = max(1, len(x) // HOP)
    mel, mid = hop_spectra(x, n)
    running = RunningLevel()
    level = np.array([running.push(v) for v in mid], np.float32)
    return hop_features(mel, level)


def windows(feats: np.ndarray, start: int = PAST, stop: int | None = None) -> np.ndarray:
    """Network inputs for hops start..stop of `feats`, which must hold PAST hops before start
    and FUTURE after stop - 1 (pad with `pad_context` at the edges of a recording)."""
    stop = len(feats) - FUTURE if stop is None else stop
    idx = np.arange(start, stop)[:, None] + np.arange(-PAST, FUTURE + 1)[None, :]
    return feats[idx].reshape(len(idx), N_INPUTS)


def pad_context(feats: np.ndarray, before: bool = True, after: bool = True) -> np.ndarray:
    """Silence-like padding: zero shape, zero level."""
    z = np.zeros((1, PER_HOP), np.float32)
    parts = ([np.repeat(z, PAST, 0)] if before else []) + [feats] + ([np.repeat(z, FUTURE, 0)] if after else [])
    return np.concatenate(parts)


class VisemeNet:
    """onnxruntime session of models/visemes.onnx: (N, N_INPUTS) -> (N, classes) probabilities."""

    def __init__(self, path: str = DEFAULT_PATH):
        from bridge.onnx_session import open_session

        # One thread: called with a few hops at a time from many streams.
        self.session = open_session(path, "viseme model", RETRAIN)
        classes = self.session.get_modelmeta().custom_metadata_map.get("classes", "")
        if classes.split(",") != CLASS_NAMES:
            raise FacebridgeError(path, f"has classes {classes!r}, expected {','.join(CLASS_NAMES)}",
                                  f"retrain it: {RETRAIN}")

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        if len(inputs) == 0:
            return np.zeros((0, len(CLASS_NAMES)), np.float32)
        return self.session.run(None, {"features": inputs.astype(np.float32)})[0]


@functools.cache
def default_viseme_net() -> VisemeNet:
    return VisemeNet()
