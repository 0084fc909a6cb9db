"""Speaking: phones + loudness -> mouth and jaw blendshape tracks, with coarticulation.

Each phone pulls every mouth shape towards its target with a dominance that decays with
distance from the phone's centre; a frame's weight is the dominance-weighted mean of all
nearby targets (Cohen & Massaro). Dominance reaches further ahead of a phone than behind
it, and the whole track leads the sound, because visible articulation starts before the
sound is heard. Bilabials then close the lips fully, using the rig's own lip-gap gradient.

The jaw's amplitude comes from the sound itself (the mid-band opening cue of
`speech.frames`), shaped by the phones: the cue says how far the mouth is open now, the
phone says how open this sound is relative to others. Phones decoded without a transcript
are often wrong, so the acoustics lead; phones decide the lip shapes (rounding, spreading).
"""

from __future__ import annotations

import numpy as np

from bridge.face import topology as T
from bridge import smooth
from bridge.motion import arkit, visemes
from bridge.motion.rig import Rig
from bridge.speech.frames import SpeechFrames

LEAD_S = 0.05  # visible articulation leads the sound
ANTICIPATION = 1.6  # dominance reaches this much further before a phone than after it
REST_DOMINANCE = 0.05
JAW_GAIN = 0.6  # jawOpen at an open vowel of typical loudness
# How much the phone's own openness modulates the acoustic cue. The learned opening
# (speech/mouth.py) already carries the timing: even phones aligned to a transcript only
# add noise to it beyond a small share (0.8 cost 0.07 of r on the dev clips with
# transcripts, 0.2 matched the audio alone; docs/benchmarks.md). Phones shape the lips.
PHONE_JAW_SHARE = {"aligned": 0.2, "decoded": 0.5}
OPEN_VOWEL_JAW = 0.7  # the table's most open phone (AA)
CHUNK = 2000  # frames evaluated at once (bounds memory on long audio)

_MOUTH = np.array([arkit.INDEX[n] for n in visemes.MOUTH_SHAPES])
_JAW = arkit.INDEX["jawOpen"]
_CLOSE = arkit.INDEX["mouthClose"]


def _phone_table(frames: SpeechFrames, decoded: bool):
    phones = frames.phones
    n = len(phones)
    centre = np.array([(p.start_s + p.end_s) / 2 for p in phones])
    half = np.array([(p.end_s - p.start_s) / 2 for p in phones])
    targets = np.zeros((n, len(_MOUTH)))
    dom = np.zeros(n)
    names = []
    for i, p in enumerate(phones):
        name = p.phone
        if decoded and name == "SIL":
            # The phone loop sometimes calls quiet speech silence; loudness knows better.
            fi = min(frames.n_frames - 1, int(centre[i] * frames.fps))
            if frames.active[fi] and frames.level[fi] > 0.45:
                name = "AH"
        names.append(name)
        for k, v in visemes.target(name).items():
            targets[i, visemes.MOUTH_SHAPES.index(k)] = v
        dom[i] = visemes.dominance(name) * (0.5 if name == "AH" and p.phone == "SIL" else 1.0)
    return centre, half, targets, dom, names


def speaking_tracks(frames: SpeechFrames, rig: Rig, decoded: bool = False,
                    lead_s: float = LEAD_S) -> np.ndarray:
    """(F, 52) weights; only the mouth and jaw shapes are non-zero."""
    n = frames.n_frames
    out = np.zeros((n, arkit.N), np.float32)
    if not frames.phones:
        return out
    centre, half, targets, dom, names = _phone_table(frames, decoded)
    width = half + 0.04
    reach = 4.0 * width * ANTICIPATION
    order = np.argsort(centre)
    centre, width, targets, dom, reach = centre[order], width[order], targets[order], dom[order], reach[order]
    names = [names[i] for i in order]
    for f0 in range(0, n, CHUNK):
        t = np.arange(f0, min(n, f0 + CHUNK)) / frames.fps + lead_s
        lo = np.searchsorted(centre, t[0] - reach.max() - 1.0)
        hi = np.searchsorted(centre, t[-1] + reach.max() + 1.0)
        if hi <= lo:
            continue
        d = t[:, None] - centre[None, lo:hi]  # >0: after the phone's centre
        w = width[None, lo:hi] * np.where(d < 0, ANTICIPATION, 1.0)
        D = dom[None, lo:hi] * np.exp(-np.abs(d / w) ** 1.5)
        vals = (D @ targets[lo:hi]) / (D.sum(1, keepdims=True) + REST_DOMINANCE)
        out[f0:f0 + len(t), _MOUTH] = vals
    # The jaw follows the acoustic opening cue, modulated by the phone's own openness.
    phone_open = np.clip(out[:, _JAW] / OPEN_VOWEL_JAW, 0.0, 1.0)
    share = PHONE_JAW_SHARE["decoded" if decoded else "aligned"]
    out[:, _JAW] = JAW_GAIN * frames.opening * ((1 - share) + share * phone_open)
    out[:, _MOUTH] = smooth.gaussian(out[:, _MOUTH], sigma=0.6)
    _close_bilabials(out, frames, rig, names, centre, width, lead_s, trust_phones=not decoded)
    return np.clip(out, 0.0, 1.0)


def close_bilabials(out: np.ndarray, frames: SpeechFrames, rig: Rig, decoded: bool = False,
                    lead_s: float = LEAD_S) -> None:
    """Re-close the lips for /p b m/ on final weights (after expression was added: a smile or
    a frown moves the lips, and the closure must still meet). In place."""
    if not frames.phones:
        return
    centre, half, _targets, _dom, names = _phone_table(frames, decoded)
    _close_bilabials(out, frames, rig, names, centre, half + 0.04, lead_s, trust_phones=not decoded)


def closure_needed(weights: np.ndarray, rig: Rig) -> np.ndarray:
    """(N, 52) -> (N,) the mouthClose (0..1) that brings the rig's inner lips together under
    these weights (their own mouthClose ignored), from the rig's lip-gap gradient."""
    gap_grad = rig.basis[:, T.INNER_LIP_BOTTOM, 1] - rig.basis[:, T.INNER_LIP_TOP, 1]
    gap0 = rig.neutral[T.INNER_LIP_BOTTOM, 1] - rig.neutral[T.INNER_LIP_TOP, 1]
    per_close = -gap_grad[_CLOSE]
    if per_close <= 1e-9:
        return np.zeros(len(weights), np.float32)
    w = weights.astype(np.float64).copy()
    w[:, _CLOSE] = 0.0
    return np.clip((gap0 + w @ gap_grad) / per_close, 0.0, 1.0).astype(np.float32)


def closable_jaw(row: np.ndarray, rig: Rig) -> float:
    """The widest jawOpen at which a full mouthClose still brings the inner lips together,
    under this row's other weights."""
    gap_grad = rig.basis[:, T.INNER_LIP_BOTTOM, 1] - rig.basis[:, T.INNER_LIP_TOP, 1]
    gap0 = rig.neutral[T.INNER_LIP_BOTTOM, 1] - rig.neutral[T.INNER_LIP_TOP, 1]
    if gap_grad[_JAW] <= 1e-9:
        return float(row[_JAW])
    w = row.astype(np.float64).copy()
    w[_CLOSE] = 1.0
    w[_JAW] = 0.0
    return float(np.clip(-(gap0 + w @ gap_grad) / gap_grad[_JAW], 0.0, 1.0))


def _close_bilabials(out, frames, rig, names, centre, width, lead_s, trust_phones) -> None:
    """/p b m/ must meet the lips whatever the jaw does: raise mouthClose until the rig's
    inner-lip gap reaches zero. The lips close `lead_s` before the phone starts and stay
    closed through it (the acoustic closure), easing in and out around that interval.
    A decoded (untrusted) bilabial closes only as far as the sound allows: a real closure is
    quiet in the mid band, so a loud frame means the phone loop guessed wrong."""
    n = len(out)
    ease_s = 0.05
    for name, c, w in zip(names, centre, width):
        if name not in visemes.BILABIALS:
            continue
        half = w - 0.04  # the phone's half duration
        hold0, hold1 = c - half - lead_s, c + half - 0.01
        f_lo = max(0, int(np.floor((hold0 - 2 * ease_s) * frames.fps)))
        f_hi = min(n, int(np.ceil((hold1 + 2 * ease_s) * frames.fps)) + 1)
        for f in range(f_lo, f_hi):
            t = f / frames.fps
            dist = max(hold0 - t, t - hold1, 0.0)
            ease = float(np.exp(-((dist / ease_s) ** 2)))
            if not trust_phones:
                ease *= float(np.clip(1.0 - frames.opening[f] / 0.8, 0.0, 1.0))
            else:
                # An aligned /p b m/ must meet even when the jaw (which follows the sound) is
                # wider than mouthClose alone can shut: raise the jaw just enough.
                out[f, _JAW] = min(out[f, _JAW], (1 - ease) * out[f, _JAW] + ease * closable_jaw(out[f], rig))
            out[f, _CLOSE] = max(out[f, _CLOSE], float(closure_needed(out[f:f + 1], rig)[0]) * ease)
