"""The Unreal plugin's engine-free C++ core (engine_clients/unreal/FaceBridge), for real: built
with CMake, its test runner driven against a live `facebridge serve` on OS-chosen loopback
ports, its frames compared with the Python reference client's.

The runner (CoreTests/runner.cpp) runs the offline tests (golden files, decoders, mapping,
jitter buffer, mock daemons, no daemon at all) and then the live ones. For the restart test it
prints FB_STOP_DAEMON and waits for a line on stdin (this file stops the daemon), then
FB_START_DAEMON (this file starts a new daemon on the SAME endpoints). The unplugged Unreal
glue (Source/FaceBridge) needs an Unreal Engine and is not built here.

Needs cmake, a C++17 compiler and libzmq3-dev cppzmq-dev libmsgpack-cxx-dev; skipped otherwise.
The build goes to engine_clients/unreal/FaceBridge/build/ (ignored by git) and is reused.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import soundfile as sf
from conftest import FACE, HELLO_WAV, ROOT, SAMPLES

PLUGIN = os.path.join(ROOT, "engine_clients", "unreal", "FaceBridge")
BUILD = os.path.join(PLUGIN, "build")
GOLDEN = os.path.join(ROOT, "tests", "golden")
RUNNER = os.path.join(BUILD, "facebridge_core_tests")
INCLUDE_DIRS = ["/usr/include", "/usr/local/include", "/opt/homebrew/include", "/opt/local/include"] + \
    [d for d in os.environ.get("CPATH", "").split(os.pathsep) if d]
HEADERS = [("zmq.h", "libzmq3-dev"), ("zmq.hpp", "cppzmq-dev"), ("msgpack.hpp", "libmsgpack-cxx-dev")]
READY = re.compile(r"control (\S+)\s+data (\S+)\s+video (\S+)")


def _missing() -> str | None:
    if not shutil.which("cmake"):
        return "cmake is not installed (apt-get install cmake)"
    if not any(shutil.which(c) for c in ("c++", "g++", "clang++")):
        return "no C++17 compiler (apt-get install g++)"
    absent = [pkg for header, pkg in HEADERS if not any(os.path.exists(os.path.join(d, header)) for d in INCLUDE_DIRS)]
    if absent:
        return f"C++ dev packages missing: apt-get install {' '.join(absent)}"
    return None


def _cmake(*args, timeout=300):
    return subprocess.run(["cmake", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def built():
    """Configure (once; the cache is reused) and build the core, the runner and the bench."""
    reason = _missing()
    if reason:
        pytest.skip(f"Unreal client core not built: {reason}")
    t0 = time.monotonic()
    if not os.path.exists(os.path.join(BUILD, "CMakeCache.txt")):
        os.makedirs(BUILD, exist_ok=True)
        r = _cmake("-S", PLUGIN, "-B", BUILD, "-DCMAKE_BUILD_TYPE=Release")
        assert r.returncode == 0, r.stdout + r.stderr
    r = _cmake("--build", BUILD, "-j", str(os.cpu_count() or 2))
    if r.returncode != 0 and "CMakeCache" in r.stderr:  # a cache from another checkout: start over
        shutil.rmtree(BUILD)
        os.makedirs(BUILD)
        r = _cmake("-S", PLUGIN, "-B", BUILD, "-DCMAKE_BUILD_TYPE=Release")
        assert r.returncode == 0, r.stdout + r.stderr
        r = _cmake("--build", BUILD, "-j", str(os.cpu_count() or 2))
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    print(f"\nunreal core build: {time.monotonic() - t0:.1f} s")
    return BUILD


def _serve(control="tcp://127.0.0.1:*", data="tcp://127.0.0.1:*", video="tcp://127.0.0.1:*", log=None):
    p = subprocess.Popen([sys.executable, "-m", "bridge", "serve", "--control", control, "--data", data,
                          "--video", video, "--log-level", "warning"],
                         stdout=subprocess.PIPE, stderr=log or subprocess.DEVNULL, text=True, cwd=ROOT)
    line = p.stdout.readline()
    m = READY.search(line)
    assert m, f"no ready line from the daemon: {line!r}"
    return p, m.group(1), m.group(2), m.group(3)


def _stop(p):
    if p is not None and p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


def _reference(control, data, out):
    """The Python reference client: fresh avatars speak hello.wav whole and in 20 ms chunks."""
    from bridge.client import Client

    with Client(control, data, timeout_s=60) as c:
        c.hello()
        face = open(FACE, "rb").read()
        a = c.create_avatar(face)
        c.subscribe(a)
        c.speak(a, audio=open(HELLO_WAV, "rb").read())
        out["clip"] = np.stack([f.blendshapes for f in c.frames()])
        b = c.create_avatar(face)
        c.subscribe(b)
        samples, rate = sf.read(HELLO_WAV, dtype="float32")
        c.speak_stream(b, samples, rate=rate, chunk_s=0.02)
        out["stream"] = np.stack([f.blendshapes for f in c.frames()])


def test_ctest_offline_and_decode_bench(built):
    """CTest as registered by CMakeLists.txt: the offline tests and the decode benchmark."""
    r = subprocess.run(["ctest", "--test-dir", built, "--output-on-failure"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    assert "100% tests passed" in r.stdout


def test_core_against_a_live_daemon(built, tmp_path):
    clip_out, stream_out, ll_out = tmp_path / "clip.f32", tmp_path / "stream.f32", tmp_path / "livelink.f32"
    log = open(tmp_path / "daemon.log", "w")
    p, control, data, video = _serve(log=log)
    ref: dict = {}
    ref_thread = threading.Thread(target=_reference, args=(control, data, ref), daemon=True)
    ref_thread.start()
    runner = subprocess.Popen([RUNNER, "--golden", GOLDEN, "--samples", SAMPLES, "--control", control, "--data", data,
                               "--video", video, "--clip-out", str(clip_out), "--stream-out", str(stream_out),
                               "--livelink-out", str(ll_out), "--restart"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              bufsize=1)
    watchdog = threading.Timer(170, runner.kill)
    watchdog.start()
    lines = []
    try:
        for line in runner.stdout:
            lines.append(line)
            word = line.strip()
            if word == "FB_STOP_DAEMON":
                ref_thread.join(60)  # the reference client finishes first
                _stop(p)
                runner.stdin.write("stopped\n")
                runner.stdin.flush()
            elif word == "FB_START_DAEMON":
                p, *_ = _serve(control, data, video, log=log)  # the SAME endpoints
                runner.stdin.write("started\n")
                runner.stdin.flush()
        rc = runner.wait(30)
    finally:
        watchdog.cancel()
        if runner.poll() is None:
            runner.kill()
        _stop(p)
        log.close()
    out = "".join(lines)
    print(out)
    summary = re.search(r"^(\d+) passed, (\d+) failed$", out, re.M)
    assert summary and summary.group(2) == "0" and rc == 0, out[-6000:]
    assert int(summary.group(1)) >= 22, out[-3000:]  # the live tests ran too

    # The same frames as the Python client's, for a fresh avatar's first utterance.
    ref_thread.join(1)
    assert "clip" in ref and "stream" in ref, "the reference client did not finish"
    got = np.fromfile(clip_out, "<f4").reshape(-1, 52)
    assert got.shape == ref["clip"].shape, (got.shape, ref["clip"].shape)
    assert np.abs(got - ref["clip"]).max() <= 1e-6
    got = np.fromfile(stream_out, "<f4").reshape(-1, 52)
    assert got.shape == ref["stream"].shape, (got.shape, ref["stream"].shape)
    assert np.abs(got - ref["stream"]).max() <= 1e-6

    # The Live Link curves are the daemon's own Live Link Face values (bridge/outputs/livelink.py).
    from bridge.outputs.livelink import curve_values
    from bridge.protocol import decode_frame, golden

    want = np.stack([curve_values(f.blendshapes, f.head_pose) for f in
                     (decode_frame(golden.read_parts(os.path.join(GOLDEN, n + ".msgpack"), True))
                      for n in ("frame_anim", "frame_performing"))])
    got = np.fromfile(ll_out, "<f4").reshape(2, 61)
    assert np.abs(got - want).max() <= 1e-6


def test_core_curve_against_a_live_daemon(built, tmp_path):
    """`facebridge serve --curve-keys`: the C++ client reads the key files `facebridge keys`
    writes and is admitted; a key pair the daemon never saw, or no keys, get no connection."""
    keys = tmp_path / "keys"
    r = subprocess.run([sys.executable, "-m", "bridge", "keys", "--out", str(keys)], capture_output=True, text=True,
                       cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr
    p = subprocess.Popen([sys.executable, "-m", "bridge", "serve", "--control", "tcp://127.0.0.1:*", "--data",
                          "tcp://127.0.0.1:*", "--video", "tcp://127.0.0.1:*", "--curve-keys", str(keys),
                          "--log-level", "warning"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    try:
        m = READY.search(p.stdout.readline())
        assert m
        r = subprocess.run([RUNNER, "--only", "live_curve", "--control", m.group(1), "--data", m.group(2),
                            "--video", m.group(3), "--curve-keys", str(keys)], capture_output=True, text=True, timeout=60)
    finally:
        _stop(p)
    print(r.stdout)
    assert r.returncode == 0 and "1 passed, 0 failed" in r.stdout, r.stdout + r.stderr
