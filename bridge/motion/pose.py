"""Head pose (pitch, yaw, roll in degrees; tx, ty, tz in cm) applied in the aligned frame.

Conventions (the subject's point of view, right-handed, y up, z towards the camera):
pitch > 0 tilts the head up, yaw > 0 turns it to the subject's left, roll > 0 tilts it
towards the subject's left shoulder... as seen by the camera: tx > 0 image right,
ty > 0 up, tz > 0 towards the camera.
"""

from __future__ import annotations

import numpy as np

from bridge.face.align import EYE_SPAN_CM

# Rotation centre: the top of the neck, below and behind the eyes (aligned units).
PIVOT = np.array([0.0, 1.1, 1.0])
_FLIP = np.diag([1.0, -1.0, -1.0])  # aligned frame (y down, z away) <-> y up, z towards camera


def rotation(pitch: float, yaw: float, roll: float) -> np.ndarray:
    """Rotation matrix in the aligned frame for angles in degrees."""
    p, y, r = np.radians([pitch, yaw, roll])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    # yaw to the subject's left moves the face towards the image's right (+x) for a camera
    # facing the subject, i.e. a negative rotation about the up axis.
    ry = np.array([[np.cos(-y), 0, np.sin(-y)], [0, 1, 0], [-np.sin(-y), 0, np.cos(-y)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return _FLIP @ (rz @ ry @ rx) @ _FLIP


def apply_pose(aligned: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """(F, 478, 3) aligned landmarks, (F, 6) poses -> posed aligned landmarks."""
    out = np.empty_like(aligned)
    for f in range(len(aligned)):
        r = rotation(*pose[f, :3])
        t = np.array([pose[f, 3], -pose[f, 4], -pose[f, 5]]) / EYE_SPAN_CM
        out[f] = (aligned[f] - PIVOT) @ r.T + PIVOT + t
    return out
