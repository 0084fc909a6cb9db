"""Listening: the character hears the user (real speech, real VAD) and reacts without lip-sync,
in a file (`animate --mode listening`) and live (`listen` in a real daemon)."""

import json
import os
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf
import soxr
from conftest import FACE, HELLO_TXT, HELLO_WAV, run_cli

from bridge.motion import arkit

HELLO = open(HELLO_TXT).read().strip()


def user_voice(gap_s=0.8, repeats=2):
    """The sample speech, twice, with a pause between: a user talking to the character."""
    x, rate = sf.read(HELLO_WAV, dtype="float32")
    x = soxr.resample(x, rate, 16000).astype(np.float32)
    gap = np.zeros(int(gap_s * 16000), np.float32)
    return np.concatenate([gap] + [np.concatenate([x, gap]) for _ in range(repeats)])


def listen(samples, fps=30.0, seed=0, **kw):
    from bridge.listening.stream import listen_to_file

    return listen_to_file(samples, fps, seed, **kw)


def test_reactions_follow_pauses_and_the_lips_stay_still():
    x = user_voice()
    w, pose, stream = listen(x)
    assert len(w) == int(np.ceil(len(x) / 16000 * 30))
    assert w[:, arkit.INDEX["jawOpen"]].max() <= 0.05  # no lip-sync of the user's speech
    pauses = [h for h in stream.heard if h.type == "pause"]
    assert len(pauses) >= 3, [(h.type, h.t) for h in stream.heard]
    reactions = [e for e in stream.listener.events if e.type in ("nod", "brow_raise", "smile", "concern")]
    assert reactions
    for e in reactions:  # never before the pause that caused it was audible
        assert any(0.15 <= e.t - p.t <= 0.9 for p in pauses), (e, [p.t for p in pauses])
    nods = [e for e in reactions if e.type == "nod"]
    for e in nods:  # a nod is the chin going down and back up
        f = int(e.t * 30)
        seg = pose[f:f + int(e.duration_s * 30) + 1, 0]
        assert seg.min() < pose[max(0, f - 1), 0] - 1.0


def test_seed_repeats_and_chunking_does_not_matter():
    from bridge.listening.stream import ListeningStream

    x = user_voice(repeats=1)
    w1, p1, _ = listen(x, seed=3)
    w2, p2, _ = listen(x, seed=3)
    np.testing.assert_array_equal(w1, w2)
    s = ListeningStream(16000, 30.0, seed=3)
    parts = [s.push(x[i:i + 320], final=i + 320 >= len(x)) for i in range(0, len(x), 320)]
    w3 = np.concatenate([p[0] for p in parts])
    np.testing.assert_allclose(w3, w1[:len(w3)], atol=1e-6)
    w4, _, _ = listen(x, seed=4)
    assert not np.array_equal(w1, w4)  # another seed, another performance


def test_silence_noise_and_clipping():
    from bridge.listening.stream import listen_to_file

    rng = np.random.default_rng(0)
    t = np.arange(16000 * 30) / 16000
    notes = 220 * 2 ** (rng.integers(0, 12, 60) / 12)  # a tune: a note every 0.5 s, with harmonics
    f = notes[(t / 0.5).astype(int)]
    music = sum(np.sin(2 * np.pi * k * f * t) / k for k in (1, 2, 3)) * 0.2 * (0.6 + 0.4 * np.sin(2 * np.pi * 2 * t) ** 2)
    for name, x, most in [("silence", np.zeros(16000 * 180, np.float32), 0),
                          ("noise", (0.05 * rng.standard_normal(16000 * 20)).astype(np.float32), 1),
                          ("music", music.astype(np.float32), 3)]:
        w, pose, stream = listen_to_file(x, 30.0)
        nods = [e for e in stream.listener.events if e.type in ("nod", "brow_raise")]
        assert len(nods) <= most, (name, nods)
        blinks = [e for e in stream.listener.events if e.type == "blink"]
        assert 8 <= len(blinks) / (len(x) / 16000 / 60) <= 30, name  # idle life goes on
    loud = np.clip(user_voice(repeats=1) * 40, -1, 1)  # clipped hard
    w, pose, stream = listen_to_file(loud, 30.0)
    assert np.isfinite(w).all() and w[:, arkit.INDEX["jawOpen"]].max() <= 0.05
    assert any(h.type == "pause" for h in stream.heard)


def spoken(text, path):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (make test installs it)")
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True)
    from bridge.speech import load_audio

    return load_audio(str(path))


def test_mirroring_happy_and_sad_words(tmp_path):
    from bridge.emotion import default_model
    from bridge.face import load_image
    from bridge.pipeline import Avatar, listen_avatar

    avatar = Avatar.from_image(load_image(FACE))
    smile = arkit.INDEX["mouthSmileLeft"]
    inner = arkit.INDEX["browInnerUp"]
    lines = {"happy": "I am so happy. This is wonderful news, and I love it!",
             "sad": "I am so sad. My dog died, and I miss him terribly."}
    happy, sad = (listen_avatar(avatar, spoken(t, tmp_path / f"{k}.wav"), text=t, reader=default_model())
                  for k, t in lines.items())
    assert happy.weights[:, smile].mean() > 2 * sad.weights[:, smile].mean() + 0.01
    assert sad.weights[:, inner].mean() > happy.weights[:, inner].mean()
    assert any(e.type == "smile" for e in happy.events) and any(e.type == "concern" for e in sad.events)


def test_animate_listening_cli(tmp_path):
    out = tmp_path / "out"
    r = run_cli("animate", "--mode", "listening", "--image", FACE, "--audio", HELLO_WAV, "--render", "none",
                "--out", str(out), "-q")
    assert r.returncode == 0, r.stderr
    d = json.loads((out / "animation.json").read_text())
    assert d["mode"] == "listening" and d["phonemes"] == []
    assert len(d["blendshapes"]) == len(d["head_pose"]) == len(d["landmarks"])
    jaw = d["blendshape_names"].index("jawOpen")
    assert max(row[jaw] for row in d["blendshapes"]) <= 0.05
    kinds = {e["type"] for e in d["events"]}
    assert "blink" in kinds and kinds <= {"nod", "brow_raise", "smile", "concern", "frown", "blink", "gaze_shift",
                                          "inhale"}
    for e in d["events"]:
        assert set(e) == {"type", "t", "duration_s", "strength"}
    r = run_cli("animate", "--mode", "singing", "--image", FACE, "--audio", HELLO_WAV, "--out", str(out))
    assert r.returncode == 2 and "--mode" in r.stderr


@pytest.fixture(scope="module")
def daemon():
    from conftest import serve_daemon

    with serve_daemon() as d:
        yield d


def test_listen_live_in_the_daemon_then_hand_over_to_speak(daemon):
    """The user's voice streamed in 20 ms chunks at its own pace: listening frames with the
    reactions in their headers, each reaction within 300 ms of the pause being audible; then
    a speak hands over (lead-in frames, then speech) and the lips move again."""
    import time

    from bridge.client import Client

    _, control, data = daemon
    x = user_voice(gap_s=0.9, repeats=1)
    with Client(control, data, timeout_s=60) as c:
        c.hello()
        avatar = c.create_avatar(open(FACE, "rb").read())
        c.subscribe(avatar)
        got = []
        c.listen_stream(avatar, x, rate=16000, chunk_s=0.02, final=False, realtime=True)
        got += list(c.frames(until_final=False, timeout_s=1.5))
        assert got and all(f.mode == "listening" for f in got)
        assert len(got) >= int(len(x) / 16000 * 30) - 3
        jaw = np.array([f.blendshapes[arkit.INDEX["jawOpen"]] for f in got])
        assert jaw.max() <= 0.05
        events = [e for f in got for e in (f.events or [])]
        assert all(f.events is not None for f in got)
        reactions = [e for e in events if e["type"] in ("nod", "brow_raise", "smile", "concern", "frown")]
        assert reactions, events
        for f in got:  # an event rides in the frame it starts in
            for e in f.events:
                assert f.pts - 1 / 30 - 1e-6 <= e["t"] < f.pts + 1 / 30 + 1e-6, (f.pts, e)
        ok = c.speak(avatar, audio=open(HELLO_WAV, "rb").read(), text=HELLO)
        # The character does not listen over itself: chunks while it speaks are ignored.
        assert c.listen_stream(avatar, x[:3200], rate=16000, final=False)["utterance"] == ok["utterance"]
        after = list(c.frames()) + list(c.frames())  # the listening turn's end, then the speech
        time.sleep(0.2)
        lead = [f for f in after if f.mode == "listening"]
        speech = [f for f in after if f.mode == "speaking"]
        assert lead and lead[-1].final and any(e["type"] == "inhale" for f in lead for e in f.events)
        assert len(speech) == ok["frames"]
        assert max(f.blendshapes[arkit.INDEX["jawOpen"]] for f in speech) > 0.2
        # Back to listening: a new listen starts a new stream.
        reply = c.listen_stream(avatar, x[:16000], rate=16000, final=True)
        assert reply["utterance"] > ok["utterance"]
        # Bad input keeps the daemon serving.
        from bridge.client import ServerError

        c.request("listen", avatar=avatar, pcm=x[:320].tobytes(), rate=16000)
        with pytest.raises(ServerError, match="listen.rate"):
            c.request("listen", avatar=avatar, pcm=x[:320].tobytes(), rate=48000)
        assert c.ping() < 1.0


def test_converse_listens_then_answers(tmp_path):
    import shutil as sh

    from conftest import BALL_TXT, BALL_WAV

    for src in (HELLO_WAV, BALL_WAV):
        sh.copy(src, tmp_path)
    script = tmp_path / "dialogue.json"
    script.write_text(json.dumps([
        {"who": "user", "audio": "hello.wav"},
        {"who": "avatar", "audio": "ball.wav", "text": open(BALL_TXT).read().strip()},
        {"who": "user", "audio": "hello.wav", "text": HELLO}]))
    out = tmp_path / "out"
    r = run_cli("converse", "--script", str(script), "--image", FACE, "--out", str(out), "--render", "none", "-q")
    assert r.returncode == 0, r.stderr
    d = json.loads((out / "animation.json").read_text())
    assert d["mode"] == "conversation" and [t["who"] for t in d["turns"]] == ["user", "avatar", "user"]
    assert [t["mode"] for t in d["turns"]] == ["listening", "speaking", "listening"]
    user, avatar, user2 = d["turns"]
    assert avatar["start_s"] > user["end_s"]  # the breath before answering
    assert abs(len(d["blendshapes"]) - d["duration_s"] * 30) <= 1
    jaw = np.array(d["blendshapes"])[:, d["blendshape_names"].index("jawOpen")]
    t = np.arange(len(jaw)) / 30

    def during(turn):
        return jaw[(t >= turn["start_s"] + 0.3) & (t < turn["end_s"] - 0.1)]

    assert during(user).max() <= 0.05 and during(user2).max() <= 0.05  # listening: lips still
    assert during(avatar).max() > 0.2  # speaking
    inhale = [e for e in d["events"] if e["type"] == "inhale"]
    assert len(inhale) == 1 and user["end_s"] - 0.5 < inhale[0]["t"] < avatar["start_s"]
    assert all(np.isfinite(np.array(d["head_pose"])).ravel())
    # The seam from listening to speaking has no jump in the head.
    pose = np.array(d["head_pose"])
    assert np.abs(np.diff(pose[:, :3], axis=0)).max() < 4.0
    # `facebridge play` sends each frame with its turn's mode, and listening frames with
    # the events that start in them, as the daemon's own listening frames.
    from bridge.play import load_playable

    p = load_playable(str(out / "animation.json"))
    assert p.modes[int((avatar["start_s"] + 0.5) * 30)] == "speaking" and p.modes[5] == "listening"
    carried = [e for ev in p.events if ev for e in ev]
    listening_events = [e for e in d["events"] if p.modes[min(len(p.modes) - 1, int(e["t"] * 30))] == "listening"]
    assert len(carried) == len(listening_events) > 0
    assert all(ev is None for m, ev in zip(p.modes, p.events) if m == "speaking")


@pytest.mark.parametrize("turns, message", [
    ([{"who": "user", "audio": "missing.wav"}], "turn 1: audio missing.wav not found"),
    ([{"who": "user", "audio": "hello.wav"}, {"who": "avatar", "audio": "hello.wav", "voice": "x"}],
     "turn 2: has unknown key 'voice'"),
    ([{"who": "narrator", "audio": "hello.wav"}], "turn 1: has who 'narrator'"),
    ([{"who": "user"}], "turn 1: has no audio"),
    ([{"who": "user", "audio": "hello.wav"}, {"who": "avatar", "audio": "quiet.wav"}],
     "turn 2: audio quiet.wav: contains no speech"),
    ({"who": "user"}, "non-empty JSON list"),
    ([], "non-empty JSON list"),
])
def test_converse_script_errors_name_the_turn(tmp_path, turns, message):
    import shutil as sh

    sh.copy(HELLO_WAV, tmp_path)
    sf.write(tmp_path / "quiet.wav", np.zeros(16000, np.float32), 16000)  # an answer with no speech
    script = tmp_path / "dialogue.json"
    script.write_text(json.dumps(turns))
    r = run_cli("converse", "--script", str(script), "--image", FACE, "--out", str(tmp_path / "out"))
    assert r.returncode == 1 and message in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "animation.json").exists()


@pytest.mark.slow
def test_a_long_listening_stream_keeps_memory_flat():
    """Six minutes of a user talking, streamed as fast as the daemon takes it (an hour's soak
    is bench/listen_soak.py): every frame arrives and the daemon's memory stops growing once
    warm (models loaded, buffers at size)."""
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    from bench.listen_soak import soak

    r = soak(6.0)
    assert r["frames"] == r["expected_frames"]
    assert r["events"] > 6 * 10  # it kept reacting to the whole stream
    rss = {round(s["audio_min"]): s["rss_mb"] for s in r["samples"]}
    assert rss[6] - rss[2] < 8.0, r["samples"]
