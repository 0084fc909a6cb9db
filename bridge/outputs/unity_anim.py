"""Unity AnimationClip (`.anim`): the text-YAML asset Unity itself writes (`--- !u!74 &7400000`),
with one `blendShape.<name>` curve per ARKit shape on a SkinnedMeshRenderer and the head's
pitch, yaw and roll as Euler curves on a head bone.
To import it, put the file under Assets/ and play it from an Animator on the character's root, whose
child paths to the face mesh and the head bone are `renderer_path` and `head_path`."""

from __future__ import annotations

import os
import re
import zlib

import numpy as np

from bridge.outputs.atomic import atomic_open

SKINNED_MESH_RENDERER, TRANSFORM = 137, 4  # Unity class IDs
# Unity's "Both Tangents: Linear" (broken, left and right linear): playback goes straight from
# sample to sample and never overshoots between them, as smooth tangents would.
LINEAR = 69
_WEIGHTS = "        weightedMode: 0\n        inWeight: {w}\n        outWeight: {w}\n"
_TAIL = "      m_PreInfinity: 2\n      m_PostInfinity: 2\n      m_RotationOrder: 4\n"


def _num(v) -> str:
    # Unity's own spelling: the shortest text that reads back as the same float32.
    s = str(np.float32(v))
    return s[:-2] if s.endswith(".0") else s


def _vec(v) -> str:
    return "{x: %s, y: %s, z: %s}" % tuple(_num(c) for c in v)


def _str(s: str) -> str:
    # A plain scalar where YAML reads it back unchanged, else single-quoted (as Unity quotes).
    if any(ord(c) < 32 for c in s):
        raise ValueError(f"{s!r}: a control character in a Unity path or name")
    return s if re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_./-]*|", s) else "'" + s.replace("'", "''") + "'"


def _slopes(values: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Linear tangents: a key's in-slope is the secant from the previous key, its out-slope the
    secant to the next one (0 past either end)."""
    d = np.diff(values, axis=0) / dt
    zero = np.zeros_like(values[:1])
    return np.concatenate([zero, d]), np.concatenate([d, zero])


def _curve(times: np.ndarray, values: np.ndarray, dt: float, tail: str) -> str:
    """One AnimationCurve with a key per frame: values (F,) for a float curve, (F, 3) for a
    Vector3 (Euler) curve; tail: the lines naming what it animates."""
    fmt, w = (_num, "0.33333334") if values.ndim == 1 else (_vec, _vec([1 / 3] * 3))
    ins, outs = _slopes(values, dt)
    keys = "".join(f"      - serializedVersion: 3\n        time: {_num(t)}\n        value: {fmt(v)}\n"
                   f"        inSlope: {fmt(a)}\n        outSlope: {fmt(b)}\n        tangentMode: {LINEAR}\n"
                   + _WEIGHTS.format(w=w)
                   for t, v, a, b in zip(times, values, ins, outs))
    return f"  - curve:\n      serializedVersion: 2\n      m_Curve:\n{keys}{_TAIL}{tail}"


def _binding(path: str, attribute: str, class_id: int) -> str:
    # genericBindings name what they drive by CRC-32: of the path, and of the blendshape's name
    # (customType 20) or the Euler-rotation attribute 4 (customType 4). Unity rebuilds them on import.
    attr, custom = (4, 4) if class_id == TRANSFORM else (zlib.crc32(attribute.encode()), 20)
    return (f"    - serializedVersion: 2\n      path: {zlib.crc32(path.encode())}\n      attribute: {attr}\n"
            f"      script: {{fileID: 0}}\n      typeID: {class_id}\n      customType: {custom}\n"
            f"      isPPtrCurve: 0\n")


def unity_euler(head_pose: np.ndarray) -> np.ndarray:
    """(F, 6) head poses -> (F, 3) the head bone's local Euler angles (x, y, z), degrees."""
    pose = np.asarray(head_pose, np.float64)
    # Ours: right-handed, x to the subject's left, y up, z out of the face; pitch > 0 looks up,
    # yaw > 0 turns to the subject's left, roll > 0 tilts to its left (bridge/motion/pose.py).
    # Unity: left-handed, x to the model's right, y up, z forward (a model facing +z), and a
    # positive angle turns clockwise seen from the axis' tip: +x pitches the face down, +y turns
    # it to its right, +z tilts its top to its left. So pitch and yaw change sign and roll keeps
    # it. Unity composes them Z, then X, then Y: the same angles and order as the live Unity
    # client (HeadPoseMath.ToUnityQuaternion) and the VMC output, so baked and streamed agree.
    return np.stack([-pose[:, 0], -pose[:, 1], pose[:, 2]], axis=1)


def write_unity_anim(path: str, anim, renderer_path: str = "Face", head_path: str | None = "Head",
                     clip_name: str | None = None) -> None:
    """Write `anim` as a Unity AnimationClip at `path`.

    renderer_path: the SkinnedMeshRenderer's path below the Animator ("" for the Animator's own
    object); its mesh's blendshapes must carry the ARKit names. head_path: the head bone's path,
    or None for no head curves. Only the head's rotation is written, not its translation: in an
    engine the face hangs on a skeleton, whose body places the head. Weights become 0..100
    (Unity's blendshape range), with a key at every frame."""
    weights = np.asarray(anim.weights, np.float64)
    pose = np.asarray(anim.head_pose, np.float64)
    fps = float(anim.fps)
    if not (np.isfinite(weights).all() and np.isfinite(pose).all() and np.isfinite(fps)):
        raise ValueError(f"{path}: the animation holds NaN or infinite values; no clip written")
    names = list(anim.names)
    if fps <= 0 or len(weights) == 0 or weights.shape != (len(weights), len(names)) or len(pose) != len(weights):
        raise ValueError(f"{path}: an animation needs fps > 0, frames, and one weight per name")
    n, dt = len(weights), 1.0 / fps
    times = np.arange(n) / fps
    name = os.path.splitext(os.path.basename(path))[0] if clip_name is None else clip_name
    shapes = [(f"blendShape.{s}", weights[:, i] * 100.0) for i, s in enumerate(names)]
    where = f"    path: {_str(renderer_path)}\n    classID: {SKINNED_MESH_RENDERER}\n    script: {{fileID: 0}}\n"
    euler = unity_euler(pose) if head_path is not None else None

    def float_curves(f):
        for attribute, values in shapes:
            f.write(_curve(times, values, dt, f"    attribute: {_str(attribute)}\n" + where))

    def euler_editor_curves(f, keyed: bool):
        # Unity keeps the Euler curve twice more for its editor: per axis as localEulerAnglesRaw
        # in m_EditorCurves, and as m_LocalEulerAngles (keys left empty, as Unity writes them).
        for i, axis in enumerate("xyz"):
            attribute = f"localEulerAnglesRaw.{axis}" if keyed else f"m_LocalEulerAngles.{axis}"
            tail = (f"    attribute: {attribute}\n    path: {_str(head_path)}\n    classID: {TRANSFORM}\n"
                    f"    script: {{fileID: 0}}\n")
            if keyed:
                f.write(_curve(times, euler[:, i], dt, tail))
            else:
                f.write(f"  - curve:\n      serializedVersion: 2\n      m_Curve: []\n{_TAIL}{tail}")

    with atomic_open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("%YAML 1.1\n%TAG !u! tag:unity3d.com,2011:\n--- !u!74 &7400000\nAnimationClip:\n"
                "  m_ObjectHideFlags: 0\n  m_CorrespondingSourceObject: {fileID: 0}\n"
                "  m_PrefabInstance: {fileID: 0}\n  m_PrefabAsset: {fileID: 0}\n"
                f"  m_Name: {_str(name)}\n  serializedVersion: 6\n  m_Legacy: 0\n  m_Compressed: 0\n"
                "  m_UseHighQualityCurve: 1\n  m_RotationCurves: []\n  m_CompressedRotationCurves: []\n")
        if euler is None:
            f.write("  m_EulerCurves: []\n")
        else:
            f.write("  m_EulerCurves:\n" + _curve(times, euler, dt, f"    path: {_str(head_path)}\n"))
        f.write("  m_PositionCurves: []\n  m_ScaleCurves: []\n  m_FloatCurves:\n")
        float_curves(f)
        f.write(f"  m_PPtrCurves: []\n  m_SampleRate: {_num(fps)}\n  m_WrapMode: 0\n"
                "  m_Bounds:\n    m_Center: {x: 0, y: 0, z: 0}\n    m_Extent: {x: 0, y: 0, z: 0}\n"
                "  m_ClipBindingConstant:\n    genericBindings:\n")
        if euler is not None:
            f.write(_binding(head_path, "", TRANSFORM))
        for attribute, _ in shapes:
            f.write(_binding(renderer_path, attribute[len("blendShape."):], SKINNED_MESH_RENDERER))
        f.write("    pptrCurveMapping: []\n  m_AnimationClipSettings:\n    serializedVersion: 2\n"
                "    m_AdditiveReferencePoseClip: {fileID: 0}\n    m_AdditiveReferencePoseTime: 0\n"
                f"    m_StartTime: 0\n    m_StopTime: {_num(times[-1])}\n    m_OrientationOffsetY: 0\n"
                "    m_Level: 0\n    m_CycleOffset: 0\n    m_HasAdditiveReferencePose: 0\n    m_LoopTime: 0\n"
                "    m_LoopBlend: 0\n    m_LoopBlendOrientation: 0\n    m_LoopBlendPositionY: 0\n"
                "    m_LoopBlendPositionXZ: 0\n    m_KeepOriginalOrientation: 0\n"
                "    m_KeepOriginalPositionY: 1\n    m_KeepOriginalPositionXZ: 0\n    m_HeightFromFeet: 0\n"
                "    m_Mirror: 0\n  m_EditorCurves:\n")
        if euler is not None:
            euler_editor_curves(f, keyed=True)
        float_curves(f)
        if euler is None:
            f.write("  m_EulerEditorCurves: []\n")
        else:
            f.write("  m_EulerEditorCurves:\n")
            euler_editor_curves(f, keyed=False)
        # A Transform curve on the Animator's own object ("") is a root transform to Unity.
        f.write(f"  m_HasGenericRootTransform: {int(head_path == '')}\n  m_HasMotionFloatCurves: 0\n"
                "  m_Events: []\n")
