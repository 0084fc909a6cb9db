"""Bad input is normal: each case gets one clear line, a non-zero exit, no traceback, and
no output that looks complete."""

import os
import sys

import numpy as np
import pytest
import soundfile as sf
from conftest import FACE, HELLO_TXT, HELLO_WAV, run_cli, run_cli_measured, write_tone


def _fails_cleanly(r, out, *words):
    assert r.returncode == 1, (r.returncode, r.stderr)
    err = [l for l in r.stderr.strip().splitlines() if l.startswith("facebridge: error:")]
    assert len(err) == 1, r.stderr
    assert "Traceback" not in r.stderr
    for w in words:
        assert w.lower() in err[0].lower(), err[0]
    assert not os.path.exists(os.path.join(out, "animation.json"))
    assert not os.path.exists(os.path.join(out, "preview.mp4"))
    return err[0]


def _animate(tmp_path, image=FACE, audio=HELLO_WAV, *extra):
    out = str(tmp_path / "out")
    return run_cli("animate", "--image", str(image), "--audio", str(audio), "--out", out, *extra), out


def test_missing_files(tmp_path):
    r, out = _animate(tmp_path, image=tmp_path / "nope.png")
    _fails_cleanly(r, out, "nope.png", "not found")
    r, out = _animate(tmp_path, audio=tmp_path / "nope.wav")
    _fails_cleanly(r, out, "nope.wav", "not found")


def test_corrupt_image(tmp_path):
    # A PNG signature and 300 random bytes: OpenCV alone would allocate 4 GB decoding it.
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + np.random.default_rng(1).bytes(300))
    out = str(tmp_path / "out")
    r, peak_mb = run_cli_measured("animate", "--image", str(bad), "--audio", HELLO_WAV, "--out", out)
    _fails_cleanly(r, out, "bad.png", "cannot be decoded")
    assert peak_mb < 1000, peak_mb


def _png_header_only(width, height):
    """A PNG whose header claims width x height but carries almost no pixel data."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def test_hostile_image_header_does_not_eat_memory(tmp_path):
    # A 200-byte file claiming 50000 x 50000 pixels (7.5 GB decoded) is refused before
    # the decoder allocates anything.
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_header_only(50_000, 50_000))
    out = str(tmp_path / "out")
    r, peak_mb = run_cli_measured("animate", "--image", str(bomb), "--audio", HELLO_WAV, "--out", out)
    _fails_cleanly(r, out, "bomb.png", "100 MP")
    assert peak_mb < 1000, peak_mb


def test_image_without_a_face(tmp_path):
    import cv2

    img = np.tile(np.linspace(0, 255, 400, dtype=np.uint8), (300, 1))
    path = tmp_path / "wall.png"
    cv2.imwrite(str(path), cv2.merge([img, img // 2, 255 - img]))
    r, out = _animate(tmp_path, image=path)
    _fails_cleanly(r, out, "wall.png", "no face")


def test_zero_byte_and_truncated_audio(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    r, out = _animate(tmp_path, audio=empty)
    _fails_cleanly(r, out, "empty.wav", "empty")
    trunc = tmp_path / "trunc.wav"
    trunc.write_bytes(open(HELLO_WAV, "rb").read()[:30])  # header cut short
    r, out = _animate(tmp_path, audio=trunc)
    _fails_cleanly(r, out, "trunc.wav")
    notaudio = tmp_path / "text.wav"
    notaudio.write_text("this is not audio at all " * 50)
    r, out = _animate(tmp_path, audio=notaudio)
    _fails_cleanly(r, out, "text.wav", "cannot be read")


def test_silence_only(tmp_path):
    path = tmp_path / "silence.wav"
    write_tone(path, 4.0)
    r, out = _animate(tmp_path, FACE, path)
    _fails_cleanly(r, out, "silence.wav", "no speech")


def test_empty_and_mismatched_transcripts(tmp_path):
    r, out = _animate(tmp_path, FACE, HELLO_WAV, "--text", "   ")
    _fails_cleanly(r, out, "--text", "empty")
    r, out = _animate(tmp_path, FACE, HELLO_WAV, "--text", "Seventeen purple elephants juggled quietly on Tuesday afternoon.")
    _fails_cleanly(r, out, "--text", "does not match")
    txt = tmp_path / "t.txt"
    txt.write_bytes(b"\xff\xfe\x00bad")
    r, out = _animate(tmp_path, FACE, HELLO_WAV, "--text-file", str(txt))
    _fails_cleanly(r, out, "t.txt", "utf-8")
    r, out = _animate(tmp_path, FACE, HELLO_WAV, "--text", "日本語のテキスト")
    _fails_cleanly(r, out, "--text", "no english words")


def test_bad_fps(tmp_path):
    r, out = _animate(tmp_path, FACE, HELLO_WAV, "--fps", "0")
    _fails_cleanly(r, out, "--fps")


def test_non_ascii_transcript_works(tmp_path):
    text = open(HELLO_TXT).read().replace("Hello there", "Héllo thère")
    r, out = _animate(tmp_path, FACE, HELLO_WAV, "--text", text, "--render", "none")
    assert r.returncode == 0, r.stderr
    assert os.path.exists(os.path.join(out, "animation.json"))


def test_grayscale_rgba_and_large_images(tmp_path):
    import cv2

    from bridge.face import detect_face, load_image

    rgb = load_image(FACE)
    gray = tmp_path / "g.jpg"
    cv2.imwrite(str(gray), cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    rgba = tmp_path / "a.png"
    bgra = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA)
    bgra[:, :, 3] = 255
    bgra[:40, :, 3] = 0
    cv2.imwrite(str(rgba), bgra)
    big = tmp_path / "big.jpg"
    cv2.imwrite(str(big), cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), (4000, 4000)))
    landscape = tmp_path / "wide.png"
    canvas = np.full((512, 1400, 3), 200, np.uint8)
    canvas[:, 800:1312] = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    cv2.imwrite(str(landscape), canvas)
    ref = detect_face(rgb).points
    for path, scale, dx in ((gray, 1, 0), (rgba, 1, 0), (big, 4000 / 512, 0), (landscape, 1, 800)):
        img = load_image(path)
        assert img.ndim == 3 and img.shape[2] == 3
        pts = detect_face(img).points
        # Same face found, in this image's pixels.
        assert np.abs((pts[:, :2] - [dx, 0]) / scale - ref[:, :2]).mean() < 3.0, path


def test_largest_of_several_faces_is_kept(tmp_path, caplog):
    import cv2

    from bridge.face import detect_face, load_image

    rgb = load_image(FACE)
    face = rgb[0:300, 100:350]
    canvas = np.full((500, 800, 3), 220, np.uint8)
    canvas[100:460, 20:320] = cv2.resize(face, (300, 360))
    canvas[20:490, 400:790] = cv2.resize(face, (390, 470))
    with caplog.at_level("WARNING"):
        f = detect_face(canvas, name="two.png")
    assert f.n_faces == 2 and f.box[0] > 400
    assert "2 faces" in caplog.text


@pytest.mark.slow
def test_one_hour_of_audio(tmp_path):
    """An hour-long file works with bounded memory and shows progress."""
    speech, rate = sf.read(HELLO_WAV, dtype="float32")
    path = tmp_path / "hour.wav"
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", samplerate=rate, channels=1, subtype="PCM_16") as f:
        for minute in range(60):
            block = rng.normal(0, 0.001, 60 * rate).astype(np.float32)  # room noise
            if minute % 10 == 0:
                block[rate:rate + len(speech)] += speech  # a line every ten minutes
            f.write(block)
    out = tmp_path / "out"
    r, peak_mb = run_cli_measured("animate", "--image", FACE, "--audio", str(path),
                                  "--render", "none", "--fps", "10", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert peak_mb < 1500, peak_mb  # 230 MB of samples; measured about 540 MB
    assert "decoding phonemes" in r.stderr and "100%" in r.stderr
    with open(out / "animation.json") as f:
        head = f.read(300)
    assert '"duration_s":3600' in head
