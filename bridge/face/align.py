"""The face-aligned frame the rig works in.

Origin between the outer eye corners, x along the eye line (towards the image's right),
y down, z from FaceMesh; one unit = the outer-eye-corner distance. This removes image
position, size and in-plane rotation, so rig displacements mean the same on every face.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bridge.face import topology as T

# Adult outer-eye-corner distance, to report head translation in centimetres.
EYE_SPAN_CM = 9.0


@dataclass(frozen=True)
class FaceFrame:
    origin: np.ndarray  # (2,) pixels
    scale: float  # pixels per unit
    angle: float  # radians, eye line's angle in the image

    @staticmethod
    def from_points(points: np.ndarray) -> "FaceFrame":
        r, l = points[T.EYE_OUTER_RIGHT, :2], points[T.EYE_OUTER_LEFT, :2]
        d = l - r
        scale = float(np.hypot(*d))
        if scale < 1e-6:
            raise ValueError("degenerate face: eye corners coincide")
        return FaceFrame(origin=((r + l) / 2).astype(np.float64), scale=scale,
                         angle=float(np.arctan2(d[1], d[0])))

    def _rot(self) -> np.ndarray:
        c, s = np.cos(self.angle), np.sin(self.angle)
        return np.array([[c, -s], [s, c]])

    def to_aligned(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) image pixels -> aligned units."""
        out = np.empty(points.shape, np.float64)
        out[..., :2] = (points[..., :2] - self.origin) @ self._rot() / self.scale
        out[..., 2] = points[..., 2] / self.scale
        return out

    def to_image(self, aligned: np.ndarray) -> np.ndarray:
        """(..., 3) aligned units -> image pixels."""
        out = np.empty(aligned.shape, np.float64)
        out[..., :2] = aligned[..., :2] @ self._rot().T * self.scale + self.origin
        out[..., 2] = aligned[..., 2] * self.scale
        return out
