"""The one rig: 52 ARKit blendshapes as displacement fields over the 478 landmarks.

    aligned_landmarks = neutral + sum_k w_k * basis[k]

Fields are authored in the face-aligned frame (bridge.face.align: one unit = outer-eye-
corner distance, y down, +x towards the subject's left) from the face's own geometry, so
they fit any face. Every output (blendshapes for engines, landmarks for the renderer)
comes from the same weights through this rig.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bridge.face import topology as T
from bridge.motion import arkit

LIPS_UPPER = sorted(set(T.LIPS_OUTER_UPPER + T.LIPS_INNER_UPPER) - {61, 291, 78, 308})
LIPS_LOWER = sorted(set(T.LIPS_OUTER_LOWER + T.LIPS_INNER_LOWER) - {61, 291, 78, 308})
LIP_CORNERS = [61, 291, 78, 308]
ALL_LIPS = LIPS_UPPER + LIPS_LOWER + LIP_CORNERS
CHEEK_RIGHT, CHEEK_LEFT = 205, 425  # cheek centres beside the mouth
CHEEKBONE_RIGHT, CHEEKBONE_LEFT = 50, 280


def _gauss(p: np.ndarray, centres: np.ndarray, sigma: float) -> np.ndarray:
    """Soft membership of each point: Gaussian of its distance to the nearest centre (xy)."""
    d2 = ((p[:, None, :2] - np.atleast_2d(centres)[None, :, :2]) ** 2).sum(-1).min(1)
    return np.exp(-d2 / (2 * sigma * sigma))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _only(n: int, idx, values=1.0) -> np.ndarray:
    w = np.zeros(n)
    w[idx] = values
    return w


@dataclass
class Rig:
    neutral: np.ndarray  # (478, 3) aligned units
    basis: np.ndarray  # (52, 478, 3) displacement at weight 1

    @staticmethod
    def from_neutral(neutral: np.ndarray) -> "Rig":
        return Rig(neutral=np.asarray(neutral, np.float64), basis=build_basis(neutral))

    def apply(self, weights: np.ndarray) -> np.ndarray:
        """(…, 52) weights -> (…, 478, 3) aligned landmarks."""
        w = np.asarray(weights, np.float64)
        flat = w @ self.basis.reshape(arkit.N, -1)
        return self.neutral + flat.reshape(w.shape[:-1] + self.neutral.shape)

    @property
    def matrix(self) -> np.ndarray:
        """(478*3, 52): the linear map from weights to stacked displacements."""
        return self.basis.reshape(arkit.N, -1).T


def _lid_gap(p: np.ndarray, upper: list[int], lower: list[int]) -> np.ndarray:
    """For each point, the vertical lid gap (lower lid y - upper lid y) at its x, 0 outside."""
    ux, uy = p[upper, 0], p[upper, 1]
    lx, ly = p[lower, 0], p[lower, 1]
    ou, ol = np.argsort(ux), np.argsort(lx)
    x = p[:, 0]
    inside = (x > ux.min()) & (x < ux.max())
    gap = np.interp(x, lx[ol], ly[ol]) - np.interp(x, ux[ou], uy[ou])
    return np.where(inside, np.clip(gap, 0, None), 0.0), np.interp(x, ux[ou], uy[ou])


def build_basis(neutral: np.ndarray) -> np.ndarray:
    p = np.asarray(neutral, np.float64)
    n = len(p)
    B = np.zeros((arkit.N, n, 3))
    x, y = p[:, 0], p[:, 1]

    def put(name: str, weight: np.ndarray, vec) -> None:
        B[arkit.INDEX[name]] += weight[:, None] * np.asarray(vec, np.float64)

    # --- mouth geometry
    mouth_c = (p[T.INNER_LIP_TOP] + p[T.INNER_LIP_BOTTOM]) / 2
    xc, yc = mouth_c[0], mouth_c[1]
    half_w = abs(p[291, 0] - p[61, 0]) / 2
    lips = _gauss(p, p[ALL_LIPS], 0.035)
    upper = np.maximum(_only(n, LIPS_UPPER), _gauss(p, p[LIPS_UPPER], 0.03) * (y < yc))
    lower = np.maximum(_only(n, LIPS_LOWER), _gauss(p, p[LIPS_LOWER], 0.03) * (y > yc))
    left = _sigmoid((x - xc) / (0.2 * half_w))  # subject's left half (image right)
    right = 1.0 - left
    upper[LIP_CORNERS] = lower[LIP_CORNERS] = 0.3

    # The jaw: everything below the mouth line, fading towards the ears.
    jaw = np.clip((y - (yc - 0.03)) / 0.12, 0, 1) * np.exp(-((x - xc) ** 2) / (2 * 0.42 ** 2))
    jaw[LIPS_UPPER] = 0.0
    jaw[LIPS_LOWER] = np.maximum(jaw[LIPS_LOWER], 0.95)
    jaw[LIP_CORNERS] = 0.4
    put("jawOpen", jaw, (0, 0.30, 0.05))
    put("jawForward", jaw, (0, 0.01, -0.08))
    put("jawLeft", jaw, (0.08, 0, 0))
    put("jawRight", jaw, (-0.08, 0, 0))

    put("mouthClose", upper, (0, 0.04, 0))
    put("mouthClose", lower, (0, -0.12, 0))
    # Funnel: lips flare open and forward; pucker: lips gather and push forward.
    put("mouthFunnel", upper, (0, -0.045, -0.05))
    put("mouthFunnel", lower, (0, 0.05, -0.05))
    B[arkit.INDEX["mouthFunnel"], :, 0] += -(x - xc) * 0.2 * lips
    B[arkit.INDEX["mouthPucker"], :, 0] += -(x - xc) * 0.4 * lips
    put("mouthPucker", lips, (0, 0, -0.09))
    put("mouthPucker", lower, (0, -0.01, 0))

    around_mouth = _gauss(p, p[ALL_LIPS], 0.08)
    put("mouthLeft", around_mouth, (0.08, 0, 0))
    put("mouthRight", around_mouth, (-0.08, 0, 0))

    # Each corner shape has its own footprint (as its muscles do), so the solver can tell
    # them apart: smile lifts the cheek too, frown drags the skin below the corner,
    # dimple is tight at the corner, stretch pulls the lower lip's side.
    for side, corner, cheek, s, sx in (("Left", [291, 308], CHEEK_LEFT, left, 1),
                                       ("Right", [61, 78], CHEEK_RIGHT, right, -1)):
        c = _gauss(p, p[corner], 0.11)
        below = _gauss(p, p[corner] + [0, 0.15, 0], 0.08)
        put(f"mouthSmile{side}", c, (0.055 * sx, -0.07, 0.02))
        put(f"mouthSmile{side}", _gauss(p, p[[cheek]], 0.1), (0.01 * sx, -0.03, -0.01))
        put(f"mouthFrown{side}", c, (0.01 * sx, 0.06, 0))
        put(f"mouthFrown{side}", below, (0, 0.025, 0))
        put(f"mouthDimple{side}", _gauss(p, p[corner], 0.05), (0.03 * sx, 0, 0.04))
        put(f"mouthStretch{side}", c, (0.06 * sx, 0.0, 0))
        put(f"mouthStretch{side}", lower * s, (0.04 * sx, 0.02, 0))

    outer_up = _only(n, [i for i in T.LIPS_OUTER_UPPER if i not in LIP_CORNERS])
    outer_lo = _only(n, [i for i in T.LIPS_OUTER_LOWER if i not in LIP_CORNERS])
    put("mouthRollLower", outer_lo, (0, -0.035, 0.03))
    put("mouthRollLower", lower, (0, 0, 0.015))
    put("mouthRollUpper", outer_up, (0, 0.035, 0.03))
    put("mouthRollUpper", upper, (0, 0, 0.015))
    chin = _gauss(p, p[[T.CHIN, 17]], 0.15) * (y > yc)
    put("mouthShrugLower", lower, (0, -0.04, 0))
    put("mouthShrugLower", chin, (0, -0.03, -0.01))
    put("mouthShrugUpper", upper, (0, -0.035, -0.01))
    for side, s in (("Left", left), ("Right", right)):
        put(f"mouthPress{side}", outer_up * s, (0, 0.02, 0.005))
        put(f"mouthPress{side}", outer_lo * s, (0, -0.02, 0.005))
        put(f"mouthLowerDown{side}", lower * s, (0, 0.07, 0))
        put(f"mouthUpperUp{side}", upper * s, (0, -0.06, 0))
    inner_lo = _only(n, [i for i in T.LIPS_INNER_LOWER if i not in LIP_CORNERS])
    put("tongueOut", inner_lo, (0, 0.03, -0.03))
    put("tongueOut", outer_lo, (0, 0.01, -0.02))

    # --- eyes
    for side, up, lo, iris in (("Left", T.EYE_LEFT_UPPER, T.EYE_LEFT_LOWER, T.IRIS_LEFT),
                               ("Right", T.EYE_RIGHT_UPPER, T.EYE_RIGHT_LOWER, T.IRIS_RIGHT)):
        gap, y_up = _lid_gap(p, up, lo)
        lid = _only(n, up[1:-1])
        above = (y < y_up) * np.exp(-(((y_up - y) / 0.05) ** 2)) * 0.6
        above[up] = 0
        close = np.maximum(lid, above)
        B[arkit.INDEX[f"eyeBlink{side}"], :, 1] += close * gap * 0.95
        # Points inside the opening (the iris) collapse onto the lower lid in proportion to
        # their depth in the gap, so the closing lid covers them instead of pushing them out.
        y_low = y_up + gap
        frac = np.clip((y_low[iris] - y[iris]) / np.maximum(gap[iris], 1e-6), 0, 1)
        B[arkit.INDEX[f"eyeBlink{side}"], iris, 1] += frac * gap[iris] * 0.95
        low = _only(n, lo[1:-1])
        B[arkit.INDEX[f"eyeBlink{side}"], :, 1] -= low * gap * 0.05
        B[arkit.INDEX[f"eyeSquint{side}"], :, 1] += -low * gap * 0.3 + lid * gap * 0.08
        below = _gauss(p, p[lo], 0.05) * (y > p[lo, 1].max())
        put(f"eyeSquint{side}", below, (0, -0.02, 0))
        # Only the skin over this eye: `above` alone spans the face at lid height, and moved the
        # other eye's corners and the temples (points the head-pose fit takes as still).
        put(f"eyeWide{side}", np.maximum(_only(n, up[1:-1]), above * (gap > 0)), (0, -0.035, 0))
        # Gaze: the iris moves; the upper lid follows vertical gaze a little.
        irisw = _only(n, iris)
        inward = 1 if side == "Right" else -1  # towards the nose, in image x
        put(f"eyeLookIn{side}", irisw, (0.07 * inward, 0, 0))
        put(f"eyeLookOut{side}", irisw, (-0.07 * inward, 0, 0))
        put(f"eyeLookUp{side}", irisw, (0, -0.05, 0))
        put(f"eyeLookUp{side}", _only(n, up[1:-1]), (0, -0.015, 0))
        put(f"eyeLookDown{side}", irisw, (0, 0.05, 0))
        put(f"eyeLookDown{side}", _only(n, up[1:-1]), (0, 0.025, 0))

    # --- brows
    for side, brow, inner, outer, sx in (("Left", T.BROW_LEFT, T.BROW_LEFT_INNER, T.BROW_LEFT_OUTER, 1),
                                         ("Right", T.BROW_RIGHT, T.BROW_RIGHT_INNER, T.BROW_RIGHT_OUTER, -1)):
        above_eyes = y < p[T.EYE_LEFT_UPPER + T.EYE_RIGHT_UPPER, 1].min()
        region = _gauss(p, p[brow], 0.07) * above_eyes
        put(f"browDown{side}", region, (-0.02 * sx, 0.05, 0))
        put(f"browOuterUp{side}", _gauss(p, p[outer], 0.08) * above_eyes, (0, -0.06, 0))
        put("browInnerUp", _gauss(p, p[inner], 0.08) * above_eyes, (0, -0.065, 0))

    # --- cheeks and nose
    for side, cheek, bone, ala, sx in (("Left", CHEEK_LEFT, CHEEKBONE_LEFT, T.NOSE_ALA_LEFT, 1),
                                       ("Right", CHEEK_RIGHT, CHEEKBONE_RIGHT, T.NOSE_ALA_RIGHT, -1)):
        put("cheekPuff", _gauss(p, p[[cheek]], 0.13), (0.05 * sx, 0, -0.03))
        put(f"cheekSquint{side}", _gauss(p, p[[bone]], 0.1), (0, -0.04, 0))
        put(f"noseSneer{side}", _gauss(p, p[[ala]], 0.06), (0, -0.035, 0))
        put(f"noseSneer{side}", upper * (left if sx > 0 else right), (0, -0.012, 0))
    # The head-pose fit (solver.rigid_align) takes these points as still: no shape moves them,
    # or a brow raise would read back as a head tilt plus a mouth shape.
    B[:, T.RIGID] = 0.0
    return B
