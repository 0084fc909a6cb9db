"""Fit the mouth-opening model (models/mouth.onnx) across speakers.

    facebridge train mouth [--data ../shared/data] [--out models/mouth.onnx] [--folds DIR]

Read top to bottom:
1. Clips: every shared talking clip with its speaker's own speech (lp_d*, talking/), except
   the speakers of TEST_SPEAKERS, which no choice here may see (bench/lipsync.py --split test
   reports on them at the end).
2. Truth: the mouth opening (inner-lip gap / eye span) of FaceMesh tracked on every frame,
   standardised per clip (speakers open their mouths by different amounts; what must carry
   over is when and how much relative to their own range).
3. Features per 10 ms hop as animate computes them (bridge/speech/mouth.py): the mid-band
   opening cue, the level, the viseme network's 10 class probabilities, at LAGS.
4. A ridge regression, each speaker weighing the same whatever its minutes (the GRID speaker
   s1 alone has three). RIDGE was chosen leave-one-speaker-out on these speakers.
5. Leave-one-speaker-out figures beside the cue alone; the final fit on every speaker, scaled
   to the cue's range (0 closed, ~1 an open vowel) so the rig's jaw gain still applies; ONNX.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time

import numpy as np

from bridge.face import topology as T
from bridge.speech import mouth as mm
from bridge.train.onnx_io import save_graph
from bridge.train.tracking import CACHE

DEFAULT_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data")
LP_CLIPS = ["lp_d6", "lp_d9", "lp_d10", "lp_d11", "lp_d20"]
# Held out of every lip-sync choice and looked at only at the end: two GRID speakers, two
# US-address speakers and one more filmed speaker (bench/lipsync.py uses the same set).
TEST_SPEAKERS = {"grid_spk_sbwe5n", "grid_spk_lwbsza", "hdtf_WDA_EdMarkey", "trump", "it_bald_man"}
RIDGE = 300.0


# ---------------------------------------------------------------- 1. clips
def clip_table(data: str) -> list[dict]:
    """Every shared clip with its speaker's own speech: id, path, speaker, group."""
    rows = [dict(id=c, path=os.path.join(data, "faces", "videos", c + ".mp4"), speaker=c, group="LivePortrait")
            for c in LP_CLIPS]
    manifest = os.path.join(data, "talking", "MANIFEST.tsv")
    if os.path.exists(manifest):
        for r in csv.DictReader(open(manifest), delimiter="\t"):
            group = "GRID" if r["id"].startswith("grid") else "CREMA-D" if r["id"].startswith("crema") else "US addresses"
            rows.append(dict(id=r["id"], path=os.path.join(data, "talking", r["id"] + ".mp4"),
                             speaker=r["speaker_label"], group=group))
    return [r for r in rows if os.path.exists(r["path"])]


def lip_gap(points: np.ndarray) -> np.ndarray:
    """(F, 478, 3) landmarks -> (F,) mouth opening: inner-lip gap over outer-eye-corner distance
    (NaN where the face was not tracked). The truth of every lip-sync figure."""
    gap = np.linalg.norm(points[:, T.INNER_LIP_BOTTOM, :2] - points[:, T.INNER_LIP_TOP, :2], axis=1)
    eyes = np.linalg.norm(points[:, T.EYE_OUTER_LEFT, :2] - points[:, T.EYE_OUTER_RIGHT, :2], axis=1)
    return gap / eyes


def fill_gaps(x: np.ndarray) -> np.ndarray:
    """NaN samples (frames without a face) interpolated from their neighbours."""
    ok = np.isfinite(x)
    return np.interp(np.arange(len(x)), np.flatnonzero(ok), x[ok])


# ---------------------------------------------------------------- 2-3. truth and features
def load_clip(clip: dict) -> dict:
    from bridge.speech import Audio, envelope
    from bridge.train.tracking import read_speech_track, track_video

    cache = os.path.join(CACHE, "mouth", f"{clip['id']}-{os.path.getsize(clip['path'])}-v5.npz")
    if os.path.exists(cache):
        z = np.load(cache)
        return dict(clip, opening=z["opening"], fps=float(z["fps"]), hops=z["hops"], stream_hops=z["stream_hops"])
    points, fps = track_video(clip["path"])
    audio = read_speech_track(clip["path"])
    env = envelope(Audio(audio, clip["id"], 16000, 1))
    hops = mm.hop_features(env.opening(), env.level(), mm.viseme_probabilities(audio))
    stream = mm.stream_hops(audio)
    opening = fill_gaps(lip_gap(points))
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    np.savez(cache + ".partial.npz", opening=opening, fps=fps, hops=hops, stream_hops=stream)
    os.replace(cache + ".partial.npz", cache)
    return dict(clip, opening=opening, fps=fps, hops=hops, stream_hops=stream)

# The two models: the whole-clip one (animate) and the stream one (serve's pcm chunks), each
# on the features its path computes.
KINDS = {"clip": ("hops", mm.LAGS), "stream": ("stream_hops", mm.STREAM_LAGS)}


def frame_hops(c: dict) -> np.ndarray:
    """The hop under each video frame's centre."""
    t = (np.arange(len(c["opening"])) + 0.5) / c["fps"]
    return np.clip((t / 0.01).astype(int), 0, min(len(c["hops"]), len(c["stream_hops"])) - 1)


def design(c: dict, kind: str) -> np.ndarray:
    key, lags = KINDS[kind]
    return mm.lagged(c[key], frame_hops(c), lags)


# ---------------------------------------------------------------- 4. fit
def fit(clips: list[dict], kind: str = "clip") -> tuple[np.ndarray, float]:
    """Weighted ridge on standardised openings -> (weights incl. bias, std of the fit's output)."""
    frames = {}
    for c in clips:
        frames[c["speaker"]] = frames.get(c["speaker"], 0) + len(c["opening"])
    xs, ys, ws = [], [], []
    for c in clips:
        x = design(c, kind)
        xs.append(np.concatenate([x, np.ones((len(x), 1), np.float32)], 1))
        o = c["opening"]
        ys.append((o - o.mean()) / (o.std() + 1e-9))
        ws.append(np.full(len(o), 1.0 / frames[c["speaker"]]))
    x, y, w = np.concatenate(xs).astype(np.float64), np.concatenate(ys), np.concatenate(ws)
    w /= w.mean()
    beta = np.linalg.solve(x.T @ (x * w[:, None]) + RIDGE * np.eye(x.shape[1]), x.T @ (y * w))
    return beta, float(np.std(x @ beta))


def predict(beta: np.ndarray, c: dict, kind: str = "clip") -> np.ndarray:
    return design(c, kind) @ beta[:-1] + beta[-1]


# ---------------------------------------------------------------- 5. evaluate and export
def corr_at(pred: np.ndarray, truth: np.ndarray, lag: int) -> float:
    """Pearson r of pred[t] with truth[t + lag] (lag > 0: the prediction is early)."""
    if lag > 0:
        a, b = pred[:-lag], truth[lag:]
    elif lag < 0:
        a, b = pred[-lag:], truth[:lag]
    else:
        a, b = pred, truth
    if np.std(a) < 1e-9 or np.std(b) < 1e-9:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def lag_scan(pred: np.ndarray, truth: np.ndarray, fps: float, max_lag_s: float = 0.2) -> tuple[float, float, float]:
    """(r at zero lag, r at the best lag within ±max_lag_s, that lag in seconds)."""
    m = int(round(max_lag_s * fps))
    rs = {lag: corr_at(pred, truth, lag) for lag in range(-m, m + 1)}
    best = max(rs, key=rs.get)
    return rs[0], rs[best], best / fps


def leave_speaker_out(clips: list[dict], log, kind: str, folds_dir: str | None = None, cue_scale=None) -> dict:
    rows = []
    cue_col = KINDS[kind][0]
    for spk in sorted({c["speaker"] for c in clips}):
        beta, fold_std = fit([c for c in clips if c["speaker"] != spk], kind)
        if folds_dir:
            name = f"{spk}.onnx" if kind == "clip" else os.path.join("stream", f"{spk}.onnx")
            export(scaled(beta, cue_scale[0], cue_scale[1], fold_std), os.path.join(folds_dir, name),
                   {"held_out_speaker": spk}, KINDS[kind][1])
        for c in clips:
            if c["speaker"] == spk:
                t = c["opening"]
                cue = c[cue_col][frame_hops(c), 0]
                rows.append(dict(clip=c["id"], speaker=spk, group=c["group"],
                                 model=lag_scan(predict(beta, c, kind), t, c["fps"])[:2],
                                 cue=lag_scan(cue, t, c["fps"])[:2]))
    speakers = {}
    for r in rows:
        speakers.setdefault(r["speaker"], []).append(r)
    mean = lambda key, i: round(float(np.mean([np.mean([r[key][i] for r in v]) for v in speakers.values()])), 3)
    out = {"speakers": len(speakers), "clips": len(rows), "model_r0": mean("model", 0), "model_r_best": mean("model", 1),
           "cue_r0": mean("cue", 0), "cue_r_best": mean("cue", 1)}
    log(f"{kind} model, leave-one-speaker-out over {out['speakers']} speakers: r0 {out['model_r0']}, best {out['model_r_best']}"
        f" | cue alone r0 {out['cue_r0']}, best {out['cue_r_best']}")
    return out


def scaled(beta: np.ndarray, cue_mean: float, cue_std: float, fit_std: float) -> np.ndarray:
    """Standardised output -> the cue's scale: same mean and spread as the cue over training frames."""
    out = beta * (cue_std / fit_std)
    out[-1] += cue_mean
    return out


def export(beta: np.ndarray, path: str, meta: dict[str, str], lags=mm.LAGS) -> None:
    from onnx import TensorProto, helper, numpy_helper

    w = beta[:-1].reshape(1, -1).astype(np.float32)
    b = np.array([beta[-1]], np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["features", "W", "b"], ["opening"], transB=1)], "mouth",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", len(lags) * mm.PER_HOP])],
        [helper.make_tensor_value_info("opening", TensorProto.FLOAT, ["N", 1])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "b")])
    save_graph(graph, path, dict(meta, lags=",".join(map(str, lags)),
                                 features="mid-band cue, level, " + ",".join(f"p({c})" for c in mm.vn.CLASS_NAMES)))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="facebridge train mouth")
    ap.add_argument("--data", default=DEFAULT_DATA, help="../shared/data")
    ap.add_argument("--out", default=mm.DEFAULT_PATH, help="the whole-clip model")
    ap.add_argument("--stream-out", default=mm.STREAM_PATH, help="the stream model")
    ap.add_argument("--folds", help="also write one model per held-out speaker here (for bench/lipsync.py)")
    args = ap.parse_args(argv)
    t0 = time.monotonic()

    def log(msg):
        print(f"[{time.monotonic() - t0:6.1f} s] {msg}", flush=True)

    table = [c for c in clip_table(args.data) if c["speaker"] not in TEST_SPEAKERS]
    if not table:
        raise SystemExit(f"no talking clips under {args.data}")
    clips = []
    for c in table:
        clips.append(load_clip(c))
        log(f"{c['id']}: {len(clips[-1]['opening'])} frames")
    metrics = {"speakers": sorted({c["speaker"] for c in clips}), "clips": [c["id"] for c in clips], "ridge": RIDGE}
    for kind, out in (("clip", args.out), ("stream", args.stream_out)):
        all_cue = np.concatenate([c[KINDS[kind][0]][frame_hops(c), 0] for c in clips])
        beta, fit_std = fit(clips, kind)
        cue_scale = (float(all_cue.mean()), float(all_cue.std()), fit_std)
        loso = leave_speaker_out(clips, log, kind, args.folds, cue_scale)
        meta = {"speakers": ",".join(metrics["speakers"]), "ridge": str(RIDGE), "loso": json.dumps(loso),
                "held_out_speakers": ",".join(sorted(TEST_SPEAKERS)), "path": kind}
        export(scaled(beta, *cue_scale), out, meta, KINDS[kind][1])
        metrics[kind] = loso
        log(f"wrote {out}")
    with open(os.path.splitext(args.out)[0] + ".metrics.json", "w") as f:
        json.dump(metrics, f, indent=1)

if __name__ == "__main__":
    main()
