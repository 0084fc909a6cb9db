"""Performance solving: tracked FaceMesh landmarks -> 52 ARKit weights + head pose, on a rig
built on the performer's own rest shape. `reenact` (a whole video) and `capture` (a camera,
frame by frame) both solve through this class.

For each frame:
1. the face-aligned frame (eye line) takes out the face's position, size and roll in the picture;
2. a similarity transform (Umeyama on the rigid points) maps it onto the rest shape: its
   inverse is the head's 3D rotation;
3. the bounded least-squares solver reads the 52 weights from the unposed landmarks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bridge.face import topology as T
from bridge.face.align import EYE_SPAN_CM, FaceFrame
from bridge.motion.pose import _FLIP
from bridge.motion.rig import Rig
from bridge.motion.solver import Solver, rigid_align

# Head distance from the camera assumed when turning a change of face size into tz (cm).
CAMERA_DISTANCE_CM = 50.0

# Tracked faces are not rig faces: FaceMesh follows the lips closely and the chin loosely, so
# an unconstrained solve explains an opening mouth with the lower lip alone (mouthLowerDown
# near 0.6 on average, jawOpen flat). A prior on the small lip shapes and lips counted three
# times let jawOpen carry the opening: its correlation with the lip gap went 0.73 -> 0.83 on
# eight tuning clips, 0.85 with mouthClose (which reads a closed mouth as an open jaw with
# sealed lips) held harder still (bench/capture.py reports held-out clips).
LIP_SHAPE_RIDGE = 1.0
MOUTH_CLOSE_RIDGE = 10.0
LIP_SHAPES = ("mouthLowerDownLeft", "mouthLowerDownRight", "mouthShrugLower", "mouthShrugUpper", "mouthClose",
              "mouthRollLower", "mouthRollUpper", "mouthUpperUpLeft", "mouthUpperUpRight", "jawForward", "tongueOut")
LIP_POINT_WEIGHT = 3.0
_LIPS = sorted(set(T.LIPS_OUTER_UPPER + T.LIPS_OUTER_LOWER + T.LIPS_INNER_UPPER + T.LIPS_INNER_LOWER))


@dataclass
class Solved:
    weights: np.ndarray  # (52,)
    head_pose: np.ndarray  # (6,) pitch, yaw, roll (deg), tx, ty, tz (cm) relative to the reference frame
    scale: float  # similarity (s, r, t): s * r @ aligned + t ~ rest
    rotation: np.ndarray
    translation: np.ndarray
    frame: FaceFrame  # the face's frame in the picture


def rest_shape(aligned: np.ndarray) -> np.ndarray:
    """(F, 478, 3) aligned landmarks of a performer -> their rest shape (the median face)."""
    return np.median(np.asarray(aligned), axis=0)


def euler_from_rotation(r: np.ndarray) -> tuple[float, float, float]:
    """A head rotation in the aligned frame -> (pitch, yaw, roll) degrees: the inverse of
    bridge.motion.pose.rotations."""
    m = _FLIP @ r @ _FLIP  # = Rz(-roll) @ Ry(yaw) @ Rx(-pitch)
    yaw = -np.arcsin(np.clip(m[2, 0], -1.0, 1.0))
    pitch = -np.arctan2(m[2, 1], m[2, 2])
    roll = -np.arctan2(m[1, 0], m[0, 0])
    return float(np.degrees(pitch)), float(np.degrees(yaw)), float(np.degrees(roll))


class PerformanceSolver:
    def __init__(self, rest: np.ndarray, reference: FaceFrame):
        """rest: (478, 3) aligned rest shape; reference: the face's frame at rest (head pose 0)."""
        self.rest = np.asarray(rest, np.float64)
        self.reference = reference
        self.rig = Rig.from_neutral(self.rest)
        weights = np.ones(len(self.rest))
        weights[_LIPS] = LIP_POINT_WEIGHT
        prior = {n: LIP_SHAPE_RIDGE for n in LIP_SHAPES} | {"mouthClose": MOUTH_CLOSE_RIDGE}
        self._solver = Solver(self.rig, shape_ridge=prior, point_weights=weights)

    @staticmethod
    def from_track(points: np.ndarray) -> "PerformanceSolver":
        """(F, 478, 3) tracked landmarks in pixels (NaN rows where the face was lost) -> a
        solver whose rest is the median face and whose reference is the first tracked frame."""
        ok = np.flatnonzero(np.isfinite(points).all(axis=(1, 2)))
        if len(ok) == 0:
            raise ValueError("no tracked frame")
        frames = [FaceFrame.from_points(points[i]) for i in ok]
        aligned = np.array([f.to_aligned(points[i]) for f, i in zip(frames, ok)])
        return PerformanceSolver(rest_shape(aligned), frames[0])

    def solve(self, points: np.ndarray) -> Solved:
        """(478, 3) tracked landmarks in pixels -> weights and head pose."""
        frame = FaceFrame.from_points(points)
        aligned = frame.to_aligned(points)
        s, r, t = rigid_align(aligned, self.rest)
        weights = self._solver.solve((s * (r @ aligned.T)).T + t)
        pitch, yaw, roll = euler_from_rotation(r.T)  # r maps the frame onto rest: the head turned by r.T
        ref = self.reference
        roll += float(np.degrees(frame.angle - ref.angle))  # the part the eye line took out (image y is down)
        shift = (frame.origin - ref.origin) / ref.scale * EYE_SPAN_CM
        tz = CAMERA_DISTANCE_CM * (1.0 - ref.scale / frame.scale)
        pose = np.array([pitch, yaw, roll, shift[0], -shift[1], tz])
        return Solved(weights, pose, s, r, t, frame)
