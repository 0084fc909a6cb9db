"""Inverse rig: tracked landmarks -> 52 weights (bounded least squares) and head pose."""

from __future__ import annotations

import numpy as np
from scipy.optimize import lsq_linear

from bridge.face import topology as T
from bridge.face.align import FaceFrame
from bridge.motion.rig import Rig


# The ridge for landmarks that FaceMesh tracked on a picture rather than ones the rig made.
# Tracking moves points by ~0.01 eye spans that nothing in the picture moved, about the
# footprint of the small mouth shapes at full weight; with the default 1e-4 a rendered brow
# raise read back as mouthLowerDown 1.0. Chosen on still faces bench/expression.py does not
# report (lp_s1, lp_s3, lp_s4); on the three it reports, a single rendered shape is read back
# as itself 0.667 of the time (0.564 with 1e-4 and the forehead in the head fit).
TRACKED_RIDGE = 1e-2


class Solver:
    """Bounded (0..1) least squares with a small ridge term, which keeps near-twin shapes
    (e.g. mouthRoll vs mouthPress) from trading off wildly.

    shape_ridge: a stronger prior on some shapes ({name: weight}); point_weights: (478,) how
    much each landmark's residual counts (performance capture uses both; see
    bridge/motion/performance.py)."""

    def __init__(self, rig: Rig, ridge: float = 1e-4, shape_ridge: dict[str, float] | None = None,
                 point_weights: np.ndarray | None = None):
        from bridge.motion import arkit

        a = rig.matrix
        prior = np.full(a.shape[1], ridge)
        for name, value in (shape_ridge or {}).items():
            prior[arkit.INDEX[name]] = value
        self._w = None if point_weights is None else np.repeat(np.asarray(point_weights, np.float64), 3)
        if self._w is not None:
            a = a * self._w[:, None]
        # min |A w - b| equals min |R w - Q^T b| for A = QR: the bounded solver then works on
        # 52 rows instead of 1,486 (the same solution, ~10x faster: live capture needs it).
        self._q, self._r = np.linalg.qr(np.vstack([a, np.diag(np.sqrt(prior))]))
        self._m = a.shape[0]
        self._rig = rig

    def solve(self, aligned: np.ndarray) -> np.ndarray:
        """(478, 3) or (F, 478, 3) aligned landmarks -> (52,) or (F, 52) weights."""
        aligned = np.asarray(aligned, np.float64)
        single = aligned.ndim == 2
        frames = aligned[None] if single else aligned
        out = np.empty((len(frames), self._r.shape[1]))
        for i, f in enumerate(frames):
            d = (f - self._rig.neutral).ravel()
            c = self._q[:self._m].T @ (d if self._w is None else d * self._w)  # the prior rows' targets are 0
            out[i] = lsq_linear(self._r, c, bounds=(0.0, 1.0), method="bvls").x
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


def unpose(tracked: np.ndarray, neutral: np.ndarray, idx=T.RIGID) -> np.ndarray:
    """Remove head motion: map tracked aligned landmarks rigidly onto the neutral's pose
    (fitted on the points idx)."""
    s, r, t = rigid_align(tracked, neutral, idx)
    return (s * (r @ tracked.T)).T + t


class ReadBack:
    """Landmarks FaceMesh tracked on pictures of one face (renders of it, in the expression
    benchmark and tests) -> the rig's weights, relative to the face's still."""

    def __init__(self, still_points: np.ndarray, ridge: float = TRACKED_RIDGE, rigid=T.RIGID):
        self.neutral = FaceFrame.from_points(still_points).to_aligned(still_points)
        self.solver = Solver(Rig.from_neutral(self.neutral), ridge=ridge)
        self.rigid = rigid

    def __call__(self, tracked: np.ndarray) -> np.ndarray:
        """(F, 478, 3) tracked pixels -> (F, 52) weights."""
        still = [unpose(FaceFrame.from_points(p).to_aligned(p), self.neutral, self.rigid) for p in tracked]
        return self.solver.solve(np.array(still))
