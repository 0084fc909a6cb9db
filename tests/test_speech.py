"""Audio loading at any rate/channels, alignment with and without a transcript."""

import numpy as np
import pytest
import soundfile as sf
from conftest import BALL_TXT, BALL_WAV, HELLO_TXT, HELLO_WAV

from bridge.errors import InputError
from bridge.speech import Aligner, PhoneDecoder, envelope, load_audio, speech_segments
from bridge.speech.text import pronounce, words_of


@pytest.mark.parametrize("rate,channels", [(8000, 1), (48000, 2), (44100, 2), (22050, 1)])
def test_any_rate_and_channels(tmp_path, hello_audio, rate, channels):
    from scipy.signal import resample_poly

    data, src = hello_audio
    x = resample_poly(data, rate, src).astype(np.float32)
    path = tmp_path / f"a_{rate}_{channels}.wav"
    sf.write(path, np.stack([x] * channels, 1) if channels > 1 else x, rate)
    a = load_audio(path)
    assert a.source_rate == rate and a.source_channels == channels
    assert abs(a.duration - len(data) / src) < 0.01
    # Same speech whatever the container: the loudness envelope matches the original's.
    ref = load_audio(HELLO_WAV)
    n = min(len(ref.samples), len(a.samples))
    e1, e2 = envelope(ref).db[: n // 160], envelope(a).db[: n // 160]
    voiced = e1 > -40
    assert np.corrcoef(e1[voiced], e2[voiced])[0, 1] > 0.9  # 8 kHz loses the high band


def test_flac_and_ogg(tmp_path, hello_audio):
    data, rate = hello_audio
    for ext in ("flac", "ogg"):
        p = tmp_path / f"a.{ext}"
        sf.write(p, data, rate)
        assert abs(load_audio(p).duration - len(data) / rate) < 0.05


def test_alignment_follows_the_words():
    phones, words = Aligner().align(load_audio(BALL_WAV), open(BALL_TXT).read())
    assert [w.word for w in words][:4] == ["bob", "moved", "the", "big"]
    starts = [p.start_s for p in phones]
    assert starts == sorted(starts)
    assert "B" in [p.phone for p in phones] and "UW" in [p.phone for p in phones]
    assert phones[-1].end_s <= load_audio(BALL_WAV).duration + 0.05


def test_unknown_words_still_align():
    # "facebridge" is in no dictionary; it must get a pronunciation and a time.
    phones, words = Aligner().align(load_audio(HELLO_WAV), open(HELLO_TXT).read())
    fb = [w for w in words if w.word == "facebridge"]
    assert fb and 0.5 < fb[0].end_s - fb[0].start_s < 1.5


def test_pronunciation_fallbacks():
    lookup = {"face": "F EY S", "bridge": "B R IH JH"}.get
    assert pronounce("facebridge", lookup) == ["F", "EY", "S", "B", "R", "IH", "JH"]
    assert pronounce("zork", lambda w: None) == ["Z", "AO", "R", "K"]


def test_text_normalisation():
    assert words_of("Café naïve — I’m 42!") == ["cafe", "naive", "i'm", "forty", "two"]
    assert words_of("日本語") == []


def test_mismatched_transcript_is_refused():
    with pytest.raises(InputError, match="does not match the audio"):
        Aligner().align(load_audio(HELLO_WAV), open(BALL_TXT).read())


def test_decoding_without_text_finds_speech_phones():
    a = load_audio(BALL_WAV)
    segs = speech_segments(envelope(a))
    phones = PhoneDecoder().decode(a, segs)
    speech = [p for p in phones if p.phone != "SIL"]
    assert len(speech) >= 8
    assert speech[0].start_s < 0.5 and speech[-1].end_s > a.duration - 1.0


def test_silence_has_no_speech_segments(tmp_path):
    from conftest import write_tone

    write_tone(tmp_path / "s.wav", 3.0)
    assert speech_segments(envelope(load_audio(tmp_path / "s.wav"))) == []


def test_opening_cue_follows_vowels_not_fricatives_at_any_gain():
    # Alternate 300 ms of a vowel-like sound (150 Hz harmonics, formants near 700 and 1200 Hz)
    # with 300 ms of /s/-like noise (above 4 kHz) at the same broadband loudness. The mouth
    # opens on the vowel and not on the hiss, whatever the recording gain.
    from bridge.speech.audio import Audio

    rate, seg = 16000, 4800
    t = np.arange(seg) / rate
    vowel = sum(np.sin(2 * np.pi * 150 * k * t) * (np.exp(-((150 * k - 700) / 200) ** 2)
                + np.exp(-((150 * k - 1200) / 250) ** 2)) for k in range(1, 20))
    rng = np.random.default_rng(0)
    hiss = np.fft.irfft(np.fft.rfft(rng.standard_normal(seg)) * (np.fft.rfftfreq(seg, 1 / rate) > 4000), seg)
    vowel, hiss = vowel / np.std(vowel), hiss / np.std(hiss)
    x = np.concatenate([np.zeros(seg)] + [vowel, hiss] * 4 + [np.zeros(seg)]).astype(np.float32)
    for gain in (0.3, 0.003):
        env = envelope(Audio(samples=x * gain, source="synthetic", source_rate=rate, source_channels=1))
        o = env.opening()
        hop = 160
        vow = [o[(seg * (1 + 2 * i) + 1600) // hop:(seg * (2 + 2 * i) - 1600) // hop].mean() for i in range(4)]
        fri = [o[(seg * (2 + 2 * i) + 1600) // hop:(seg * (3 + 2 * i) - 1600) // hop].mean() for i in range(4)]
        assert min(vow) > 0.7 and max(fri) < 0.2, (gain, vow, fri)
        assert o[: seg // hop - 15].max() < 0.05  # silence: closed
