"""Composition: speech (mouth, jaw) + expression (whole face) + idle life -> final weights.

Shapes add, except where the face cannot do both at once; there speech wins, because a
mouth that stops articulating is noticed at once and an emotion still reads from the brows,
lids and cheeks:
- rounding (/uw ow w/: pucker, funnel) overrides the smile's and the stretch's pull on the
  lip corners;
- pressed lips (anger) and the raised chin (sadness) give way as the jaw opens;
- speech owns the jaw: the expression's jaw drop (AU26 of surprise, fear) is left out while
  speaking. Measured: held open it kept /p b m/ from closing; shown only in pauses it moved
  the jaw against the speech rhythm (lip-sync r on a quiet clip fell from 0.82 to -0.1).
  Surprise and fear still read from the brows and the widened eyes;
- a blink closes the lids through eyeWide (fear, surprise) and eyeSquint;
- last, bilabials re-close the lips on the final shape (a smile or frown moves the lips).
"""

from __future__ import annotations

import numpy as np

from bridge.motion import arkit
from bridge.motion.rig import Rig
from bridge.motion.speaking import close_bilabials
from bridge.speech.frames import SpeechFrames

I = arkit.INDEX
_ROUND = [I["mouthPucker"], I["mouthFunnel"]]
_CORNER_PULL = [I[n] for n in ("mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight",
                               "mouthDimpleLeft", "mouthDimpleRight")]
_NEED_CLOSED_JAW = [I[n] for n in ("mouthPressLeft", "mouthPressRight", "mouthShrugLower")]
_LIDS_OPEN = {"Left": [I["eyeWideLeft"], I["eyeSquintLeft"]], "Right": [I["eyeWideRight"], I["eyeSquintRight"]]}
JAW_FOR_OPEN = 0.3  # jawOpen at which a press or chin raise has fully given way


def compose(speech: np.ndarray, expression: np.ndarray, idle: np.ndarray, frames: SpeechFrames,
            rig: Rig, decoded: bool = False) -> np.ndarray:
    """(F, 52) each -> (F, 52) in 0..1."""
    out = blend(speech, expression, idle)
    close_bilabials(out, frames, rig, decoded=decoded)
    return np.clip(out, 0.0, 1.0)


def blend(speech: np.ndarray, expression: np.ndarray, idle: np.ndarray) -> np.ndarray:
    """Everything above but the bilabial closure (the streamed path closes the lips from its
    viseme classes instead of phones). (F, 52) each -> (F, 52) in 0..1."""
    expr = expression.astype(np.float32).copy()
    rounding = np.clip(speech[:, _ROUND].sum(1), 0, 1)
    expr[:, _CORNER_PULL] *= (1 - 0.8 * rounding)[:, None]
    jaw = speech[:, I["jawOpen"]]
    expr[:, _NEED_CLOSED_JAW] *= np.clip(1 - jaw / JAW_FOR_OPEN, 0, 1)[:, None]
    out = speech + expr + idle
    out[:, I["jawOpen"]] = jaw
    for side, cols in _LIDS_OPEN.items():
        out[:, cols] *= (1 - np.clip(idle[:, I["eyeBlink" + side]], 0, 1))[:, None]
    return np.clip(out, 0.0, 1.0)
