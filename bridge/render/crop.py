"""The generator's view of a face: a square crop aligned on the source face, the driving
landmarks drawn as maps, and the way back into the full image.

Training (bridge/train/generator.py) and inference (bridge/render/gan.py) both go through
this module, so the network sees at run time exactly the crops it was trained on.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from bridge.face import topology as T
from bridge.face.align import FaceFrame

SIZE = 256
SPAN = 0.30  # outer-eye-corner distance as a fraction of the crop side (side = 3.3 spans)
EYES_Y = 0.40  # eye midpoint's height in the crop, as a fraction of the side
FEATHER = 0.08  # pasted crop fades to the image over this fraction of its side

# Map channels: lips (outer and inner contours), the open mouth (filled), the rest of the
# face's lines (lids, irises, brows, nose, oval), and the face region (the oval filled,
# widened and feathered): the generator may repaint only inside it — outside, the warp is
# right (hair, clothes, background) and invented pixels there were only artefacts and flicker.
# Parts, not sides: a mirrored face draws the same channels mirrored, so horizontal flips need
# no channel swap.
LIPS = [T.LIPS_OUTER_UPPER, T.LIPS_OUTER_LOWER, T.LIPS_INNER_UPPER, T.LIPS_INNER_LOWER]
LINES = [T.EYE_RIGHT_UPPER, T.EYE_RIGHT_LOWER, T.EYE_LEFT_UPPER, T.EYE_LEFT_LOWER,
         T.BROW_RIGHT[:5], T.BROW_LEFT[:5], [168, 6, 197, 195, 5, 4, 1], T.FACE_OVAL + T.FACE_OVAL[:1]]
N_MAPS = 4
IN_CHANNELS = 3 + N_MAPS + 3  # the generator's input: warped crop, maps, source crop
REGION_GROW = 0.04  # the face region reaches this fraction of the side beyond the oval


@dataclass(frozen=True)
class Crop:
    matrix: np.ndarray  # (2, 3) image pixels -> crop pixels
    size: int

    @staticmethod
    def around(points: np.ndarray, size: int = SIZE, scale: float = 1.0,
               shift: tuple[float, float] = (0.0, 0.0)) -> "Crop":
        """The crop that puts this face's eyes level at a fixed place and size. scale and shift
        (fractions of the side) jitter it, for training."""
        f = FaceFrame.from_points(points)
        s = size * SPAN * scale / f.scale
        c, si = np.cos(-f.angle) * s, np.sin(-f.angle) * s
        rot = np.array([[c, -si], [si, c]])
        target = np.array([0.5 + shift[0], EYES_Y + shift[1]]) * size
        return Crop(np.hstack([rot, (target - rot @ f.origin)[:, None]]), size)

    @property
    def zoom(self) -> float:
        """Crop pixels per image pixel."""
        return float(np.hypot(*self.matrix[:, 0]))

    def image(self, img: np.ndarray) -> np.ndarray:
        """Image -> (size, size, C) crop. Large images are first shrunk with area averaging,
        since a bilinear warp alone would alias (an 8000 px photo to 256 px)."""
        m = self.matrix
        if self.zoom < 0.5:
            k = 2 * self.zoom
            img = cv2.resize(img, (max(1, round(img.shape[1] * k)), max(1, round(img.shape[0] * k))),
                             interpolation=cv2.INTER_AREA)
            m = m.copy()
            m[:, :2] /= k
        return cv2.warpAffine(img, m, (self.size, self.size), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REFLECT)

    def points(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) image pixels -> crop pixels (z scaled like x and y)."""
        out = np.empty(points.shape, np.float32)
        out[..., :2] = points[..., :2] @ self.matrix[:, :2].T + self.matrix[:, 2]
        out[..., 2] = points[..., 2] * self.zoom
        return out

    def paste(self, full: np.ndarray, crop: np.ndarray) -> np.ndarray:
        """Put a (size, size, 3) crop back into a copy of the full image, feathered at the
        crop's edges so no seam shows. Works on the crop's bounding box only."""
        h, w = full.shape[:2]
        inv = cv2.invertAffineTransform(self.matrix)
        corners = np.array([[0, 0], [self.size, 0], [0, self.size], [self.size, self.size]], np.float64)
        box = corners @ inv[:, :2].T + inv[:, 2]
        x0, y0 = np.clip(np.floor(box.min(0)).astype(int), 0, [w, h])
        x1, y1 = np.clip(np.ceil(box.max(0)).astype(int) + 1, 0, [w, h])
        out = full.copy()
        if x1 <= x0 or y1 <= y0:
            return out
        m = self.matrix.copy()
        m[:, 2] += m[:, :2] @ np.array([x0, y0], np.float64)  # box pixels -> crop pixels
        back = cv2.warpAffine(crop, m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REPLICATE)
        alpha = cv2.warpAffine(_feather(self.size), m, (x1 - x0, y1 - y0),
                               flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=0.0)[..., None]
        region = out[y0:y1, x0:x1].astype(np.float32)
        out[y0:y1, x0:x1] = np.clip(region + alpha * (back.astype(np.float32) - region) + 0.5, 0, 255).astype(np.uint8)
        return out


_FEATHERS: dict[int, np.ndarray] = {}


def _feather(size: int) -> np.ndarray:
    if size not in _FEATHERS:
        ramp = np.clip((np.minimum(np.arange(size), np.arange(size)[::-1]) + 0.5) / (FEATHER * size), 0, 1)
        ramp = ramp * ramp * (3 - 2 * ramp)  # smoothstep
        _FEATHERS[size] = np.outer(ramp, ramp).astype(np.float32)
    return _FEATHERS[size]


def draw_maps(points: np.ndarray, size: int = SIZE) -> np.ndarray:
    """(478, 3) crop pixels -> (size, size, 3) uint8 landmark maps (see LIPS/LINES)."""
    shift = 2  # sub-pixel precision for anti-aliased lines
    p = np.round(points[:, :2] * (1 << shift)).astype(np.int32)
    width = max(1, round(size / 128))
    maps = np.zeros((N_MAPS, size, size), np.uint8)
    cv2.polylines(maps[0], [p[c] for c in LIPS], False, 255, width, cv2.LINE_AA, shift)
    cv2.fillPoly(maps[1], [p[T.INNER_MOUTH]], 255, cv2.LINE_AA, shift)
    cv2.polylines(maps[2], [p[c] for c in LINES], False, 255, width, cv2.LINE_AA, shift)
    for iris in (T.IRIS_RIGHT, T.IRIS_LEFT):
        r = np.linalg.norm(points[iris[1:], :2] - points[iris[0], :2], axis=1).mean()
        cv2.circle(maps[2], tuple(p[iris[0]]), int(r * (1 << shift)), 255, width, cv2.LINE_AA, shift)
    cv2.fillPoly(maps[3], [p[T.FACE_OVAL]], 255, cv2.LINE_AA, shift)
    grow = max(1, round(REGION_GROW * size))
    maps[3] = cv2.GaussianBlur(cv2.dilate(maps[3], np.ones((grow, grow), np.uint8)), (0, 0), grow / 2)
    return np.ascontiguousarray(maps.transpose(1, 2, 0))


def to_input(img: np.ndarray) -> np.ndarray:
    """(H, W, C) pixels 0..255 -> (C, H, W) float32 in [-1, 1], the generator's input scale."""
    return img.astype(np.float32).transpose(2, 0, 1) / np.float32(127.5) - np.float32(1.0)


def to_image(y: np.ndarray) -> np.ndarray:
    """(3, H, W) generator output in [-1, 1] -> (H, W, 3) uint8."""
    return np.clip((y.transpose(1, 2, 0) + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)


def mouth_box(points: np.ndarray, size: int = SIZE, margin: float = 0.25) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) around the outer lips in crop pixels, widened by margin: the mouth
    region the losses weight and the benchmark scores."""
    lips = points[T.LIPS_OUTER_UPPER + T.LIPS_OUTER_LOWER, :2]
    lo, hi = lips.min(0), lips.max(0)
    pad = (hi - lo) * margin
    x0, y0 = np.clip(np.floor(lo - pad).astype(int), 0, size)
    x1, y1 = np.clip(np.ceil(hi + pad).astype(int), 0, size)
    return int(x0), int(y0), int(x1), int(y1)
