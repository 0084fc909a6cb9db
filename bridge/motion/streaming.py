"""Speaking from streamed audio: motion for each chunk as it arrives, for low latency.

The whole-clip path waits for all the audio (phones are decoded or aligned over the whole
utterance). A stream cannot wait, so every 10 ms hop this path takes:
- the jaw from the mid-band opening cue (`speech.frames`), normalised by the stream's running
  noise floor and speech level instead of the whole clip's, smoothed causally;
- the lip shapes from the viseme class the network reads from the sound (rounded, spread,
  closed…; `speech.viseme_net`), each class's mouth target weighted by its probability and
  smoothed causally, the jaw modulated by the class's openness as decoded phones do;
- the lips closed on /p b m/ as far as the class is sure and the sound is quiet.
Expression (a fixed emotion: `set_emotion` or the request's `emotion`) and idle life are
blended as in `compose`.

Latency: the chunk's own processing, plus the network's 20 ms of look-ahead, plus half of a
25 ms analysis window.
"""

from __future__ import annotations

import numpy as np

from bridge.motion import arkit, visemes
from bridge.motion.compose import blend
from bridge.motion.idle import idle
from bridge.smooth import causal_ema
from bridge.motion.speaking import JAW_GAIN, OPEN_VOWEL_JAW, PHONE_JAW_SHARE, closure_needed
from bridge.speech import viseme_net as vn
from bridge.speech.audio import RATE
from bridge.speech.frames import HOP_S, OPENING_GAMMA, WIN, RunningLevel

HOP = int(HOP_S * RATE)
PAD = (WIN - HOP) // 2
SMOOTH_S = 0.04  # causal smoothing of the opening (the whole-clip path uses a 40 ms Gaussian)
SHAPE_SMOOTH_S = 0.03  # causal smoothing of the class probabilities
CLOSE_SMOOTH_S = 0.01  # the lips close fast: the /p b m/ probability is barely smoothed
CLOSE_GAIN = 1.5  # a /p b m/ probability of 2/3 closes the lips fully
IDLE_BLOCK_S = 60.0  # idle life is generated a minute at a time
SHARE = PHONE_JAW_SHARE["decoded"]  # the classes are guesses, as decoded phones are
# Without classes (phones=False: the benchmark's baseline), the openness term takes its mean.
JAW_SCALE_NO_CLASSES = JAW_GAIN * ((1 - SHARE) + SHARE * 0.5)

_MOUTH = np.array([arkit.INDEX[n] for n in visemes.MOUTH_SHAPES])
_JAW, _CLOSE = arkit.INDEX["jawOpen"], arkit.INDEX["mouthClose"]
_BMP = visemes.CLASS_NAMES.index("BMP")


def _class_matrix() -> np.ndarray:
    """(classes, 52): each viseme class's mouth target."""
    m = np.zeros((len(visemes.CLASS_NAMES), arkit.N), np.float32)
    for k, target in enumerate(visemes.class_targets().values()):
        for name, v in target.items():
            m[k, arkit.INDEX[name]] = v
    return m


class StreamingSpeaker:
    def __init__(self, rate: int, fps: float, expression: np.ndarray | None = None, seed: int = 0,
                 rig=None, phones: bool = True):
        import soxr

        self.fps, self.seed, self.rig = fps, seed, rig
        self.net = vn.default_viseme_net() if phones else None
        if phones:
            from bridge.speech.mouth import StreamMouth

            self.stream_mouth = StreamMouth()
        self.targets = _class_matrix()
        self.resampler = None if rate == RATE else soxr.ResampleStream(rate, RATE, 1, dtype="float32")
        self.x = np.zeros(0, np.float32)  # 16 kHz samples not yet fully analysed (+ context)
        self.x_offset = 0  # absolute index of self.x[0]
        self.hops_done = 0  # hops with spectra
        self.level = RunningLevel()
        self.opening_s = 0.0
        # Per hop, from hop `base` on (older ones are dropped): smoothed opening, unsmoothed
        # opening, mouth row, /p b m/ probability.
        self.opening: list[float] = []
        self.quiet: list[float] = []
        self.levels: list[float] = []  # running mid-band level per analysed hop
        self.fused: list[float] = []  # the mouth model's opening per classified hop
        self.mouth: list[np.ndarray] = []
        self.bmp: list[float] = []
        self.base = 0
        self.probs_s = None
        self.bmp_s = 0.0
        self.feats = vn.pad_context(np.zeros((0, vn.PER_HOP), np.float32), after=False)  # PAST hops of context
        self.classified = 0  # hops with class probabilities
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
        self._classify(final)
        # Frames whose centre falls in a classified hop (all of them at the end). The test is
        # on the hop index, the same one _frames reads, so chunking never changes a frame.
        n_final = int(np.ceil(total / RATE * self.fps))
        todo = []
        while True:
            t = (self.frames_done + len(todo) + 0.5) / self.fps
            if (not final and int(t / HOP_S) >= self.classified) or (final and self.frames_done + len(todo) >= n_final):
                break
            todo.append(t)
        out = self._frames(todo) if todo else []
        self.frames_done += len(todo)
        # Drop the hops no later frame can use: a stream may run for hours.
        next_hop = int((self.frames_done + 0.5) / self.fps / HOP_S)
        cut = min(next_hop, self.classified) - 1 - self.base
        if cut > 0:
            del self.opening[:cut], self.quiet[:cut], self.mouth[:cut], self.bmp[:cut], self.levels[:cut]
            del self.fused[:cut]
            self.base += cut
        return out

    def _analyse(self, h0: int, h1: int) -> None:
        """Spectra of hops h0..h1: the opening cue, and the network's features."""
        # Start one hop early so hop h0's window gets its real left context (PAD < HOP), then
        # drop that extra hop; at the very start the window is zero-padded, as for a clip.
        back = 1 if h0 > 0 else 0
        a = (h0 - back) * HOP - self.x_offset
        mel, mid = vn.hop_spectra(self.x[a:], h1 - h0 + back)
        mel, mid = mel[back:], mid[back:]
        levels = np.array([self.level.push(v) for v in mid], np.float32)
        opening = levels.astype(np.float64) ** OPENING_GAMMA
        smoothed, self.opening_s = causal_ema(opening, 1 - np.exp(-HOP_S / SMOOTH_S), self.opening_s)
        self.opening += smoothed.tolist()
        self.quiet += opening.tolist()
        self.levels += levels.tolist()
        self.feats = np.concatenate([self.feats, vn.hop_features(mel, levels)])
        self.hops_done = h1
        # Keep only what the next call needs: from one hop before the next hop to analyse.
        keep_from = (self.hops_done - 1) * HOP - self.x_offset
        if keep_from > 0:
            self.x = self.x[keep_from:]
            self.x_offset += keep_from

    def _classify(self, final: bool) -> None:
        """Class probabilities of the hops whose look-ahead has arrived (all of them at the end)."""
        h1 = self.hops_done if final else self.hops_done - vn.FUTURE
        if h1 <= self.classified:
            return
        # self.feats holds PAST hops before hop `classified`, then everything analysed since.
        feats = vn.pad_context(self.feats, before=False) if final else self.feats
        n = h1 - self.classified
        if self.net is not None:
            probs = self.net(vn.windows(feats, vn.PAST, vn.PAST + n))
            h0 = self.classified - self.base
            self.fused += self.stream_mouth.push(self.opening[h0:h0 + n], self.levels[h0:h0 + n], probs).tolist()
        else:
            probs = np.zeros((n, len(visemes.CLASS_NAMES)), np.float32)
        smoothed, self.probs_s = causal_ema(probs, 1 - np.exp(-HOP_S / SHAPE_SMOOTH_S), self.probs_s)
        bmp, self.bmp_s = causal_ema(probs[:, _BMP], 1 - np.exp(-HOP_S / CLOSE_SMOOTH_S), self.bmp_s)
        self.mouth += list((smoothed @ self.targets).astype(np.float32))
        self.bmp += bmp.tolist()
        self.classified = h1
        self.feats = self.feats[n:]

    def _frames(self, times: list[float]) -> list[tuple[float, np.ndarray, np.ndarray]]:
        n = len(times)
        hops = [min(self.classified - 1, int(t / HOP_S)) - self.base for t in times]
        source = self.fused if self.net is not None else self.opening
        opening = np.array([source[h] if source and h >= 0 else 0.0 for h in hops], np.float32)
        speech = np.zeros((n, arkit.N), np.float32)
        if self.net is not None:
            speech[:] = [self.mouth[h] if h >= 0 else np.zeros(arkit.N) for h in hops]
            phone_open = np.clip(speech[:, _JAW] / OPEN_VOWEL_JAW, 0, 1)
            speech[:, _JAW] = JAW_GAIN * opening * ((1 - SHARE) + SHARE * phone_open)
        else:
            speech[:, _JAW] = JAW_SCALE_NO_CLASSES * opening
        idle_w, pose = self._idle_rows(self.frames_done, n)
        expr = np.repeat(self.expression[None].astype(np.float32), n, 0)
        out = blend(speech, expr, idle_w)
        if self.net is not None and self.rig is not None:
            # /p b m/ as far as the class is sure and the sound is quiet now (a real closure is
            # quiet in the mid band), as for decoded phones.
            bmp = np.array([self.bmp[h] if h >= 0 else 0.0 for h in hops], np.float32)
            quiet = np.array([self.quiet[h] if h >= 0 else 0.0 for h in hops], np.float32)
            amount = np.clip(CLOSE_GAIN * bmp, 0, 1) * np.clip(1.0 - quiet / 0.8, 0.0, 1.0)
            out[:, _CLOSE] = np.maximum(out[:, _CLOSE], closure_needed(out, self.rig) * amount)
        out = np.clip(out, 0, 1).astype(np.float32)
        return [(t - 0.5 / self.fps, out[i], pose[i]) for i, t in enumerate(times)]

    def _idle_rows(self, f0: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        per_block = int(IDLE_BLOCK_S * self.fps)
        w, pose = np.zeros((n, arkit.N), np.float32), np.zeros((n, 6), np.float32)
        for i in range(n):
            f = f0 + i
            block = f // per_block
            if block != self._idle_block:
                self._idle, self._idle_block = idle(per_block, self.fps, seed=self.seed + block), block
            w[i], pose[i] = self._idle.weights[f - block * per_block], self._idle.head_pose[f - block * per_block]
        return w, pose
