"""The daemon under load, for real: `facebridge serve` in a subprocess, clients on sockets.

Measured:
- control round trip (ping), p50/p99;
- whole-clip speak: request -> `ok` (the motion computed), per clip;
- concurrent avatars (1, 4, 8) each speaking the sample clip at once: frames received per
  avatar, and the daemon's own frame lateness (send time - due time), p50/p99;
- streamed speech latency with 1, 4, 8 avatars streaming 20 ms chunks at real-time pace,
  and the daemon's CPU time per streaming avatar;
- throughput to one subscriber: a minute of speech streamed in 1 s chunks as fast as the
  daemon takes it (a TTS running ahead of real time): frames/s received, frames lost;
- robustness: 10,000 malformed, truncated, random, oversized and out-of-order messages
  against the live daemon while a well-behaved avatar speaks: replies received, the
  daemon alive, and that avatar's frame rate. Baseline in the same run: the same avatar
  speaking with no fuzz.

    python bench/daemon.py [--rendered-only]
"""

from __future__ import annotations

import datetime
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import msgpack
import numpy as np
import zmq

ROOT = os.path.join(os.path.dirname(__file__), "..")
sys.path.insert(0, ROOT)
from bench.common import RESULTS, git_rev, machine  # noqa: E402

from bridge.client import Client  # noqa: E402
from bridge.protocol import encode_request, golden  # noqa: E402

FACE = os.path.join(ROOT, "samples", "astronaut.png")
WAV = os.path.join(ROOT, "samples", "hello.wav")
TEXT = open(os.path.join(ROOT, "samples", "hello.txt")).read().strip()


def start(*extra, line_out=None):
    """A daemon on OS-chosen ports -> (process, control, data); extra: more serve options;
    line_out: a list that gets the ready line."""
    p = subprocess.Popen([sys.executable, "-m", "bridge", "serve", "--video", "tcp://127.0.0.1:*", "--control", "tcp://127.0.0.1:*",
                          "--data", "tcp://127.0.0.1:*", *extra], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True, cwd=ROOT)
    line = p.stdout.readline()
    if line_out is not None:
        line_out.append(line)
    m = re.search(r"control (\S+)\s+data (\S+)", line)
    return p, m.group(1), m.group(2)


def cpu_s(pid: int) -> float:
    """The process's user + system CPU time so far."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def throughput(control, data, face, samples, rate, seconds=60.0):
    """Stream `seconds` of speech in 1 s chunks without pacing; count frames at one subscriber."""
    reps = int(np.ceil(seconds * rate / len(samples)))
    audio = np.tile(samples, reps)[:int(seconds * rate)]
    with Client(control, data, timeout_s=120) as c:
        c.hello()
        a = c.create_avatar(face)
        c.subscribe(a)
        got, first, last = 0, None, None
        done = threading.Event()

        def receive():
            nonlocal got, first, last
            for _ in c.frames(timeout_s=5):
                now = time.perf_counter()
                first = first or now
                last, got = now, got + 1
            done.set()

        t = threading.Thread(target=receive)
        t.start()
        step, replies, in_flight = rate, [], 0
        for k, i in enumerate(range(0, len(audio), step)):
            if in_flight == 8:  # the daemon queues at most 16 requests per avatar (then: busy)
                replies.append(msgpack.unpackb(c.req.recv()))
                in_flight -= 1
            c.req.send(encode_request("speak", k + 1, avatar=a, pcm=audio[i:i + step].astype("<f4").tobytes(),
                                      rate=rate, final=i + step >= len(audio)))
            in_flight += 1
        replies += [msgpack.unpackb(c.req.recv()) for _ in range(in_flight)]
        t.join()
        c.stop(a, remove=True)
    assert all(r["type"] == "ok" for r in replies), [r for r in replies if r["type"] != "ok"][:1]
    expected = replies[-1].get("frames", 0)
    return dict(frames=f"{got}/{expected}", frames_per_s=round(got / max(1e-6, last - first), 0),
                audio_s=seconds)


def rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return 0.0


def speak_once(control, data, face, clip, results, key):
    with Client(control, data, timeout_s=120) as c:
        c.hello()
        a = c.create_avatar(face)
        c.subscribe(a)
        t0 = time.perf_counter()
        ok = c.speak(a, audio=clip, text=TEXT)
        t_ok = time.perf_counter()
        frames = list(c.frames(timeout_s=10))
        t_end = time.perf_counter()
        c.stop(a, remove=True)  # the daemon holds at most 32 avatars
        results[key] = dict(compute_s=t_ok - t0, frames=len(frames), expected=ok["frames"],
                            fps=len(frames) / max(1e-6, t_end - t_ok))


def stream_realtime(control, data, face, samples, rate, results, key, fps=30.0, ready=None, render=None):
    """Stream the clip in 20 ms chunks at real-time pace; latency of each frame = its arrival
    minus the send time of the chunk that completed the audio it needs (its centre plus the
    analysis window's 17.5 ms right half)."""
    recv: dict[int, float] = {}
    with Client(control, data, timeout_s=60) as c:
        c.hello()
        a = c.create_avatar(face, render=render)
        c.subscribe(a, video=render is not None)
        done = threading.Event()
        if ready is not None:  # every avatar created: start streaming together
            ready.wait()

        def receive():
            frames = c.video_frames(timeout_s=5) if render else c.frames(timeout_s=5)
            for f in frames:
                recv[round(f.pts * fps)] = time.perf_counter()
            done.set()

        t = threading.Thread(target=receive)
        t.start()
        step = int(rate * 0.02)
        sends, ends = [], []
        t0 = time.perf_counter()
        for k, i in enumerate(range(0, len(samples), step)):
            time.sleep(max(0.0, t0 + k * 0.02 - time.perf_counter()))
            sends.append(time.perf_counter())
            ends.append(min(len(samples), i + step) / rate)
            # Sent without waiting for each reply (as a live source would); replies drained after.
            c.req.send(encode_request("speak", k + 1000, avatar=a, pcm=samples[i:i + step].astype("<f4").tobytes(),
                                      rate=rate, final=i + step >= len(samples)))
        t.join()
        while c.req.poll(100):
            c.req.recv()
        c.stop(a, remove=True)
    ends = np.array(ends)
    lat = []
    for f, arrived in recv.items():
        need = (f + 0.5) / fps + 0.0175
        k = min(len(ends) - 1, int(np.searchsorted(ends, need)))
        lat.append(arrived - sends[k])
    results[key] = np.array(lat) * 1000
    results[f"{key}_frames"] = len(recv)


def rendered(control, data, face, samples, rate, report) -> None:
    """Rendering on: one avatar streaming, latency to the rendered frame (video topic, 512x512
    RGB), with the warp renderer and with the generator."""
    for kind in ("warp", "gan"):
        res = {}
        stream_realtime(control, data, face, samples, rate, res, "v", render=kind)
        key = "stream_latency_ms_1_rendered" + ("" if kind == "warp" else "_gan")
        report[key] = dict(p50=round(float(np.percentile(res["v"], 50)), 1), p99=round(float(np.percentile(res["v"], 99)), 1),
                           video_frames=f"{res['v_frames']}/154")
        print("stream rendered", kind, report[key], flush=True)


def fuzz_messages(n: int, rng) -> list[list[bytes]]:
    seeds = [p[0] for p in golden.examples().values() if len(p) == 1]
    out = []
    for i in range(n):
        kind = i % 5
        if kind == 0:  # bit flips
            d = bytearray(seeds[i % len(seeds)])
            for _ in range(3):
                d[rng.integers(len(d))] ^= 1 << int(rng.integers(8))
            out.append([bytes(d)])
        elif kind == 1:  # truncations
            s = seeds[i % len(seeds)]
            out.append([s[:rng.integers(len(s))]])
        elif kind == 2:  # random bytes
            out.append([rng.bytes(int(rng.integers(0, 300)))])
        elif kind == 3:  # valid messages in the wrong order / for unknown avatars
            out.append([msgpack.packb({"type": "speak", "id": i, "avatar": "ghost", "audio": b"RIFF"})])
        else:  # oversized fields and multi-frame requests
            out.append([msgpack.packb({"type": "create_avatar", "id": i, "image": b"\0" * (33 << 20)})]
                       if i % 500 == 4 else [b"a", b"b"])
    return out


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--rendered-only", action="store_true", help="only the rendered streams (warp, gan)")
    args = ap.parse_args()
    face, clip = open(FACE, "rb").read(), open(WAV, "rb").read()
    report = {}
    p, control, data = start()
    rss0 = rss_mb(p.pid)
    if args.rendered_only:
        import soundfile as sf

        samples, rate = sf.read(WAV, dtype="float32")
        try:
            rendered(control, data, face, samples, rate, report)
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=30)
        os.makedirs(RESULTS, exist_ok=True)
        with open(os.path.join(RESULTS, "daemon_rendered.json"), "w") as f:
            json.dump(dict(date=str(datetime.date.today()), machine=machine(), commit=git_rev(),
                           command="python bench/daemon.py --rendered-only", results=report), f, indent=1)
        return
    try:
        with Client(control, data) as c:
            c.hello()
            rtt = np.array([c.ping() for _ in range(500)]) * 1000
        report["ping_ms"] = dict(p50=round(float(np.percentile(rtt, 50)), 3), p99=round(float(np.percentile(rtt, 99)), 3))
        print("ping", report["ping_ms"], flush=True)

        for n in (1, 4, 8):
            res = {}
            threads = [threading.Thread(target=speak_once, args=(control, data, face, clip, res, i)) for i in range(n)]
            [t.start() for t in threads]
            [t.join() for t in threads]
            with Client(control, data) as c:
                c.hello()
                st = c.stats()
            rows = list(res.values())
            report[f"avatars_{n}"] = dict(
                compute_s_max=round(max(r["compute_s"] for r in rows), 2),
                frames_received=f"{sum(r['frames'] for r in rows)}/{sum(r['expected'] for r in rows)}",
                fps_per_avatar_min=round(min(r["fps"] for r in rows), 1),
                daemon_frame_lateness_ms=st["frame_lateness_ms"])
            print(n, report[f"avatars_{n}"], flush=True)

        import soundfile as sf

        samples, rate = sf.read(WAV, dtype="float32")
        for n in (1, 4, 8, 12, 16):
            res = {}
            ready = threading.Barrier(n + 1)
            threads = [threading.Thread(target=stream_realtime, args=(control, data, face, samples, rate, res, i),
                                        kwargs={"ready": ready}) for i in range(n)]
            [t.start() for t in threads]
            ready.wait()
            cpu0, t0 = cpu_s(p.pid), time.perf_counter()
            [t.join() for t in threads]
            cpu, wall = cpu_s(p.pid) - cpu0, time.perf_counter() - t0
            lat = np.concatenate([v for k, v in res.items() if not str(k).endswith("_frames")])
            # CPU per avatar: the daemon's CPU time while streaming / avatars / wall time.
            report[f"stream_latency_ms_{n}"] = dict(p50=round(float(np.percentile(lat, 50)), 1),
                                                   p99=round(float(np.percentile(lat, 99)), 1),
                                                   frames=f"{len(lat)}/{154 * n}",
                                                   daemon_cpu_per_avatar_pct=round(100 * cpu / n / wall, 1))
            print("stream", n, report[f"stream_latency_ms_{n}"], flush=True)

        rendered(control, data, face, samples, rate, report)

        report["throughput_one_subscriber"] = throughput(control, data, face, samples, rate)
        print("throughput", report["throughput_one_subscriber"], flush=True)

        # Robustness: a well-behaved avatar speaks while 10,000 bad messages arrive.
        ctx = zmq.Context()
        bad = ctx.socket(zmq.DEALER)
        bad.setsockopt(zmq.LINGER, 0)
        bad.setsockopt(zmq.SNDHWM, 0)
        bad.connect(control)
        msgs = fuzz_messages(10_000, np.random.default_rng(0))
        res: dict = {}
        t = threading.Thread(target=speak_once, args=(control, data, face, clip, res, "good"))
        t.start()
        replies = 0
        t0 = time.perf_counter()
        for m in msgs:
            bad.send_multipart(m)
            while bad.poll(0):
                bad.recv()
                replies += 1
        while bad.poll(3000):
            bad.recv()
            replies += 1
        fuzz_s = time.perf_counter() - t0
        t.join()
        bad.close(0)
        ctx.term()
        with Client(control, data) as c:
            c.hello()
            st = c.stats()
        oversized = sum(1 for m in msgs if len(m) == 1 and len(m[0]) > 100 << 20)
        report["fuzz"] = dict(messages=len(msgs), replies=replies, dropped_by_transport_size_limit=oversized,
                              seconds=round(fuzz_s, 1), daemon_alive=p.poll() is None, errors=st["errors"],
                              good_avatar_frames=f"{res['good']['frames']}/{res['good']['expected']}",
                              good_avatar_fps=round(res["good"]["fps"], 1))
        print("fuzz", report["fuzz"], flush=True)
        report["rss_mb"] = dict(start=round(rss0, 1), end=round(rss_mb(p.pid), 1))
    finally:
        p.send_signal(signal.SIGTERM)
        report["exit_code"] = p.wait(20)
    out = dict(date=datetime.date.today().isoformat(), machine=machine(), commit=git_rev(),
               command="python bench/daemon.py", results=report)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "daemon.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
