"""Lip-sync accuracy on every shared talking-head clip with the speaker's own speech: the
LivePortrait clips (lp_d*) and ../shared/data/talking (GRID, CREMA-D, US addresses), 26
speakers in four groups.

Input: the clip's first frame + its audio, no transcript, as a new user would run it. Truth:
FaceMesh tracked on every frame, mouth opening = inner-lip gap (13-14) / outer-eye-corner
distance (33-263). Reported per clip, per speaker group and over speakers (a speaker's clips
averaged first): Pearson r at zero lag and at the best lag within ±200 ms, for our path and,
in the same run, for baselines that cannot have been tuned on these clips:
- rms: the audio's RMS envelope;
- phone_loop: a Rhubarb-style baseline: the pocketsphinx phone loop, a jaw target per phone
  (the rig's viseme table), 90 ms moving-average smoothing;
- previous: the previous release (PREVIOUS, run from a git worktree of that commit), whose
  opening cue was tuned on the five lp_d clips.
Split (--split): TEST_SPEAKERS are kept out of every choice made on lip-sync and looked at
only at the end; `dev` (default) is everything else, `test` only them, `all` both.
The best lag within ±1 s is kept as a diagnostic of a clip's own audio/video offset.

--stream adds the streamed path (the daemon's `speak` with 20 ms `pcm` chunks), with its
viseme classes and without them (the acoustic cue alone), and a second measure that the
lip shapes drive: mouth width (lip corners 61-291 over the eye-corner distance), which
rounding narrows and spreading widens.

    python bench/lipsync.py [--split dev|test|all] [--clips lp_d6,...] [--stream] [--transcripts] [--no-previous]
"""

from __future__ import annotations

import argparse
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

from bridge.face import topology as T  # noqa: E402
# The truth and the correlation, shared with the mouth model's training (one definition).
from bridge.train.mouth import fill_gaps, lag_scan, lip_gap  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
TALKING = os.path.join(DATA, "talking")
# Held out of every lip-sync choice (features, gains, models), looked at only at the end; none
# of them was in the five clips the previous release's cue was tuned on. One list, shared with
# the mouth model's training (bridge/train/mouth.py).
from bridge.train.mouth import TEST_SPEAKERS  # noqa: E402
PREVIOUS = "07e66ba"  # the release before the lip-sync work of issue #17
WIDE_LAG_S = 1.0  # diagnostic only: finds clips whose own audio/video offset exceeds ±200 ms


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


def clip_table() -> list[dict]:
    from bridge.train.mouth import clip_table as table

    return table(DATA)


def truth_of(path: str):
    """(opening per video frame, fps, 16 kHz audio, the still to animate). The still is the
    first frame whose face a photo detector finds (some clips open on a cut or a blur)."""
    import av

    from bridge.errors import NoFaceError
    from bridge.face import detect_face
    from bridge.train.tracking import read_speech_track, track_video

    points, fps = track_video(path)
    tracked = np.isfinite(points).all(axis=(1, 2))
    first = None
    with av.open(path) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if not tracked[min(i, len(tracked) - 1)]:
                continue
            img = frame.to_ndarray(format="rgb24")
            first = first if first is not None else img
            try:
                detect_face(img)
                first = img
                break
            except NoFaceError:
                if i > 100:
                    break
    return fill_gaps(lip_gap(points)), fps, read_speech_track(path), first


def transcript_of(clip_id: str) -> str | None:
    """The clip's words from talking/transcripts (emotion tags like "(hap)" dropped), if any."""
    import re

    path = os.path.join(TALKING, "transcripts", clip_id + ".tsv")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f][1:]
    return " ".join(re.sub(r"\(\w+\)", "", r[2]).strip() for r in rows if len(r) > 2) or None


def phone_loop_baseline(audio: np.ndarray, n: int, fps: float) -> np.ndarray:
    """Rhubarb-style: phone loop -> each phone's jaw target -> 90 ms moving average."""
    from bridge.motion.visemes import target
    from bridge.speech import Audio, PhoneDecoder, envelope, speech_segments

    clip = Audio(audio.astype(np.float32), "clip", 16000, 1)
    phones = PhoneDecoder().decode(clip, speech_segments(envelope(clip)))
    t = (np.arange(n) + 0.5) / fps
    jaw = np.zeros(n)
    for p in phones:
        jaw[(t >= p.start_s) & (t < p.end_s)] = target(p.phone).get("jawOpen", 0.0)
    k = max(1, int(round(0.09 * fps)))
    return np.convolve(jaw, np.ones(k) / k, mode="same")


def pause_frames(audio: np.ndarray, n: int, fps: float, min_s: float = 0.25, trim_s: float = 0.1) -> np.ndarray:
    """(n,) bool: frames inside a non-speech stretch of at least min_s, trim_s in from its ends
    (the mouth may still be closing or already opening there)."""
    from bridge.speech import Audio, envelope, speech_segments

    t = (np.arange(n) + 0.5) / fps
    speech = np.zeros(n, bool)
    for s0, s1 in speech_segments(envelope(Audio(audio.astype(np.float32), "clip", 16000, 1))):
        speech[(t >= s0) & (t < s1)] = True
    out = np.zeros(n, bool)
    f = 0
    while f < n:
        if speech[f]:
            f += 1
            continue
        g = f
        while g < n and not speech[g]:
            g += 1
        if (g - f) / fps >= min_s:
            k = int(round(trim_s * fps))
            out[f + k:max(f + k, g - k)] = True
        f = g
    return out


def rest_measures(pred: np.ndarray, pauses: np.ndarray) -> tuple[float, float] | None:
    """In pauses: the mean opening, and the mean frame-to-frame movement (jaw chatter), both on
    the track's own scale (its 5th..95th percentile over the clip = 0..1). None without pauses."""
    if pauses.sum() < 3:
        return None
    lo, hi = np.percentile(pred, [5, 95])
    x = (pred - lo) / max(hi - lo, 1e-9)
    moves = np.abs(np.diff(x))[pauses[1:] & pauses[:-1]]
    return float(x[pauses].mean()), float(moves.mean()) if len(moves) else 0.0


_PREVIOUS_SCRIPT = """
import sys, numpy as np
sys.path.insert(0, sys.argv[1])
from bench.lipsync import opening
from bridge.pipeline import animate
anim, _ = animate(sys.argv[2], sys.argv[3], text=None, fps=float(sys.argv[4]))
np.save(sys.argv[5], opening(anim.landmarks()))
"""


def previous_release(img: str, wav: str, fps: float, clip: str) -> np.ndarray | None:
    """The opening track of the previous release (PREVIOUS), run in a git worktree of it; cached."""
    cache = os.path.join(RESULTS, f"previous_{PREVIOUS}_{clip}.npy")
    if os.path.exists(cache):
        return np.load(cache)
    tree = os.path.join(RESULTS, f"worktree_{PREVIOUS}")
    if not os.path.isdir(tree):
        r = subprocess.run(["git", "worktree", "add", "-f", "--detach", tree, PREVIOUS], cwd=ROOT,
                           capture_output=True, text=True)
        if r.returncode:
            print(f"previous release unavailable: {r.stderr.strip()}", flush=True)
            return None
    r = subprocess.run([sys.executable, "-c", _PREVIOUS_SCRIPT, tree, img, wav, str(fps), cache], cwd=tree,
                       capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=tree))
    if r.returncode:
        print(f"previous release failed on {clip}: {r.stderr.strip()[-300:]}", flush=True)
        return None
    return np.load(cache)


def rms_baseline(audio: np.ndarray, rate: int, n: int, fps: float) -> np.ndarray:
    t = np.arange(n) / fps
    win = int(rate / fps)
    out = np.zeros(n)
    for i, ti in enumerate(t):
        s = int(ti * rate)
        seg = audio[s:s + win]
        out[i] = np.sqrt(np.mean(seg ** 2)) if len(seg) else 0.0
    return out


METHODS = ("ours", "previous", "phone_loop", "rms")


def summarise(rows: list[dict], methods) -> dict:
    """Means per speaker group and over speakers (each speaker's clips averaged first)."""
    out = {}
    for key in ("r0", "r_best"):
        for m in methods:
            vals = [(r["group"], r["speaker"], r[f"{m}_{key}"]) for r in rows if f"{m}_{key}" in r]
            if not vals:
                continue
            per_speaker: dict = {}
            for g, spk, v in vals:
                per_speaker.setdefault((g, spk), []).append(v)
            speakers = {k: float(np.mean(v)) for k, v in per_speaker.items()}
            out.setdefault("speakers", {})[f"{m}_{key}"] = round(float(np.mean(list(speakers.values()))), 3)
            out.setdefault("clips", {})[f"{m}_{key}"] = round(float(np.mean([v for _, _, v in vals])), 3)
            for g in sorted({g for g, _ in speakers}):
                out.setdefault("groups", {}).setdefault(g, {})[f"{m}_{key}"] = round(
                    float(np.mean([v for (gg, _), v in speakers.items() if gg == g])), 3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", choices=["dev", "test", "all"], default="dev",
                    help="dev: every speaker but TEST_SPEAKERS (default); test: only them (look at the end)")
    ap.add_argument("--clips", help="comma-separated clip ids (default: the split's clips)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--no-previous", action="store_true", help="skip the previous release (no git worktree)")
    ap.add_argument("--mouth-folds", metavar="DIR",
                    help="leave-speaker-out: run each clip with DIR/<its speaker>.onnx, the mouth model fitted "
                         "without that speaker (facebridge train mouth --folds DIR); without it, dev figures "
                         "of the shipped model are fitted on the clip's own speaker")
    ap.add_argument("--stream", action="store_true", help="also run the streamed path, with and without viseme classes")
    ap.add_argument("--transcripts", action="store_true",
                    help="also run the clips that have transcripts (talking/transcripts) with their text, "
                         "and report what alignment adds (opening and mouth width)")
    ap.add_argument("--emotions", default="",
                    help="also run with each of these --emotion overrides (e.g. joy,anger) and report the drop")
    args = ap.parse_args()
    import cv2

    from bridge.pipeline import animate
    from bridge.train.tracking import track_video

    table = clip_table()
    if args.clips:
        wanted = args.clips.split(",")
        table = [r for r in table if r["id"] in wanted]
    elif args.split != "all":
        table = [r for r in table if (r["speaker"] in TEST_SPEAKERS) == (args.split == "test")]
    os.makedirs(RESULTS, exist_ok=True)
    rows = []
    for clip in table:
        truth, fps, audio, first = truth_of(clip["path"])
        rate = 16000
        with tempfile.TemporaryDirectory() as tmp:
            img, wav = os.path.join(tmp, "first.png"), os.path.join(tmp, "audio.wav")
            cv2.imwrite(img, cv2.cvtColor(first, cv2.COLOR_RGB2BGR))
            sf.write(wav, audio, rate)
            fold = os.path.join(args.mouth_folds, clip["speaker"] + ".onnx") if args.mouth_folds else ""
            stream_fold = os.path.join(args.mouth_folds, "stream", clip["speaker"] + ".onnx") if args.mouth_folds else ""
            for var, path in (("FACEBRIDGE_MOUTH_MODEL", fold), ("FACEBRIDGE_MOUTH_STREAM_MODEL", stream_fold)):
                if os.path.exists(path):
                    os.environ[var] = path
                else:
                    os.environ.pop(var, None)
            t0 = time.perf_counter()
            anim, _ = animate(img, wav, text=None, fps=fps)
            elapsed = time.perf_counter() - t0
            preds = {"ours": lip_gap(anim.landmarks())}
            if not args.no_previous:
                prev = previous_release(img, wav, fps, clip["id"])
                if prev is not None:
                    preds["previous"] = prev
            with_emotion = {}
            for emo in filter(None, args.emotions.split(",")):
                a2, _ = animate(img, wav, text=None, fps=fps, emotion=emo)
                with_emotion[emo] = lip_gap(a2.landmarks())
            with_text = {}
            transcript = transcript_of(clip["id"]) if args.transcripts else None
            if transcript:
                points, _ = track_video(clip["path"])
                truth_w = fill_gaps(width(points))
                a3, _ = animate(img, wav, text=transcript, fps=fps)
                for arm, lm in (("audio", anim.landmarks()), ("text", a3.landmarks())):
                    m = min(len(lm), len(truth), len(truth_w))
                    with_text[arm] = (lag_scan(lip_gap(lm)[:m], truth[:m], fps)[:2],
                                      lag_scan(width(lm)[:m], truth_w[:m], fps)[1])
            streams = {}
            if args.stream:
                points, _ = track_video(clip["path"])
                truth_w = fill_gaps(width(points))
                arms = {"whole": anim.landmarks(),
                        "stream": streamed(anim.avatar, audio, rate, fps, phones=True),
                        "stream_acoustic": streamed(anim.avatar, audio, rate, fps, phones=False)}
                for arm, lm in arms.items():
                    m = min(len(lm), len(truth), len(truth_w))
                    streams[arm] = dict(opening=lag_scan(lip_gap(lm)[:m], truth[:m], fps)[1],
                                        width=lag_scan(width(lm)[:m], truth_w[:m], fps)[1])
        n = min(len(preds["ours"]), len(truth))
        tr = truth[:n]
        preds["rms"] = rms_baseline(audio, rate, n, fps)
        preds["phone_loop"] = phone_loop_baseline(audio, n, fps)
        row = dict(clip=clip["id"], speaker=clip["speaker"], group=clip["group"], seconds=round(n / fps, 1),
                   mouth_model="leave-speaker-out" if os.path.exists(fold) else "shipped",
                   fps=round(fps, 2), animate_s=round(elapsed, 2))
        for m, pred in preds.items():
            pred = np.asarray(pred)[:n]
            if len(pred) < n:
                pred = np.pad(pred, (0, n - len(pred)), mode="edge")
            r0, rb, lag = lag_scan(pred, tr, fps)
            row.update({f"{m}_r0": round(r0, 3), f"{m}_r_best": round(rb, 3), f"{m}_lag_ms": round(lag * 1000)})
        # The mouth at rest: pauses of 250 ms or more (#17: lips closed, no chatter), beside the truth.
        pauses = pause_frames(audio, n, fps)
        row["pause_s"] = round(float(pauses.sum()) / fps, 1)
        for m, pred in [("truth", tr)] + [(m, preds[m]) for m in ("ours", "previous") if m in preds]:
            rm = rest_measures(np.asarray(pred)[:n], pauses)
            if rm is not None:
                row[f"{m}_pause_open"], row[f"{m}_pause_chatter"] = round(rm[0], 3), round(rm[1], 4)
        _, rw, wlag = lag_scan(preds["ours"][:n], tr, fps, WIDE_LAG_S)
        row.update(r_wide=round(rw, 3), wide_lag_ms=round(wlag * 1000))
        for arm, r in streams.items():
            row[f"{arm}_opening_r"], row[f"{arm}_width_r"] = round(r["opening"], 3), round(r["width"], 3)
        for arm, ((r0, rb), rw) in with_text.items():
            row.update({f"{arm}_opening_r0": round(r0, 3), f"{arm}_opening_r_best": round(rb, 3),
                        f"{arm}_width_r_best": round(rw, 3)})
        for emo, p2 in with_emotion.items():
            e0, eb, _ = lag_scan(p2[:n], tr, fps)
            row[f"r0_{emo}"], row[f"r_best_{emo}"] = round(e0, 3), round(eb, 3)
        rows.append(row)
        print(json.dumps(row), flush=True)
    summary = summarise(rows, METHODS)
    extra = [k for k in rows[0] if k.endswith(("_opening_r", "_width_r")) or k.startswith(("r0_", "r_best_"))] if rows else []
    summary["extra"] = {k: round(float(np.mean([r[k] for r in rows])), 3) for k in extra}
    texted = [r for r in rows if "text_opening_r0" in r]
    if texted:  # the same clips with and without their transcript
        summary["transcripts"] = {k: round(float(np.mean([r[k] for r in texted])), 3) for k in texted[0]
                                  if k.startswith(("audio_", "text_"))}
        summary["transcripts"]["clips"] = len(texted)
    with_pauses = [r for r in rows if "truth_pause_open" in r and "ours_pause_open" in r]
    summary["pauses"] = {k: round(float(np.mean([r[k] for r in with_pauses if k in r])), 4) for k in
                         ("truth_pause_open", "ours_pause_open", "previous_pause_open", "truth_pause_chatter",
                          "ours_pause_chatter", "previous_pause_chatter") if any(k in r for r in with_pauses)}
    summary["pauses"]["clips"] = len(with_pauses)
    command = "python bench/lipsync.py" + (f" --split {args.split}" if not args.clips else f" --clips {args.clips}") + \
        (f" --emotions {args.emotions}" if args.emotions else "") + (" --stream" if args.stream else "") + \
        (" --transcripts" if args.transcripts else "")
    command += f" --mouth-folds {args.mouth_folds}" if args.mouth_folds else ""
    report = dict(date=datetime.date.today().isoformat(), machine=machine(), commit=git_rev(), command=command,
                  previous=PREVIOUS, test_speakers=sorted(TEST_SPEAKERS), clips=rows, summary=summary)
    print(json.dumps(summary, indent=1))
    name = "lipsync_emotion" if args.emotions else "lipsync_stream" if args.stream else \
        f"lipsync_{args.split}_transcripts" if args.transcripts else f"lipsync_{args.split}"
    out = args.out or os.path.join(RESULTS, name + ".json")
    with open(out, "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
