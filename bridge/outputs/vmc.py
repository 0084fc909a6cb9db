"""The VMC protocol (OSC over UDP): VSeeFace, Warudo, VNyan and other VRM apps move a model
with no plugin. Spec: https://protocol.vmc.info (the "Performer -> Marionette" messages).

Each frame goes out as one OSC bundle, in this order:

    /VMC/Ext/OK 1                       a model is loaded and tracking
    /VMC/Ext/T <seconds>                the sender's clock
    /VMC/Ext/Bone/Pos "Head" p q        the head's local rotation (quaternion, Unity axes)
    /VMC/Ext/Blend/Val <name> <value>   the 52 ARKit shapes (perfect-sync models) and the
                                        VRM presets derived from them (below)
    /VMC/Ext/Blend/Apply                apply this frame's values together

VRM presets come from the same 52 weights, not from a second motion path:
- A I U E O: the mouth (jaw opening, spread, rounding, pucker) written as a non-negative mix of
  the five vowels' own targets in the rig's viseme table (bridge/motion/visemes.py);
- Blink, Blink_L, Blink_R: both lids' common closure, then what each closes beyond it (so a
  model with all three clips never closes an eye twice);
- Joy, Angry, Sorrow, Surprised: the smile, brow lowering, inner-brow raise with frown, and
  eye-widening with outer-brow raise, each scaled so a full expression reaches about 1.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.optimize import nnls

from bridge.motion import arkit
from bridge.motion.visemes import target
from bridge.outputs.udp import UdpOutput

_I = arkit.INDEX
BLENDS = ("arkit", "vrm")  # which names a target gets
# The head bone's local position sent with its rotation: a typical neck-to-head offset in
# metres (receivers that copy bone positions keep the head where a humanoid has it).
HEAD_OFFSET_M = (0.0, 0.1, 0.0)

# Mouth features: jaw opening, spread, rounding (funnel), pucker.
def _mouth_features(w) -> np.ndarray:
    g = (lambda n: w.get(n, 0.0)) if isinstance(w, dict) else (lambda n: float(w[_I[n]]))
    return np.array([g("jawOpen"), (g("mouthStretchLeft") + g("mouthStretchRight")) / 2,
                     g("mouthFunnel"), g("mouthPucker")])


VOWELS = {"A": "AA", "I": "IY", "U": "UW", "E": "EH", "O": "OW"}
_VOWEL_BASIS = np.stack([_mouth_features(target(p)) for p in VOWELS.values()], 1)  # (4, 5)


def vrm_presets(weights: np.ndarray) -> dict[str, float]:
    """(52,) ARKit weights -> VRM 0.x preset values 0..1."""
    w = np.clip(np.asarray(weights, np.float64), 0.0, 1.0)
    mix, _ = nnls(_VOWEL_BASIS, _mouth_features(w))
    out = {name: float(v) for name, v in zip(VOWELS, np.clip(mix, 0.0, 1.0))}
    left, right = w[_I["eyeBlinkLeft"]], w[_I["eyeBlinkRight"]]
    both = min(left, right)
    out.update(Blink=both, Blink_L=left - both, Blink_R=right - both)
    mean = lambda *names: float(np.mean([w[_I[n]] for n in names]))
    out["Joy"] = mean("mouthSmileLeft", "mouthSmileRight") / 0.6
    out["Angry"] = mean("browDownLeft", "browDownRight") / 0.5
    out["Sorrow"] = (w[_I["browInnerUp"]] + mean("mouthFrownLeft", "mouthFrownRight")) / 0.8
    out["Surprised"] = (mean("eyeWideLeft", "eyeWideRight") + mean("browOuterUpLeft", "browOuterUpRight")) / 0.8
    return {k: float(np.clip(v, 0.0, 1.0)) for k, v in out.items()}


def head_quaternion(head_pose: np.ndarray) -> tuple[float, float, float, float]:
    """Our pitch, yaw, roll (degrees; pitch > 0 looks up, yaw > 0 turns to the subject's
    left, roll > 0 tilts to the subject's left) -> the Head bone's local rotation in Unity's
    left-handed axes (x right, y up, z forward for a model facing +z), as (x, y, z, w).
    Unity composes Euler angles as Z, then X, then Y."""
    pitch, yaw, roll = (np.radians(float(a)) for a in head_pose[:3])
    # A model facing +z: looking up is a negative turn about x, turning to its own left a
    # negative turn about y, tilting to its left a positive turn about z.
    qx = _axis_quat((1, 0, 0), -pitch)
    qy = _axis_quat((0, 1, 0), -yaw)
    qz = _axis_quat((0, 0, 1), roll)
    return tuple(float(c) for c in _qmul(_qmul(qy, qx), qz))


def _axis_quat(axis, angle: float) -> np.ndarray:
    s = np.sin(angle / 2)
    return np.array([axis[0] * s, axis[1] * s, axis[2] * s, np.cos(angle / 2)])


def _qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return np.array([aw * bx + ax * bw + ay * bz - az * by, aw * by - ax * bz + ay * bw + az * bx,
                     aw * bz + ax * by - ay * bx + az * bw, aw * bw - ax * bx - ay * by - az * bz])


def blend_values(weights: np.ndarray, blends=BLENDS) -> list[tuple[str, float]]:
    out = []
    if "arkit" in blends:
        out += [(n, float(v)) for n, v in zip(arkit.NAMES, np.clip(weights, 0.0, 1.0))]
    if "vrm" in blends:
        out += list(vrm_presets(weights).items())
    return out


def encode_bundle(weights: np.ndarray, head_pose: np.ndarray, t: float, blends=BLENDS) -> bytes:
    """One frame -> one OSC bundle's bytes."""
    from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
    from pythonosc.osc_message_builder import OscMessageBuilder

    def msg(address, *args):
        b = OscMessageBuilder(address=address)
        for a in args:
            b.add_arg(a, "s" if isinstance(a, str) else "i" if isinstance(a, int) else "f")
        return b.build()

    bundle = OscBundleBuilder(IMMEDIATELY)
    bundle.add_content(msg("/VMC/Ext/OK", 1))
    bundle.add_content(msg("/VMC/Ext/T", float(t)))
    bundle.add_content(msg("/VMC/Ext/Bone/Pos", "Head", *HEAD_OFFSET_M, *head_quaternion(head_pose)))
    for name, value in blend_values(weights, blends):
        bundle.add_content(msg("/VMC/Ext/Blend/Val", name, value))
    bundle.add_content(msg("/VMC/Ext/Blend/Apply"))
    return bundle.build().dgram


class VmcSender(UdpOutput):
    """Sends one avatar's frames to one VMC receiver (a VRM app listening, usually on 39539).
    avatar None: the daemon's first avatar."""

    kind = "vmc"

    def __init__(self, host: str, port: int, avatar: str | None = None, blends=BLENDS):
        super().__init__(host, port, avatar)
        self._auto = avatar is None
        self.blends = tuple(blends)
        self.t0 = time.monotonic()

    def describe(self) -> str:
        return f"vmc {self.address[0]}:{self.address[1]} ({self.avatar or 'first avatar'})"

    def send(self, weights: np.ndarray, head_pose: np.ndarray) -> None:
        self._send(encode_bundle(weights, head_pose, time.monotonic() - self.t0, self.blends))

    def frame(self, frame) -> None:
        if self.avatar is None:
            self.avatar = frame.avatar
        if frame.avatar == self.avatar:
            self.send(frame.blendshapes, frame.head_pose)

    def stats(self, stats) -> None:
        # "The first avatar": the daemon's oldest one (sessions keep creation order).
        if self._auto:
            self.avatar = next(iter(stats.get("avatars") or {}), self.avatar)
