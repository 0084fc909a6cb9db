"""The streamed speaking path (bridge/motion/streaming.py) and its viseme network."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
import soundfile as sf

from conftest import FACE, ROOT, SHARED, run_cli

BALL_WAV = os.path.join(ROOT, "samples", "ball.wav")
BALL_TXT = os.path.join(ROOT, "samples", "ball.txt")


def stream(x, rate, step, rig=None, phones=True, fps=30.0):
    from bridge.motion.streaming import StreamingSpeaker

    sp = StreamingSpeaker(rate, fps, seed=1, rig=rig, phones=phones)
    out = []
    for s in range(0, len(x), step):
        out += sp.push(x[s:s + step], final=s + step >= len(x))
    return np.array([o[0] for o in out]), np.array([o[1] for o in out]), np.array([o[2] for o in out])


def test_chunk_size_does_not_change_the_motion(hello_audio, avatar):
    """A TTS may send 20 ms, 370 ms or odd-sized chunks: the frames must be the same."""
    x, rate = hello_audio
    pts, w, pose = stream(x, rate, int(rate * 0.02), avatar.rig)
    assert len(pts) == int(np.ceil(len(x) / rate * 30))
    for step in (len(x), int(rate * 0.37), 7):
        pts2, w2, pose2 = stream(x, rate, step, avatar.rig)
        np.testing.assert_array_equal(pts, pts2)
        np.testing.assert_array_equal(w, w2)
        np.testing.assert_array_equal(pose, pose2)


@pytest.fixture(scope="module")
def ball(avatar):
    """The streamed ball.wav at 100 fps beside its forced-aligned phones (the truth)."""
    from bridge.speech import load_audio
    from bridge.speech.phonemes import Aligner

    x, rate = sf.read(BALL_WAV, dtype="float32")
    phones, _ = Aligner().align(load_audio(BALL_WAV), open(BALL_TXT).read())
    return x, rate, phones


def _by_phone(ball, rig, phones_on):
    from bridge.face import topology as T
    from bridge.motion import arkit

    x, rate, phones = ball
    pts, w, _ = stream(x, rate, int(rate * 0.02), rig, phones=phones_on, fps=100.0)
    t = pts + 0.005
    lm = rig.apply(w)
    gap = lm[:, T.INNER_LIP_BOTTOM, 1] - lm[:, T.INNER_LIP_TOP, 1]
    rounding = w[:, arkit.INDEX["mouthPucker"]] + w[:, arkit.INDEX["mouthFunnel"]]
    rows = []
    for p in phones:
        m = (t >= p.start_s - 0.03) & (t < p.end_s + 0.03)
        rows.append((p.phone, rounding[m].mean(), gap[m].min() / gap.max()))
    return rows


def test_stream_rounds_for_oo_and_closes_for_b_m_p(ball, avatar):
    """Lip shapes come from the sound: rounded on /uw w r/, closed on /b m p/ (ball.wav:
    "Bob moved the big blue ball, while Maya watched from far away")."""
    rows = _by_phone(ball, avatar.rig, True)
    rounded = [r for p, r, _ in rows if p in ("UW", "W")]
    plain = [r for p, r, _ in rows if p in ("AA", "AH", "AY", "IH", "EY")]
    assert np.mean(rounded) > 0.4 and np.mean(rounded) > 2 * np.mean(plain), (rounded, plain)
    closed = [g for p, _, g in rows if p in ("B", "M", "P")]
    assert sum(g < 0.15 for g in closed) >= len(closed) // 2 + 1, closed  # most bilabials meet the lips
    # The acoustic cue alone (the path without the network) cannot round the lips.
    assert max(r for _, r, _ in _by_phone(ball, avatar.rig, False)) < 0.1


def test_stream_without_a_rig_still_rounds(hello_audio):
    """No rig (no closure geometry): frames still come, with lip shapes."""
    x, rate = hello_audio
    pts, w, _ = stream(x, rate, int(rate * 0.02))
    assert len(pts) > 100 and np.isfinite(w).all() and (0 <= w).all() and (w <= 1).all()


def test_viseme_model_missing_or_corrupt(tmp_path):
    from bridge.errors import FacebridgeError
    from bridge.speech.viseme_net import DEFAULT_PATH, VisemeNet

    with pytest.raises(FacebridgeError, match="not found.*facebridge train visemes"):
        VisemeNet(str(tmp_path / "nope.onnx"))
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage" * 100)
    with pytest.raises(FacebridgeError, match="cannot be loaded.*facebridge train visemes") as e:
        VisemeNet(str(bad))
    assert str(bad) in str(e.value)
    # A model for other classes (e.g. an older release) is refused, not misread.
    import onnx

    m = onnx.load(DEFAULT_PATH)
    for p in m.metadata_props:
        if p.key == "classes":
            p.value = "SIL,OPEN"
    other = tmp_path / "other.onnx"
    onnx.save(m, str(other))
    with pytest.raises(FacebridgeError, match="expected SIL,BMP"):
        VisemeNet(str(other))


def test_train_visemes_small(tmp_path):
    """`facebridge train visemes` runs end to end and writes a model the stream can load."""
    pytest.importorskip("torch")
    if not os.path.isdir(os.path.join(SHARED, "goemotions-ekman")):
        pytest.skip(f"shared data not present: {SHARED}")
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (make test installs it)")
    out = tmp_path / "visemes.onnx"
    r = run_cli("train", "visemes", "--data", SHARED, "--sentences", "12", "--held-out", "4", "--epochs", "1",
                "--out", str(out), timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    from bridge.speech.viseme_net import N_INPUTS, VisemeNet

    probs = VisemeNet(str(out))(np.random.default_rng(0).standard_normal((5, N_INPUTS)).astype(np.float32))
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-5)
    metrics = json.loads((tmp_path / "visemes.metrics.json").read_text())
    held = metrics["held_out_synthetic"]
    assert {"network", "majority", "phone_loop_whole_utterance"} <= set(held) and held["hops"] > 500


def test_running_level_matches_the_clip_statistics():
    """The stream's sorted running floor/level equals the whole-window computation."""
    from bridge.speech.frames import RunningLevel, _floor_and_speech, _relative

    rng = np.random.default_rng(0)
    running, seen = RunningLevel(history_hops=50), []
    for _ in range(400):
        v = float(rng.choice([-60.0, -20.0]) + 5 * rng.standard_normal())
        seen.append(v)
        floor, speech = _floor_and_speech(np.array(seen[-50:]))
        assert abs(running.push(v) - float(_relative(np.array([v]), floor, speech)[0])) < 1e-5
