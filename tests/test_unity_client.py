"""The Unity client (engine_clients/unity): its engine-free C# core and libzmq transport,
compiled with mono's `mcs` and run (Tests/Runner) against a live `facebridge serve` on
OS-chosen loopback ports: golden files, hello, create_avatar, a clip and a 20 ms stream (their
blendshapes compared with the Python reference client's), a listening turn (`listen`; the
frames' `events`), a video avatar, a daemon killed
mid-stream and restarted on the same ports, a client started while it is absent, CURVE, and
malformed input. The Unity glue (MonoBehaviours) is compiled against UnityEngine stand-ins.

Needs mono (`mcs`, `mono`) and libzmq.so.5: apt-get install mono-mcs libzmq5."""

import ctypes
import os
import queue
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
from conftest import FACE, HELLO_WAV, ROOT

UNITY = os.path.join(ROOT, "engine_clients", "unity")
MCS, MONO = shutil.which("mcs"), shutil.which("mono")


def _have_libzmq() -> bool:
    try:
        ctypes.CDLL("libzmq.so.5")
        return True
    except OSError:
        return False


needs_mcs = pytest.mark.skipif(MCS is None, reason="mono's C# compiler is missing (apt-get install mono-mcs)")
needs_mono = pytest.mark.skipif(MCS is None or MONO is None,
                                reason="mono's C# compiler and runtime are missing (apt-get install mono-mcs)")
needs_libzmq = pytest.mark.skipif(not _have_libzmq(), reason="libzmq.so.5 is missing (apt-get install libzmq5)")


def _sources(*folders):
    out = []
    for folder in folders:
        for dirpath, _, files in os.walk(os.path.join(UNITY, folder)):
            out += [os.path.join(dirpath, f) for f in sorted(files) if f.endswith(".cs")]
    return sorted(out)


def _mcs(out, sources, target="exe"):
    r = subprocess.run([MCS, "-debug", "-nologo", f"-target:{target}", f"-out:{out}", *sources],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"mcs failed:\n{r.stdout}\n{r.stderr}"
    return r


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    exe = str(tmp_path_factory.mktemp("unity") / "runner.exe")
    _mcs(exe, _sources("Runtime/Core", "Runtime/Transport", "Tests/Runner"))
    return exe


class Daemon:
    """`facebridge serve` in a subprocess; restartable on the same ports."""

    def __init__(self, log_path, extra=()):
        self.log_path, self.extra = log_path, list(extra)
        self.proc, self.endpoints = None, None

    def start(self, endpoints=None):
        eps = endpoints or ["tcp://127.0.0.1:*"] * 3
        for attempt in range(5):
            log = open(self.log_path, "a")
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bridge", "serve", "--control", eps[0], "--data", eps[1], "--video", eps[2],
                 "--log-level", "warning", *self.extra],
                stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT)
            log.close()
            line = self.proc.stdout.readline()
            m = re.search(r"control (\S+)\s+data (\S+)\s+video (\S+)", line)
            if m:
                self.endpoints = [m.group(1), m.group(2), m.group(3)]
                return self
            self.proc.wait(10)
            time.sleep(0.2)  # the same ports: retry while the old sockets let go
        raise AssertionError(f"the daemon did not start: {line!r}\n{open(self.log_path).read()[-3000:]}")

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)  # a crash, not a clean shutdown
            self.proc.wait(10)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def _python_reference(control, data, out):
    """The Python client's frames from its own fresh avatars: the clip, then the 20 ms stream."""
    from bridge.client import Client

    try:
        with Client(control, data, timeout_s=60) as c:
            c.hello()
            image, clip = open(FACE, "rb").read(), open(HELLO_WAV, "rb").read()
            a = c.create_avatar(image)
            c.subscribe(a)
            ok = c.speak(a, audio=clip)
            frames = list(c.frames())
            out["clip"] = (ok, np.stack([f.blendshapes for f in frames]))
            s = c.create_avatar(image)
            c.subscribe(s)
            samples, rate = sf.read(HELLO_WAV, dtype="float32")
            ok = c.speak_stream(s, samples, rate=rate, chunk_s=0.02)
            frames = list(c.frames())
            out["stream"] = (ok, np.stack([f.blendshapes for f in frames]))
    except Exception as e:  # reported by the test
        out["error"] = repr(e)


def test_unity_package_layout():
    """A UPM package Unity can import from git (immutable: every asset needs its .meta)."""
    import json

    pkg = json.load(open(os.path.join(UNITY, "package.json")))
    assert pkg["name"] == "com.facebridge.client" and pkg["version"] == "0.1.0" and pkg["unity"] == "2021.3"
    assert pkg["displayName"] and all(os.path.isdir(os.path.join(UNITY, s["path"])) for s in pkg["samples"])
    assert json.load(open(os.path.join(UNITY, "Runtime", "FaceBridge.Runtime.asmdef")))["name"] == "FaceBridge.Runtime"
    guids = {}
    for dirpath, dirs, files in os.walk(UNITY):
        rel = os.path.relpath(dirpath, UNITY)
        hidden = any(p.endswith("~") for p in rel.split(os.sep) if p != ".")
        for name in dirs + files:
            if name.endswith(".meta") or (name.endswith("~") and name in dirs):
                continue
            meta = os.path.join(dirpath, name + ".meta")
            if not os.path.exists(meta):
                assert hidden, f"{os.path.join(rel, name)} has no .meta (run engine_clients/unity/Tests/make_metas.py)"
                continue
            guid = re.search(r"^guid: ([0-9a-f]{32})$", open(meta).read(), re.M).group(1)
            assert guid not in guids, (name, guids.get(guid))
            guids[guid] = os.path.join(rel, name)
    # the sample mapping assets point at the package's script and the sample's JSON
    for asset in ("ARKitToVRoid.asset", "ARKitToReadyPlayerMe.asset"):
        text = open(os.path.join(UNITY, "Samples~", "Mappings", asset)).read()
        for ref in re.findall(r"guid: ([0-9a-f]{32})", text):
            assert ref in guids, (asset, ref)
    # Core and Transport stay engine-free
    for path in _sources("Runtime/Core", "Runtime/Transport"):
        assert not re.search(r"^\s*using UnityEngine|UnityEngine\.\w+\s*\(", open(path).read(), re.M), path


@needs_mcs
def test_unity_glue_compiles_against_unity_stand_ins(tmp_path):
    """Runtime/Unity (MonoBehaviours) and the samples' scripts, against Tests/UnityStubs: the
    glue type-checks (it cannot run here: that needs the Unity editor)."""
    _mcs(str(tmp_path / "glue.dll"),
         _sources("Runtime", "Tests/UnityStubs", "Samples~"), target="library")


@needs_mono
@needs_libzmq
def test_unity_client_against_a_live_daemon(runner, tmp_path):
    t0 = time.monotonic()
    daemon = Daemon(tmp_path / "daemon.log").start()
    keys = tmp_path / "keys"
    r = subprocess.run([sys.executable, "-m", "bridge", "keys", "--out", str(keys)], capture_output=True, text=True,
                       cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr
    curve = Daemon(tmp_path / "curve.log", ["--curve-keys", str(keys)]).start()
    control, data, video = daemon.endpoints
    ref: dict = {}
    ref_thread = threading.Thread(target=_python_reference, args=(control, data, ref), daemon=True)
    ref_thread.start()
    clip_out, stream_out = tmp_path / "clip.f32", tmp_path / "stream.f32"
    cmd = [MONO, "--debug", runner, "--golden", os.path.join(ROOT, "tests", "golden"),
           "--samples", os.path.join(ROOT, "samples"), "--package", UNITY,
           "--control", control, "--data", data, "--video", video,
           "--clip-out", str(clip_out), "--stream-out", str(stream_out), "--handshake",
           "--curve-control", curve.endpoints[0], "--curve-data", curve.endpoints[1], "--curve-keys", str(keys),
           "--bench", "100000"]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, bufsize=1, cwd=ROOT)
    lines: "queue.Queue[str | None]" = queue.Queue()

    def pump():
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    output, deadline = [], time.monotonic() + 240
    try:
        while True:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                proc.kill()
                raise AssertionError("the runner timed out:\n" + "\n".join(output[-60:]))
            if line is None:
                break
            output.append(line)
            if line == "@@STOP_DAEMON":
                ref_thread.join(90)  # the Python reference shares this daemon
                daemon.kill()
                proc.stdin.write("stopped\n")
                proc.stdin.flush()
            elif line == "@@START_DAEMON":
                daemon.start(daemon.endpoints)
                proc.stdin.write("started\n")
                proc.stdin.flush()
        rc = proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
        daemon.stop()
        curve.stop()
    text = "\n".join(output)
    print(text)
    summary = re.search(r"^(\d+) passed, (\d+) failed", text, re.M)
    assert summary, "no summary line:\n" + text[-5000:] + "\n" + open(tmp_path / "daemon.log").read()[-3000:]
    assert int(summary.group(2)) == 0 and rc == 0, "\n".join(l for l in output if l.startswith("FAIL"))
    assert int(summary.group(1)) >= 50, summary.group(0)
    assert re.search(r"^decode_us=\d+(\.\d+)?$", text, re.M)
    assert "skip - live" not in text  # every live test ran

    # The C# client's blendshapes = the Python reference client's (fresh avatars, utterance 1).
    ref_thread.join(60)
    assert "error" not in ref, ref.get("error")
    for name, path in (("clip", clip_out), ("stream", stream_out)):
        ok, expected = ref[name]
        got = np.fromfile(path, "<f4").reshape(-1, 52)
        assert got.shape == expected.shape == (ok["frames"], 52), (name, got.shape, expected.shape)
        np.testing.assert_allclose(got, expected, atol=1e-6, rtol=0, err_msg=name)
    print(f"unity client test: {time.monotonic() - t0:.1f} s")
