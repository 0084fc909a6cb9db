import contextlib
import os
import re
import signal
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "samples")
SHARED = os.path.join(ROOT, "..", "shared", "data")
FACE = os.path.join(SAMPLES, "astronaut.png")
HELLO_WAV = os.path.join(SAMPLES, "hello.wav")
HELLO_TXT = os.path.join(SAMPLES, "hello.txt")
BALL_WAV = os.path.join(SAMPLES, "ball.wav")
BALL_TXT = os.path.join(SAMPLES, "ball.txt")


def run_cli(*args, timeout=600, env=None):
    """Run the real `facebridge` command line in a subprocess (env: extra variables)."""
    return subprocess.run([sys.executable, "-m", "bridge", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=dict(os.environ, **(env or {})))


# Runs the CLI and reports the process's own peak memory (RUSAGE_CHILDREN in the test
# process would be the peak over every CLI run of the session).
_MEASURED = ("import resource, runpy, sys\n"
             "sys.argv = ['facebridge'] + sys.argv[1:]\n"
             "try:\n    runpy.run_module('bridge', run_name='__main__')\n"
             "finally:\n    print('peak_rss_mb=%d' % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024),"
             " file=sys.stderr)\n")


def run_cli_measured(*args, timeout=900):
    """(result, peak resident memory in MB of that one run)."""
    r = subprocess.run([sys.executable, "-c", _MEASURED, *args], capture_output=True, text=True,
                       timeout=timeout, cwd=ROOT)
    peak = [int(l.split("=")[1]) for l in r.stderr.splitlines() if l.startswith("peak_rss_mb=")]
    assert peak, r.stderr
    return r, peak[-1]


@pytest.fixture(scope="session")
def hello_audio():
    data, rate = sf.read(HELLO_WAV, dtype="float32")
    return data, rate


@pytest.fixture(scope="session")
def avatar():
    from bridge.face import load_image
    from bridge.pipeline import Avatar

    return Avatar.from_image(load_image(FACE))


@pytest.fixture(scope="session")
def demo_out(tmp_path_factory):
    """The demo, run once through the CLI with rendering on."""
    out = tmp_path_factory.mktemp("demo")
    r = run_cli("animate", "--image", FACE, "--audio", HELLO_WAV, "--text-file", HELLO_TXT,
                "--out", str(out))
    assert r.returncode == 0, r.stderr
    (out.parent / "demo_stderr.txt").write_text(r.stderr)
    return out


def shared_video(name):
    path = os.path.join(SHARED, "faces", "videos", name + ".mp4")
    if not os.path.exists(path):
        pytest.skip(f"shared data not present: {path}")
    return path


def write_tone(path, seconds, rate=16000, channels=1, amp=0.0):
    n = int(seconds * rate)
    x = (amp * np.sin(2 * np.pi * 220 * np.arange(n) / rate)).astype(np.float32)
    sf.write(path, np.stack([x] * channels, 1) if channels > 1 else x, rate)


@contextlib.contextmanager
def serve_daemon(*extra):
    """A real `facebridge serve` on 127.0.0.1 (ports chosen by the OS) -> (process, control, data)."""
    p = subprocess.Popen([sys.executable, "-m", "bridge", "serve", "--video", "tcp://127.0.0.1:*",
                          "--control", "tcp://127.0.0.1:*", "--data", "tcp://127.0.0.1:*", "--log-level", "warning",
                          *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    line = p.stdout.readline()
    m = re.search(r"control (\S+)\s+data (\S+)", line)
    assert m, (line, p.stderr.read() if p.poll() is not None else "")
    try:
        yield p, m.group(1), m.group(2)
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            p.wait(10)
