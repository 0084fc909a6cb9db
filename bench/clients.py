"""The engine clients, measured in one run:
- decode cost per motion frame (µs) of tests/golden/frame_anim.msgpack in C# (Mono), C++ and
  Python (bridge.protocol.decode_frame), each by its own benchmark;
- streamed speech, chunk sent -> frame decoded in the C++ client (p50/p99, 20 ms chunks at
  real-time pace), beside the Python client in the same run (bench/daemon.py's
  stream_realtime), and motion frames/s to one C++ subscriber.

Builds what it needs (mcs for the C# runner; CMake for the C++ core, in
engine_clients/unreal/FaceBridge/build) and skips a language whose toolchain is missing.

    python bench/clients.py
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import timeit

import soundfile as sf

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
from bench.common import RESULTS, git_rev, machine  # noqa: E402
from bench.daemon import FACE, WAV, start, stream_realtime  # noqa: E402

GOLDEN = os.path.join(ROOT, "tests", "golden")
UNITY = os.path.join(ROOT, "engine_clients", "unity")
PLUGIN = os.path.join(ROOT, "engine_clients", "unreal", "FaceBridge")
BUILD = os.path.join(PLUGIN, "build")


def python_decode_us() -> float:
    from bridge.protocol import decode_frame
    from bridge.protocol.golden import read_parts

    parts = read_parts(os.path.join(GOLDEN, "frame_anim.msgpack"), True)
    n = 20000
    return min(timeit.repeat(lambda: decode_frame(parts), number=n, repeat=5)) / n * 1e6


def csharp_decode_us() -> float | None:
    if not (shutil.which("mcs") and shutil.which("mono")):
        return None
    sources = [os.path.join(d, f) for folder in ("Runtime/Core", "Runtime/Transport", "Tests/Runner")
               for d, _, files in os.walk(os.path.join(UNITY, folder)) for f in sorted(files) if f.endswith(".cs")]
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "runner.exe")
        subprocess.run(["mcs", "-nologo", "-optimize+", f"-out:{exe}", *sources], check=True, capture_output=True)
        out = subprocess.run(["mono", exe, "--golden", GOLDEN, "--only", "bench"], capture_output=True, text=True,
                             timeout=300).stdout
    return float(re.search(r"decode_us=([\d.]+)", out).group(1))


def cpp_build() -> bool:
    if not shutil.which("cmake"):
        return False
    subprocess.run(["cmake", "-S", PLUGIN, "-B", BUILD, "-DCMAKE_BUILD_TYPE=Release"], check=True, capture_output=True)
    subprocess.run(["cmake", "--build", BUILD, "-j2"], check=True, capture_output=True)
    return True


def cpp_bench(control: str, data: str) -> dict:
    exe = os.path.join(BUILD, "facebridge_bench")
    decode = subprocess.run([exe, "--golden", GOLDEN, "--decode-only"], capture_output=True, text=True, timeout=300).stdout
    live = subprocess.run([exe, "--golden", GOLDEN, "--samples", os.path.join(ROOT, "samples"), "--control", control,
                           "--data", data], capture_output=True, text=True, timeout=600).stdout
    grab = lambda text, key: float(re.search(rf"{key}=([\d.]+)", text).group(1))
    return {"decode_us": grab(decode, "decode_us"), "latency_p50_ms": grab(live, "latency_p50_ms"),
            "latency_p99_ms": grab(live, "latency_p99_ms"), "frames_per_s": grab(live, "frames_per_s")}


def main() -> None:
    import numpy as np

    result = {"date": datetime.date.today().isoformat(), "machine": machine(), "git": git_rev(),
              "decode_us": {"python": round(python_decode_us(), 2)}}
    cs = csharp_decode_us()
    if cs is not None:
        result["decode_us"]["csharp_mono"] = cs
    p, control, data = start()
    try:
        if cpp_build():
            cpp = cpp_bench(control, data)
            result["decode_us"]["cpp"] = cpp.pop("decode_us")
            result["cpp_stream"] = cpp
        samples, rate = sf.read(WAV, dtype="float32")
        lat: dict = {}
        stream_realtime(control, data, open(FACE, "rb").read(), samples, rate, lat, "python")
        result["python_stream"] = {"latency_p50_ms": round(float(np.percentile(lat["python"], 50)), 1),
                                   "latency_p99_ms": round(float(np.percentile(lat["python"], 99)), 1)}
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(10)
    print(json.dumps(result, indent=1))
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "clients.json"), "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
