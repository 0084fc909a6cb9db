"""The browser monitor (`facebridge serve --web`), for real: the daemon in a subprocess, the page
in Debian's headless Chromium driven by playwright, avatars driven by the reference client.
Every assertion is read from the page itself (window.facebridgeMonitor, the mesh canvas's
pixels) or from the daemon process (exit status, RSS)."""

import asyncio
import base64
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import cv2
import msgpack
import numpy as np
import pytest
import soundfile as sf
from conftest import FACE, HELLO_WAV, ROOT

from bridge.client import Client
from bridge.motion import arkit

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
GOLDEN = os.path.join(ROOT, "tests", "golden")
BG = np.array([0x0b, 0x0f, 0x14])  # the mesh canvas's background (monitor.js BG)
needs_chromium = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                    reason=f"{CHROMIUM} is missing (apt-get install chromium): no browser to drive")


class Daemon:
    def __init__(self, tmp, web_port=0):
        self.log = open(os.path.join(tmp, f"daemon-{time.monotonic_ns()}.log"), "w+")
        self.p = subprocess.Popen([sys.executable, "-m", "bridge", "serve", "--control", "tcp://127.0.0.1:*",
                                   "--data", "tcp://127.0.0.1:*", "--video", "tcp://127.0.0.1:*",
                                   "--web", f"127.0.0.1:{web_port}", "--log-level", "info"],
                                  stdout=subprocess.PIPE, stderr=self.log, text=True, cwd=ROOT)
        line = self.p.stdout.readline()
        m = re.search(r"control (\S+)\s+data (\S+).*\bweb (http://\S+/)", line)
        assert m, (line, self.stderr())
        self.control, self.data, self.url = m.groups()
        self.web_port = int(self.url.rsplit(":", 1)[1].strip("/"))

    def stderr(self) -> str:
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def rss_mb(self) -> float:
        with open(f"/proc/{self.p.pid}/status") as f:
            kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        return kb / 1024

    def stop(self) -> int:
        self.p.send_signal(signal.SIGTERM)
        return self.p.wait(10)

    def client(self, timeout_s=60):
        c = Client(self.control, self.data, timeout_s=timeout_s)
        c.hello()
        return c


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("monitor"))
    yield d
    assert d.p.poll() is None, "the daemon died:\n" + d.stderr()
    assert d.stop() == 0, d.stderr()
    assert "Traceback" not in d.stderr(), d.stderr()


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium): no browser to drive")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the test extra)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def face_bytes():
    return open(FACE, "rb").read()


def poll(page, js: str, timeout_s: float = 10.0, what: str = ""):
    """Wait until `js` is truthy in the page. (Not wait_for_function: its polling evaluates a
    string inside the page, which the monitor's Content-Security-Policy forbids.)"""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(js):
        if time.monotonic() > deadline:
            raise AssertionError(f"the page never had {what or js} within {timeout_s} s")
        page.wait_for_timeout(50)


def open_page(browser, url):
    page = browser.new_page(viewport={"width": 1280, "height": 800}, device_scale_factor=1)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    poll(page, "!!(window.facebridgeMonitor && window.facebridgeMonitor.connected)", what="a connection")
    page.js_errors = errors
    return page


def hooks(page) -> dict:
    return page.evaluate("""() => { const m = window.facebridgeMonitor; return {
        connected: m.connected, framesReceived: m.framesReceived, jpegReceived: m.jpegReceived,
        maxJawOpen: m.maxJawOpen, minJawOpen: m.minJawOpen, decodeErrors: m.decodeErrors, lastError: m.lastError,
        dropped: m.dropped, stats: m.stats, latencyMs: m.latencyMs, clockOffsetMs: m.clockOffsetMs}; }""")


def wait_frames(page, avatar, n, timeout_s=10):
    """The page's taps come at pts, lookahead_s after the data socket's: let the last ones land."""
    poll(page, f"(window.facebridgeMonitor.framesReceived[{json.dumps(avatar)}] || 0) >= {n}", timeout_s,
         f"{n} frames of {avatar}")


def raw_websocket(port, rcvbuf=None):
    """A WebSocket handshake on a bare socket, after which this client never reads (or is killed)."""
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    assert s.recv(12).startswith(b"HTTP/1.1 101"), "WebSocket handshake refused"
    return s


def reset(s):
    """Drop the connection without a goodbye (RST), as a crashed browser or a pulled cable does."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


# ---------------------------------------------------------------- 1. what a user sees
@needs_chromium
def test_page_shows_a_spoken_clip_mesh_bars_and_video(daemon, browser, face_bytes):
    page = open_page(browser, daemon.url)
    with daemon.client() as c:
        created = c.request("create_avatar", image=face_bytes, render="warp", video_size=256)
        avatar, (iw, ih) = created["avatar"], created["image_size"]
        c.subscribe(avatar)
        ok = c.speak(avatar, audio=open(HELLO_WAV, "rb").read())
        frames = list(c.frames())
        assert frames and frames[-1].final and len(frames) == ok["frames"]
    wait_frames(page, avatar, int(0.95 * ok["frames"]))
    time.sleep(0.5)  # the final frame's rendering
    h = hooks(page)
    assert h["framesReceived"][avatar] >= 0.95 * ok["frames"], h
    assert h["maxJawOpen"][avatar] - h["minJawOpen"][avatar] > 0.2, h  # the jawOpen bar moved
    assert h["decodeErrors"] == 0, h["lastError"]
    # Rendered video reached the page as JPEG, at most 15 frames/s: about half of the 30 fps frames.
    assert 0.3 * ok["frames"] <= h["jpegReceived"][avatar] <= 0.6 * ok["frames"], h
    assert 50 < h["latencyMs"][avatar] < 1000, h  # at pts: the 0.1 s lookahead after the data socket
    # The page decoded the very frame the data socket carried: same header, same float32 values.
    last = page.evaluate(f"(() => {{ const m = window.facebridgeMonitor, a = {json.dumps(avatar)}; return "
                         "[m.lastHeader[a], Array.from(m.lastBlendshapes[a]), Array.from(m.lastHeadPose[a])]; })()")
    assert last[0]["seq"] == frames[-1].seq and last[0]["pts"] == frames[-1].pts and last[0]["final"] is True
    assert last[1] == frames[-1].blendshapes.tolist() and last[2] == frames[-1].head_pose.tolist()
    card = page.locator(f'.card[data-avatar="{avatar}"]')
    assert card.locator(".video-view").is_visible()
    bar = card.locator(".bar", has=page.locator(".bname", has_text=re.compile("^jawOpen$")))
    assert bar.locator(".val").inner_text() == f"{frames[-1].blendshapes[arkit.INDEX['jawOpen']]:.2f}"
    pose = card.locator(".pose tbody td").all_inner_texts()
    assert [float(t) for t in pose] == pytest.approx(frames[-1].head_pose.tolist(), abs=0.051)

    # The mesh canvas: drawn where the face is (the final frame's landmarks, scaled from the
    # image to the canvas), background elsewhere.
    canvas = card.locator("canvas.mesh")
    cw, ch = canvas.evaluate("c => [c.width, c.height]")
    assert canvas.evaluate("c => [c.clientWidth, c.clientHeight]") == [cw, ch]
    shot = cv2.imdecode(np.frombuffer(canvas.screenshot(), np.uint8), cv2.IMREAD_COLOR)[..., ::-1]
    by, bx = (shot.shape[0] - ch) // 2, (shot.shape[1] - cw) // 2  # the element's border
    pixels = shot[by:by + ch, bx:bx + cw].astype(int)
    s = min(cw / iw, ch / ih)
    pts = frames[-1].landmarks[:, :2] * s + [(cw - iw * s) / 2, (ch - ih * s) / 2]
    (x0, y0), (x1, y1) = np.floor(pts.min(0)).astype(int), np.ceil(pts.max(0)).astype(int)
    drawn = np.abs(pixels - BG).max(2) > 24
    inside = drawn[y0:y1 + 1, x0:x1 + 1].mean()
    outside = drawn.copy()
    outside[max(0, y0 - 6):y1 + 7, max(0, x0 - 6):x1 + 7] = False
    outside = outside[6:-6, 6:-6]  # not the element's rounded corners
    assert (x1 - x0) > 30 and inside > 0.25, (inside, (x0, y0, x1, y1))
    assert outside.mean() < 0.002, outside.mean()
    assert not page.js_errors, page.js_errors
    page.close()


# ---------------------------------------------------------------- 2. the page's msgpack decoder
_DECODE = """(bytes) => {
    const mp = window.facebridgeMsgpack;
    const plain = (v) => v instanceof Uint8Array ? {"$bytes": Array.from(v, b => b.toString(16).padStart(2, "0")).join("")}
        : Array.isArray(v) ? v.map(plain)
        : v !== null && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) : v;
    return plain(mp.decode(Uint8Array.from(bytes)));
}"""
_DECODE_PARTS = """([bytes, isVideo]) => {
    const mp = window.facebridgeMsgpack, parts = mp.splitParts(Uint8Array.from(bytes));
    const blob = (p) => isVideo ? Array.from(p) : Array.from(new Float32Array(p.slice().buffer));
    return {topic: new TextDecoder().decode(parts[0]), header: mp.decode(parts[1]), blobs: parts.slice(2).map(blob)};
}"""
_THROWS = "(bytes) => { try { window.facebridgeMsgpack.decode(Uint8Array.from(bytes)); return null; } catch (e) { return e.name; } }"


@needs_chromium
def test_page_msgpack_decodes_every_golden_message(daemon, browser):
    from bridge.protocol import golden

    page = open_page(browser, daemon.url)
    names = sorted(f[:-len(".msgpack")] for f in os.listdir(GOLDEN) if f.endswith(".msgpack"))
    assert len(names) >= 17
    for name in names:
        raw = open(os.path.join(GOLDEN, name + ".msgpack"), "rb").read()
        want = json.load(open(os.path.join(GOLDEN, name + ".json")))
        if "topic" not in want:  # one control message
            assert page.evaluate(_DECODE, list(raw)) == want, name
            assert page.evaluate(_THROWS, list(raw[:-1])) == "MsgpackError", name  # truncated
            assert page.evaluate(_THROWS, list(raw + b"\x00")) == "MsgpackError", name  # trailing bytes
            continue
        video = want["topic"].startswith("video.")
        got = page.evaluate(_DECODE_PARTS, [list(raw), video])
        assert got["topic"] == want["topic"] and got["header"] == want["header"], name
        parts = golden.read_parts(os.path.join(GOLDEN, name + ".msgpack"), True)
        for g, w, p in zip(got["blobs"], want["blobs"], parts[2:]):
            if video:
                assert g == w == list(p), name
            else:  # float32 exactly as sent; the JSON holds them rounded to 6 places
                assert g == np.frombuffer(p, "<f4").tolist(), name
                np.testing.assert_allclose(g, w, atol=1e-6)
    # A map nested past the decoder's limit, a length beyond the input, an ext type: refused.
    deep = b"\x91" * 100 + b"\xc0"
    for bad in (deep, b"\xdd\xff\xff\xff\xff", b"\xd4\x01\x00", b"\xc1", b"\xa3ab"):
        assert page.evaluate(_THROWS, list(bad)) == "MsgpackError", bad
    # The big integers of t_ns come out as Numbers close to the value (not exact beyond 2^53).
    assert page.evaluate(_DECODE, list(msgpack.packb(2 ** 63 - 1))) == pytest.approx(2 ** 63 - 1, rel=1e-15)
    assert page.evaluate(_DECODE, list(msgpack.packb(-2 ** 40))) == -2 ** 40
    page.close()


# ---------------------------------------------------------------- 3. a page going away
@needs_chromium
def test_a_page_leaving_mid_stream_disturbs_nobody(daemon, browser, face_bytes):
    stay, leave = open_page(browser, daemon.url), open_page(browser, daemon.url)
    crash = raw_websocket(daemon.web_port)
    with daemon.client() as c:
        avatar = c.create_avatar(face_bytes)
        c.subscribe(avatar)
        ok = c.speak(avatar, audio=open(HELLO_WAV, "rb").read())
        frames = []
        for f in c.frames():
            frames.append(f)
            if len(frames) == 45:  # 1.5 s into the utterance: one page closes, one client crashes
                leave.close()
                reset(crash)
        assert len(frames) == ok["frames"]
        wait_frames(stay, avatar, int(0.95 * ok["frames"]))
        assert c.ping() < 0.5
        h = hooks(stay)
    assert h["framesReceived"][avatar] >= 0.95 * ok["frames"] and h["connected"] and h["decodeErrors"] == 0, h
    assert not stay.js_errors, stay.js_errors
    stay.close()


# ---------------------------------------------------------------- 4. bad input
def test_web_port_in_use_is_a_one_line_error(daemon):
    r = subprocess.run([sys.executable, "-m", "bridge", "serve", "--control", "tcp://127.0.0.1:*", "--data",
                        "tcp://127.0.0.1:*", "--video", "tcp://127.0.0.1:*", "--web", f"127.0.0.1:{daemon.web_port}"],
                       capture_output=True, text=True, cwd=ROOT, timeout=30)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode == 1 and r.stdout == "", (r.returncode, r.stdout, r.stderr)
    assert len(lines) == 1 and lines[0].startswith("facebridge: error: --web") and "in use" in lines[0], r.stderr
    # The class itself, as the daemon's other embedders use it.
    from bridge.errors import InputError
    from bridge.server.monitor import Monitor

    with pytest.raises(InputError, match="cannot listen on 127.0.0.1"):
        Monitor("127.0.0.1", daemon.web_port)
    m = Monitor("127.0.0.1", 0)
    assert re.fullmatch(r"web http://127\.0\.0\.1:\d+/", m.describe()) and m.url.endswith(f":{m.port}/")
    t0 = time.monotonic()
    m.close()
    assert time.monotonic() - t0 < 2.0


def test_hostile_websocket_clients_do_not_disturb_the_daemon(daemon):
    aiohttp = pytest.importorskip("aiohttp")
    url = daemon.url

    async def hostile():
        async with aiohttp.ClientSession() as s:
            async with s.ws_connect(url + "ws") as ws:
                assert msgpack_parts(await ws.receive_bytes(timeout=5))[0] == b"welcome"
                await ws.send_str("garbage \x00\u2603" * 100)
                await ws.send_bytes(os.urandom(1000))
                await ws.send_bytes(os.urandom(100_000))  # over the limit for a page: closed
                while (await ws.receive(timeout=5)).type not in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                                                 aiohttp.WSMsgType.ERROR):
                    pass
            # Another site's page may not read the avatars (WebSockets ignore CORS)...
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await s.ws_connect(url + "ws", origin="http://evil.example")
            # ...nor a page reached under a foreign name (DNS rebinding).
            async with s.get(url, headers={"Host": "evil.example"}) as r:
                assert r.status == 421
            async with s.get(url + "nothing-here") as r:
                assert r.status == 404

    run_async(hostile())
    rng = np.random.default_rng(1)
    for i in range(20):  # random bytes as HTTP, and as WebSocket frames after a real handshake
        s = raw_websocket(daemon.web_port) if i % 2 else socket.create_connection(("127.0.0.1", daemon.web_port))
        s.sendall(rng.bytes(int(rng.integers(1, 5000))))
        reset(s) if i % 3 else s.close()

    async def well_behaved():
        async with aiohttp.ClientSession() as s:
            async with s.ws_connect(url + "ws") as ws:
                welcome = msgpack_parts(await ws.receive_bytes(timeout=5))
                stats = msgpack_parts(await ws.receive_bytes(timeout=5))
                return welcome, stats

    welcome, stats = run_async(well_behaved())
    w = msgpack.unpackb(welcome[1])
    assert welcome[0] == b"welcome" and w["schema"]["blendshape_names"] == arkit.NAMES
    assert w["schema"]["head_pose"] == ["pitch", "yaw", "roll", "tx", "ty", "tz"] and w["server"].startswith("facebridge/")
    st = msgpack.unpackb(stats[1])
    assert stats[0] == b"stats" and abs(st["t_ns"] - time.time_ns()) < 5e9 and "uptime_s" in st["stats"]
    with daemon.client(timeout_s=10) as c:
        assert c.ping() < 0.5
    assert daemon.p.poll() is None


def run_async(coro):
    """asyncio.run on a thread of its own: playwright's sync API holds this thread's loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result(60)


def msgpack_parts(data: bytes) -> list[bytes]:
    parts, i = [], 0
    while i < len(data):
        n = struct.unpack_from("<I", data, i)[0]
        parts.append(data[i + 4:i + 4 + n])
        i += 4 + n
    return parts


# ---------------------------------------------------------------- 5. memory
@needs_chromium
def test_memory_stays_flat_with_a_page_and_stuck_readers(daemon, browser, face_bytes):
    """20 s of streamed speech at real-time pace with rendered video, watched by one page and
    by three clients that never read: their queues stay bounded (the monitor drops their
    oldest messages), the daemon's RSS does not grow, and the page sees every frame."""
    page = open_page(browser, daemon.url)
    stuck = [raw_websocket(daemon.web_port, rcvbuf=4096) for _ in range(3)]
    samples, rate = sf.read(HELLO_WAV, dtype="float32")
    audio = np.tile(samples, 4)  # 20.5 s
    step = rate // 10
    rss = []
    with daemon.client() as c:
        avatar = c.create_avatar(face_bytes, render="warp", video_size=256)
        t0 = time.monotonic()
        for k, i in enumerate(range(0, len(audio), step)):
            last = i + step >= len(audio)
            ok = c.request("speak", avatar=avatar, pcm=audio[i:i + step].tobytes(), rate=rate, final=last)
            if (k + 1) % 10 == 0:
                rss.append((time.monotonic() - t0, daemon.rss_mb()))
            time.sleep(max(0.0, t0 + (i + step) / rate - time.monotonic()))
        assert c.ping() < 0.5
    wait_frames(page, avatar, int(0.95 * ok["frames"]))
    page.wait_for_timeout(1200)  # one more stats message
    h = hooks(page)
    for s in stuck:
        reset(s)
    at5 = next(mb for t, mb in rss if t >= 5)
    growth = max(mb for _, mb in rss) - at5
    assert growth < 30, rss
    assert h["framesReceived"][avatar] >= 0.95 * ok["frames"] and h["decodeErrors"] == 0, h
    assert h["dropped"] == 0, h  # this page keeps up...
    monitor = page.evaluate("window.facebridgeMonitor.monitorStats")
    assert monitor["dropped_all"] > 100, monitor  # ...the stuck readers lost their oldest messages
    assert monitor["queued_bytes"] < 16 * 64 * 64 * 1024, monitor
    page.close()


# ---------------------------------------------------------------- 6. a daemon restart
@needs_chromium
def test_page_reconnects_when_the_daemon_restarts(browser, face_bytes, tmp_path):
    first = Daemon(tmp_path)
    page = open_page(browser, first.url)
    t0 = time.monotonic()
    assert first.stop() == 0 and time.monotonic() - t0 < 5, first.stderr()  # a page open does not hold it
    poll(page, "!window.facebridgeMonitor.connected", 5, "a lost connection")
    assert "retrying" in page.locator("#conn").inner_text()
    second = Daemon(tmp_path, web_port=first.web_port)  # the same address, a new daemon
    try:
        poll(page, "window.facebridgeMonitor.connected", 15, "a new connection")
        with second.client() as c:
            avatar = c.create_avatar(face_bytes, name="after-restart")
            poll(page, f"!!document.querySelector('.card[data-avatar=\"{avatar}\"]')", 5, "the new avatar's card")
        assert page.evaluate("window.facebridgeMonitor.reconnects") >= 1 and not page.js_errors
    finally:
        page.close()
        assert second.stop() == 0, second.stderr()
    assert "Traceback" not in first.stderr() + second.stderr()
