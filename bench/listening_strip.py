"""Regenerate docs/listening.png: the sample face hearing the same user audio twice, idle
life only (top: what `listen` did before) and listening (bottom), at the moments the
listener reacts. The user says a statement, a question and happy news (espeak-ng).

    python bench/listening_strip.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import replace

import cv2
import numpy as np

ROOT = os.path.join(os.path.dirname(__file__), "..")
sys.path.insert(0, ROOT)

USER = "I went to see the new museum yesterday. Have you been there yet? They gave me a job there, I am so happy!"


def main() -> None:
    from bridge.emotion import default_model
    from bridge.face import load_image
    from bridge.motion.idle import idle
    from bridge.pipeline import Avatar, listen_avatar
    from bridge.render.warp import WarpRenderer
    from bridge.speech import load_audio

    with tempfile.TemporaryDirectory() as tmp:
        wav = os.path.join(tmp, "user.wav")
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", wav, USER], check=True)
        audio = load_audio(wav)
    avatar = Avatar.from_image(load_image(os.path.join(ROOT, "samples", "astronaut.png")))
    anim = listen_avatar(avatar, audio, text=USER, reader=default_model(), seed=2)
    life = idle(anim.n_frames, anim.fps, seed=2)
    # The moments to show: the deepest point of each nod, the top of each brow raise, the
    # smile at its height.
    picks = []
    for e in anim.events:
        if e.type == "nod":
            picks.append((e.t + 0.25 * e.duration_s, "nod"))
        elif e.type == "brow_raise":
            picks.append((e.t + 0.4, "brow raise"))
        elif e.type == "smile":
            picks.append((e.t + 1.5, "smile"))
    picks = sorted(picks)[:5]
    renderer = WarpRenderer(avatar.image, avatar.points)
    pts = avatar.points
    cx, cy = pts[:, 0].mean(), pts[:, 1].mean()
    half = int(0.75 * (pts[:, 1].max() - pts[:, 1].min()))
    rows = []
    idle_only = replace(anim, weights=life.weights, head_pose=life.head_pose)
    for shown, label in ((idle_only, "idle only"), (anim, "listening")):
        tiles = []
        for t, what in picks:
            f = min(anim.n_frames - 1, int(t * anim.fps))
            img = renderer.render(shown.landmarks(f, f + 1)[0])
            y0, x0 = max(0, int(cy - half)), max(0, int(cx - half))
            tile = cv2.resize(img[y0:y0 + 2 * half, x0:x0 + 2 * half], (200, 200))
            caption = f"{t:.1f} s {what}" if label == "listening" else f"{t:.1f} s"
            cv2.putText(tile, caption, (6, 192), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
            tiles.append(tile)
        row = np.concatenate(tiles, 1)
        band = np.full((24, row.shape[1], 3), 30, np.uint8)
        cv2.putText(band, label, (6, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
        rows.append(np.concatenate([band, row], 0))
    out = os.path.join(ROOT, "docs", "listening.png")
    cv2.imwrite(out, cv2.cvtColor(np.concatenate(rows, 0), cv2.COLOR_RGB2BGR))
    print("wrote", out, [p for p in picks])


if __name__ == "__main__":
    main()
