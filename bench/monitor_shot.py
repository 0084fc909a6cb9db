"""A screenshot of the browser monitor mid-utterance, for the docs: a daemon with --web, the
sample face speaking the sample clip with render="warp", the page in headless Chromium
(Debian's /usr/bin/chromium, driven by playwright), captured at 1280x800 while the mouth is
open. The mesh is zoomed to the face (a click on it, as a user would) unless --whole-image.

    python bench/monitor_shot.py [--out docs/monitor.png] [--chromium /usr/bin/chromium] [--whole-image]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
from bridge.client import Client  # noqa: E402

FACE = os.path.join(ROOT, "samples", "astronaut.png")
WAV = os.path.join(ROOT, "samples", "hello.wav")
TEXT = open(os.path.join(ROOT, "samples", "hello.txt")).read().strip()
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "monitor.png"))
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--jaw", type=float, default=0.22, help="take the shot once jawOpen reaches this (mid-word)")
    ap.add_argument("--whole-image", action="store_true",
                    help="show the mesh on the whole image (the page's default) rather than zoomed to the face")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    p = subprocess.Popen([sys.executable, "-m", "bridge", "serve", "--control", "tcp://127.0.0.1:*", "--data",
                          "tcp://127.0.0.1:*", "--video", "tcp://127.0.0.1:*", "--web", "127.0.0.1:0"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    try:
        line = p.stdout.readline()
        m = re.search(r"control (\S+)\s+data (\S+).*\bweb (http://\S+/)", line)
        if not m:
            sys.exit(f"the daemon did not start: {line!r}")
        control, data, url = m.groups()
        print(line.strip())
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800}, device_scale_factor=1)
            page.goto(url)
            with Client(control, data, timeout_s=60) as c:
                c.hello()
                avatar = c.create_avatar(open(FACE, "rb").read(), name="astronaut", render="warp", video_size=512)
                time.sleep(1.2)  # a stats message: the card knows the image size
                if not args.whole_image:
                    page.click(f'.card[data-avatar="{avatar}"] canvas.mesh')  # zoom the mesh to the face
                c.speak(avatar, audio=open(WAV, "rb").read(), text=TEXT)
                js = ("(() => { const m = window.facebridgeMonitor, n = m.welcome.schema.blendshape_names;"
                      f" const b = m.lastBlendshapes['{avatar}'];"
                      f" return !!b && (m.jpegReceived['{avatar}'] || 0) > 10 && (m.framesReceived['{avatar}'] || 0) > 45"
                      f" && b[n.indexOf('jawOpen')] >= {args.jaw}; }})()")
                deadline = time.monotonic() + 15
                while not page.evaluate(js) and time.monotonic() < deadline:
                    time.sleep(0.01)
                page.wait_for_timeout(40)  # the next animation frame has drawn it
                os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
                page.screenshot(path=args.out)
                state = page.evaluate(f"(() => {{ const m = window.facebridgeMonitor; return [m.framesReceived['{avatar}'],"
                                      f" m.jpegReceived['{avatar}'], m.latencyMs['{avatar}']]; }})()")
            browser.close()
        print(f"wrote {args.out} at frame {state[0]} ({state[1]} JPEG frames so far, latency {state[2]} ms)")
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(10)


if __name__ == "__main__":
    main()
