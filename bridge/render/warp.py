"""Landmark-driven dense warp of the input image, with a drawn mouth interior.

The landmarks' displacements are spread over the image by barycentric interpolation in a
Delaunay mesh of the neutral landmarks plus a fixed ring around the face (so motion fades
out smoothly to a still background). Each output pixel samples the source at the inverse
of that field (fixed-point steps). Where the lips part wider than in the photo, the
mouth interior (dark cavity, upper and lower teeth) is painted in, since the photo holds
no pixels for it.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import sparse
from scipy.spatial import Delaunay

from bridge.face import topology as T

RING_SCALE = 1.45  # fixed ring around the face, relative to the face oval
INVERSE_STEPS = 3


class WarpRenderer:
    def __init__(self, image: np.ndarray, neutral_points: np.ndarray):
        self.image = np.ascontiguousarray(image)
        h, w = image.shape[:2]
        self.p0 = neutral_points[:, :2].astype(np.float32)
        oval = self.p0[T.FACE_OVAL]
        centre = oval.mean(0)
        ring = centre + (oval - centre) * RING_SCALE
        border = np.array([[x, y] for x in (0, w / 2, w - 1) for y in (0, h / 2, h - 1)
                           if not (x == w / 2 and y == h / 2)], np.float32)
        anchors = np.vstack([ring, border])
        pts = np.vstack([self.p0, anchors])
        tri = Delaunay(pts)
        # Work only inside the ring's box: outside it nothing moves.
        x0, y0 = np.floor(np.clip(ring.min(0), 0, [w - 1, h - 1])).astype(int)
        x1, y1 = np.ceil(np.clip(ring.max(0), 0, [w - 1, h - 1])).astype(int) + 1
        self.box = (x0, y0, x1, y1)
        gx, gy = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))
        self.grid = np.stack([gx, gy], -1)
        q = self.grid.reshape(-1, 2)
        simplex = tri.find_simplex(q)
        inside = simplex >= 0
        trans = tri.transform[simplex[inside]]
        b = np.einsum("nij,nj->ni", trans[:, :2], q[inside] - trans[:, 2])
        bary = np.column_stack([b, 1 - b.sum(1)])
        rows = np.repeat(np.flatnonzero(inside), 3)
        cols = tri.simplices[simplex[inside]].ravel()
        self.W = sparse.csr_matrix((bary.ravel().astype(np.float32), (rows, cols)),
                                   shape=(len(q), len(pts)))
        self.n_points = len(self.p0)
        self.n_total = len(pts)
        self.mouth0 = self._mouth_gap(neutral_points)
        self.eye_span = float(np.linalg.norm(self.p0[T.EYE_OUTER_LEFT] - self.p0[T.EYE_OUTER_RIGHT]))
        self.tooth = self._tooth_colour(neutral_points)

    def _tooth_colour(self, points: np.ndarray) -> np.ndarray:
        """The photo's own teeth colour where they show (bright, unsaturated pixels inside the
        lips), so painted teeth match its white balance; a neutral ivory otherwise."""
        default = np.array([212, 205, 192], np.float32)
        mask = np.zeros(self.image.shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(points[T.INNER_MOUTH, :2]).astype(np.int32)], 1)
        px = self.image[mask > 0].astype(np.float32)
        if len(px) < 30:
            return default
        lum = px.mean(1)
        sat = px.max(1) - px.min(1)
        teeth = px[(lum > np.percentile(lum, 60)) & (sat < 0.35 * lum + 10)]
        if len(teeth) < 20 or teeth.mean() < 120:
            return default
        return np.median(teeth, 0).astype(np.float32)

    @staticmethod
    def _mouth_gap(points: np.ndarray) -> float:
        return float(cv2.contourArea(points[T.INNER_MOUTH, :2].astype(np.float32)))

    def render(self, landmarks: np.ndarray) -> np.ndarray:
        x0, y0, x1, y1 = self.box
        disp = np.zeros((self.n_total, 2), np.float32)
        disp[: self.n_points] = landmarks[:, :2] - self.p0
        field = (self.W @ disp).reshape(self.grid.shape)
        # Inverse of the forward field: q = p - field(q), by fixed-point steps (they converge
        # where the motion compresses skin, as a closing lid does, if slowly: hence several).
        q = self.grid - field
        for _ in range(INVERSE_STEPS):
            f_at_q = cv2.remap(field, q[..., 0] - x0, q[..., 1] - y0, cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
            q = self.grid - f_at_q
        out = self.image.copy()
        out[y0:y1, x0:x1] = cv2.remap(self.image, q[..., 0], q[..., 1], cv2.INTER_LINEAR,
                                      borderMode=cv2.BORDER_REFLECT)
        self._paint_mouth(out, landmarks)
        return out

    def _paint_mouth(self, out: np.ndarray, landmarks: np.ndarray) -> None:
        poly = landmarks[T.INNER_MOUTH, :2].astype(np.float32)
        area = cv2.contourArea(poly)
        extra = area - self.mouth0
        if extra <= 0.002 * self.eye_span ** 2:
            return
        alpha = min(1.0, (extra - 0.002 * self.eye_span ** 2) / (0.006 * self.eye_span ** 2))
        h, w = out.shape[:2]
        x0, y0 = np.floor(poly.min(0)).astype(int) - 3
        x1, y1 = np.ceil(poly.max(0)).astype(int) + 4
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if x1 <= x0 or y1 <= y0:
            return
        sub = out[y0:y1, x0:x1].astype(np.float32)
        off = np.array([x0, y0], np.float32)
        shift = 4  # sub-pixel precision for anti-aliased polygons
        mask = np.zeros(sub.shape[:2], np.float32)
        cv2.fillPoly(mask, [np.round((poly - off) * (1 << shift)).astype(np.int32)], 1.0,
                     cv2.LINE_AA, shift)
        # Cavity: dark red, darkest in the middle.
        gap = np.linalg.norm(landmarks[T.INNER_LIP_BOTTOM, :2] - landmarks[T.INNER_LIP_TOP, :2])
        yy = np.arange(y0, y1, dtype=np.float32)[:, None] - (landmarks[T.INNER_LIP_TOP, 1] + gap / 2)
        shade = np.clip(1.0 - np.abs(yy) / max(gap, 1.0), 0, 1)
        cavity = np.array([110, 45, 50], np.float32) * (1 - 0.55 * shade[..., None])
        paint = np.broadcast_to(cavity, sub.shape).copy()
        # Teeth: a band under the upper lip and a thinner one over the lower lip, shaded
        # darker towards the cavity, with faint gaps between teeth so they read as teeth.
        teeth_h = min(0.09 * self.eye_span, 0.35 * gap)
        xx = np.arange(x0, x1, dtype=np.float32)[None, :] - landmarks[T.INNER_LIP_TOP, 0]
        pitch = 0.085 * self.eye_span  # about one incisor's width
        seams = 1.0 - 0.18 * np.exp(-((np.abs((xx / pitch) % 1.0 - 0.5) - 0.5) / 0.06) ** 2)
        for contour, dy, k in ((T.LIPS_INNER_UPPER, teeth_h, 1.0), (T.LIPS_INNER_LOWER, -0.4 * teeth_h, 0.6)):
            band = landmarks[contour, :2].astype(np.float32) - off
            taper = np.sin(np.linspace(0, np.pi, len(band)))[:, None] ** 0.5  # none at the corners
            shape = np.vstack([band, (band + taper * [0, dy])[::-1]])
            tmask = np.zeros_like(mask)
            cv2.fillPoly(tmask, [np.round(shape * (1 << shift)).astype(np.int32)], k, cv2.LINE_AA, shift)
            tmask = cv2.GaussianBlur(tmask, (0, 0), 0.7)
            edge = band[:, 1].mean() + off[1]
            depth = np.clip((yy + landmarks[T.INNER_LIP_TOP, 1] + gap / 2 - edge) / (dy if dy else 1), 0, 1)
            tooth = self.tooth * (1.0 - 0.3 * depth[..., None]) * seams[..., None]
            paint = paint * (1 - tmask[..., None]) + tooth * tmask[..., None]
        a = (cv2.GaussianBlur(mask, (0, 0), 0.8) * alpha)[..., None]
        out[y0:y1, x0:x1] = np.clip(sub * (1 - a) + paint * a, 0, 255).astype(np.uint8)
