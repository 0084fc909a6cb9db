"""Idle life on top of any mode: blinks, gaze holds and saccades, breathing, head motion."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bridge import smooth
from bridge.motion import arkit

BLINK_MEAN_S = 3.6  # people blink ~15-20 times a minute while talking
BLINK_CLOSE_S, BLINK_HOLD_S, BLINK_OPEN_S = 0.07, 0.03, 0.15


@dataclass
class Event:
    type: str
    t: float
    duration_s: float
    strength: float

    def to_json(self) -> dict:
        return {"type": self.type, "t": round(self.t, 3), "duration_s": round(self.duration_s, 3),
                "strength": round(self.strength, 3)}


@dataclass
class Idle:
    weights: np.ndarray  # (F, 52) eye shapes only
    head_pose: np.ndarray  # (F, 6) pitch, yaw, roll (deg), tx, ty, tz (cm)
    events: list[Event] = field(default_factory=list)


def _blink_profile(t: np.ndarray) -> np.ndarray:
    """Lid closure 0..1 for time since blink start: fast close, short hold, slower open."""
    c = np.clip(t / BLINK_CLOSE_S, 0, 1) ** 2
    o = 1 - np.clip((t - BLINK_CLOSE_S - BLINK_HOLD_S) / BLINK_OPEN_S, 0, 1)
    o = o * o * (3 - 2 * o)
    return np.where(t < 0, 0.0, np.where(t < BLINK_CLOSE_S + BLINK_HOLD_S, c, o))


def set_gaze(w: np.ndarray, gx, gy) -> None:
    """Write a gaze direction into the eye shapes of w (..., 52), in place. +x looks towards
    the image's right = the subject's left; +y looks down."""
    right, left = np.clip(gx, 0, None), np.clip(np.negative(gx), 0, None)
    w[..., arkit.INDEX["eyeLookOutLeft"]] = right
    w[..., arkit.INDEX["eyeLookInRight"]] = right
    w[..., arkit.INDEX["eyeLookInLeft"]] = left
    w[..., arkit.INDEX["eyeLookOutRight"]] = left
    for side in ("Left", "Right"):
        w[..., arkit.INDEX[f"eyeLookUp{side}"]] = np.clip(np.negative(gy), 0, None)
        w[..., arkit.INDEX[f"eyeLookDown{side}"]] = np.clip(gy, 0, None)


def _smooth_noise(rng, n: int, fps: float, period_s: float) -> np.ndarray:
    """Band-limited noise with unit std: a few random sines around the given period."""
    t = np.arange(n) / fps
    out = np.zeros(n)
    for k in range(3):
        f = 1.0 / (period_s * rng.uniform(0.6, 1.6))
        out += np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) / (k + 1)
    return out / np.sqrt(sum(1 / (k + 1) ** 2 for k in range(3)) / 2)


def idle(n: int, fps: float, level: np.ndarray | None = None, seed: int = 0) -> Idle:
    rng = np.random.default_rng(seed)
    w = np.zeros((n, arkit.N), np.float32)
    events: list[Event] = []
    dur = n / fps
    t_frames = np.arange(n) / fps

    # Blinks: gamma-distributed intervals (a refractory gap, then rising odds); some doubles.
    t = rng.uniform(0.4, 2.0)
    closure = np.zeros(n)
    while t < dur:
        strength = rng.uniform(0.9, 1.0)
        closure = np.maximum(closure, strength * _blink_profile(t_frames - t))
        events.append(Event("blink", t, BLINK_CLOSE_S + BLINK_HOLD_S + BLINK_OPEN_S, strength))
        if rng.uniform() < 0.1:  # double blink
            t2 = t + 0.3
            closure = np.maximum(closure, strength * _blink_profile(t_frames - t2))
            events.append(Event("blink", t2, BLINK_CLOSE_S + BLINK_HOLD_S + BLINK_OPEN_S, strength))
            t = t2
        t += 0.25 + rng.gamma(3.0, (BLINK_MEAN_S - 0.25) / 3.0)
    w[:, arkit.INDEX["eyeBlinkLeft"]] = closure
    w[:, arkit.INDEX["eyeBlinkRight"]] = closure

    # Gaze: holds of 0.6-4 s, mostly back at the viewer, quick saccades between.
    gx, gy = np.zeros(n), np.zeros(n)
    t, x, y = 0.0, 0.0, 0.0
    while t < dur:
        hold = float(np.clip(rng.lognormal(np.log(1.4), 0.5), 0.6, 4.0))
        nx, ny = (0.0, 0.0) if rng.uniform() < 0.55 else (rng.uniform(-0.35, 0.35), rng.uniform(-0.2, 0.15))
        if t > 0:
            events.append(Event("gaze_shift", t, 0.05, float(np.hypot(nx - x, ny - y))))
        s = t_frames >= t
        ramp = np.clip((t_frames[s] - t) / 0.05, 0, 1)
        gx[s] = x + (nx - x) * ramp
        gy[s] = y + (ny - y) * ramp
        x, y, t = nx, ny, t + hold
    set_gaze(w, gx, gy)

    # Head: slow wander, breathing, and emphasis that follows the voice's loudness.
    pose = np.zeros((n, 6), np.float32)
    pose[:, 0] = 1.2 * _smooth_noise(rng, n, fps, 6.0)
    pose[:, 1] = 2.0 * _smooth_noise(rng, n, fps, 8.0) + 1.0 * gx  # the head follows the eyes a bit
    pose[:, 2] = 0.8 * _smooth_noise(rng, n, fps, 7.0)
    breath = np.sin(2 * np.pi * t_frames / 4.0)
    pose[:, 0] += 0.3 * breath
    pose[:, 4] += 0.08 * breath
    pose[:, 3] = 0.25 * _smooth_noise(rng, n, fps, 9.0)
    if level is not None and len(level) == n:
        emph = smooth.gaussian(level.astype(np.float64), sigma=0.15 * fps)
        pose[:, 0] += 2.5 * (emph - emph.mean())  # louder: chin up a little
    return Idle(weights=w, head_pose=pose, events=events)
