"""One listening character fed the user's audio in chunks: hearing -> behaviour -> frames.

The only way listening motion is made: `animate --mode listening` and `converse` feed a
file through it in 100 ms chunks, the daemon feeds `listen` chunks as they arrive.
"""

from __future__ import annotations

import numpy as np
import soxr

from bridge.listening.hearing import Hearing
from bridge.motion import arkit
from bridge.motion.listening import Listener, ListeningParams
from bridge.speech.audio import RATE

FILE_CHUNK_S = 0.1


class ListeningStream:
    def __init__(self, rate: int, fps: float, seed: int = 0, words=None, reader=None, background: bool = False,
                 params: ListeningParams | None = None, mood: np.ndarray | None = None):
        """rate: the samples' rate; words, reader, background: see Hearing; mood: (52,)
        weights the character shows throughout (its own emotion), under the reactions."""
        self.hearing = Hearing(words, reader, background)
        self.listener = Listener(fps, seed, params)
        self.resampler = None if rate == RATE else soxr.ResampleStream(rate, RATE, 1, dtype="float32")
        self.mood = mood
        # A file keeps everything heard and every event (animation.json lists them); a live
        # stream (background) hands events on with new_events() and keeps nothing, so an
        # hour of listening holds no growing lists.
        self.keep = not background
        self.heard = []  # everything heard, in order (a file's transcript)
        self.sent_events = 0

    @property
    def fps(self) -> float:
        return self.listener.fps

    def push(self, samples: np.ndarray, final: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """A chunk of the user's audio -> the frames it completes: (F, 52), (F, 6)."""
        # Hostile or broken input (NaN, inf, way out of range) is heard as what it would sound like.
        x = np.clip(np.nan_to_num(np.asarray(samples, np.float32), nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)
        if self.resampler is not None:
            x = self.resampler.resample_chunk(x, last=final)
        heard = self.hearing.push(x)
        until = self.hearing.now
        if final:  # the last partial VAD window still counts as time heard
            until += len(self.hearing.pending) / RATE
        return self._render(heard, until)

    def advance(self, until_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Frames up to until_s with nothing more heard (e.g. up to the character's turn)."""
        return self._render([], until_s)

    def _render(self, heard, until: float):
        ws, ps = [], []
        # Each event reaches the behaviour at the moment it became known, so a frame never
        # depends on how the audio was chunked.
        for h in sorted(heard, key=lambda h: h.at):
            w, p = self.listener.frames(h.at)
            ws.append(w)
            ps.append(p)
            self.listener.hear(h)
            if self.keep:
                self.heard.append(h)
        w, p = self.listener.frames(until)
        ws.append(w)
        ps.append(p)
        w, p = np.concatenate(ws), np.concatenate(ps)
        if self.mood is not None and len(w):
            w = np.clip(w + self.mood[None, :], 0, 1)
            w[:, arkit.INDEX["jawOpen"]] = np.minimum(w[:, arkit.INDEX["jawOpen"]], 0.05)
        return w, p

    def new_events(self) -> list:
        """Events decided since the last call (the daemon puts them in frame headers)."""
        out = self.listener.events[self.sent_events:]
        if self.keep:
            self.sent_events = len(self.listener.events)
        else:
            del self.listener.events[:]
        return out

    def close(self) -> None:
        self.hearing.close()


def listen_to_file(samples: np.ndarray, fps: float, seed: int = 0, words=None, reader=None,
                   params: ListeningParams | None = None, mood: np.ndarray | None = None,
                   progress=None, turn_at: float | None = None) -> tuple[np.ndarray, np.ndarray, ListeningStream]:
    """16 kHz samples -> (F, 52), (F, 6) for exactly ceil(duration * fps) frames; with
    turn_at, the character's own turn follows at that time."""
    stream = ListeningStream(RATE, fps, seed, words=words, reader=reader, params=params, mood=mood)
    if turn_at is not None:
        stream.listener.turn_at_time(turn_at)
    n = max(1, int(np.ceil(len(samples) / RATE * fps)))
    step = int(FILE_CHUNK_S * RATE)
    ws, ps = [], []
    for s0 in range(0, max(1, len(samples)), step):
        w, p = stream.push(samples[s0:s0 + step], final=s0 + step >= len(samples))
        ws.append(w)
        ps.append(p)
        if progress:
            progress(min(1.0, (s0 + step) / max(1, len(samples))))
    w, p = stream.advance(n / fps + 0.5 / fps)
    ws.append(w)
    ps.append(p)
    w, p = np.concatenate(ws)[:n], np.concatenate(ps)[:n]
    stream.close()
    return w, p, stream
