"""Face detection and the 478 FaceMesh landmarks (with refined iris), offline.

MediaPipe 0.10.21 ships the FaceMesh models inside its wheel, so nothing downloads.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass

import numpy as np

from bridge.errors import NoFaceError
from bridge.native import native_stderr_to_log

log = logging.getLogger(__name__)

DETECT_MAX_SIDE = 1280  # FaceMesh works on a small input; larger photos are downscaled first


@dataclass
class Face:
    points: np.ndarray  # (478, 3) float32: x, y in input-image pixels, z in the same scale
    image_size: tuple[int, int]  # (width, height)
    n_faces: int  # faces found; the largest is the one kept

    @property
    def box(self) -> tuple[float, float, float, float]:
        x0, y0 = self.points[:, :2].min(0)
        x1, y1 = self.points[:, :2].max(0)
        return float(x0), float(y0), float(x1), float(y1)


def _quiet_mediapipe() -> None:
    # MediaPipe's C++ logging floods stderr; users should see our messages, not its.
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _import_face_mesh():
    """mediapipe's package __init__ files import every solution and its drawing helpers
    (matplotlib: ~1 s). Register the two packages without running those files, then import
    the FaceMesh solution itself: same code and models, a third of the start-up time."""
    import importlib
    import importlib.util
    import sys
    import types

    if "mediapipe.python.solutions.face_mesh" not in sys.modules:
        spec = importlib.util.find_spec("mediapipe")
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("mediapipe is not installed")
        root = list(spec.submodule_search_locations)[0]
        for name, path in (("mediapipe", root),
                           ("mediapipe.python.solutions", os.path.join(root, "python", "solutions"))):
            if name not in sys.modules:
                pkg = types.ModuleType(name)
                pkg.__path__ = [path]
                sys.modules[name] = pkg
    return importlib.import_module("mediapipe.python.solutions.face_mesh")


class FaceMeshDetector:
    """FaceMesh on still images (static mode) or a video (tracking mode)."""

    def __init__(self, video: bool = False, max_faces: int = 4):
        _quiet_mediapipe()
        face_mesh = _import_face_mesh()

        with native_stderr_to_log():
            self._mesh = face_mesh.FaceMesh(
                static_image_mode=not video,
                max_num_faces=max_faces,
                refine_landmarks=True,  # 478 points: adds the irises
                min_detection_confidence=0.5,
                min_tracking_confidence=0.5,
            )
        self._warm = False

    def close(self) -> None:
        self._mesh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _run(self, rgb: np.ndarray) -> list[np.ndarray]:
        h, w = rgb.shape[:2]
        # The graph logs its set-up on the first frame only; later frames run uncaptured.
        with contextlib.nullcontext() if self._warm else native_stderr_to_log():
            result = self._mesh.process(np.ascontiguousarray(rgb))
        self._warm = True
        faces = []
        for lm in result.multi_face_landmarks or []:
            a = np.array([(p.x, p.y, p.z) for p in lm.landmark], dtype=np.float32)
            a[:, 0] *= w
            a[:, 1] *= h
            a[:, 2] *= w  # MediaPipe's z uses the same scale as x
            faces.append(a)
        return faces

    def track(self, rgb: np.ndarray) -> list[np.ndarray]:
        """Faces in one frame of a video (tracking mode: follows the face from the last frame),
        as (478, 3) arrays in pixels."""
        return self._run(rgb)

    def detect_all(self, rgb: np.ndarray) -> list[np.ndarray]:
        """All faces, as (478, 3) arrays in pixels of `rgb`, largest first."""
        import cv2

        h, w = rgb.shape[:2]
        scale = min(1.0, DETECT_MAX_SIDE / max(h, w))
        small = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA) \
            if scale < 1.0 else rgb
        faces = [f / np.float32(scale) for f in self._run(small)]
        if not faces and max(h, w) > 400:
            # The face detector wants faces that fill a good part of the frame: a small face in a
            # big photo is found by looking at overlapping crops.
            faces = self._detect_in_crops(rgb)
        faces.sort(key=lambda f: -np.ptp(f[:, 0]) * np.ptp(f[:, 1]))
        return faces

    def _detect_in_crops(self, rgb: np.ndarray) -> list[np.ndarray]:
        import cv2

        h, w = rgb.shape[:2]
        side = max(256, min(h, w) // 2)
        step = side // 2
        for y0 in range(0, max(1, h - side + step), step):
            for x0 in range(0, max(1, w - side + step), step):
                crop = rgb[y0:y0 + side, x0:x0 + side]
                scale = min(1.0, 640 / max(crop.shape[:2]))
                if scale < 1.0:
                    crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                found = self._run(crop)
                if found:
                    out = []
                    for f in found:
                        f = f / np.float32(scale)
                        f[:, 0] += x0
                        f[:, 1] += y0
                        out.append(f)
                    return out
        return []


def detect_face(rgb: np.ndarray, name: str = "image", detector: FaceMeshDetector | None = None) -> Face:
    """The largest face in an RGB image; NoFaceError when there is none."""
    own = detector is None
    detector = detector or FaceMeshDetector()
    try:
        faces = detector.detect_all(rgb)
    finally:
        if own:
            detector.close()
    if not faces:
        raise NoFaceError(name, "no face found",
                          "use a photo with one clearly visible, roughly frontal face")
    if len(faces) > 1:
        log.warning("%s: %d faces found; animating the largest one", name, len(faces))
    h, w = rgb.shape[:2]
    return Face(points=faces[0], image_size=(w, h), n_faces=len(faces))
