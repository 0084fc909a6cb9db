"""What the no-plugin outputs cost the daemon: CPU per streaming avatar with no outputs, with
Live Link Face + VMC (to local UDP receivers), and with both plus one browser monitor page open
(headless Chromium), each on a fresh daemon in the same run. Every avatar streams the sample
clip in 20 ms chunks at real-time pace (bench/daemon.py's stream_realtime).

    python bench/outputs.py [--avatars 4] [--rounds 2]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import soundfile as sf

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
from bench.common import RESULTS, git_rev, machine  # noqa: E402
from bench.daemon import FACE, WAV, cpu_s, rss_mb, stream_realtime  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


class Sink:
    """A UDP receiver on its own thread that counts datagrams."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port, self.count, self.stop = self.sock.getsockname()[1], 0, False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while not self.stop:
            try:
                self.sock.recv(65536)
                self.count += 1
            except socket.timeout:
                pass


def run(config: str, n: int, face: bytes, samples, rate) -> dict:
    args = ["--control", "tcp://127.0.0.1:*", "--data", "tcp://127.0.0.1:*", "--video", "tcp://127.0.0.1:*"]
    sinks = []
    if config != "none":
        sinks = [Sink(), Sink()]
        args += ["--livelink", f"127.0.0.1:{sinks[0].port}", "--vmc", f"127.0.0.1:{sinks[1].port}"]
    if config == "livelink+vmc+page":
        args += ["--web", "127.0.0.1:0"]
    p = subprocess.Popen([sys.executable, "-m", "bridge", "serve", *args], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    browser = pw = None
    try:
        line = p.stdout.readline()
        control, data = re.search(r"control (\S+)\s+data (\S+)", line).groups()
        page = None
        if config == "livelink+vmc+page":
            from playwright.sync_api import sync_playwright

            pw = sync_playwright().start()
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(re.search(r"\bweb (http://\S+/)", line).group(1))
        results: dict = {}
        ready = threading.Barrier(n + 1)
        threads = [threading.Thread(target=stream_realtime, args=(control, data, face, samples, rate, results, i),
                                    kwargs=dict(ready=_BarrierEvent(ready))) for i in range(n)]
        for t in threads:
            t.start()
        time.sleep(2.0)  # avatars created (face found) before the window opens
        c0, t0 = cpu_s(p.pid), time.monotonic()
        ready.wait()
        for t in threads:
            t.join()
        c1, t1 = cpu_s(p.pid), time.monotonic()
        frames = sum(results.get(f"{i}_frames", 0) for i in range(n))
        page_frames = page.evaluate("Object.values(window.facebridgeMonitor.framesReceived).reduce((a, b) => a + b, 0)") \
            if page is not None else None
        return {"config": config, "avatars": n, "wall_s": round(t1 - t0, 2), "daemon_cpu_s": round(c1 - c0, 2),
                "cpu_per_avatar_pct": round(100 * (c1 - c0) / (t1 - t0) / n, 1), "frames": frames,
                "udp_packets": [s.count for s in sinks], "page_frames": page_frames, "rss_mb": round(rss_mb(p.pid), 1)}
    finally:
        if browser is not None:
            browser.close()
            pw.stop()
        for s in sinks:
            s.stop = True
        p.send_signal(signal.SIGTERM)
        p.wait(10)


class _BarrierEvent:
    """stream_realtime waits on an Event; a Barrier starts every avatar together."""

    def __init__(self, barrier):
        self.barrier = barrier

    def wait(self):
        self.barrier.wait()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--avatars", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=2, help="runs of each configuration (interleaved)")
    args = ap.parse_args()
    face = open(FACE, "rb").read()
    samples, rate = sf.read(WAV, dtype="float32")
    rows = []
    for _ in range(args.rounds):
        for config in ("none", "livelink+vmc", "livelink+vmc+page"):
            rows.append(run(config, args.avatars, face, samples, rate))
            print(json.dumps(rows[-1]), flush=True)
    result = {"date": datetime.date.today().isoformat(), "machine": machine(), "git": git_rev(), "runs": rows}
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "outputs.json"), "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
