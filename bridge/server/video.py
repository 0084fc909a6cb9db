"""Rendered frames for one avatar, on its own thread, newest first.

Rendering costs milliseconds per frame (the warp renderer; the generator about 20 ms at 256 px), so it
runs beside the motion, not in it: the session queues each motion frame's landmarks with the
time it falls due, and this thread renders frames as they fall due. When rendering falls
behind (a big image, a busy machine) by more than MAX_LATE_S, it skips the late frames to
the newest due one: video must stay on the audio clock, and a late frame is worth nothing.
Motion frames are never dropped for video's sake.
"""

from __future__ import annotations

import logging
import threading
import time

import cv2
import numpy as np

from bridge.protocol import VideoFrame

log = logging.getLogger(__name__)
DEFAULT_SIDE = 512
MAX_LATE_S = 0.1  # a frame this late is skipped when a newer one is due (a streamed chunk's frames come due together)


class VideoPacer:
    def __init__(self, avatar, name: str, post, side: int = DEFAULT_SIDE, kind: str = "warp"):
        from bridge.render import make_renderer

        h, w = avatar.image.shape[:2]
        self.scale = min(1.0, side / max(h, w))
        size = (max(1, round(w * self.scale)), max(1, round(h * self.scale)))
        image = avatar.image if self.scale == 1.0 else cv2.resize(avatar.image, size, interpolation=cv2.INTER_AREA)
        points = avatar.points.copy()
        points[:, :2] *= self.scale
        # Two onnxruntime threads for the generator: one render thread alone cannot keep a
        # 30 fps stream under 100 ms (bench/daemon.py --rendered-only: p50 107 ms with one).
        self.renderer = make_renderer(kind, image, points, threads=2)
        self.size = list(size)  # [width, height]
        self.name, self.post = name, post
        self.pending: list = []  # (due, seq, pts, utterance, landmarks, final), in due order
        self.cond = threading.Condition()
        self.closed = False
        self.seq = 0
        self.rendered = self.dropped = 0
        self.thread = threading.Thread(target=self._run, name=f"video-{name}", daemon=True)
        self.thread.start()

    def add(self, items) -> None:
        """Queue frames, in due order: (due (monotonic s), pts, utterance, landmarks (478, 3) in
        image pixels, final)."""
        with self.cond:
            self.pending.extend(items)
            self.cond.notify()

    def clear(self) -> None:
        with self.cond:
            self.pending.clear()

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.pending.clear()
            self.cond.notify()

    def _run(self) -> None:
        while True:
            with self.cond:
                while not self.closed and (not self.pending or self.pending[0][0] > time.monotonic()):
                    wait = None if not self.pending else max(0.0, self.pending[0][0] - time.monotonic())
                    self.cond.wait(wait)
                if self.closed:
                    return
                now = time.monotonic()
                k = 0  # frames more than MAX_LATE_S late are skipped while a newer one is due
                while k + 1 < len(self.pending) and self.pending[k][0] < now - MAX_LATE_S \
                        and self.pending[k + 1][0] <= now:
                    k += 1
                self.dropped += k
                _due, pts, utterance, landmarks, final = self.pending[k]
                del self.pending[:k + 1]
            try:
                pixels = self.renderer.render(landmarks * np.array([self.scale, self.scale, 1.0], np.float32))
            except Exception:  # a renderer bug must not stop the avatar's motion
                log.exception("video %s: rendering failed", self.name)
                continue
            self.seq += 1
            self.rendered += 1
            self.post("video", None, None, frame=VideoFrame(avatar=self.name, seq=self.seq, pts=pts, t_ns=0,
                                                            utterance=utterance, pixels=pixels, final=final))
