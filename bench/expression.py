"""Expression identifiability: can each emotion be read back from the rendered face?

For each face, the same line (samples/hello.wav + its transcript) is animated once per
emotion (`--emotion E`, full intensity) and rendered with the warp renderer. FaceMesh then
tracks every rendered frame and the rig's solver turns the tracked landmarks into
blendshapes. Each emotion's expression is its mean solved weights minus the neutral run's
(the speech is identical, so it cancels). Reported per emotion:
- signature hits: how many of its EMFACS signature shapes are among the top-k measured
  shapes (k = signature size + 2);
- recovered as: the emotion whose prototype is most similar (cosine) to the measured change;
- cosine with the intended change (the weights we put in, same subtraction): how much of the
  expression survives rendering and tracking.
Faces: the sample astronaut and shared still faces (never used to build anything).
Also writes docs/emotions.png, one frame per emotion (in the pause between sentences).

    python bench/expression.py [--faces astronaut,lp_s0,lp_s2]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time

import cv2
import numpy as np

ROOT = os.path.join(os.path.dirname(__file__), "..")
sys.path.insert(0, ROOT)
from bench.common import DATA, RESULTS, git_rev, machine  # noqa: E402

from bridge.emotion import LABELS  # noqa: E402
from bridge.emotion.expression import COLUMNS as COLS, OUTPUTS, SIGNATURES, prototype_matrix  # noqa: E402
from bridge.face import FaceMeshDetector, FaceFrame  # noqa: E402
from bridge.motion import arkit  # noqa: E402
from bridge.motion.rig import Rig  # noqa: E402
from bridge.motion.solver import Solver, unpose  # noqa: E402
from bridge.pipeline import animate  # noqa: E402
from bridge.render.warp import WarpRenderer  # noqa: E402

EMOTIONS = [l for l in LABELS if l != "neutral"]


def face_path(name: str) -> str:
    if name == "astronaut":
        return os.path.join(ROOT, "samples", "astronaut.png")
    return os.path.join(DATA, "faces", "images", name + ".jpg")


def render_and_solve(anim):
    """Render every frame, track it, solve it -> (F, len(OUTPUTS)) measured weights, frames."""
    renderer = WarpRenderer(anim.avatar.image, anim.avatar.points)
    frames, tracked = [], []
    with FaceMeshDetector(video=True, max_faces=1) as det:
        for lm in anim.landmarks():
            img = renderer.render(lm)
            frames.append(img)
            faces = det.track(img)
            if faces:
                tracked.append(faces[0])
    neutral = anim.avatar.frame.to_aligned(anim.avatar.points)
    solver = Solver(Rig.from_neutral(neutral))
    aligned = [unpose(FaceFrame.from_points(p).to_aligned(p), neutral) for p in tracked]
    return solver.solve(np.array(aligned))[:, COLS], frames


def cosine(a, b) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--faces", default="astronaut,lp_s0,lp_s2")
    ap.add_argument("--out", default=os.path.join(RESULTS, "expression.json"))
    args = ap.parse_args()
    text = open(os.path.join(ROOT, "samples", "hello.txt"), encoding="utf-8").read()
    wav = os.path.join(ROOT, "samples", "hello.wav")
    protos = prototype_matrix()
    rows, tiles = [], []
    t0 = time.time()
    for face in args.faces.split(","):
        runs = {}
        for label in LABELS:
            anim, _ = animate(face_path(face), wav, text=text, emotion=label)
            measured, frames = render_and_solve(anim)
            runs[label] = (anim.weights[:, COLS].mean(0), measured.mean(0), frames, anim)
        base_in, base_out = runs["neutral"][0], runs["neutral"][1]
        strip = []
        for label in LABELS:
            intended, measured, frames, anim = runs[label]
            if face == args.faces.split(",")[0]:
                pts = anim.avatar.points
                c, span = pts[[13, 14], :2].mean(0), np.linalg.norm(pts[33, :2] - pts[263, :2])
                y0, y1, x0, x1 = int(c[1] - 2.0 * span), int(c[1] + 0.9 * span), int(c[0] - 1.3 * span), int(c[0] + 1.3 * span)
                # A frame in the pause between the two sentences: the expression without speech.
                jaw = anim.weights[:, arkit.INDEX["jawOpen"]]
                f = int(np.argmin(jaw[10:len(jaw) // 2])) + 10
                img = frames[f][max(0, y0):y1, max(0, x0):x1]
                img = cv2.resize(img, (180, int(180 * img.shape[0] / img.shape[1])))
                cv2.putText(img, label, (6, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.65, (255, 255, 255), 2)
                strip.append(img)
            if label == "neutral":
                continue
            d_out, d_in = measured - base_out, intended - base_in
            sig = SIGNATURES[label]
            top = [OUTPUTS[i] for i in np.argsort(-d_out)[:len(sig) + 2]]
            sims = {l: cosine(d_out, protos[LABELS.index(l)]) for l in EMOTIONS}
            rows.append(dict(face=face, emotion=label, signature_hits=f"{len(set(top) & set(sig))}/{len(sig)}",
                             hit_rate=round(len(set(top) & set(sig)) / len(sig), 3),
                             recovered_as=max(sims, key=sims.get), cos_intended=round(cosine(d_out, d_in), 3),
                             top_measured=top[:4]))
            print(json.dumps(rows[-1]), flush=True)
        if strip:
            tiles = strip
    acc = float(np.mean([r["recovered_as"] == r["emotion"] for r in rows]))
    summary = dict(recovered_accuracy=round(acc, 3), chance=round(1 / len(EMOTIONS), 3),
                   mean_hit_rate=round(float(np.mean([r["hit_rate"] for r in rows])), 3),
                   mean_cos_intended=round(float(np.mean([r["cos_intended"] for r in rows])), 3),
                   seconds=round(time.time() - t0, 1))
    print(json.dumps(summary))
    cv2.imwrite(os.path.join(ROOT, "docs", "emotions.png"), cv2.cvtColor(np.concatenate(tiles, 1), cv2.COLOR_RGB2BGR))
    os.makedirs(RESULTS, exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(dict(date=datetime.date.today().isoformat(), machine=machine(), commit=git_rev(),
                       command="python bench/expression.py", faces=args.faces.split(","), rows=rows,
                       summary=summary), f, indent=1)


if __name__ == "__main__":
    main()
