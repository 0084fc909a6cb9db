"""Performance capture: a driving video's face motion drives a source portrait.

    facebridge reenact --video driving.mp4 --image source.png --out out.mp4 [--render gan|warp]

1. Track the driving face on every frame (FaceMesh; cached like the training tracks).
2. Solve each frame on the rig built on the driving face's rest shape (its median over the
   clip): 52 blendshape weights after removing the head's rigid motion, plus that rigid
   motion and the face's roll, position and size in the picture relative to the first
   tracked frame.
3. Retarget: the source's own rig takes the weights and the head motion is applied around
   the source's face (--head: rotation only by default; full; or still), giving the
   source's landmarks per frame.
4. Frames where the face is lost hold the last solved frame, then ease to the rest pose.
5. Render with the chosen renderer and write H.264 with the driving clip's audio.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from bridge.errors import InputError

HOLD_S = 0.25  # a lost face holds its last pose this long...
EASE_S = 0.5  # ...then eases to the rest pose over this long


@dataclass
class Driving:
    points: np.ndarray  # (F, 478, 3) tracked landmarks, pixels; NaN where the face was lost
    fps: float
    audio: np.ndarray | None  # 16 kHz mono, or None


def read_driving(path: str, progress=None) -> Driving:
    from bridge.train.tracking import read_speech_track, track_video

    if not os.path.isfile(path):
        raise InputError(f"--video {path}", "file not found", "check the path")
    if os.path.getsize(path) == 0:
        raise InputError(f"--video {path}", "is empty (0 bytes)", "pass a video file (MP4, MOV, WebM…)")
    try:
        points, fps = track_video(path, progress=progress)
        audio = read_speech_track(path)
    except InputError:
        raise
    except Exception as e:  # PyAV raises its own types for files it cannot read
        raise InputError(f"--video {path}", f"cannot be read as a video ({type(e).__name__})",
                         "pass an MP4, MOV or WebM file") from None
    if len(points) == 0:
        raise InputError(f"--video {path}", "holds no video frames", "pass a video with a visible face")
    if not np.isfinite(points).all(axis=(1, 2)).any():
        raise InputError(f"--video {path}", "no face found in any frame", "pass a video of a face, seen from the front")
    return Driving(points, fps, audio)


HEAD_MODES = ("rotate", "full", "still")


def retarget(points: np.ndarray, fps: float, avatar, head: str = "rotate") -> np.ndarray:
    """(F, 478, 3) driving landmarks (NaN rows where lost) -> (F, 478, 3) source landmarks in
    the source image's pixels. head: "rotate" turns and tilts the head but keeps it where it
    is in the picture (the default: a driving subject moving about the frame by half a face
    would tear a still portrait, whose background cannot move with it); "full" also moves and
    scales it; "still" keeps the head as in the portrait (expression only)."""
    if head not in HEAD_MODES:
        raise ValueError(f"head must be one of {HEAD_MODES}")
    from bridge.motion.performance import PerformanceSolver

    solver = PerformanceSolver.from_track(points)
    ref = solver.reference
    src_expr = {}
    for i in np.flatnonzero(np.isfinite(points).all(axis=(1, 2))):
        solved = solver.solve(points[i])
        s, r, t = solved.scale, solved.rotation, solved.translation
        face = avatar.rig.apply(solved.weights[None])[0]
        if head == "still":
            src_expr[i] = avatar.frame.to_image(face)
            continue
        # The head's rotation, applied to the source's face (about the eyes' midpoint, so that
        # "rotate" leaves the eyes where they are)...
        posed = ((face - t) @ r) / s
        if head == "rotate":
            posed -= (-t @ r) / s
        f = solved.frame  # ...and the roll in the picture relative to the first tracked frame
        c, si = np.cos(f.angle - ref.angle), np.sin(f.angle - ref.angle)
        posed[:, :2] = posed[:, :2] @ np.array([[c, -si], [si, c]]).T
        if head == "full":  # the face's position and size in the picture, too
            zoom = f.scale / ref.scale
            posed *= zoom
            posed[:, :2] += ref.to_aligned(np.array([[*f.origin, 0.0]]))[0, :2]
        src_expr[i] = avatar.frame.to_image(posed)
    return _fill_lost(src_expr, len(points), fps, avatar.points)


def lost_blend(lost_for_s: float) -> float:
    """How far towards rest a frame is after the face has been lost this long: 0 for HOLD_S
    (hold the last pose), then a smooth step to 1 over EASE_S. Capture uses it live."""
    k = float(np.clip((lost_for_s - HOLD_S) / EASE_S, 0.0, 1.0))
    return k * k * (3 - 2 * k)


def _fill_lost(solved: dict, n: int, fps: float, rest: np.ndarray) -> np.ndarray:
    """Frames without a face: hold the last solved frame, then ease to rest (lost_blend);
    before the first solved frame, the rest pose."""
    out = np.empty((n, *rest.shape), np.float64)
    last, lost_for = rest, 0
    for i in range(n):
        if i in solved:
            out[i], last, lost_for = solved[i], solved[i], 0
            continue
        lost_for += 1
        k = lost_blend(lost_for / fps)
        out[i] = (1 - k) * last + k * rest
    return out


def reenact(video: str, image: str, out: str, render: str = "gan", head: str = "rotate", progress=None) -> dict:
    from bridge.face import load_image
    from bridge.outputs.video import write_video
    from bridge.pipeline import Avatar
    from bridge.render import make_renderer

    if progress:
        progress.stage("reading the source face")
    avatar = Avatar.from_image(load_image(image), name=f"image {image}")
    renderer = make_renderer(render, avatar.image, avatar.points)
    if progress:
        progress.stage("tracking the driving face")
    drv = read_driving(video, progress=progress.update if progress else None)
    if progress:
        progress.stage("solving and retargeting")
    landmarks = retarget(drv.points, drv.fps, avatar, head)
    if progress:
        progress.stage(f"rendering {os.path.basename(out)} ({render})")
    write_video(out, (renderer.render(lm) for lm in landmarks), len(landmarks), drv.fps, avatar.image_size,
                audio=drv.audio, progress=progress.update if progress else None)
    lost = int((~np.isfinite(drv.points).all(axis=(1, 2))).sum())
    return dict(frames=len(landmarks), fps=drv.fps, lost=lost)
