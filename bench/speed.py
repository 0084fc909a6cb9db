"""Speed of `animate`: real-time factor of the motion path (model loading included, in a
fresh process, as a user runs it) and frames/s of the warp renderer at 512x512.

    python bench/speed.py
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import soundfile as sf

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from bench.common import DATA, RESULTS, git_rev, machine  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")
FACE = os.path.join(ROOT, "samples", "astronaut.png")


def cli_seconds(*args) -> float:
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "bridge", "animate", "-q", *args], cwd=ROOT,
                       capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(r.stderr)
    return time.perf_counter() - t


def main() -> None:
    os.makedirs(RESULTS, exist_ok=True)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        # A 10 s line of real speech (the shared English clip, first 10 s).
        speech, rate = sf.read(os.path.join(DATA, "speech", "mt_eng.wav"), dtype="float32")
        ten = os.path.join(tmp, "ten.wav")
        sf.write(ten, speech[3 * rate:13 * rate], rate)
        # Without a transcript the words are recognised for their emotion (ASR); an explicit
        # --emotion skips that, which is the foundation's own path.
        for label, extra in (("10 s, no transcript, --render none", []),
                             ("10 s, no transcript, --emotion neutral (no ASR), --render none",
                              ["--emotion", "neutral"])):
            runs = [cli_seconds("--image", FACE, "--audio", ten, "--render", "none", "--out",
                                os.path.join(tmp, "o"), *extra) for _ in range(3)]
            rows[label] = dict(seconds=round(min(runs), 2), rtf=round(min(runs) / 10.0, 3))
        hello = os.path.join(ROOT, "samples", "hello.wav")
        runs = [cli_seconds("--image", FACE, "--audio", hello, "--text-file",
                            os.path.join(ROOT, "samples", "hello.txt"), "--render", "none", "--out",
                            os.path.join(tmp, "o")) for _ in range(3)]
        rows["5.1 s sample with transcript, --render none"] = dict(seconds=round(min(runs), 2),
                                                                  rtf=round(min(runs) / 5.12, 3))
        # Baseline in the same run: bare interpreter start + imports (the floor for any CLI run).
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import mediapipe, pocketsphinx, scipy, cv2"], check=True,
                       capture_output=True)
        rows["baseline: python + imports only"] = dict(seconds=round(time.perf_counter() - t, 2))

    # Renderer: frames/s at 512x512 on the sample face, frames of a real animation.
    from bridge.face import load_image
    from bridge.pipeline import animate
    from bridge.render.warp import WarpRenderer

    anim, _ = animate(FACE, os.path.join(ROOT, "samples", "hello.wav"),
                      text=open(os.path.join(ROOT, "samples", "hello.txt")).read())
    lms = anim.landmarks()
    img = load_image(FACE)
    r = WarpRenderer(img, anim.avatar.points)
    r.render(lms[0])
    t = time.perf_counter()
    for lm in lms:
        r.render(lm)
    fps = len(lms) / (time.perf_counter() - t)
    t = time.perf_counter()
    for _ in lms:
        img.copy()
    copy_fps = len(lms) / (time.perf_counter() - t)
    rows["warp renderer 512x512"] = dict(frames_per_s=round(fps, 1))
    rows["baseline: frame copy only 512x512"] = dict(frames_per_s=round(copy_fps, 1))
    report = dict(date=datetime.date.today().isoformat(), machine=machine(), commit=git_rev(),
                  command="python bench/speed.py", results=rows)
    print(json.dumps(report, indent=1))
    with open(os.path.join(RESULTS, "speed.json"), "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
