"""Soak: clients connect, create an avatar, stream the sample clip in 20 ms chunks, read its
frames, remove the avatar and disconnect, over and over for --minutes (default 10), against
one live daemon. Reports the daemon's RSS over time (flat = no leak), cycles, frames and
errors.

    python bench/soak.py [--minutes 10]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import sys
import time

import soundfile as sf

ROOT = os.path.join(os.path.dirname(__file__), "..")
sys.path.insert(0, ROOT)
from bench.common import RESULTS, git_rev, machine  # noqa: E402
from bench.daemon import FACE, WAV, rss_mb, start  # noqa: E402

from bridge.client import Client  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0)
    args = ap.parse_args()
    face = open(FACE, "rb").read()
    samples, rate = sf.read(WAV, dtype="float32")
    p, control, data = start()
    t_end = time.monotonic() + args.minutes * 60
    rss, cycles, frames, errors = [], 0, 0, 0
    t0 = time.monotonic()
    try:
        while time.monotonic() < t_end:
            try:
                with Client(control, data, timeout_s=60) as c:
                    c.hello()
                    a = c.create_avatar(face)
                    c.subscribe(a)
                    ok = c.speak_stream(a, samples, rate=rate, chunk_s=0.02)
                    got = len(list(c.frames(timeout_s=10)))
                    frames += got
                    errors += got != ok["frames"]
                    c.stop(a, remove=True)
            except Exception as e:  # noqa: BLE001 - counted, the soak goes on
                print("cycle failed:", e, flush=True)
                errors += 1
            cycles += 1
            rss.append((round(time.monotonic() - t0, 1), round(rss_mb(p.pid), 1)))
            if cycles % 10 == 0:
                print(f"{rss[-1][0]:.0f} s: {cycles} cycles, RSS {rss[-1][1]} MB", flush=True)
    finally:
        p.send_signal(signal.SIGTERM)
        code = p.wait(20)
    first_min = [m for t, m in rss if t <= 60] or [rss[0][1]]
    report = dict(minutes=args.minutes, cycles=cycles, frames=frames, failed_cycles=errors, exit_code=code,
                  rss_mb_after_first_minute=max(first_min), rss_mb_end=rss[-1][1], rss_mb_max=max(m for _, m in rss),
                  rss_timeline=rss[::max(1, len(rss) // 20)])
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "soak.json"), "w") as f:
        json.dump(dict(date=datetime.date.today().isoformat(), machine=machine(), commit=git_rev(),
                       command=f"python bench/soak.py --minutes {args.minutes:g}", results=report), f, indent=1)
    print(json.dumps({k: v for k, v in report.items() if k != "rss_timeline"}))


if __name__ == "__main__":
    main()
