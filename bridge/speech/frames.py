"""Per-frame speech information: loudness, mouth-opening cue, speech activity and phones.

Two envelopes come from one pass over the audio, every 10 ms:
- broadband loudness (speech detection, idle motion);
- mid-band loudness, 600-2500 Hz: the first two formants live there and gain energy as the
  mouth opens (F1 rises with jaw opening, a wider lip aperture radiates more), while closures,
  nasals and fricatives are weak in it. It tracks mouth opening about twice as well as
  broadband loudness on the shared talking clips (docs/benchmarks.md), without any phones.
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass

import numpy as np

from bridge.smooth import gaussian
from bridge.speech.audio import RATE, Audio
from bridge.speech.phonemes import Phone

HOP_S = 0.01
SILENCE_DBFS = -60.0  # quieter than this everywhere: no speech at all
WIN = 400  # 25 ms analysis window for the mid band
NFFT = 512
MID_BAND_HZ = (600.0, 2500.0)
OPENING_GAMMA = 1.5  # loudness -> opening: quiet syllables open the mouth disproportionately less
OPENING_SMOOTH_S = 0.04  # the jaw is a heavy articulator: no 10 ms flicker


@dataclass
class Envelope:
    """Loudness every 10 ms."""

    db: np.ndarray  # (N,) dB full scale
    floor_db: float  # estimated noise floor
    speech_db: float  # typical loudness of speech in this clip
    mid_db: np.ndarray  # (N,) dB in MID_BAND_HZ

    @property
    def times(self) -> np.ndarray:
        return (np.arange(len(self.db)) + 0.5) * HOP_S

    def level(self) -> np.ndarray:
        """0 at the noise floor, ~1 at typical speech loudness: gain-independent."""
        return _relative(self.db, self.floor_db, self.speech_db)

    def opening(self) -> np.ndarray:
        """Acoustic mouth-opening cue: 0 closed/silent, ~1 an open vowel at typical loudness."""
        o = _relative(self.mid_db, *_floor_and_speech(self.mid_db)) ** OPENING_GAMMA
        return gaussian(o, OPENING_SMOOTH_S / HOP_S)


def _floor_and_speech(db: np.ndarray) -> tuple[float, float]:
    """The clip's noise floor and its typical speech loudness (dB)."""
    floor = float(np.percentile(db, 10))
    loud = db[db > floor + 10]
    return floor, float(np.percentile(loud, 75)) if len(loud) else float(db.max())


def _relative(db: np.ndarray, floor: float, speech: float) -> np.ndarray:
    """0 at the noise floor, ~1 at typical speech loudness: independent of the recording gain."""
    return np.clip((db - floor) / max(speech - floor, 6.0), 0.0, 1.5).astype(np.float32)


def _power_spectra(x: np.ndarray, n: int, hop: int):
    """Power spectrum (25 ms Hann window centred on each hop, NFFT bins), yielded in blocks
    of hops as (first hop, last hop + 1, (hops, NFFT//2+1)) so an hour of audio needs no
    big temporaries."""
    window = np.hanning(WIN).astype(np.float32)
    pad = (WIN - hop) // 2
    block = 8192  # hops per block: about 13 MB of windows at a time
    for b0 in range(0, n, block):
        b1 = min(n, b0 + block)
        s0, s1 = b0 * hop - pad, (b1 - 1) * hop - pad + WIN
        seg = x[max(0, s0):min(len(x), s1)]
        seg = np.pad(seg, (max(0, -s0), s1 - s0 - len(seg) - max(0, -s0)))
        idx = np.arange(WIN)[None, :] + hop * np.arange(b1 - b0)[:, None]
        spec = np.fft.rfft(seg[idx] * window, NFFT)
        yield b0, b1, spec.real ** 2 + spec.imag ** 2


def _mid_band_db(x: np.ndarray, n: int, hop: int) -> np.ndarray:
    """Energy in MID_BAND_HZ per hop, in dB."""
    out = np.empty(n, np.float32)
    for b0, b1, power in _power_spectra(x, n, hop):
        out[b0:b1] = mid_band_of(power)
    return out


_FREQS = np.fft.rfftfreq(NFFT, 1 / RATE)
_MID = (_FREQS >= MID_BAND_HZ[0]) & (_FREQS < MID_BAND_HZ[1])


def mid_band_of(power: np.ndarray) -> np.ndarray:
    """(hops, bins) power spectra -> (hops,) mid-band dB."""
    return 10 * np.log10(power[:, _MID].sum(1) / WIN + 1e-12)


class RunningLevel:
    """A stream's noise floor and speech level over its last 10 s, updated every hop, so
    levels are relative to this recording without waiting for the whole of it (the streamed
    counterpart of `_floor_and_speech`, kept sorted so each hop costs microseconds)."""

    def __init__(self, history_hops: int = 1000):
        self.history: deque = deque(maxlen=history_hops)
        self.sorted: list[float] = []

    def push(self, db: float) -> float:
        """Add one hop's dB; return its level: 0 at the floor, ~1 at typical speech."""
        db = float(db)
        if len(self.history) == self.history.maxlen:
            del self.sorted[bisect.bisect_left(self.sorted, self.history[0])]
        self.history.append(db)
        bisect.insort(self.sorted, db)
        a = self.sorted
        floor = _quantile(a, 0, 0.10)
        start = bisect.bisect_right(a, floor + 10)
        speech = _quantile(a, start, 0.75) if start < len(a) else a[-1]
        return min(1.5, max(0.0, (db - floor) / max(speech - floor, 6.0)))  # as _relative


def _quantile(a: list[float], start: int, q: float) -> float:
    """Linear-interpolated quantile of the sorted a[start:] (as np.percentile computes it)."""
    pos = start + q * (len(a) - 1 - start)
    lo = int(pos)
    hi = min(lo + 1, len(a) - 1)
    return a[lo] + (a[hi] - a[lo]) * (pos - lo)


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
    floor, speech = _floor_and_speech(db)
    return Envelope(db=db, floor_db=floor, speech_db=speech, mid_db=_mid_band_db(x, n, hop))


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
    opening: np.ndarray  # (F,) mouth opening read from the sound, 0..1.5 (see speech/mouth.py)
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
    # How open the mouth is: the cue fused with the viseme classes by a model fitted across
    # speakers (speech/mouth.py), on the cue's scale.
    from bridge.speech.mouth import opening as mouth_opening

    fused = mouth_opening(env.opening(), env.level(), audio.samples)
    opening = np.interp(t, env.times, fused).astype(np.float32)
    active = np.zeros(n, bool)
    for s, e in segments:
        active[(t >= s) & (t < e)] = True
    return SpeechFrames(fps=fps, level=level, opening=opening, active=active, phones=phones)
