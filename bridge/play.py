"""`facebridge play`: an animation.json replayed in real time to the outputs, for
previsualisation on set: Live Link Face, VMC, and (with --serve) the embedded daemon's
subscribers and browser monitor. With --audio, the sound plays too and is the clock.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass

import numpy as np

from bridge.errors import InputError
from bridge.motion import arkit

MAX_FILE_BYTES = 2 << 30  # animation.json of about 2 hours at 30 fps


@dataclass
class Playable:
    fps: float
    weights: np.ndarray  # (F, 52), canonical order
    head_pose: np.ndarray  # (F, 6)
    landmarks: np.ndarray | None  # (F, 478, 3) or None
    labels: list[str]  # per frame: the dominant emotion
    mode: str  # the file's: speaking, listening, conversation, performing
    image_size: tuple[int, int]
    modes: list[str] | None = None  # per frame (a conversation's turns); None: `mode` throughout
    events: list[list[dict] | None] | None = None  # per listening frame: the events starting in it

    @property
    def n_frames(self) -> int:
        return len(self.weights)


def load_playable(path: str) -> Playable:
    """Read and check an animation.json (format: DESIGN.md). Blendshapes are mapped by name,
    so files with another order or a subset of the 52 names play too."""
    name = f"animation {path}"
    if not os.path.isfile(path):
        raise InputError(name, "file not found", "pass DIR/animation.json from facebridge animate or capture")
    size = os.path.getsize(path)
    if size == 0:
        raise InputError(name, "is empty (0 bytes)", "pass an animation.json that facebridge wrote")
    if size > MAX_FILE_BYTES:
        raise InputError(name, f"is {size / 2**30:.1f} GB", "split it; play takes files up to 2 GB")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(name, f"is not valid JSON ({e.__class__.__name__}: {str(e)[:80]})",
                         "pass an animation.json that facebridge wrote") from None
    try:
        fps = float(data["fps"])
        names = list(data["blendshape_names"])
        raw = np.asarray(data["blendshapes"], np.float32)
        pose = np.asarray(data["head_pose"], np.float32)
        if not (1 <= fps <= 120) or raw.ndim != 2 or raw.shape[1] != len(names) or len(raw) == 0:
            raise ValueError(f"fps {fps}, blendshapes {raw.shape} for {len(names)} names")
        if pose.shape != (len(raw), 6):
            raise ValueError(f"head_pose {pose.shape} for {len(raw)} frames")
        known = [n for n in names if n in arkit.INDEX]
        if not known:
            raise ValueError("no ARKit blendshape names")
        weights = np.zeros((len(raw), arkit.N), np.float32)
        for j, n in enumerate(names):
            if n in arkit.INDEX:
                weights[:, arkit.INDEX[n]] = raw[:, j]
        lm = data.get("landmarks")
        landmarks = np.asarray(lm, np.float32) if lm else None
        if landmarks is not None and landmarks.shape != (len(raw), 478, 3):
            landmarks = None
        labels = ["neutral"] * len(raw)
        emo = data.get("emotion") or {}
        if emo.get("track") and emo.get("labels"):
            track = np.asarray(emo["track"], np.float32)
            if track.shape == (len(raw), len(emo["labels"])):
                labels = [emo["labels"][int(i)] for i in track.argmax(1)]
        if not np.isfinite(weights).all() or not np.isfinite(pose).all():
            raise ValueError("non-finite values")
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(name, f"is not a facebridge animation ({str(e)[:120]})",
                         "pass an animation.json that facebridge wrote") from None
    mode = str(data.get("mode", "speaking"))
    modes, events = _modes_and_events(data, mode, len(raw), fps)
    return Playable(fps=fps, weights=np.clip(weights, 0, 1), head_pose=pose, landmarks=landmarks, labels=labels,
                    mode=mode, image_size=tuple(data.get("image_size") or (0, 0)), modes=modes, events=events)


def _modes_and_events(data: dict, mode: str, n: int, fps: float):
    """Per-frame modes (from a conversation's turns) and, on listening frames, the events that
    start in each, as the daemon's listening frames carry them (docs/protocol.md)."""
    modes = [mode] * n
    for turn in data.get("turns") or []:
        try:
            f0, f1 = int(round(float(turn["start_s"]) * fps)), int(round(float(turn["end_s"]) * fps))
            for f in range(max(0, f0), min(n, f1)):
                modes[f] = str(turn["mode"])
        except (KeyError, TypeError, ValueError):
            continue  # a damaged turn: its frames keep the file's mode
    if mode == "conversation":  # the gaps between turns: the character listens
        modes = ["listening" if m == "conversation" else m for m in modes]
    if "listening" not in modes:
        return (modes if data.get("turns") else None), None
    events: list = [[] if m == "listening" else None for m in modes]
    for e in data.get("events") or []:
        try:
            f = int(np.floor(float(e["t"]) * fps))
            if 0 <= f < n and events[f] is not None:
                events[f].append({"type": str(e["type"]), "t": float(e["t"]), "duration_s": float(e["duration_s"]),
                                  "strength": float(e["strength"])})
        except (KeyError, TypeError, ValueError):
            continue
    return modes, events


def open_audio(path: str):
    """-> a started player with .position() (seconds played), or an InputError."""
    from bridge.speech import load_audio

    audio = load_audio(path)  # checks the file and reads it (16 kHz mono)
    try:
        import sounddevice as sd
    except (ImportError, OSError) as e:
        raise InputError(f"--audio {path}", f"cannot play sound here ({e})",
                         "pip install sounddevice (needs PortAudio and an output device), or leave --audio out") from None
    try:
        stream = sd.OutputStream(samplerate=audio.rate, channels=1, dtype="float32")
    except Exception as e:  # PortAudio: no device
        raise InputError(f"--audio {path}", f"cannot open a sound output ({e})", "leave --audio out") from None
    return _Player(stream, audio.samples, audio.rate)


class _Player:
    def __init__(self, stream, samples, rate):
        self.stream, self.samples, self.rate = stream, samples, rate
        self.t0 = None

    def start(self) -> None:
        import threading

        self.stream.start()
        self.t0 = time.monotonic() + float(self.stream.latency)  # when the first sample is heard
        threading.Thread(target=lambda: self.stream.write(self.samples.reshape(-1, 1)), daemon=True).start()

    def close(self) -> None:
        self.stream.stop()
        self.stream.close()


def play(p: Playable, sink, name: str = "a1", t0: float | None = None, stop=None) -> int:
    """Send each frame to sink(Frame) at t0 + pts (monotonic clock). -> frames sent."""
    from bridge.protocol import Frame

    t0 = time.monotonic() if t0 is None else t0
    sent = 0
    for f in range(p.n_frames):
        due = t0 + f / p.fps
        wait = due - time.monotonic()
        if wait > 0:
            if stop is not None and stop.wait(wait) or stop is None and time.sleep(wait):
                break
        elif stop is not None and stop.is_set():
            break
        sink(Frame(avatar=name, kind="anim", seq=f, pts=f / p.fps, t_ns=time.time_ns(),
                   mode=p.modes[f] if p.modes else p.mode, utterance=1,
                   emotion=p.labels[f], blendshapes=p.weights[f], head_pose=p.head_pose[f],
                   landmarks=None if p.landmarks is None else p.landmarks[f], final=f == p.n_frames - 1,
                   events=p.events[f] if p.events else None))
        sent += 1
    return sent
