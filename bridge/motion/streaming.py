"""Speaking from streamed audio: motion for each chunk as it arrives, for low latency.

The whole-clip path waits for all the audio (phones are decoded or aligned over the whole
utterance). A stream cannot wait, so this path uses what a chunk itself carries: the
mid-band opening cue (`speech.frames`), normalised by the stream's running noise floor and
speech level instead of the whole clip's, smoothed causally. Expression (a fixed emotion:
`set_emotion` or the request's `emotion`) and idle life are added as in `compose`. No phones:
lip shapes (rounding, bilabial closure) need the whole-clip path.

Latency is the chunk's own processing plus at most one 25 ms analysis window of look-ahead.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from bridge.motion import arkit
from bridge.motion.idle import idle
from bridge.motion.speaking import JAW_GAIN, PHONE_JAW_SHARE
from bridge.speech.audio import RATE
from bridge.speech.frames import HOP_S, OPENING_GAMMA, WIN, _mid_band_db, _relative

HOP = int(HOP_S * RATE)
PAD = (WIN - HOP) // 2
HISTORY_HOPS = 1000  # the running floor / speech level look back 10 s
SMOOTH_S = 0.04  # causal smoothing of the opening (the whole-clip path uses a 40 ms Gaussian)
IDLE_BLOCK_S = 60.0  # idle life is generated a minute at a time
# Without phones, the phone-openness term takes its mean value.
JAW_SCALE = JAW_GAIN * ((1 - PHONE_JAW_SHARE["decoded"]) + PHONE_JAW_SHARE["decoded"] * 0.5)


class StreamingSpeaker:
    def __init__(self, rate: int, fps: float, expression: np.ndarray | None = None, seed: int = 0):
        import soxr

        self.fps, self.seed = fps, seed
        self.resampler = None if rate == RATE else soxr.ResampleStream(rate, RATE, 1, dtype="float32")
        self.x = np.zeros(0, np.float32)  # 16 kHz samples not yet fully analysed (+ context)
        self.x_offset = 0  # absolute index of self.x[0]
        self.hops_done = 0
        self.history: deque = deque(maxlen=HISTORY_HOPS)
        self.opening: list[float] = []  # per hop, from hop `opening_base` on (older ones are dropped)
        self.opening_base = 0
        self.smoothed = 0.0
        self.frames_done = 0
        self.expression = np.zeros(arkit.N, np.float32) if expression is None else expression
        self._idle_block = -1
        self._idle = None

    def push(self, samples: np.ndarray, final: bool = False) -> list[tuple[float, np.ndarray, np.ndarray]]:
        """Add a chunk; return the frames it completes: (pts, weights (52,), head_pose (6,))."""
        x = np.asarray(samples, np.float32)
        if self.resampler is not None:
            x = self.resampler.resample_chunk(x, last=final)
        self.x = np.concatenate([self.x, x])
        total = self.x_offset + len(self.x)
        # Hop h's window (centred on it, as in the whole-clip envelope) ends at h*HOP - PAD + WIN.
        ready = (total - WIN + PAD) // HOP + 1 if not final else total // HOP
        if ready > self.hops_done:
            self._analyse(self.hops_done, ready)
        # Frames whose centre time is covered by analysed hops.
        t_ready = self.hops_done * HOP_S if not final else float("inf")
        out = []
        while True:
            t = (self.frames_done + 0.5) / self.fps
            if t > t_ready or (final and self.frames_done >= int(np.ceil(total / RATE * self.fps))):
                break
            out.append(self._frame(self.frames_done, t))
            self.frames_done += 1
        # Drop the hops no later frame can use: a stream may run for hours.
        next_hop = int((self.frames_done + 0.5) / self.fps / HOP_S)
        cut = min(next_hop, self.hops_done) - 1 - self.opening_base
        if cut > 0:
            del self.opening[:cut]
            self.opening_base += cut
        return out

    def _analyse(self, h0: int, h1: int) -> None:
        # Start one hop early so hop h0's window gets its real left context (PAD < HOP), then
        # drop that extra hop; at the very start the window is zero-padded, as for a clip.
        back = 1 if h0 > 0 else 0
        a = (h0 - back) * HOP - self.x_offset
        db = _mid_band_db(self.x[a:], h1 - h0 + back, HOP)[back:]
        alpha = 1 - np.exp(-HOP_S / SMOOTH_S)
        for v in db:
            self.history.append(float(v))
            hist = np.fromiter(self.history, np.float32)
            floor = float(np.percentile(hist, 10))
            loud = hist[hist > floor + 10]
            speech = float(np.percentile(loud, 75)) if len(loud) else float(hist.max())
            o = float(_relative(np.array([v], np.float32), floor, speech)[0]) ** OPENING_GAMMA
            self.smoothed += alpha * (o - self.smoothed)
            self.opening.append(self.smoothed)
        self.hops_done = h1
        # Keep only what the next call needs: from one hop before the next hop to analyse.
        keep_from = (self.hops_done - 1) * HOP - self.x_offset
        if keep_from > 0:
            self.x = self.x[keep_from:]
            self.x_offset += keep_from

    def _frame(self, f: int, t: float):
        hop = min(self.hops_done - 1, int(t / HOP_S)) - self.opening_base
        opening = self.opening[hop] if self.opening and hop >= 0 else 0.0
        w = self.expression.copy()
        block = int(f / (IDLE_BLOCK_S * self.fps))
        if block != self._idle_block:
            n = int(IDLE_BLOCK_S * self.fps)
            self._idle, self._idle_block = idle(n, self.fps, seed=self.seed + block), block
        i = f - block * int(IDLE_BLOCK_S * self.fps)
        w += self._idle.weights[i]
        w[arkit.INDEX["jawOpen"]] = JAW_SCALE * opening
        return t - 0.5 / self.fps, np.clip(w, 0, 1).astype(np.float32), self._idle.head_pose[i].astype(np.float32)
