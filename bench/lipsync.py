"""Lip-sync accuracy on the shared talking-head clips with the speaker's own speech.

Input: the clip's first frame + its audio, no transcript. Truth: FaceMesh tracked on every
frame, mouth opening = inner-lip gap (13-14) / outer-eye-corner distance (33-263).
Reported: Pearson correlation at zero lag and at the best lag within ±200 ms, per clip,
beside an audio-RMS-envelope baseline computed in the same run; and, as a diagnostic of the
clips' own audio/video offsets, the best lag within ±1 s.

--stream adds the streamed path (the daemon's `speak` with 20 ms `pcm` chunks), with its
viseme classes and without them (the acoustic cue alone), and a second measure that the
lip shapes drive: mouth width (lip corners 61-291 over the eye-corner distance), which
rounding narrows and spreading widens.

    python bench/lipsync.py [--clips lp_d6,lp_d9,...] [--stream]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
import time

import numpy as np
import soundfile as sf

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from bench.common import RESULTS, VIDEOS, git_rev, machine, read_video  # noqa: E402

from bridge.face import FaceMeshDetector  # noqa: E402
from bridge.face import topology as T  # noqa: E402

CLIPS = ["lp_d6", "lp_d9", "lp_d10", "lp_d11", "lp_d20"]
MAX_LAG_S = 0.2
WIDE_LAG_S = 1.0  # diagnostic only: finds clips whose own audio/video offset exceeds ±200 ms


def opening(points: np.ndarray) -> np.ndarray:
    """(F, 478, 3) -> (F,) inner-lip gap over outer-eye-corner distance."""
    gap = np.linalg.norm(points[:, T.INNER_LIP_BOTTOM, :2] - points[:, T.INNER_LIP_TOP, :2], axis=1)
    eyes = np.linalg.norm(points[:, T.EYE_OUTER_LEFT, :2] - points[:, T.EYE_OUTER_RIGHT, :2], axis=1)
    return gap / eyes


def width(points: np.ndarray) -> np.ndarray:
    """(F, 478, 3) -> (F,) lip-corner distance over outer-eye-corner distance."""
    w = np.linalg.norm(points[:, 61, :2] - points[:, 291, :2], axis=1)
    eyes = np.linalg.norm(points[:, T.EYE_OUTER_LEFT, :2] - points[:, T.EYE_OUTER_RIGHT, :2], axis=1)
    return w / eyes


def streamed(avatar, audio: np.ndarray, rate: int, fps: float, phones: bool) -> np.ndarray:
    """Landmarks of the streamed path fed 20 ms chunks, as the daemon runs it."""
    from bridge.motion.pose import apply_pose
    from bridge.motion.streaming import StreamingSpeaker

    sp = StreamingSpeaker(rate, fps, seed=1, rig=avatar.rig, phones=phones)
    step = int(rate * 0.02)
    frames = []
    for s0 in range(0, len(audio), step):
        frames += sp.push(audio[s0:s0 + step], final=s0 + step >= len(audio))
    w = np.array([f[1] for f in frames])
    pose = np.array([f[2] for f in frames], np.float64)
    return avatar.frame.to_image(apply_pose(avatar.rig.apply(w), pose))


def interp_nan(x: np.ndarray) -> np.ndarray:
    ok = np.isfinite(x)
    return np.interp(np.arange(len(x)), np.flatnonzero(ok), x[ok])


def track(frames) -> np.ndarray:
    out = np.full(len(frames), np.nan)
    with FaceMeshDetector(video=True, max_faces=1) as det:
        for i, f in enumerate(frames):
            faces = det.track(f)
            if faces:
                out[i] = opening(faces[0][None])[0]
    # Frames where tracking failed: interpolate from neighbours.
    ok = np.isfinite(out)
    out[~ok] = np.interp(np.flatnonzero(~ok), np.flatnonzero(ok), out[ok])
    return out


def rms_baseline(audio: np.ndarray, rate: int, n: int, fps: float) -> np.ndarray:
    t = np.arange(n) / fps
    win = int(rate / fps)
    out = np.zeros(n)
    for i, ti in enumerate(t):
        s = int(ti * rate)
        seg = audio[s:s + win]
        out[i] = np.sqrt(np.mean(seg ** 2)) if len(seg) else 0.0
    return out


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


def lag_scan(pred, truth, fps, max_lag_s=MAX_LAG_S):
    m = int(round(max_lag_s * fps))
    rs = {lag: corr_at(pred, truth, lag) for lag in range(-m, m + 1)}
    best = max(rs, key=rs.get)
    return rs[0], rs[best], best / fps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", default=",".join(CLIPS))
    ap.add_argument("--out", default=None)
    ap.add_argument("--stream", action="store_true", help="also run the streamed path, with and without viseme classes")
    ap.add_argument("--emotions", default="",
                    help="also run with each of these --emotion overrides (e.g. joy,anger) and report the drop")
    args = ap.parse_args()
    from bridge.pipeline import animate

    os.makedirs(RESULTS, exist_ok=True)
    rows = []
    for clip in args.clips.split(","):
        path = os.path.join(VIDEOS, clip + ".mp4")
        frames, fps, audio, rate = read_video(path)
        cache = os.path.join(RESULTS, f"track_{clip}.npy")
        if os.path.exists(cache):
            truth = np.load(cache)
        else:
            truth = track(frames)
            np.save(cache, truth)
        with tempfile.TemporaryDirectory() as tmp:
            img, wav = os.path.join(tmp, "first.png"), os.path.join(tmp, "audio.wav")
            import cv2

            cv2.imwrite(img, cv2.cvtColor(frames[0], cv2.COLOR_RGB2BGR))
            sf.write(wav, audio, rate)
            t0 = time.perf_counter()
            anim, _ = animate(img, wav, text=None, fps=fps)
            elapsed = time.perf_counter() - t0
            pred = opening(anim.landmarks())
            with_emotion = {}
            for emo in filter(None, args.emotions.split(",")):
                a2, _ = animate(img, wav, text=None, fps=fps, emotion=emo)
                with_emotion[emo] = opening(a2.landmarks())
            streams = {}
            if args.stream:
                from bridge.train.tracking import track_video

                points, _ = track_video(path)
                truth_w = interp_nan(width(points))
                arms = {"whole": anim.landmarks(),
                        "stream": streamed(anim.avatar, audio, rate, fps, phones=True),
                        "stream_acoustic": streamed(anim.avatar, audio, rate, fps, phones=False)}
                for arm, lm in arms.items():
                    m = min(len(lm), len(truth), len(truth_w))
                    streams[arm] = dict(opening=lag_scan(opening(lm)[:m], truth[:m], fps)[1],
                                        width=lag_scan(width(lm)[:m], truth_w[:m], fps)[1])
        n = min(len(pred), len(truth))
        pred, tr = pred[:n], truth[:n]
        base = rms_baseline(audio, rate, n, fps)
        r0, rb, lag = lag_scan(pred, tr, fps)
        b0, bb, blag = lag_scan(base, tr, fps)
        _, rw, wlag = lag_scan(pred, tr, fps, WIDE_LAG_S)
        rows.append(dict(clip=clip, seconds=round(n / fps, 1), fps=round(fps, 2), r0=round(r0, 3),
                         r_best=round(rb, 3), best_lag_ms=round(lag * 1000), rms_r0=round(b0, 3),
                         rms_r_best=round(bb, 3), rms_best_lag_ms=round(blag * 1000),
                         r_wide=round(rw, 3), wide_lag_ms=round(wlag * 1000),
                         animate_s=round(elapsed, 2)))
        for arm, r in streams.items():
            rows[-1][f"{arm}_opening_r"], rows[-1][f"{arm}_width_r"] = round(r["opening"], 3), round(r["width"], 3)
        for emo, p2 in with_emotion.items():
            e0, eb, _ = lag_scan(p2[:n], tr, fps)
            rows[-1][f"r0_{emo}"], rows[-1][f"r_best_{emo}"] = round(e0, 3), round(eb, 3)
        print(json.dumps(rows[-1]), flush=True)
    keys = ["r0", "r_best", "rms_r0", "rms_r_best", "r_wide"]
    keys += [f"{k}_{e}" for e in filter(None, args.emotions.split(",")) for k in ("r0", "r_best")]
    if args.stream:
        keys += [f"{arm}_{m}_r" for arm in ("whole", "stream", "stream_acoustic") for m in ("opening", "width")]
    mean = {k: round(float(np.mean([r[k] for r in rows])), 3) for k in keys}
    command = "python bench/lipsync.py" + (f" --emotions {args.emotions}" if args.emotions else "") + \
        (" --stream" if args.stream else "")
    report = dict(date=datetime.date.today().isoformat(), machine=machine(), commit=git_rev(),
                  command=command, clips=rows, mean=mean)
    print(json.dumps(mean))
    name = "lipsync_emotion" if args.emotions else "lipsync_stream" if args.stream else "lipsync"
    out = args.out or os.path.join(RESULTS, name + ".json")
    with open(out, "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
