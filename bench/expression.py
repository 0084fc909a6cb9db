"""Expression identifiability: can each emotion be read back from the rendered face?

Two parts, on the sample astronaut and shared still faces (never used to build anything):

1. Read-back of single shapes. Each expression shape of the rig, alone at 0.8, is rendered on
   the still face (no speech, no head motion); FaceMesh tracks the render and the solver
   reads it back. Reported: how often the top read-back shape is the one rendered (left and
   right merged), for the conditioned solver (solver.TRACKED_RIDGE, the head fitted on
   topology.RIGID) and, in the same run, for the plain solver (ridge 1e-4, forehead in the
   head fit) that the benchmark used before.
2. Emotions. For each face, the same line (samples/hello.wav + its transcript) is animated
   once per emotion (`--emotion E`, full intensity) and rendered (warp, or the generator
   with --renderer generator). FaceMesh tracks every rendered frame and the conditioned
   solver reads it back. Each emotion's expression is its mean solved weights minus the
   neutral run's (the speech is identical, so it cancels). Reported per emotion:
   - signature hits: how many of its EMFACS signature shapes are among the top-k measured
     shapes (k = signature size + 2);
   - recovered as: the emotion whose prototype is most similar (cosine) to the measured change;
   - cosine with the intended change (the weights we put in, same subtraction): how much of
     the expression survives rendering and tracking.
Also writes docs/emotions.png (warp) or docs/emotions_generator.png, one frame per emotion
(in the pause between sentences).

    python bench/expression.py [--faces astronaut,lp_s0,lp_s2] [--renderer warp|generator]
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
from bridge.face import FaceMeshDetector, load_image  # noqa: E402
from bridge.face import topology as T  # noqa: E402
from bridge.motion import arkit  # noqa: E402
from bridge.motion.solver import ReadBack  # noqa: E402
from bridge.pipeline import Avatar, animate  # noqa: E402
from bridge.render import make_renderer  # noqa: E402

EMOTIONS = [l for l in LABELS if l != "neutral"]
FOREHEAD = [10, 151, 9, 109, 338, 67, 297]  # in the head fit before (topology.RIGID says why not)
SHAPE_WEIGHT = 0.8


def face_path(name: str) -> str:
    if name == "astronaut":
        return os.path.join(ROOT, "samples", "astronaut.png")
    return os.path.join(DATA, "faces", "images", name + ".jpg")


def renderer_for(kind: str, avatar: Avatar):
    """--renderer warp|generator -> the renderer animate uses for it (warp, gan)."""
    return make_renderer("gan" if kind == "generator" else "warp", avatar.image, avatar.points)


def single_shapes(face: str, kind: str) -> dict:
    """Part 1 -> {shape: {"now": top shape read back, "before": ...}} for one face."""
    avatar = Avatar.from_image(load_image(face_path(face)))
    renderer = renderer_for(kind, avatar)
    weights = {"neutral": np.zeros(arkit.N)}
    for name in OUTPUTS:
        if name != "jawOpen":  # speech owns the jaw; the expression never drives it
            weights[name] = np.zeros(arkit.N)
            weights[name][arkit.INDEX[name]] = SHAPE_WEIGHT
    tracked = {}
    with FaceMeshDetector(video=False, max_faces=1) as det:
        for name, w in weights.items():
            faces = det.detect_all(renderer.render(avatar.frame.to_image(avatar.rig.apply(w))))
            if faces:
                tracked[name] = faces[0]
    if "neutral" not in tracked:
        return {}
    names = [n for n in tracked if n != "neutral"]
    out = {n: {} for n in names}
    for label, read in (("now", ReadBack(avatar.points)), ("before", ReadBack(avatar.points, 1e-4, T.RIGID + FOREHEAD))):
        got = read(np.array([tracked["neutral"]] + [tracked[n] for n in names]))[:, COLS]
        for n, row in zip(names, got[1:] - got[0]):
            out[n][label] = OUTPUTS[int(np.argmax(row))]
    return out


def side_free(name: str) -> str:
    return name.replace("Left", "").replace("Right", "")


def render_and_solve(anim, kind: str):
    """Render every frame, track it, solve it -> (F, len(OUTPUTS)) measured weights, frames."""
    renderer = renderer_for(kind, anim.avatar)
    frames, tracked = [], []
    with FaceMeshDetector(video=True, max_faces=1) as det:
        for lm in anim.landmarks():
            img = renderer.render(lm)
            frames.append(img)
            faces = det.track(img)
            if faces:
                tracked.append(faces[0])
    return ReadBack(anim.avatar.points)(np.array(tracked))[:, COLS], frames


def cosine(a, b) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))


def part_singles(faces: list[str], kind: str) -> dict:
    per_shape: dict[str, dict[str, list[bool]]] = {}
    for face in faces:
        for name, got in single_shapes(face, kind).items():
            row = per_shape.setdefault(side_free(name), {"now": [], "before": []})
            for label in ("now", "before"):
                row[label].append(side_free(got[label]) == side_free(name))
    table = {n: {k: f"{sum(v)}/{len(v)}" for k, v in r.items()} for n, r in per_shape.items()}
    summary = {k: round(float(np.mean([x for r in per_shape.values() for x in r[k]])), 3) for k in ("now", "before")}
    print(json.dumps(dict(single_shapes=table, summary=summary)), flush=True)
    return dict(shapes=table, recovered=summary, weight=SHAPE_WEIGHT)


def strip_tile(anim, frames, label: str) -> np.ndarray:
    """A crop of the face in the pause between the two sentences: the expression without speech."""
    pts = anim.avatar.points
    c, span = pts[[13, 14], :2].mean(0), np.linalg.norm(pts[33, :2] - pts[263, :2])
    y0, y1, x0, x1 = int(c[1] - 2.0 * span), int(c[1] + 0.9 * span), int(c[0] - 1.3 * span), int(c[0] + 1.3 * span)
    jaw = anim.weights[:, arkit.INDEX["jawOpen"]]
    f = int(np.argmin(jaw[10:len(jaw) // 2])) + 10
    img = frames[f][max(0, y0):y1, max(0, x0):x1]
    img = cv2.resize(img, (180, int(180 * img.shape[0] / img.shape[1])))
    cv2.putText(img, label, (6, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.65, (255, 255, 255), 2)
    return img


def part_emotions(faces: list[str], kind: str) -> tuple[list[dict], list[np.ndarray]]:
    text = open(os.path.join(ROOT, "samples", "hello.txt"), encoding="utf-8").read()
    wav = os.path.join(ROOT, "samples", "hello.wav")
    protos = prototype_matrix()
    rows, tiles = [], []
    for face in faces:
        runs = {}
        for label in LABELS:
            anim, _ = animate(face_path(face), wav, text=text, emotion=label)
            measured, frames = render_and_solve(anim, kind)
            runs[label] = (anim.weights[:, COLS].mean(0), measured.mean(0))
            if face == faces[0]:
                tiles.append(strip_tile(anim, frames, label))
        base_in, base_out = runs["neutral"]
        for label in EMOTIONS:
            intended, measured = runs[label]
            d_out, d_in = measured - base_out, intended - base_in
            sig = SIGNATURES[label]
            top = [OUTPUTS[i] for i in np.argsort(-d_out)[:len(sig) + 2]]
            sims = {l: cosine(d_out, protos[LABELS.index(l)]) for l in EMOTIONS}
            rows.append(dict(face=face, emotion=label, signature_hits=f"{len(set(top) & set(sig))}/{len(sig)}",
                             hit_rate=round(len(set(top) & set(sig)) / len(sig), 3),
                             recovered_as=max(sims, key=sims.get), cos_intended=round(cosine(d_out, d_in), 3),
                             top_measured=top[:4]))
            print(json.dumps(rows[-1]), flush=True)
    return rows, tiles


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--faces", default="astronaut,lp_s0,lp_s2")
    ap.add_argument("--renderer", choices=["warp", "generator"], default="warp")
    ap.add_argument("--out", default=None, help="default bench/results/expression[_generator].json")
    args = ap.parse_args()
    faces = args.faces.split(",")
    suffix = "" if args.renderer == "warp" else "_" + args.renderer
    t0 = time.time()
    singles = part_singles(faces, args.renderer)
    rows, tiles = part_emotions(faces, args.renderer)
    acc = float(np.mean([r["recovered_as"] == r["emotion"] for r in rows]))
    summary = dict(recovered=f"{sum(r['recovered_as'] == r['emotion'] for r in rows)}/{len(rows)}",
                   recovered_accuracy=round(acc, 3), chance=round(1 / len(EMOTIONS), 3),
                   mean_hit_rate=round(float(np.mean([r["hit_rate"] for r in rows])), 3),
                   mean_cos_intended=round(float(np.mean([r["cos_intended"] for r in rows])), 3),
                   seconds=round(time.time() - t0, 1))
    print(json.dumps(summary))
    cv2.imwrite(os.path.join(ROOT, "docs", f"emotions{suffix}.png"),
                cv2.cvtColor(np.concatenate(tiles, 1), cv2.COLOR_RGB2BGR))
    os.makedirs(RESULTS, exist_ok=True)
    with open(args.out or os.path.join(RESULTS, f"expression{suffix}.json"), "w") as f:
        json.dump(dict(date=datetime.date.today().isoformat(), machine=machine(), commit=git_rev(),
                       command=" ".join(["python bench/expression.py"] + sys.argv[1:]), faces=faces,
                       renderer=args.renderer, single_shapes=singles, rows=rows, summary=summary), f, indent=1)


if __name__ == "__main__":
    main()
