"""CSV curves in the layout Unreal imports as a Curve Table (Import As: CurveTable): the
first row holds the key times in seconds, each other row is one curve, named in its first
cell: the 52 ARKit shapes (0..1), then the head pose (headPitch, headYaw, headRoll in
degrees; headX, headY, headZ in centimetres; bridge/motion/pose.py has the conventions).
A spreadsheet reads it too (transpose it for a column per curve)."""

from __future__ import annotations

import csv

import numpy as np

from bridge.outputs.atomic import atomic_open

POSE_CURVES = ["headPitch", "headYaw", "headRoll", "headX", "headY", "headZ"]


def write_curves_csv(path: str, anim) -> None:
    rows = np.concatenate([anim.weights, anim.head_pose], axis=1).T.astype(np.float64)
    if not np.isfinite(rows).all():
        raise ValueError(f"{path}: the animation holds NaN or infinite values")
    times = np.arange(anim.n_frames) / anim.fps
    with atomic_open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["---"] + [f"{t:.4f}" for t in times])  # Unreal ignores the first cell
        for name, values in zip(list(anim.names) + POSE_CURVES, rows):
            w.writerow([name] + [f"{v:.5g}" for v in values])
