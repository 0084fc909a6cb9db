"""The Unity AnimationClip writer, read back by PyYAML (an independent reader) with Unity's
`!u!` tags mapped to plain mappings."""

import os
import re
import types
import zlib

import numpy as np
import pytest
import yaml
from scipy.spatial.transform import Rotation

from bridge.motion.arkit import NAMES
from bridge.outputs import unity_anim
from bridge.outputs.unity_anim import write_unity_anim
from bridge.outputs.vmc import head_quaternion
from tests.conftest import FACE, HELLO_TXT, HELLO_WAV


class UnityLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml reads a 4 MB clip in 3 s, not 14
    pass


# `--- !u!74 &7400000` is tag:unity3d.com,2011:74 once the %TAG directive is applied.
UnityLoader.add_multi_constructor("tag:unity3d.com,2011:", lambda loader, suffix, node: {
    "classID": suffix, **loader.construct_mapping(node, deep=True)})


def read_clip(path):
    with open(path, encoding="utf-8") as f:
        doc = yaml.load(f, Loader=UnityLoader)
    assert doc["classID"] == "74"
    return doc["AnimationClip"]


def keys(curve, field="value"):
    # float() also reads what YAML 1.1 leaves a string, such as 1e-08 (no dot).
    k = curve["curve"]["m_Curve"]
    if k and isinstance(k[0][field], dict):
        return np.array([[float(key[field][c]) for c in "xyz"] for key in k])
    return np.array([float(key[field]) for key in k])


@pytest.fixture(scope="module")
def anim():
    from bridge.pipeline import animate

    a, _audio = animate(FACE, HELLO_WAV, text=open(HELLO_TXT).read())
    return a


@pytest.fixture(scope="module")
def clip(anim, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("unity") / "hello.anim")
    write_unity_anim(path, anim)
    return path, read_clip(path)


def test_round_trip_through_an_independent_yaml_reader(anim, clip):
    path, c = clip
    with open(path, encoding="utf-8") as f:
        head = [f.readline() for _ in range(4)]
    assert head == ["%YAML 1.1\n", "%TAG !u! tag:unity3d.com,2011:\n", "--- !u!74 &7400000\n", "AnimationClip:\n"]
    assert c["m_Name"] == "hello" and c["serializedVersion"] == 6 and c["m_Legacy"] == 0
    assert float(c["m_SampleRate"]) == anim.fps
    times = np.arange(anim.n_frames) / anim.fps
    settings = c["m_AnimationClipSettings"]
    assert settings["m_StartTime"] == 0 and settings["m_LoopTime"] == 0
    assert abs(float(settings["m_StopTime"]) - (anim.n_frames - 1) / anim.fps) < 1e-6

    floats = c["m_FloatCurves"]
    assert [x["attribute"] for x in floats] == [f"blendShape.{n}" for n in NAMES] == [f"blendShape.{n}" for n in anim.names]
    for i, curve in enumerate(floats):
        assert (curve["path"], curve["classID"], curve["script"]) == ("Face", 137, {"fileID": 0})
        assert np.abs(keys(curve, "time") - times).max() < 1e-6
        values = keys(curve)
        assert np.abs(values / 100 - anim.weights[:, i]).max() < 1e-4, curve["attribute"]
        # linear tangents: each key's out-slope reaches the next key, which comes in at the same slope
        out, into = keys(curve, "outSlope"), keys(curve, "inSlope")
        assert np.allclose(out[:-1] / anim.fps, np.diff(values), atol=1e-3) and np.allclose(out[:-1], into[1:])
    assert c["m_EditorCurves"][3:] == floats  # after the head's three axes, the same curves for the editor

    (euler,) = c["m_EulerCurves"]
    assert euler["path"] == "Head"
    angles = keys(euler)
    assert np.abs(keys(euler, "time") - times).max() < 1e-6
    pose = anim.head_pose.astype(np.float64)
    assert np.abs(angles - np.stack([-pose[:, 0], -pose[:, 1], pose[:, 2]], 1)).max() < 1e-3
    for i, axis in enumerate("xyz"):
        editor = c["m_EditorCurves"][i]
        assert (editor["attribute"], editor["path"], editor["classID"]) == (f"localEulerAnglesRaw.{axis}", "Head", 4)
        assert np.abs(keys(editor) - angles[:, i]).max() < 1e-6
    assert [e["attribute"] for e in c["m_EulerEditorCurves"]] == [f"m_LocalEulerAngles.{a}" for a in "xyz"]
    # Unity's Quaternion.Euler(x, y, z) = Ry @ Rx @ Rz: the clip turns the head bone as the live
    # VMC output (and the Unity client, which shares its convention) does, frame for frame.
    for a, p in zip(angles[::7], pose[::7]):
        q = Rotation.from_euler("YXZ", [a[1], a[0], a[2]], degrees=True).as_quat()
        assert abs(np.dot(q, head_quaternion(p))) > 1 - 1e-9

    bindings = c["m_ClipBindingConstant"]["genericBindings"]
    assert len(bindings) == 53 and bindings[0]["typeID"] == 4 and bindings[0]["path"] == zlib.crc32(b"Head")
    assert [b["attribute"] for b in bindings[1:]] == [zlib.crc32(n.encode()) for n in NAMES]


def test_file_text_and_options(anim, clip, tmp_path):
    path, _ = clip
    data = open(path, "rb").read()
    assert data.endswith(b"\n") and not data.endswith(b"\n\n") and b"\r" not in data
    data.decode("utf-8")
    assert not re.search(rb"(?i)\b(nan|inf)\b", data)

    short = types.SimpleNamespace(fps=anim.fps, names=anim.names, weights=anim.weights[:12], head_pose=anim.head_pose[:12])
    other = str(tmp_path / "other.anim")
    write_unity_anim(other, short, renderer_path="Body/Face Mesh", head_path="Armature/Hips/Spine/Neck/Head",
                     clip_name="Hello: world")
    c = read_clip(other)
    assert c["m_Name"] == "Hello: world"
    assert {x["path"] for x in c["m_FloatCurves"]} == {"Body/Face Mesh"}
    assert c["m_EulerCurves"][0]["path"] == "Armature/Hips/Spine/Neck/Head"
    assert {e["path"] for e in c["m_EditorCurves"][:3] + c["m_EulerEditorCurves"]} == {"Armature/Hips/Spine/Neck/Head"}
    assert c["m_HasGenericRootTransform"] == 0

    write_unity_anim(other, short, head_path=None)
    c = read_clip(other)
    assert c["m_Name"] == "other"
    assert c["m_EulerCurves"] == [] and c["m_EulerEditorCurves"] == []
    assert len(c["m_EditorCurves"]) == 52 and all(e["classID"] == 137 for e in c["m_EditorCurves"])
    assert len(c["m_ClipBindingConstant"]["genericBindings"]) == 52
    assert "localEulerAngles" not in open(other, encoding="utf-8").read()


def test_a_failed_write_leaves_nothing(anim, tmp_path, monkeypatch):
    path = str(tmp_path / "broken.anim")
    weights = anim.weights.copy()
    weights[10, 3] = np.nan
    bad = types.SimpleNamespace(fps=anim.fps, names=anim.names, weights=weights, head_pose=anim.head_pose)
    with pytest.raises(ValueError, match="broken.anim"):
        write_unity_anim(path, bad)
    assert not os.path.exists(path) and not os.path.exists(path + ".partial")

    # A failure half-way through the curves: the partial file existed, and is gone.
    real, calls = unity_anim._curve, []

    def failing(*args):
        calls.append(1)
        if len(calls) == 20:
            assert os.path.getsize(path + ".partial") > 0
            raise ValueError("disk on fire")
        return real(*args)

    monkeypatch.setattr(unity_anim, "_curve", failing)
    with pytest.raises(ValueError, match="disk on fire"):
        write_unity_anim(path, anim)
    assert len(calls) == 20
    assert not os.path.exists(path) and not os.path.exists(path + ".partial")
