"""`facebridge animate` end to end through the real CLI, and its output formats."""

import json
import os

import av
import numpy as np
import pytest
from conftest import BALL_TXT, BALL_WAV, FACE, HELLO_WAV, run_cli

from bridge.face import topology as T
from bridge.motion import arkit


def _load(out):
    with open(os.path.join(out, "animation.json")) as f:
        return json.load(f)


def test_animation_file_format(demo_out):
    a = _load(demo_out)
    n = len(a["blendshapes"])
    assert a["version"] == 1 and a["fps"] == 30 and a["mode"] == "speaking"
    assert a["blendshape_names"] == arkit.NAMES
    assert abs(a["duration_s"] - 5.12) < 0.05 and n == int(np.ceil(5.121875 * 30))
    w = np.array(a["blendshapes"])
    assert w.shape == (n, 52) and w.min() >= 0 and w.max() <= 1
    assert np.array(a["head_pose"]).shape == (n, 6)
    lm = np.array(a["landmarks"])
    assert lm.shape == (n, 478, 3)
    width, height = a["image_size"]
    assert (width, height) == (512, 512)
    assert lm[..., 0].min() > 0 and lm[..., 0].max() < width and lm[..., 1].max() < height
    assert "facebridge" in a["transcript"]
    ph = a["phonemes"]
    assert ph and all(p["end_s"] >= p["start_s"] for p in ph)
    assert {e["type"] for e in a["events"]} <= {"blink", "gaze_shift", "nod", "brow_raise", "smile"}


def test_terminal_shows_our_progress_not_native_logs(demo_out):
    err = (demo_out.parent / "demo_stderr.txt").read_text()
    assert "finding the face" in err and "wrote " in err
    # MediaPipe/TFLite glog lines and libpng warnings are captured and only shown with -v.
    for noise in ("W0000", "INFO: Created TensorFlow", "absl::InitializeLog", "libpng warning"):
        assert noise not in err, err


def test_preview_video_has_frames_and_audio(demo_out):
    with av.open(os.path.join(demo_out, "preview.mp4")) as c:
        assert c.streams.audio and c.streams.video
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    a = _load(demo_out)
    assert abs(len(frames) - len(a["blendshapes"])) <= 1
    assert frames[0].shape[:2] == (512, 512)
    # The face moves: mouth-region pixels differ between the most and least open frames.
    jaw = np.array(a["blendshapes"])[:, arkit.INDEX["jawOpen"]]
    lm = np.array(a["landmarks"][0])
    x0, y0 = lm[T.LIPS_OUTER_UPPER, :2].min(0).astype(int) - 5
    x1, y1 = lm[T.LIPS_OUTER_LOWER, :2].max(0).astype(int) + 15
    hi, lo = frames[int(jaw.argmax())], frames[int(jaw.argmin())]
    assert np.abs(hi[y0:y1, x0:x1].astype(int) - lo[y0:y1, x0:x1]).mean() > 8


def test_lips_follow_the_phonemes(tmp_path):
    out = tmp_path / "ball"
    r = run_cli("animate", "--image", FACE, "--audio", BALL_WAV, "--text-file", BALL_TXT,
                "--render", "none", "--out", str(out))
    assert r.returncode == 0, r.stderr
    a = _load(out)
    lm = np.array(a["landmarks"])
    eyes = np.linalg.norm(lm[:, T.EYE_OUTER_LEFT, :2] - lm[:, T.EYE_OUTER_RIGHT, :2], axis=1)
    gap = (lm[:, T.INNER_LIP_BOTTOM, 1] - lm[:, T.INNER_LIP_TOP, 1]) / eyes
    fps = a["fps"]

    def at(p):
        return gap[min(len(gap) - 1, int((p["start_s"] + p["end_s"]) / 2 * fps))]

    ph = a["phonemes"]
    bilabial = [at(p) for p in ph if p["phone"] in ("B", "M", "P")]
    open_vowels = [at(p) for p in ph if p["phone"] in ("AA", "AO", "AY", "AW")]
    silence = [at(p) for p in ph if p["phone"] == "SIL" and p["end_s"] - p["start_s"] > 0.3]
    assert len(bilabial) >= 4 and len(open_vowels) >= 3
    # The photo's own resting gap (this face smiles with parted lips).
    from bridge.face import load_image
    from bridge.face.landmarks import detect_face

    pts = detect_face(load_image(FACE)).points
    rest = (pts[T.INNER_LIP_BOTTOM, 1] - pts[T.INNER_LIP_TOP, 1]) / np.linalg.norm(
        pts[T.EYE_OUTER_LEFT, :2] - pts[T.EYE_OUTER_RIGHT, :2])
    # Bilabials press the lips together (well below rest), open vowels open them, and long
    # silences return to rest.
    assert max(bilabial) < 0.5 * rest
    assert np.median(open_vowels) > rest + 0.06
    assert max(abs(s - rest) for s in silence) < 0.03


def test_without_text_and_other_fps(tmp_path):
    out = tmp_path / "notext"
    r = run_cli("animate", "--image", FACE, "--audio", HELLO_WAV, "--fps", "24", "--render", "none",
                "--out", str(out))
    assert r.returncode == 0, r.stderr
    a = _load(out)
    assert a["fps"] == 24
    # Without text, the transcript is recognised (for emotion only) and said to be.
    assert isinstance(a["transcript"], str) and a["emotion"]["source"] == "audio"
    assert len(a["blendshapes"]) == int(np.ceil(5.121875 * 24))
    jaw = np.array(a["blendshapes"])[:, arkit.INDEX["jawOpen"]]
    assert jaw.max() > 0.3  # the mouth moves from the audio alone
    assert not os.path.exists(out / "preview.mp4")


def test_idle_life_blinks_at_human_rates(tmp_path):
    from bridge.motion.idle import idle

    life = idle(30 * 60, 30.0, seed=3)  # one minute
    blinks = [e for e in life.events if e.type == "blink"]
    assert 8 <= len(blinks) <= 30
    gaps = np.diff([b.t for b in blinks])
    assert gaps.min() >= 0.25
    closed = life.weights[:, arkit.INDEX["eyeBlinkLeft"]]
    assert closed.max() > 0.85 and (closed > 0.5).mean() < 0.08
    assert np.abs(life.head_pose[:, :3]).max() < 10
