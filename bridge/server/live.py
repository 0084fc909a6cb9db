"""An avatar driven from inside the process rather than by requests: `capture`'s camera
performer or `play`'s animation file, published by an embedded daemon to its subscribers
and taps like any other avatar.

Its frames are posted to the daemon's loop (the only thread that sends), due at once: the
source already paces them on its own clock.
"""

from __future__ import annotations

import threading
import time

from bridge.protocol import Frame


class LiveAvatar:
    live = True  # the daemon refuses speak/listen for it

    def __init__(self, name: str, image_size: tuple[int, int], mode: str, post):
        self.name, self.mode = name, mode
        self.image_size = list(image_size)
        self.post = post
        self.avatar = self  # "created": requests that name it are accepted
        self.video = None
        self.cancelled = threading.Event()
        self.utterance = 1
        self.seq = 0

    def push(self, frame: Frame) -> None:
        """Publish a frame now (its seq is set here; call from one thread)."""
        frame.seq, self.seq = self.seq, self.seq + 1
        self.post("frames", None, None, due=time.monotonic(), frames=[frame], session=self)

    def describe(self) -> dict:
        return {"image_size": self.image_size, "video": False, "mode": self.mode, "utterance": self.utterance,
                "emotion": None}

    def submit(self, job) -> bool:
        return False

    def close(self) -> None:
        self.cancelled.set()
