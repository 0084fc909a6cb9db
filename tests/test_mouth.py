"""The mouth read from the sound (models/mouth.onnx through `animate`), on the hard recordings
of issue #17: music under speech, a very quiet one, a clipped one, 8 kHz telephone audio,
long silences, a one-word utterance. Each must give a sensible mouth and no error."""

import numpy as np
import pytest
import soundfile as sf
from conftest import BALL_WAV, FACE

from bridge.motion import arkit

J = arkit.INDEX["jawOpen"]


def jaw_of(path, **kw):
    from bridge.pipeline import animate

    anim, _ = animate(FACE, str(path), text=None, fps=30.0, emotion="neutral", **kw)
    return anim.weights[:, J]


@pytest.fixture(scope="module")
def ball():
    x, rate = sf.read(BALL_WAV, dtype="float32")
    return x, rate


@pytest.fixture(scope="module")
def clean_jaw(ball, tmp_path_factory):
    x, rate = ball
    path = tmp_path_factory.mktemp("clean") / "clean.wav"
    sf.write(path, x, rate)
    return jaw_of(path)


def test_the_model_loads_and_refuses_a_wrong_file(tmp_path, monkeypatch):
    from bridge.errors import FacebridgeError
    from bridge.speech import mouth

    m = mouth.MouthModel()
    out = m(np.zeros((5, mouth.N_INPUTS), np.float32))
    assert out.shape == (5,) and np.all((out >= 0) & (out <= 1.5))
    bad = tmp_path / "mouth.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(FacebridgeError, match="cannot be loaded as an ONNX model"):
        mouth.MouthModel(str(bad))
    monkeypatch.setenv(mouth.ENV, str(tmp_path / "missing.onnx"))
    with pytest.raises(FacebridgeError, match="mouth model not found"):
        mouth.mouth_model()


def test_speech_opens_the_jaw_and_silence_closes_it(ball, clean_jaw, tmp_path):
    x, rate = ball
    assert clean_jaw.max() > 0.3 and clean_jaw.std() > 0.05
    # Long silences (2 s between two copies of the line): the mouth rests in them.
    gap = np.zeros(2 * rate, np.float32)
    path = tmp_path / "gaps.wav"
    sf.write(path, np.concatenate([x, gap, x]), rate)
    jaw = jaw_of(path)
    n = len(x) * 30 // rate
    pause = jaw[n + 15:n + 45]  # the middle second of the pause
    assert pause.max() < 0.05 and jaw[:n].max() > 0.3 and jaw[n + 60:].max() > 0.3


@pytest.mark.parametrize("kind", ["quiet", "clipped", "telephone", "music"])
def test_hard_recordings_keep_the_mouth(ball, clean_jaw, tmp_path, kind):
    """Gain, clipping, a narrow band and music under the voice: the jaw still follows the
    same syllables as on the clean recording."""
    from scipy.signal import resample_poly

    x, rate = ball
    if kind == "quiet":  # like lp_d9: 40 dB down
        y, r = x * 0.01, rate
    elif kind == "clipped":
        y, r = np.clip(x * 12.0, -1.0, 1.0), rate
    elif kind == "telephone":
        y, r = resample_poly(x, 8000, rate).astype(np.float32), 8000
    else:  # a chord under the voice, 12 dB down
        t = np.arange(len(x)) / rate
        chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6, 440.0)) / 4
        y, r = (x + 0.25 * np.abs(x).max() * chord).astype(np.float32), rate
    path = tmp_path / f"{kind}.wav"
    sf.write(path, y, r)
    jaw = jaw_of(path)
    n = min(len(jaw), len(clean_jaw))
    assert jaw.max() > 0.15, kind
    assert np.corrcoef(jaw[:n], clean_jaw[:n])[0, 1] > 0.6, kind


def test_a_one_word_utterance(ball, tmp_path):
    x, rate = ball
    path = tmp_path / "one_word.wav"
    sf.write(path, x[: int(0.45 * rate)], rate)  # "Bob"
    jaw = jaw_of(path)
    assert len(jaw) >= 10 and np.isfinite(jaw).all() and jaw.max() > 0.1


def test_confident_words_replace_the_phone_loop_only_where_they_lie():
    """Without a transcript, recognised words the recogniser is sure of give their dictionary
    phones; unsure words and everything around them keep the phone loop's."""
    from conftest import HELLO_WAV

    from bridge.speech import Aligner, PhoneDecoder, Word, envelope, load_audio, speech_segments
    from bridge.speech.phonemes import confident_phones

    audio = load_audio(HELLO_WAV)
    loop = PhoneDecoder().decode(audio, speech_segments(envelope(audio)))
    _, truth = Aligner().align(audio, "hello there")  # where the two words really are
    hello, there = truth[0], truth[1]
    words = [Word("hello", hello.start_s, hello.end_s, 0.9), Word("there", there.start_s, there.end_s, 0.2)]
    merged = confident_phones(audio, loop, words)

    inside = [p.phone for p in merged if hello.start_s - 0.06 <= p.start_s and p.end_s <= hello.end_s + 0.06]
    assert "L" in inside and "OW" in inside  # hello's own phones
    for p in merged:  # outside the confident run, exactly the loop's phones
        if p.end_s <= hello.start_s - 0.05 or p.start_s >= hello.end_s + 0.05:
            assert any(q.phone == p.phone and q.start_s <= p.start_s + 1e-6 and p.end_s <= q.end_s + 1e-6
                       for q in loop), p
    assert all(a.end_s <= b.start_s + 1e-6 for a, b in zip(merged, merged[1:]))  # ordered, no overlap
    assert confident_phones(audio, loop, [Word("hello", hello.start_s, hello.end_s, 0.3)]) == loop
