"""Listening soak: one avatar hears one long `listen` stream (real speech with pauses, looped)
for --minutes of audio, sent in 0.5 s chunks as fast as the daemon answers (or paced in real
time with --realtime). Reports the daemon's RSS (and its recogniser worker's) every minute of
audio (flat = no leak), frames and events received, and the audio-seconds per wall-second.

    python bench/listen_soak.py [--minutes 60] [--realtime]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import threading
import time

import numpy as np

ROOT = os.path.join(os.path.dirname(__file__), "..")
sys.path.insert(0, ROOT)
from bench.common import RESULTS, git_rev, machine  # noqa: E402
from bench.daemon import FACE, rss_mb, start  # noqa: E402

from bridge.client import Client  # noqa: E402

RATE = 16000


def user_audio() -> np.ndarray:
    """The two sample clips with 1 s pauses: about 14 s of a user talking, to be looped."""
    from bridge.speech import load_audio

    parts = []
    for name in ("hello.wav", "ball.wav"):
        parts += [load_audio(os.path.join(ROOT, "samples", name)).samples, np.zeros(RATE, np.float32)]
    return np.concatenate(parts)


def children_rss(pid: int) -> float:
    total = 0.0
    for child in os.listdir("/proc"):
        if child.isdigit():
            try:
                with open(f"/proc/{child}/stat") as f:
                    if int(f.read().split(") ")[1].split()[1]) == pid:
                        total += rss_mb(int(child))
            except (OSError, ValueError, IndexError):
                pass
    return total


def soak(minutes: float, realtime: bool = False, chunk_s: float = 0.5) -> dict:
    p, control, data = start()
    loop = user_audio()
    step = int(chunk_s * RATE)
    frames = events = 0
    stop = threading.Event()
    samples = []
    try:
        with Client(control, data, timeout_s=120) as c:
            c.hello()
            avatar = c.create_avatar(open(FACE, "rb").read())
            c.subscribe(avatar)

            def read():
                nonlocal frames, events
                while not stop.is_set():
                    for f in c.frames(until_final=False, timeout_s=0.2):
                        frames += 1
                        events += len(f.events or [])

            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            total = int(minutes * 60 * RATE)
            t0 = time.monotonic()
            sent = 0
            next_mark = 0
            while sent < total:
                i = sent % len(loop)
                chunk = loop[i:i + min(step, total - sent)]
                if realtime:
                    time.sleep(max(0.0, t0 + sent / RATE - time.monotonic()))
                c.request("listen", avatar=avatar, pcm=chunk.astype("<f4").tobytes(), rate=RATE,
                          final=sent + len(chunk) >= total)
                sent += len(chunk)
                if sent >= next_mark:
                    samples.append({"audio_min": round(sent / RATE / 60, 2), "wall_s": round(time.monotonic() - t0, 1),
                                    "rss_mb": round(rss_mb(p.pid), 1), "worker_rss_mb": round(children_rss(p.pid), 1)})
                    print(json.dumps(samples[-1]), flush=True)
                    next_mark += 60 * RATE
            wall = time.monotonic() - t0
            time.sleep(1.0)
            stop.set()
            reader.join(2)
    finally:
        p.terminate()
        p.wait(10)
    # RSS swings by ~15 MB as the allocator takes and returns arenas, so compare the range of
    # each half (after two minutes of warm-up: models loaded, buffers at size), not two points.
    rss = [s["rss_mb"] for s in samples][3:] or [s["rss_mb"] for s in samples]
    first, second = rss[:max(1, len(rss) // 2)], rss[len(rss) // 2:]
    return {"audio_minutes": minutes, "wall_s": round(wall, 1), "audio_s_per_wall_s": round(minutes * 60 / wall, 2),
            "frames": frames, "expected_frames": int(minutes * 60 * 30), "events": events,
            "rss_first_half_mb": [min(first), max(first)], "rss_second_half_mb": [min(second), max(second)],
            "samples": samples}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--realtime", action="store_true")
    args = ap.parse_args()
    result = soak(args.minutes, args.realtime)
    report = {"date": datetime.date.today().isoformat(), "machine": machine(), "commit": git_rev(),
              "command": f"python bench/listen_soak.py --minutes {args.minutes:g}" + (" --realtime" if args.realtime else ""),
              **result}
    print(json.dumps({k: v for k, v in report.items() if k != "samples"}, indent=1))
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "listen_soak.json"), "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
