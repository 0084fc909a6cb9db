"""Live Link Face over UDP: the packet the iPhone app sends, so Unreal's built-in "Live Link
Face" source (and a MetaHuman's face Animation Blueprint) takes our frames with no plugin.

Packet, version 6 (all big-endian, as Unreal's reader expects):

    uint8   version (6)
    int32   length, then that many UTF-8 bytes: device id
    int32   length, then that many UTF-8 bytes: subject name
    int32   frame number, float32 sub-frame, int32 rate numerator, int32 rate denominator
    uint8   value count (61)
    61 x float32: the 52 ARKit curves in canonical order, then HeadYaw, HeadPitch, HeadRoll,
                  LeftEyeYaw, LeftEyePitch, LeftEyeRoll, RightEyeYaw, RightEyePitch, RightEyeRoll

Angles are sent as Unreal's ARKit support writes them: degrees / 180 (so -1..1).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from bridge.motion import arkit
from bridge.outputs.udp import UdpOutput

VERSION = 6
EXTRA_NAMES = ["HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
               "RightEyeYaw", "RightEyePitch", "RightEyeRoll"]
NAMES = list(arkit.NAMES) + EXTRA_NAMES
COUNT = len(NAMES)  # 61
# How far the eyes turn at eyeLook* = 1 (ARKit's eyeLook shapes saturate near this).
EYE_RANGE_DEG = 30.0
_I = arkit.INDEX


@dataclass
class Packet:
    device_id: str
    subject: str
    frame_number: int
    sub_frame: float
    rate: tuple[int, int]
    values: np.ndarray  # (61,) float32

    def value(self, name: str) -> float:
        return float(self.values[NAMES.index(name)])


def eye_angles(weights: np.ndarray) -> np.ndarray:
    """(52,) ARKit weights -> (6,) left yaw, pitch, roll, right yaw, pitch, roll in degrees.
    Yaw > 0 looks to the subject's left, pitch > 0 looks up (the head pose's convention)."""
    w = weights
    left_yaw = (w[_I["eyeLookOutLeft"]] - w[_I["eyeLookInLeft"]]) * EYE_RANGE_DEG
    right_yaw = (w[_I["eyeLookInRight"]] - w[_I["eyeLookOutRight"]]) * EYE_RANGE_DEG
    left_pitch = (w[_I["eyeLookUpLeft"]] - w[_I["eyeLookDownLeft"]]) * EYE_RANGE_DEG
    right_pitch = (w[_I["eyeLookUpRight"]] - w[_I["eyeLookDownRight"]]) * EYE_RANGE_DEG
    return np.array([left_yaw, left_pitch, 0.0, right_yaw, right_pitch, 0.0])


def curve_values(weights: np.ndarray, head_pose: np.ndarray) -> np.ndarray:
    """(52,) weights, (6,) head pose (pitch, yaw, roll deg, t cm) -> the packet's 61 values."""
    pitch, yaw, roll = (float(a) for a in head_pose[:3])
    head = np.array([yaw, pitch, roll])
    return np.concatenate([np.clip(weights, 0.0, 1.0), np.concatenate([head, eye_angles(weights)]) / 180.0]
                          ).astype(np.float32)


def _string(s: str) -> bytes:
    b = s.encode("utf-8")
    return struct.pack(">i", len(b)) + b


def encode_packet(subject: str, values: np.ndarray, frame_number: int, fps: float = 30.0,
                  device_id: str = "facebridge", sub_frame: float = 0.0) -> bytes:
    values = np.asarray(values, np.float32)
    if values.shape != (COUNT,):
        raise ValueError(f"a Live Link Face packet holds {COUNT} values, got {values.shape}")
    num, den = _rate(fps)
    return (struct.pack(">B", VERSION) + _string(device_id) + _string(subject)
            + struct.pack(">ifiiB", frame_number, sub_frame, num, den, COUNT) + values.astype(">f4").tobytes())


def decode_packet(data: bytes) -> Packet:
    """The inverse of encode_packet (what Unreal's reader does); raises ValueError."""
    try:
        if data[0] != VERSION:
            raise ValueError(f"packet version {data[0]}, expected {VERSION}")
        off = 1
        strings = []
        for _ in range(2):
            (n,) = struct.unpack_from(">i", data, off)
            if not 0 <= n <= 1024:
                raise ValueError(f"string length {n}")
            strings.append(data[off + 4:off + 4 + n].decode("utf-8"))
            off += 4 + n
        frame, sub, num, den, count = struct.unpack_from(">ifiiB", data, off)
        off += struct.calcsize(">ifiiB")
        values = np.frombuffer(data, ">f4", count, off).astype(np.float32)
        if off + 4 * count != len(data):
            raise ValueError(f"{len(data) - off - 4 * count} bytes after the values")
    except (struct.error, IndexError, UnicodeDecodeError) as e:
        raise ValueError(f"not a Live Link Face packet ({e})") from None
    return Packet(strings[0], strings[1], frame, sub, (num, den), values)


def _rate(fps: float) -> tuple[int, int]:
    """fps as the frame rate fraction Unreal uses (29.97 -> 30000/1001)."""
    for den in (1, 1001, 100):
        num = fps * den
        if abs(num - round(num)) < 1e-6:
            return int(round(num)), den
    return int(round(fps * 1000)), 1000


class LiveLinkSender(UdpOutput):
    """Sends frames to one Live Link Face receiver (Unreal's source listens on UDP 11111).

    Every avatar is its own subject, named by its id; `avatar` limits the target to one."""

    kind = "livelink"

    def __init__(self, host: str, port: int, avatar: str | None = None, device_id: str = "facebridge",
                 fps: float = 30.0):
        super().__init__(host, port, avatar)
        self.device_id = device_id
        self.fps = fps
        self.frames: dict[str, int] = {}  # per subject: frame counter

    def send(self, subject: str, weights: np.ndarray, head_pose: np.ndarray) -> None:
        n = self.frames.get(subject, 0)
        self.frames[subject] = n + 1
        self._send(encode_packet(subject, curve_values(weights, head_pose), n, self.fps, self.device_id))

    def frame(self, frame) -> None:
        if self.avatar is None or frame.avatar == self.avatar:
            self.send(frame.avatar, frame.blendshapes, frame.head_pose)
