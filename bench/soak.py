"""Soak: clients connect, create an avatar, stream the sample clip in 20 ms chunks, read its
frames, remove the avatar and disconnect, over and over for --minutes (default 10), against
one live daemon. Reports the daemon's RSS over time (flat = no leak), cycles, frames and
errors. With --monitor, the daemon also serves --web and a browser monitor page (headless
Chromium) stays open the whole time, plus Live Link Face and VMC to local receivers.

    python bench/soak.py [--minutes 10] [--monitor]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
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
    ap.add_argument("--monitor", action="store_true", help="a monitor page open throughout, plus Live Link and VMC")
    args = ap.parse_args()
    face = open(FACE, "rb").read()
    samples, rate = sf.read(WAV, dtype="float32")
    page = None
    if args.monitor:
        from bench.outputs import CHROMIUM_ARGS, Sink
        from playwright.sync_api import sync_playwright

        sinks, line = [Sink(), Sink()], []
        p, control, data = start("--web", "127.0.0.1:0", "--livelink", f"127.0.0.1:{sinks[0].port}",
                                 "--vmc", f"127.0.0.1:{sinks[1].port}", line_out=line)
        pw = sync_playwright().start()
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(re.search(r"\bweb (http://\S+/)", line[0]).group(1))
    else:
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
        page_frames = None
        if page is not None:
            page_frames = page.evaluate("Object.values(window.facebridgeMonitor.framesReceived).reduce((a, b) => a + b, 0)")
            browser.close()
            pw.stop()
        p.send_signal(signal.SIGTERM)
        code = p.wait(20)
    first_min = [m for t, m in rss if t <= 60] or [rss[0][1]]
    report = dict(minutes=args.minutes, cycles=cycles, frames=frames, failed_cycles=errors, exit_code=code,
                  rss_mb_after_first_minute=max(first_min), rss_mb_end=rss[-1][1], rss_mb_max=max(m for _, m in rss),
                  rss_timeline=rss[::max(1, len(rss) // 20)], monitor=args.monitor, page_frames=page_frames)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "soak_monitor.json" if args.monitor else "soak.json"), "w") as f:
        json.dump(dict(date=datetime.date.today().isoformat(), machine=machine(), commit=git_rev(),
                       command=f"python bench/soak.py --minutes {args.minutes:g}" + (" --monitor" if args.monitor else ""),
                       results=report), f, indent=1)
    print(json.dumps({k: v for k, v in report.items() if k != "rss_timeline"}))


if __name__ == "__main__":
    main()
