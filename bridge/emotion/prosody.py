"""How it is said: pitch, loudness and speaking rate -> arousal (0 calm .. 1 excited).

Arousal is the dimension prosody carries reliably across speakers (raised, wide-ranging pitch,
loud, fast speech is excited; flat, quiet, slow speech is calm); which emotion it is comes
from the words. All features are gain-independent: pitch in semitones, loudness relative to
the clip's own typical speech level, rate in syllables (vowel phones) per second of speech.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from bridge.smooth import gaussian
from bridge.speech.audio import RATE, Audio
from bridge.speech.frames import HOP_S, Envelope
from bridge.speech.phonemes import Phone

F0_MIN, F0_MAX = 60.0, 400.0
WIN = 640  # 40 ms: two periods of the lowest pitch
VOICED_NCCF = 0.6  # normalised autocorrelation peak above which a frame is voiced
CHUNK = 4096  # frames analysed at once (bounds memory on long audio)
VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}

# Typical conversational values (read speech, adult voices): the point where arousal is 0.5,
# and how far a feature must move to shift it by one logistic unit.
NORM = {"range_st": (3.0, 1.5), "rate": (4.5, 1.5), "loud_db": (0.0, 4.0), "pitch_st": (0.0, 2.5)}
WEIGHT = {"range_st": 1.0, "rate": 0.4, "loud_db": 0.7, "pitch_st": 0.7}


@dataclass
class Prosody:
    f0: np.ndarray  # (N,) Hz every 10 ms, 0 where unvoiced
    db: np.ndarray  # (N,) loudness dB (the envelope's)
    speech_db: float  # the clip's typical speech loudness
    phones: list[Phone]

    @functools.cached_property
    def median_st(self) -> float:
        """The clip's median pitch in semitones (computed once: every sentence is relative to it)."""
        voiced = self.f0[self.f0 > 0]
        return float(12 * np.log2(np.median(voiced))) if len(voiced) else 0.0

    def features(self, start_s: float, end_s: float) -> dict[str, float]:
        a, b = int(start_s / HOP_S), max(int(start_s / HOP_S) + 1, int(np.ceil(end_s / HOP_S)))
        f0 = self.f0[a:b]
        voiced = f0[f0 > 0]
        st = 12 * np.log2(voiced) if len(voiced) else np.zeros(0)
        db = self.db[a:b]
        loud = db[db > self.speech_db - 25]
        vowels = [p for p in self.phones if p.phone in VOWELS and start_s <= (p.start_s + p.end_s) / 2 < end_s]
        talk_s = max(0.3, len(loud) * HOP_S)
        return {
            "range_st": float(np.std(st)) if len(st) > 5 else NORM["range_st"][0],
            "pitch_st": float(np.median(st) - self.median_st) if len(st) > 5 else 0.0,
            "loud_db": float(np.percentile(loud, 75) - self.speech_db) if len(loud) else 0.0,
            "rate": len(vowels) / talk_s if vowels else NORM["rate"][0],
        }

    def arousal(self, start_s: float, end_s: float) -> float:
        f = self.features(start_s, end_s)
        z = sum(WEIGHT[k] * np.clip((f[k] - NORM[k][0]) / NORM[k][1], -3, 3) for k in NORM)
        return float(1.0 / (1.0 + np.exp(-z)))


def prosody(audio: Audio, env: Envelope, phones: list[Phone], segments: list[tuple[float, float]]) -> Prosody:
    """Pitch is analysed inside the speech segments only (an hour of room noise costs nothing)."""
    f0 = np.zeros(len(env.db), np.float32)
    hop = int(HOP_S * RATE)
    for s, e in segments:
        a = int(s / HOP_S)
        seg = pitch(audio.samples[a * hop:int(e * RATE)])[:max(0, len(f0) - a)]
        f0[a:a + len(seg)] = seg
    return Prosody(f0=f0, db=env.db, speech_db=env.speech_db, phones=phones)


def pitch(x: np.ndarray) -> np.ndarray:
    """f0 every 10 ms from the normalised autocorrelation (FFT), 0 where unvoiced."""
    hop = int(HOP_S * RATE)
    n = max(1, len(x) // hop)
    lag_lo, lag_hi = int(RATE / F0_MAX), int(RATE / F0_MIN)
    pad = np.concatenate([np.zeros(WIN // 2, np.float32), x.astype(np.float32), np.zeros(WIN, np.float32)])
    window = np.hanning(WIN).astype(np.float32)
    nfft = 2 * WIN
    out = np.zeros(n, np.float32)
    for c0 in range(0, n, CHUNK):
        idx = (np.arange(c0, min(n, c0 + CHUNK)) * hop)[:, None] + np.arange(WIN)[None, :]
        fr = pad[idx]
        fr = (fr - fr.mean(1, keepdims=True)) * window
        spec = np.fft.rfft(fr, nfft)
        ac = np.fft.irfft(spec * np.conj(spec), nfft)[:, :lag_hi + 2]
        # Normalise by the window's own autocorrelation so long lags are not penalised.
        wac = np.correlate(window, window, "full")[WIN - 1:WIN + lag_hi + 1]
        nccf = ac / (ac[:, :1] + 1e-9) / (wac / wac[0])[None, :]
        seg = nccf[:, lag_lo:lag_hi + 1]
        peak = seg.max(1)
        # The first local maximum near the highest one: multiples of the period score about
        # as high as the period itself, and taking the highest gives octave errors.
        inner = seg[:, 1:-1]
        local = (inner >= seg[:, :-2]) & (inner >= seg[:, 2:]) & (inner >= 0.85 * peak[:, None])
        best = np.where(local.any(1), local.argmax(1) + 1, seg.argmax(1))
        # Parabolic interpolation of the peak for sub-sample lag precision.
        i = np.clip(best + lag_lo, 1, lag_hi)
        y0, y1, y2 = nccf[np.arange(len(seg)), i - 1], nccf[np.arange(len(seg)), i], nccf[np.arange(len(seg)), i + 1]
        den = y0 - 2 * y1 + y2
        shift = np.where(np.abs(den) > 1e-9, 0.5 * (y0 - y2) / np.where(np.abs(den) > 1e-9, den, 1), 0.0)
        f0 = RATE / (i + np.clip(shift, -1, 1))
        energy = ac[:, 0]
        voiced = (peak > VOICED_NCCF) & (energy > 1e-6 * WIN)
        out[c0:c0 + len(seg)] = np.where(voiced, f0, 0.0)
    return out


EMPHASIS_SMOOTH_S = 0.12


def emphasis(f0: np.ndarray, db: np.ndarray, speech_db: float, n_frames: int, fps: float) -> np.ndarray:
    """(F,) pitch-accent strength on the frame clock: how far pitch rises above the clip's
    median (in units of 2.5 semitones) on loud voiced frames, smoothed; 0 elsewhere.
    Stressed words carry these rises, and faces raise the brows on them."""
    voiced = f0 > 0
    out = np.zeros(len(f0), np.float32)
    if voiced.sum() > 5:
        st = 12 * np.log2(np.where(voiced, f0, 1.0))
        rise = (st - np.median(st[voiced])) / NORM["pitch_st"][1]
        loud = db > speech_db - 12
        out = np.where(voiced & loud, np.clip(rise, 0, 3), 0.0)
    out = gaussian(out, EMPHASIS_SMOOTH_S / HOP_S)
    t = (np.arange(n_frames) + 0.5) / fps
    return np.interp(t, (np.arange(len(out)) + 0.5) * HOP_S, out).astype(np.float32)
