"""Regenerate docs/strip.png, the README's picture: the sample face animated on ball.wav,
one frame at the centre of each of a few telling phones.

    python bench/strip.py
"""

from __future__ import annotations

import os
import sys

import cv2
import numpy as np

ROOT = os.path.join(os.path.dirname(__file__), "..")
sys.path.insert(0, ROOT)
from bridge.pipeline import animate  # noqa: E402
from bridge.render.warp import WarpRenderer  # noqa: E402

WANT = ["B", "AA", "UW", "AO", "W", "M"]


def main() -> None:
    s = lambda p: os.path.join(ROOT, "samples", p)  # noqa: E731
    text = open(s("ball.txt"), encoding="utf-8").read()
    anim, _ = animate(s("astronaut.png"), s("ball.wav"), text=text)
    renderer = WarpRenderer(anim.avatar.image, anim.avatar.points)
    pts = anim.avatar.points
    centre = pts[[13, 14], :2].mean(0)
    span = np.linalg.norm(pts[33, :2] - pts[263, :2])
    x0, x1 = int(centre[0] - 1.3 * span), int(centre[0] + 1.3 * span)
    y0, y1 = int(centre[1] - 2.0 * span), int(centre[1] + 0.9 * span)
    tiles = []
    for want in WANT:
        phone = next(p for p in anim.phones if p.phone == want)
        f = int((phone.start_s + phone.end_s) / 2 * anim.fps)
        img = renderer.render(anim.landmarks(f, f + 1)[0])[max(0, y0):y1, max(0, x0):x1]
        img = cv2.resize(img, (200, int(200 * img.shape[0] / img.shape[1])))
        cv2.putText(img, "/" + want.lower() + "/", (6, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2)
        tiles.append(img)
    out = os.path.join(ROOT, "docs", "strip.png")
    cv2.imwrite(out, cv2.cvtColor(np.concatenate(tiles, 1), cv2.COLOR_RGB2BGR))
    print("wrote", out)


if __name__ == "__main__":
    main()
