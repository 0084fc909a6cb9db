"""Performance capture (`facebridge capture`): speed and how well the solved jaw follows the mouth.

1. Latency: a talking clip re-encoded at 640x480, 30 fps, played as a camera in real time
   (late frames dropped as a camera would); per frame, the time from the frame being read to
   its Live Link Face packet being sent (to a local UDP receiver), p50/p99, the sustained frame
   rate, and FaceMesh tracking alone in the same run (the floor).
2. Quality: on talking clips of speakers the capture solver was NOT tuned on (the tuning clips
   are listed below), the correlation of the solved jawOpen with the mouth opening (inner lip
   gap / eye span) of the same FaceMesh track, beside the plain solver (no lip prior; the
   solver before this work) in the same run.

    python bench/capture.py [--clips ID,ID] [--seconds 20]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import socket
import sys
import tempfile

import numpy as np

ROOT = os.path.join(os.path.dirname(__file__), "..")
sys.path.insert(0, ROOT)
from bench.common import DATA, RESULTS, git_rev, machine  # noqa: E402

from bridge.motion import arkit  # noqa: E402

TALKING = os.path.join(DATA, "talking")
# Clips whose speakers the lip prior of bridge/motion/performance.py was chosen on (with
# lp_d6, lp_d10, lp_d11, lp_d20): never reported as held-out.
TUNED = {"grid_s1_1", "grid_s1_2", "grid_s1_3", "grid_brbk7n", "crema_1001", "ed_mouth_source"}
LATENCY_CLIP = "st_wda_bobmenendez_000"


def to_camera(src: str, dst: str, seconds: float) -> None:
    """Re-encode the first `seconds` of src at 640x480, 30 fps (a webcam's format)."""
    import av
    import cv2

    with av.open(src) as c, av.open(dst, "w") as out:
        vs = out.add_stream("libx264", rate=30)
        vs.width, vs.height, vs.pix_fmt = 640, 480, "yuv420p"
        fps = float(c.streams.video[0].average_rate)
        n_out = 0
        for i, frame in enumerate(c.decode(video=0)):
            t = i / fps
            if t >= seconds:
                break
            while n_out / 30.0 <= t:  # repeat frames to reach 30 fps
                img = cv2.resize(frame.to_ndarray(format="rgb24"), (640, 480), interpolation=cv2.INTER_AREA)
                for p in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    out.mux(p)
                n_out += 1
        for p in vs.encode():
            out.mux(p)


def latency(seconds: float) -> dict:
    from bridge.capture import FileSource, run_capture
    from bridge.outputs.livelink import LiveLinkSender

    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    with tempfile.TemporaryDirectory() as tmp:
        cam = os.path.join(tmp, "camera.mp4")
        to_camera(os.path.join(TALKING, LATENCY_CLIP + ".mp4"), cam, seconds)
        source = FileSource(cam, realtime=True)
        out = LiveLinkSender("127.0.0.1", rx.getsockname()[1])
        stats = run_capture(source, out.frame)
        out.close()
    rx.close()
    p = lambda a, q: round(float(np.percentile(a, q)), 1)
    return {"clip": LATENCY_CLIP, "size": "640x480", "camera_fps": 30, "frames": stats.frames,
            "skipped": source.skipped, "sustained_fps": round(stats.frames / stats.seconds, 1),
            "packets_sent": out.sent, "read_to_sent_ms": {"p50": p(stats.latency_ms, 50), "p99": p(stats.latency_ms, 99)},
            "tracking_ms": {"p50": p(stats.track_ms, 50), "p99": p(stats.track_ms, 99)}}


def quality(clips: list[str]) -> list[dict]:
    from bridge.face.align import FaceFrame
    from bridge.motion.performance import rest_shape
    from bridge.motion.rig import Rig
    from bridge.motion.solver import Solver, rigid_align
    from bridge.train.mouth import lip_gap
    from bridge.train.tracking import track_video

    j = arkit.INDEX["jawOpen"]
    rows = []
    for clip in clips:
        points, fps = track_video(os.path.join(TALKING, clip + ".mp4"))
        ok = np.isfinite(points).all(axis=(1, 2))
        gap = lip_gap(points)[ok]
        # Ours, exactly as capture runs: rest from the first second, then frame by frame.
        from bridge.capture import Performer

        perf = Performer(fps=fps, background=False)
        ours = np.array([perf.step(p)[0][j] for p in points[ok]])
        # Baseline: the plain solver on the same rest (the one reenact used before).
        frames = [FaceFrame.from_points(p) for p in points[ok]]
        aligned = np.array([f.to_aligned(p) for f, p in zip(frames, points[ok])])
        rest = rest_shape(aligned[: max(1, round(fps))])
        plain = Solver(Rig.from_neutral(rest))
        base = []
        for a in aligned:
            s, r, t = rigid_align(a, rest)
            base.append(plain.solve((s * (r @ a.T)).T + t)[j])
        rows.append({"clip": clip, "frames": int(ok.sum()), "r_ours": round(float(np.corrcoef(ours, gap)[0, 1]), 3),
                     "r_plain": round(float(np.corrcoef(base, gap)[0, 1]), 3)})
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", help="comma-separated talking/ ids (default: every held-out one)")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of the latency run")
    args = ap.parse_args()
    import csv

    with open(os.path.join(TALKING, "MANIFEST.tsv")) as f:
        ids = [row["id"] for row in csv.DictReader(f, delimiter="\t")]
    clips = args.clips.split(",") if args.clips else [i for i in ids if i not in TUNED]
    lat = latency(args.seconds)
    print(json.dumps(lat), flush=True)
    rows = quality(clips)
    result = {"date": datetime.date.today().isoformat(), "machine": machine(), "git": git_rev(), "latency": lat,
              "quality": rows, "mean_r_ours": round(float(np.mean([r["r_ours"] for r in rows])), 3),
              "mean_r_plain": round(float(np.mean([r["r_plain"] for r in rows])), 3)}
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "capture.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(f"held-out jawOpen r: ours {result['mean_r_ours']}, plain solver {result['mean_r_plain']} "
          f"({len(rows)} clips)")


if __name__ == "__main__":
    main()
