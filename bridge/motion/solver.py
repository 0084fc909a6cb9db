"""Inverse rig: tracked landmarks -> 52 weights (bounded least squares) and head pose."""

from __future__ import annotations

import numpy as np
from scipy.optimize import lsq_linear

from bridge.face import topology as T
from bridge.motion.rig import Rig


class Solver:
    """Bounded (0..1) least squares with a small ridge term, which keeps near-twin shapes
    (e.g. mouthRoll vs mouthPress) from trading off wildly."""

    def __init__(self, rig: Rig, ridge: float = 1e-4):
        a = rig.matrix
        self._a = np.vstack([a, np.sqrt(ridge) * np.eye(a.shape[1])])
        self._rig = rig

    def solve(self, aligned: np.ndarray) -> np.ndarray:
        """(478, 3) or (F, 478, 3) aligned landmarks -> (52,) or (F, 52) weights."""
        aligned = np.asarray(aligned, np.float64)
        single = aligned.ndim == 2
        frames = aligned[None] if single else aligned
        out = np.empty((len(frames), self._a.shape[1]))
        zeros = np.zeros(self._a.shape[1])
        for i, f in enumerate(frames):
            b = np.concatenate([(f - self._rig.neutral).ravel(), zeros])
            out[i] = lsq_linear(self._a, b, bounds=(0.0, 1.0), method="bvls").x
        return out[0] if single else out


def rigid_align(src: np.ndarray, dst: np.ndarray, idx=T.RIGID):
    """Similarity transform (s, R, t) with s*R@src[idx]+t ~ dst[idx] (Umeyama, 3D)."""
    a, b = src[idx].astype(np.float64), dst[idx].astype(np.float64)
    ma, mb = a.mean(0), b.mean(0)
    a0, b0 = a - ma, b - mb
    u, sig, vt = np.linalg.svd(b0.T @ a0)
    d = np.sign(np.linalg.det(u @ vt))
    D = np.diag([1.0, 1.0, d])
    r = u @ D @ vt
    s = float((sig * np.diag(D)).sum() / (a0 ** 2).sum())
    t = mb - s * r @ ma
    return s, r, t


def unpose(tracked: np.ndarray, neutral: np.ndarray) -> np.ndarray:
    """Remove head motion: map tracked aligned landmarks rigidly onto the neutral's pose."""
    s, r, t = rigid_align(tracked, neutral)
    return (s * (r @ tracked.T)).T + t
