"""`facebridge capture`: a webcam (or a video file played as one) drives the outputs live.

    camera frame -> FaceMesh (tracking mode) -> PerformanceSolver (the rig's solver, as in
    `reenact`) -> 52 ARKit weights + head pose -> Frame (mode "performing") -> sink

The sink is the outputs (Live Link Face, VMC) directly, or an embedded daemon's live avatar
(`--serve`) that engine clients subscribe to and that feeds the same outputs and the
browser monitor. `--out DIR` also records animation.json.

The rest face is calibrated from the first CALIBRATE_S of tracked frames (look at the camera
with a relaxed face); until then the first frame stands in for it. A lost face holds its
last pose, then eases to rest, as `reenact` does.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field

import numpy as np

from bridge.errors import InputError
from bridge.motion import arkit

log = logging.getLogger(__name__)
CALIBRATE_S = 1.0
CAMERA_SIZE = (640, 480)


# ---------------------------------------------------------------- sources
class CameraSource:
    """An OpenCV capture device by index. Frames come at the camera's pace."""

    def __init__(self, index: int, size=CAMERA_SIZE, fps: float = 30.0):
        import cv2

        from bridge.native import native_stderr_to_log

        self.name = f"--camera {index}"
        with native_stderr_to_log():  # OpenCV's own warnings about a missing device
            self.cap = cv2.VideoCapture(index)
            ok = self.cap.isOpened()
        if not ok:
            self.cap.release()
            raise InputError(self.name, "no such camera (OpenCV cannot open it)",
                             "check the index (0 is the first camera; on Linux, ls /dev/video*) or pass a video file")
        self.cap.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
        self.cap.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
        self.cap.set(cv2.CAP_PROP_FPS, fps)
        self.fps = float(self.cap.get(cv2.CAP_PROP_FPS) or fps)
        self.size = (int(self.cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self.cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        self.realtime = True

    def frames(self):
        """-> (time read (monotonic s), RGB uint8) until the camera stops."""
        import cv2

        while True:
            ok, bgr = self.cap.read()
            if not ok:
                return
            yield time.monotonic(), cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        self.cap.release()


class FileSource:
    """A video file as the camera. realtime: frames come at the file's rate, and when the
    consumer falls behind, late frames are skipped as a camera would drop them; otherwise
    every frame, as fast as it is consumed."""

    def __init__(self, path: str, realtime: bool):
        import av

        self.name = f"--camera {path}"
        if not os.path.isfile(path):
            raise InputError(self.name, "no such file or camera", "pass a camera index (0) or a video file")
        if os.path.getsize(path) == 0:
            raise InputError(self.name, "is empty (0 bytes)", "pass a video file (MP4, MOV, WebM…)")
        try:
            self.container = av.open(path)
            stream = self.container.streams.video[0]
        except Exception as e:  # PyAV raises its own types for files it cannot read
            raise InputError(self.name, f"cannot be read as a video ({type(e).__name__})",
                             "pass an MP4, MOV or WebM file") from None
        self.fps = float(stream.average_rate or 30)
        self.size = (stream.codec_context.width, stream.codec_context.height)
        self.realtime = realtime
        self.skipped = 0

    def frames(self):
        t0 = None
        try:
            for i, frame in enumerate(self.container.decode(video=0)):
                if self.realtime:
                    t0 = t0 or time.monotonic()
                    due = t0 + i / self.fps
                    now = time.monotonic()
                    if now > due + 1.0 / self.fps:  # the camera would have dropped it
                        self.skipped += 1
                        continue
                    if due > now:
                        time.sleep(due - now)
                yield time.monotonic(), frame.to_ndarray(format="rgb24")
        except Exception as e:
            if isinstance(e, GeneratorExit):
                raise
            raise InputError(self.name, f"stopped decoding ({type(e).__name__})", "check the file") from None

    def close(self) -> None:
        self.container.close()


def open_source(camera: str, realtime: bool):
    if camera.strip().isdigit():
        return CameraSource(int(camera))
    return FileSource(camera, realtime)


# ---------------------------------------------------------------- the performer
@dataclass
class Performer:
    """Tracked frames -> solved weights and head pose, with calibration and lost-face easing."""

    fps: float
    solver: object = None
    calibration: list = field(default_factory=list)
    calibrated: bool = False
    last: tuple | None = None  # (weights, head_pose, landmarks) of the last tracked frame
    lost_s: float = 0.0
    background: bool = True  # build the calibrated solver on a thread (live); False: at once (repeatable)
    _building: object = None  # the calibrated solver, being built on a thread

    def _calibrate(self, points: np.ndarray) -> None:
        """Collect the first CALIBRATE_S of faces; their rest shape's solver is built on a
        thread (a rig takes ~0.2 s to build: a live stream must not stall for it) and replaces
        the provisional one when ready."""
        import concurrent.futures

        from bridge.face.align import FaceFrame
        from bridge.motion.performance import PerformanceSolver, rest_shape

        if self._building is not None:
            if self._building.done():
                self.solver, self.calibrated, self._building = self._building.result(), True, None
            return
        frame = FaceFrame.from_points(points)
        self.calibration.append(frame.to_aligned(points))
        if len(self.calibration) >= max(1, round(CALIBRATE_S * self.fps)):
            rest, ref = rest_shape(np.array(self.calibration)), self.solver.reference
            self.calibration = []
            if not self.background:
                self.solver, self.calibrated = PerformanceSolver(rest, ref), True
                return
            pool = concurrent.futures.ThreadPoolExecutor(1)
            self._building = pool.submit(PerformanceSolver, rest, ref)
            pool.shutdown(wait=False)

    def step(self, points: np.ndarray | None):
        """points: (478, 3) pixels or None (no face) -> (weights, head_pose, landmarks or None)."""
        from bridge.face.align import FaceFrame
        from bridge.motion.performance import PerformanceSolver
        from bridge.reenact import lost_blend

        if points is None:
            self.lost_s += 1.0 / self.fps
            if self.last is None:
                return np.zeros(arkit.N), np.zeros(6), None
            k = lost_blend(self.lost_s)
            w, pose, lm = self.last
            return (1 - k) * w, (1 - k) * pose, lm if k < 1 else None
        self.lost_s = 0.0
        if self.solver is None:
            frame = FaceFrame.from_points(points)
            self.solver = PerformanceSolver(frame.to_aligned(points), frame)
        if not self.calibrated:
            self._calibrate(points)
        s = self.solver.solve(points)
        # Landmarks from the rig (what engines see), posed back into the picture.
        lm = s.frame.to_image(((self.solver.rig.apply(s.weights[None])[0] - s.translation) @ s.rotation) / s.scale)
        self.last = (s.weights, s.head_pose, lm)
        return s.weights, s.head_pose, lm


@dataclass
class Recording:
    """What capture records for animation.json (write_animation's fields)."""

    fps: float
    image_size: tuple[int, int]
    weights: list = field(default_factory=list)
    poses: list = field(default_factory=list)
    marks: list = field(default_factory=list)
    mode: str = "performing"
    names: list = field(default_factory=lambda: list(arkit.NAMES))
    emotion: None = None
    phones: tuple = ()
    transcript: str = ""
    events: tuple = ()

    def add(self, weights, pose, landmarks) -> None:
        self.weights.append(np.asarray(weights, np.float32))
        self.poses.append(np.asarray(pose, np.float32))
        if landmarks is None:  # rest: the previous landmarks eased out are gone; keep the last known
            landmarks = self.marks[-1] if self.marks else np.zeros((478, 3), np.float32)
        self.marks.append(np.asarray(landmarks, np.float32))

    @property
    def n_frames(self) -> int:
        return len(self.weights)

    @property
    def duration_s(self) -> float:
        return self.n_frames / self.fps

    def landmarks(self, f0: int = 0, f1: int | None = None) -> np.ndarray:
        return np.array(self.marks[f0:f1])

    def finish(self) -> "Recording":
        self.weights, self.head_pose = np.array(self.weights).reshape(-1, arkit.N), np.array(self.poses).reshape(-1, 6)
        return self


@dataclass
class CaptureStats:
    frames: int = 0
    lost: int = 0
    seconds: float = 0.0
    track_ms: list = field(default_factory=list)  # tracking alone, per frame
    latency_ms: list = field(default_factory=list)  # frame read -> sent to the outputs

    def summary(self) -> str:
        fps = self.frames / self.seconds if self.seconds else 0.0
        lat = np.percentile(self.latency_ms, [50, 99]) if self.latency_ms else (0, 0)
        return (f"{self.frames} frames in {self.seconds:.1f} s ({fps:.1f} frames/s), read -> sent p50 {lat[0]:.1f} ms "
                f"p99 {lat[1]:.1f} ms" + (f", face lost on {self.lost}" if self.lost else ""))


def run_capture(source, sink, name: str = "performer", record: Recording | None = None,
                max_frames: int | None = None, progress=None) -> CaptureStats:
    """Track, solve and send every frame of `source` to sink(Frame), until the source ends,
    max_frames, or Ctrl-C (what was captured is kept). Returns the stats."""
    from bridge.face import FaceMeshDetector

    stats = CaptureStats()
    performer = Performer(fps=source.fps, background=source.realtime)
    t_start = time.monotonic()
    with FaceMeshDetector(video=True, max_faces=1) as det:
        try:
            for t_read, rgb in source.frames():
                _capture_frame(det, performer, rgb, t_read, sink, name, record, stats)
                if progress:
                    progress(stats, performer)
                if max_frames and stats.frames >= max_frames:
                    break
        except KeyboardInterrupt:
            pass
    stats.seconds = time.monotonic() - t_start
    if stats.frames == 0:
        raise InputError(source.name, "gave no frames", "check the camera or file")
    if stats.lost == stats.frames:
        raise InputError(source.name, "no face found in any frame", "face the camera, with the face lit and in view")
    return stats


def _capture_frame(det, performer, rgb, t_read, sink, name, record, stats) -> None:
    from bridge.protocol import Frame

    t0 = time.perf_counter()
    faces = det.track(rgb)
    stats.track_ms.append((time.perf_counter() - t0) * 1000)
    points = faces[0] if faces else None
    stats.lost += points is None
    weights, pose, lm = performer.step(points)
    frame = Frame(avatar=name, kind="anim", seq=stats.frames, pts=stats.frames / performer.fps, t_ns=time.time_ns(),
                  mode="performing", utterance=1, emotion="neutral", blendshapes=np.asarray(weights, np.float32),
                  head_pose=np.asarray(pose, np.float32), landmarks=None if lm is None else np.asarray(lm, np.float32))
    sink(frame)
    stats.latency_ms.append((time.monotonic() - t_read) * 1000)
    if record is not None:
        record.add(weights, pose, lm)
    stats.frames += 1
