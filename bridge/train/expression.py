"""Train the expression network and export it to ONNX.

    facebridge train expression [--videos ../shared/data/faces/videos] [--out models/expression.onnx]

Read top to bottom:
1. Measure: track the shared videos (FaceMesh, cached), solve the rig's blendshapes on every
   other frame (relative to each clip's median face), and take from the expressive shapes
   (a) their principal co-variation (how brows, lids, cheeks and mouth corners move together
   in real faces) and (b) how strongly the brows rise on pitch accents in the talking clips.
   Two clips are held out and reported on (variance the components explain; emphasis fit).
2. Targets: EMFACS prototypes (bridge/emotion/expression.py) mixed by the emotion
   probabilities, scaled by arousal, plus brow raises on emphasis, plus the measured
   co-variation picked by a style code and scaled by intensity.
3. Fit a 12-64-64-27 MLP (torch) to those targets on random inputs; export its weights as
   an ONNX graph (Gemm/Relu/Clip) built with onnx.helper; check it against torch.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from bridge.emotion.expression import COLUMNS, INPUTS, OUTPUTS, STYLE_DIMS, prototype_matrix
from bridge.emotion.reader import LABELS
from bridge.train.onnx_io import save_graph

DEFAULT_VIDEOS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "faces", "videos")
TALKING = ["lp_d6", "lp_d9", "lp_d10", "lp_d11", "lp_d20"]  # the speaker's own speech (data README)
HELD_OUT = ["lp_d11", "lp_d19"]  # never used to fit: reported on
# A style code of 1 along the first component moves a shape by at most this much. The
# components' directions and relative sizes are measured; their absolute size is not usable:
# shapes with small footprints (nose, cheeks) saturate in the solver on tracking noise alone
# (their 95th percentile is 1.0), so the measured sigma overstates real motion.
VARIATION = 0.12
BROW_RAISE = ["browInnerUp", "browOuterUpLeft", "browOuterUpRight"]
# Style varies how an emotion shows, not which one: the lip-corner pull and drop carry the
# emotion's valence, so the style leaves them to it. Measured with them in, one sentence's
# style added a 0.19 frown to anger, fear and disgust alike, and they read back as sadness.
VALENCE = ["mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight"]
SEED = 0


# ---------------------------------------------------------------- 1. measure real faces
def solve_clip(points: np.ndarray, step: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(F, 478, 3) tracked pixels -> (F', 52) weights relative to the clip's median face, and
    the frame index of each row (frames where the face was lost are skipped)."""
    from bridge.face.align import FaceFrame
    from bridge.motion.rig import Rig
    from bridge.motion.solver import TRACKED_RIDGE, Solver, unpose

    idx = np.flatnonzero(np.isfinite(points).all(axis=(1, 2)))[::step]
    aligned = np.array([FaceFrame.from_points(p).to_aligned(p) for p in points[idx]])
    neutral = np.median(aligned, axis=0)
    still = np.array([unpose(a, neutral) for a in aligned])
    return Solver(Rig.from_neutral(neutral), ridge=TRACKED_RIDGE).solve(still), idx


def measure(videos: str, log) -> dict:
    from bridge.emotion.prosody import emphasis, pitch
    from bridge.speech.audio import Audio
    from bridge.speech.frames import envelope
    from bridge.train.tracking import read_speech_track, track_video

    brow = [OUTPUTS.index(k) for k in BROW_RAISE]
    fit, held, talk, used = [], [], {"fit": ([], []), "held": ([], [])}, []
    names = sorted(f[:-4] for f in os.listdir(videos) if f.endswith(".mp4"))
    for i, name in enumerate(names):
        path = os.path.join(videos, name + ".mp4")
        t0 = time.time()
        points, fps = track_video(path)
        if np.isfinite(points).all(axis=(1, 2)).sum() < 20:
            log(f"  {name}: face tracked on under 20 frames, skipped")
            continue
        w, idx = solve_clip(points, step=1 if name in TALKING else 2)
        w = w[:, COLUMNS]
        (held if name in HELD_OUT else fit).append(w)
        used.append(name)
        if name in TALKING:
            x = read_speech_track(path)
            env = envelope(Audio(x, path, 16000, 1))
            emph = emphasis(pitch(x), env.db, env.speech_db, len(points), fps)
            part = talk["held" if name in HELD_OUT else "fit"]
            part[0].append(emph[idx])
            part[1].append(w[:, brow].mean(1))
        log(f"  {name}: {len(points)} frames, solved {len(w)} ({time.time() - t0:.1f} s)")
    X = np.concatenate(fit)
    X[:, OUTPUTS.index("jawOpen")] = 0.0  # the jaw moves with speech here, not with expression
    mean = X.mean(0)
    _, s, vt = np.linalg.svd(X - mean, full_matrices=False)
    var = s ** 2 / len(X)
    pcs = vt[:STYLE_DIMS]
    sigma = np.sqrt(var[:STYLE_DIMS])
    H = np.concatenate(held)
    H[:, OUTPUTS.index("jawOpen")] = 0.0
    H = H - mean
    held_explained = 1 - ((H - (H @ pcs.T) @ pcs) ** 2).sum() / (H ** 2).sum()

    def emph_fit(part):
        e, b = np.concatenate(part[0]), np.concatenate(part[1])
        A = np.stack([e, np.ones_like(e)], 1)
        slope, icpt = np.linalg.lstsq(A, b, rcond=None)[0]
        return float(slope), float(np.corrcoef(e, b)[0, 1])

    slope, r_fit = emph_fit(talk["fit"])
    held_slope, r_held = emph_fit(talk["held"])
    return {"clips_fit": [n for n in used if n not in HELD_OUT], "clips_held_out": HELD_OUT,
            "frames_fit": len(X), "frames_held_out": len(H),
            "components": pcs.tolist(), "sigma": sigma.tolist(),
            "explained_fit": float(var[:STYLE_DIMS].sum() / var.sum()), "explained_held_out": float(held_explained),
            "emphasis_slope": max(0.0, slope), "emphasis_r_fit": r_fit,
            "emphasis_slope_held_out": held_slope, "emphasis_r_held_out": r_held,
            "p95_fit": dict(zip(OUTPUTS, np.percentile(X, 95, axis=0).round(3).tolist()))}


# ---------------------------------------------------------------- 2. targets
def sample_inputs(rng, n: int) -> np.ndarray:
    """Random frames: one or two emotions blended (Dirichlet), intensity skewed high with 10 %
    pure neutral, arousal uniform, emphasis zero half the time, style codes normal."""
    x = np.zeros((n, len(INPUTS)), np.float32)
    k = len(LABELS)
    neutral = LABELS.index("neutral")
    emotions = np.array([i for i in range(k) if i != neutral])
    first = rng.choice(emotions, n)
    second = rng.choice(emotions, n)
    blend = np.where(rng.uniform(size=n) < 0.5, rng.uniform(size=n), 0.0)  # share of the second
    rows = np.arange(n)
    np.add.at(x, (rows, first), 1 - blend)
    np.add.at(x, (rows, second), blend)
    intensity = np.where(rng.uniform(size=n) > 0.1, rng.uniform(size=n) ** 0.7, 0.0)
    x[:, :k] *= intensity[:, None]
    x[:, neutral] = 1 - intensity
    x[:, k] = rng.uniform(size=n)  # arousal
    x[:, k + 1] = np.where(rng.uniform(size=n) < 0.5, 0.0, rng.uniform(0, 3, size=n))  # emphasis
    x[:, k + 2:] = np.clip(rng.standard_normal((n, STYLE_DIMS)), -2, 2)
    return x


def targets(x: np.ndarray, stats: dict) -> np.ndarray:
    k = len(LABELS)
    probs, arousal, emph, style = x[:, :k], x[:, k], x[:, k + 1], x[:, k + 2:]
    intensity = 1 - probs[:, LABELS.index("neutral")]
    y = (probs @ prototype_matrix()) * (0.85 + 0.3 * arousal)[:, None]
    brow = [OUTPUTS.index(b) for b in BROW_RAISE]
    y[:, brow] += (stats["emphasis_slope"] * emph * (0.5 + arousal))[:, None]
    pcs, sigma = np.array(stats["components"]), np.array(stats["sigma"])
    scale = VARIATION / (sigma[0] * np.abs(pcs[0]).max())
    variation = (style * sigma) @ pcs
    variation[:, [OUTPUTS.index(k) for k in VALENCE]] = 0.0
    y += scale * intensity[:, None] * variation
    return np.clip(y, 0, 1).astype(np.float32)


# ---------------------------------------------------------------- 3. fit and export
def fit(stats: dict, steps: int, log) -> tuple[list[np.ndarray], dict]:
    import torch

    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    net = torch.nn.Sequential(torch.nn.Linear(len(INPUTS), 64), torch.nn.ReLU(),
                              torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, len(OUTPUTS)))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    for step in range(steps):
        x = sample_inputs(rng, 1024)
        xt, yt = torch.from_numpy(x), torch.from_numpy(targets(x, stats))
        # No clamp in the loss: an output stuck below 0 would get no gradient and stay dead
        # (it happened to mouthStretchLeft). The exported graph clips to 0..1.
        loss = ((net(xt) - yt) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 500 == 0 or step == steps - 1:
            log(f"  step {step}: mse {loss.item():.6f}")
    x = sample_inputs(np.random.default_rng(SEED + 1), 20000)
    y = targets(x, stats)
    with torch.no_grad():
        pred = net(torch.from_numpy(x)).clamp(0, 1).numpy()
    params = [p.detach().numpy().astype(np.float32) for p in net.parameters()]
    metrics = {"test_mae": float(np.abs(pred - y).mean()), "test_max_err": float(np.abs(pred - y).max()),
               "test_r2": float(1 - ((pred - y) ** 2).sum() / ((y - y.mean(0)) ** 2).sum())}
    return params, metrics


def export_onnx(params: list[np.ndarray], path: str, meta: dict[str, str]) -> None:
    from onnx import TensorProto, helper, numpy_helper

    w1, b1, w2, b2, w3, b3 = params
    nodes = [helper.make_node("Gemm", ["features", "W1", "b1"], ["h1"], transB=1),
             helper.make_node("Relu", ["h1"], ["a1"]),
             helper.make_node("Gemm", ["a1", "W2", "b2"], ["h2"], transB=1),
             helper.make_node("Relu", ["h2"], ["a2"]),
             helper.make_node("Gemm", ["a2", "W3", "b3"], ["raw"], transB=1),
             helper.make_node("Clip", ["raw", "lo", "hi"], ["weights"])]
    inits = [numpy_helper.from_array(a, n) for a, n in zip(params, ["W1", "b1", "W2", "b2", "W3", "b3"])]
    inits += [numpy_helper.from_array(np.array(0, np.float32), "lo"), numpy_helper.from_array(np.array(1, np.float32), "hi")]
    graph = helper.make_graph(nodes, "expression",
                              [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["F", len(INPUTS)])],
                              [helper.make_tensor_value_info("weights", TensorProto.FLOAT, ["F", len(OUTPUTS)])], inits)
    save_graph(graph, path, meta)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="facebridge train expression")
    ap.add_argument("--videos", default=DEFAULT_VIDEOS, help="folder of face videos (*.mp4)")
    ap.add_argument("--out", default=os.path.join("models", "expression.onnx"))
    ap.add_argument("--steps", type=int, default=6000, help="optimiser steps (batches of 1024)")
    ap.add_argument("--stats", help="reuse measured statistics from this JSON (skips tracking)")
    args = ap.parse_args(argv)

    def log(msg):
        print(msg, flush=True)

    t0 = time.time()
    if args.stats:
        stats = json.load(open(args.stats))
    else:
        if not os.path.isdir(args.videos):
            raise SystemExit(f"train expression: videos folder {args.videos} not found (pass --videos)")
        log(f"measuring natural variation on {args.videos}")
        stats = measure(args.videos, log)
    log(f"fitting the network ({args.steps} steps)")
    params, metrics = fit(stats, args.steps, log)
    meta = {"inputs": ",".join(INPUTS), "outputs": ",".join(OUTPUTS), "seed": str(SEED),
            "metrics": json.dumps(metrics), "stats": json.dumps({k: v for k, v in stats.items() if k != "components"})}
    export_onnx(params, args.out, meta)
    with open(os.path.splitext(args.out)[0] + ".stats.json", "w") as f:
        json.dump(stats, f, indent=1)
    log(json.dumps({**metrics, **{k: stats[k] for k in ("explained_fit", "explained_held_out", "emphasis_slope",
                                                        "emphasis_r_fit", "emphasis_r_held_out", "sigma")}}, indent=1))
    log(f"wrote {args.out} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
