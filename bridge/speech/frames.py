"""Per-frame speech information: loudness, speech activity and the phone under each frame."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bridge.speech.audio import RATE, Audio
from bridge.speech.phonemes import Phone

HOP_S = 0.01
SILENCE_DBFS = -60.0  # quieter than this everywhere: no speech at all


@dataclass
class Envelope:
    """Loudness every 10 ms."""

    db: np.ndarray  # (N,) dB full scale
    floor_db: float  # estimated noise floor
    speech_db: float  # typical loudness of speech in this clip

    @property
    def times(self) -> np.ndarray:
        return (np.arange(len(self.db)) + 0.5) * HOP_S

    def level(self) -> np.ndarray:
        """0 at the noise floor, ~1 at typical speech loudness: gain-independent."""
        span = max(self.speech_db - self.floor_db, 6.0)
        return np.clip((self.db - self.floor_db) / span, 0.0, 1.5)


def envelope(audio: Audio) -> Envelope:
    hop = int(HOP_S * RATE)
    x = audio.samples
    n = max(1, len(x) // hop)
    # Mean square per 10 ms hop, computed in blocks so an hour of audio needs no big temporaries;
    # each value then averages three hops (a 30 ms window centred on its hop).
    per_hop = np.zeros(n, np.float64)
    step = hop * 100_000
    for s in range(0, n * hop, step):
        blk = x[s:min(s + step, n * hop)].astype(np.float64).reshape(-1, hop)
        per_hop[s // hop:s // hop + len(blk)] = (blk * blk).mean(1)
    padded = np.concatenate([per_hop[:1], per_hop, per_hop[-1:]])
    ms = (padded[:-2] + padded[1:-1] + padded[2:]) / 3
    db = (10 * np.log10(ms + 1e-12)).astype(np.float32)
    floor = float(np.percentile(db, 10))
    loud = db[db > floor + 10]
    speech = float(np.percentile(loud, 75)) if len(loud) else float(db.max())
    return Envelope(db=db, floor_db=floor, speech_db=speech)


def speech_segments(env: Envelope, max_len_s: float = 20.0) -> list[tuple[float, float]]:
    """Stretches of speech (seconds), found on loudness relative to the clip's own floor."""
    if env.db.max() < SILENCE_DBFS:
        return []
    thresh = max(env.floor_db + 0.35 * (env.speech_db - env.floor_db), env.speech_db - 35.0)
    if env.speech_db - env.floor_db < 6.0 and env.floor_db < SILENCE_DBFS + 10:
        return []
    active = env.db > thresh
    # Hang-over: bridge gaps shorter than 250 ms, pad 100 ms on both sides.
    idx = np.flatnonzero(active)
    if len(idx) == 0:
        return []
    segs, start, prev = [], idx[0], idx[0]
    for i in idx[1:]:
        if i - prev > 25:
            segs.append((start, prev + 1))
            start = i
        prev = i
    segs.append((start, prev + 1))
    n = len(env.db)
    out = []
    for s, e in segs:
        if e - s < 8:  # under 80 ms: a click, not speech
            continue
        s, e = max(0, s - 10), min(n, e + 10)
        # Split long stretches at their quietest point so decoding memory stays bounded.
        while (e - s) * HOP_S > max_len_s:
            lo, hi = s + int(max_len_s * 0.5 / HOP_S), s + int(max_len_s / HOP_S)
            cut = lo + int(np.argmin(env.db[lo:hi]))
            out.append((s * HOP_S, cut * HOP_S))
            s = cut
        out.append((s * HOP_S, e * HOP_S))
    return out


@dataclass
class SpeechFrames:
    """Speech information on the animation's frame clock."""

    fps: float
    level: np.ndarray  # (F,) loudness 0..~1.5 (see Envelope.level)
    active: np.ndarray  # (F,) bool, speech present
    phones: list[Phone]

    @property
    def n_frames(self) -> int:
        return len(self.level)


def speech_frames(audio: Audio, env: Envelope, phones: list[Phone],
                  segments: list[tuple[float, float]], fps: float) -> SpeechFrames:
    n = max(1, int(np.ceil(audio.duration * fps)))
    t = (np.arange(n) + 0.5) / fps
    level = np.interp(t, env.times, env.level()).astype(np.float32)
    active = np.zeros(n, bool)
    for s, e in segments:
        active[(t >= s) & (t < e)] = True
    return SpeechFrames(fps=fps, level=level, active=active, phones=phones)
