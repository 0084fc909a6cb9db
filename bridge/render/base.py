"""The renderer interface: face image + per-frame landmarks -> frames.

The warp renderer implements it now; the trained generator will implement it too."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Renderer(Protocol):
    def render(self, landmarks: np.ndarray) -> np.ndarray:
        """(478, 3) landmarks in input-image pixels -> RGB uint8 frame of the image's size."""
