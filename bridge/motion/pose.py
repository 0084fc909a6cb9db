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


def rotations(angles: np.ndarray) -> np.ndarray:
    """(F, 3) pitch, yaw, roll in degrees -> (F, 3, 3) rotation matrices in the aligned frame.

    Built in the y-up, z-towards-camera frame (x to the image's right), where a positive
    right-handed turn about x tips the top of the head towards the camera (chin down), about
    y turns the face towards the image's right (the subject's left) and about z lowers the
    subject's left side (towards the right shoulder). The conventions above want chin up,
    face to the subject's left and the left shoulder: hence -pitch, +yaw, -roll. (Until
    2026-12 the three signs were the other way round, against this docstring and every
    engine output: the preview and glTF turned the head opposite to Unity, VMC, Live Link.)"""
    p, y, r = np.radians(np.asarray(angles, np.float64).reshape(-1, 3)).T * np.array([[-1.0], [1.0], [-1.0]])
    n = len(p)
    rx, ry, rz = np.zeros((n, 3, 3)), np.zeros((n, 3, 3)), np.zeros((n, 3, 3))
    rx[:, 0, 0] = 1
    rx[:, 1, 1], rx[:, 1, 2], rx[:, 2, 1], rx[:, 2, 2] = np.cos(p), -np.sin(p), np.sin(p), np.cos(p)
    ry[:, 1, 1] = 1
    ry[:, 0, 0], ry[:, 0, 2], ry[:, 2, 0], ry[:, 2, 2] = np.cos(y), np.sin(y), -np.sin(y), np.cos(y)
    rz[:, 2, 2] = 1
    rz[:, 0, 0], rz[:, 0, 1], rz[:, 1, 0], rz[:, 1, 1] = np.cos(r), -np.sin(r), np.sin(r), np.cos(r)
    return _FLIP @ (rz @ ry @ rx) @ _FLIP


def rotation(pitch: float, yaw: float, roll: float) -> np.ndarray:
    """Rotation matrix in the aligned frame for angles in degrees."""
    return rotations(np.array([[pitch, yaw, roll]]))[0]


def apply_pose(aligned: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """(F, 478, 3) aligned landmarks, (F, 6) poses -> posed aligned landmarks."""
    pose = np.asarray(pose, np.float64)
    r = rotations(pose[:, :3])
    t = np.stack([pose[:, 3], -pose[:, 4], -pose[:, 5]], 1) / EYE_SPAN_CM
    return ((aligned - PIVOT) @ r.transpose(0, 2, 1) + PIVOT + t[:, None, :]).astype(aligned.dtype)
