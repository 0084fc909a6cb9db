"""Shared helpers for the benchmarks: reading the shared talking-head clips."""

from __future__ import annotations

import os
import platform
import subprocess

import av
import numpy as np

from bridge.train.tracking import read_audio_track, read_frames

DATA = os.environ.get("FACEBRIDGE_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
VIDEOS = os.path.join(DATA, "faces", "videos")
RESULTS = os.path.join(os.path.dirname(__file__), "results")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        model = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")][0]
        cpu = model
    except (OSError, IndexError):
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def read_video(path: str):
    """(frames RGB list, fps, audio float32 mono, audio rate or None)."""
    with av.open(path) as c:
        fps = float(c.streams.video[0].average_rate)
    frames = read_frames(path)
    audio, rate = read_audio_track(path)
    return frames, fps, audio, rate


def git_rev() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=os.path.dirname(__file__)).stdout.strip()
    except OSError:
        return "?"
