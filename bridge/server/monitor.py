"""The browser monitor (`facebridge serve --web HOST:PORT`): a page, served by the daemon, that
draws every avatar live (FaceMesh mesh, the 52 blendshapes, head pose, emotion, mode, video,
frames/s and latency).

One protocol: the page decodes the very msgpack bytes the daemon publishes (its own small
decoder, bridge/server/web/msgpack.js). Each WebSocket binary message is one multipart
message, each part a uint32 little-endian length and its bytes (docs/protocol.md, "Browser
monitor"): `welcome` on connect, then `stats` (once a second), `anim.<avatar>` (the parts of
encode_frame) and `jpeg.<avatar>` (rendered frames as JPEG, at most VIDEO_FPS per avatar).

It is a daemon tap (bridge/server/daemon.py): frame(), video(), stats() and close() are
called on the daemon's loop and never block. They return at once when no page is connected;
otherwise they append to a bounded inbox and wake this monitor's own asyncio loop, which runs
aiohttp on its own thread. Each page has a bounded send queue: a page that reads too slowly
loses its oldest messages (counted, and shown to it), so the daemon's memory stays flat
however long a page stays open, and a page that goes away disturbs nobody.

The socket is bound in __init__, so a busy port or a bad host is an InputError before the
daemon starts. Loopback by default; on loopback, requests must name a loopback host (no DNS
rebinding) and a page's WebSocket must come from this server's own origin.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import socket
import struct
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import msgpack

from bridge import __version__
from bridge.errors import InputError
from bridge.motion import arkit
from bridge.protocol import PROTOCOL_VERSION, Frame, VideoFrame, encode_frame

log = logging.getLogger("facebridge.monitor")

WEB_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "web")
QUEUE_MESSAGES = 64  # per page: beyond this the oldest messages are dropped
INBOX = 4096  # hand-offs from the daemon's loop not yet handled (bounded even if this loop stalls)
MAX_PAGES = 16  # concurrent WebSocket connections
VIDEO_FPS = 15.0  # JPEG frames per second per avatar, at most
JPEG_QUALITY = 80
MAX_IN_MSG = 4096  # the page sends nothing; a bigger message closes its connection
CLOSE_S = 2.0  # close() returns within this
STATIC = {
    "/": ("index.html", "text/html"),
    "/index.html": ("index.html", "text/html"),
    "/monitor.js": ("monitor.js", "text/javascript"),
    "/msgpack.js": ("msgpack.js", "text/javascript"),
    "/monitor.css": ("monitor.css", "text/css"),
}
# Nothing but this server: no CDN, no network. (img-src blob: for the video frames.)
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
                               "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
    "Referrer-Policy": "no-referrer",
}
HEAD_POSE = ["pitch", "yaw", "roll", "tx", "ty", "tz"]


def pack_parts(parts) -> bytes:
    """A multipart message as one WebSocket message: each part as uint32 LE length + bytes."""
    return b"".join(struct.pack("<I", len(p)) + bytes(p) for p in parts)


def _packb(obj) -> bytes:
    return msgpack.packb(obj, use_bin_type=True, default=_plain)


def _plain(o):
    if hasattr(o, "item"):  # numpy scalars
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    return str(o)


def _is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def facemesh_topology() -> dict:
    """FaceMesh's triangulation as edges (FACEMESH_TESSELATION) and its named contours.

    mediapipe's package __init__ loads its native framework and every solution; the
    connections module is plain Python with no imports, so it is loaded from its file alone
    (like bridge.face.landmarks keeps mediapipe's import cheap)."""
    import importlib.util
    import sys

    mod = sys.modules.get("mediapipe.python.solutions.face_mesh_connections")
    if mod is None:
        spec = importlib.util.find_spec("mediapipe")
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("mediapipe is not installed")
        path = os.path.join(list(spec.submodule_search_locations)[0], "python", "solutions",
                            "face_mesh_connections.py")
        fspec = importlib.util.spec_from_file_location("facebridge_face_mesh_connections", path)
        mod = importlib.util.module_from_spec(fspec)
        fspec.loader.exec_module(mod)

    def edges(s):  # each undirected edge once (the tesselation lists many both ways)
        return [list(e) for e in sorted({(min(int(a), int(b)), max(int(a), int(b))) for a, b in s})]

    return {"source": "mediapipe face_mesh_connections", "landmarks": 478,
            "tesselation": edges(mod.FACEMESH_TESSELATION),
            "contours": {name.lower(): edges(getattr(mod, "FACEMESH_" + name)) for name in
                         ("LIPS", "LEFT_EYE", "RIGHT_EYE", "LEFT_EYEBROW", "RIGHT_EYEBROW", "FACE_OVAL",
                          "LEFT_IRIS", "RIGHT_IRIS")}}


class _Page:
    """One connected page: its WebSocket and its bounded send queue (used on the monitor's loop only)."""

    def __init__(self, ws, limit: int, peer: str):
        self.ws, self.limit, self.peer = ws, limit, peer
        self.queue: deque = deque()
        self.wake = asyncio.Event()
        self.dropped = 0  # messages dropped because this page read too slowly
        self.sent = 0

    def put(self, data: bytes) -> None:
        if len(self.queue) >= self.limit:
            self.queue.popleft()
            self.dropped += 1
        self.queue.append(data)
        self.wake.set()


class Monitor:
    def __init__(self, host: str = "127.0.0.1", port: int = 8080, queue_messages: int = QUEUE_MESSAGES,
                 video_fps: float = VIDEO_FPS, jpeg_quality: int = JPEG_QUALITY):
        self.host, self.queue_messages, self.jpeg_quality = host, queue_messages, jpeg_quality
        self._video_period = 1.0 / video_fps
        sock = self._bind(host, port)
        real_port = sock.getsockname()[1]
        self.loopback = _is_loopback_host(host)
        if not self.loopback:
            log.warning("--web %s:%d: the monitor is reachable from the network, unencrypted and without "
                        "authentication", host, real_port)
        self.url = f"http://{'[' + host + ']' if ':' in host else host}:{real_port}/"
        self.port = real_port
        self._static = {}
        for route, (name, ctype) in STATIC.items():
            try:
                with open(os.path.join(WEB_DIR, name), "rb") as f:
                    self._static[route] = (f.read(), ctype)
            except OSError as e:
                log.warning("monitor page file missing: %s (%s)", name, e)
        self._facemesh: bytes | None = None
        self._welcome = pack_parts([b"welcome", _packb({
            "schema": {"blendshape_names": list(arkit.NAMES), "head_pose": HEAD_POSE},
            "server": f"facebridge/{__version__}", "protocol": PROTOCOL_VERSION,
            "monitor": {"queue_messages": queue_messages, "video_fps": video_fps, "video_format": "jpeg"}})])
        # Shared with the daemon's thread: plain reads there, writes on the monitor's loop.
        self._n_pages = 0
        self._inbox: deque = deque(maxlen=INBOX)  # deque.append/popleft are thread-safe
        self._wake_pending = False
        self._closed = False
        self._last_stats: dict | None = None
        self._video_t: dict[str, float] = {}  # avatar -> when its last JPEG was accepted (daemon thread)
        # Monitor loop only:
        self._pages: set[_Page] = set()
        self._encoding: set[str] = set()  # avatars with a JPEG being encoded
        self._dropped_gone = 0  # messages dropped for pages that have since gone
        self._jpeg_pool = ThreadPoolExecutor(1, thread_name_prefix="monitor-jpeg")
        self.loop = asyncio.new_event_loop()
        self._runner = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(sock,), name="monitor", daemon=True)
        self.thread.start()
        if not self._started.wait(10) or self._error is not None:
            sock.close()
            raise InputError("--web HOST:PORT", f"the monitor did not start ({self._error or 'timeout'})",
                             "see the log")

    @staticmethod
    def _bind(host: str, port: int) -> socket.socket:
        where = f"{host}:{port}"
        try:
            infos = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
            family, kind, proto, _, addr = infos[0]
            sock = socket.socket(family, kind, proto)
        except (OSError, OverflowError, UnicodeError, ValueError, TypeError) as e:
            raise InputError("--web HOST:PORT", f"cannot listen on {where} ({e})", "pick a free port") from None
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart need not wait for TIME_WAIT
            sock.bind(addr)
            sock.listen(128)
            sock.setblocking(False)
        except (OSError, OverflowError) as e:
            sock.close()
            raise InputError("--web HOST:PORT", f"cannot listen on {where} ({e.strerror or e})",
                             "pick a free port") from None
        return sock

    def describe(self) -> str:
        return f"web {self.url}"

    # ------------------------------------------------------------ the daemon's side (never blocks)
    def _post(self, kind: str, obj) -> None:
        self._inbox.append((kind, obj))
        if not self._wake_pending:
            self._wake_pending = True
            try:
                self.loop.call_soon_threadsafe(self._drain)
            except RuntimeError:  # the loop is closed (after close())
                pass

    def frame(self, frame: Frame) -> None:
        if self._n_pages and not self._closed:
            self._post("frame", frame)

    def video(self, frame: VideoFrame) -> None:
        if not self._n_pages or self._closed:
            return
        now = time.monotonic()
        last = self._video_t.get(frame.avatar)
        # At most VIDEO_FPS per avatar; the slack keeps 30 fps input at 15, not 10, despite jitter.
        if last is not None and now - last < self._video_period - 0.012 and not frame.final:
            return
        self._video_t[frame.avatar] = now
        self._post("video", frame)

    def stats(self, stats: dict) -> None:
        self._last_stats = stats
        avatars = stats.get("avatars") or {}
        for name in [n for n in self._video_t if n not in avatars]:
            del self._video_t[name]
        if self._n_pages and not self._closed:
            self._post("stats", stats)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        deadline = time.monotonic() + CLOSE_S
        if self.loop.is_running():
            fut = asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop)
            with contextlib.suppress(Exception):
                fut.result(max(0.1, deadline - time.monotonic() - 0.3))
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(max(0.0, deadline - time.monotonic()))
        self._jpeg_pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------ the monitor's loop
    def _run(self, sock: socket.socket) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._start(sock))
        except BaseException as e:  # noqa: BLE001 - reported to __init__
            self._error = e
            self._started.set()
            self.loop.close()
            return
        self._started.set()
        try:
            self.loop.run_forever()
        finally:
            tasks = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
            for t in tasks:
                t.cancel()
            with contextlib.suppress(BaseException):
                self.loop.run_until_complete(asyncio.wait_for(
                    asyncio.gather(*tasks, return_exceptions=True), 0.5))
            self.loop.close()

    async def _start(self, sock: socket.socket) -> None:
        from aiohttp import web

        app = web.Application(middlewares=[self._middleware()])
        app.router.add_get("/ws", self._ws)
        app.router.add_get("/facemesh.json", self._facemesh_json)
        app.router.add_get("/favicon.ico", self._no_content)
        for route in STATIC:
            app.router.add_get(route, self._file)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    async def _shutdown(self) -> None:
        pages = list(self._pages)
        for p in pages:
            p.wake.set()
        from aiohttp import WSCloseCode

        closes = [asyncio.ensure_future(p.ws.close(code=WSCloseCode.GOING_AWAY, message=b"daemon stopping"))
                  for p in pages]
        if closes:
            await asyncio.wait(closes, timeout=0.5)
            for c in closes:
                c.cancel()
        if self._runner is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._runner.cleanup(), 1.0)

    def _drain(self) -> None:
        self._wake_pending = False  # before draining: a post after this point schedules another drain
        while self._inbox:
            kind, obj = self._inbox.popleft()
            if not self._pages:
                continue
            try:
                if kind == "frame":
                    self._broadcast(pack_parts(encode_frame(obj)))
                elif kind == "video":
                    self._start_jpeg(obj)
                elif kind == "stats":
                    self._send_stats(obj)
            except Exception:  # a bad frame must not stop the monitor
                log.exception("monitor: %s message failed", kind)

    def _broadcast(self, data: bytes) -> None:
        for p in self._pages:
            p.put(data)

    def _stats_message(self, stats, page: _Page) -> bytes:
        # "monitor": this page's own drops, and all pages' queues (bounded: QUEUE_MESSAGES each).
        mon = {"pages": len(self._pages), "dropped": page.dropped,
               "dropped_all": self._dropped_gone + sum(p.dropped for p in self._pages),
               "queued_bytes": sum(len(m) for p in self._pages for m in p.queue)}
        return pack_parts([b"stats", _packb({"t_ns": time.time_ns(), "stats": stats, "monitor": mon})])

    def _send_stats(self, stats: dict) -> None:
        for p in self._pages:
            p.put(self._stats_message(stats, p))

    def _start_jpeg(self, frame: VideoFrame) -> None:
        if frame.avatar in self._encoding:  # one encode in flight per avatar: drop, a newer frame follows
            return
        self._encoding.add(frame.avatar)
        fut = self.loop.run_in_executor(self._jpeg_pool, self._jpeg, frame)

        def done(f, avatar=frame.avatar):
            self._encoding.discard(avatar)
            if f.cancelled():
                return
            if f.exception() is not None:
                log.error("monitor: JPEG encoding failed: %s", f.exception())
            elif f.result() is not None and self._pages:
                self._broadcast(f.result())

        fut.add_done_callback(done)

    def _jpeg(self, f: VideoFrame) -> bytes | None:
        import cv2

        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(f.pixels, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        if not ok:
            return None
        h, w = f.pixels.shape[:2]
        header = {"seq": f.seq, "pts": float(f.pts), "t_ns": int(f.t_ns), "utterance": f.utterance, "width": w,
                  "height": h, "format": "jpeg", "final": f.final}
        return pack_parts([f"jpeg.{f.avatar}".encode(), _packb(header), buf.tobytes()])

    # ------------------------------------------------------------ HTTP
    def _host_ok(self, request) -> bool:
        if not self.loopback:
            return True
        try:
            host = urlsplit("//" + request.headers.get("Host", "")).hostname or ""
        except ValueError:
            return False
        return _is_loopback_host(host)

    def _middleware(self):
        from aiohttp import web

        @web.middleware
        async def guard(request, handler):
            if not self._host_ok(request):  # a loopback monitor answers only to loopback names
                return web.Response(status=421, text="facebridge monitor: use a loopback address\n")
            resp = await handler(request)
            if not isinstance(resp, web.WebSocketResponse):
                resp.headers.update(HEADERS)
            return resp

        return guard

    async def _file(self, request):
        from aiohttp import web

        item = self._static.get(request.path)
        if item is None:
            raise web.HTTPNotFound()
        body, ctype = item
        return web.Response(body=body, content_type=ctype, charset="utf-8")

    async def _no_content(self, request):
        from aiohttp import web

        return web.Response(status=204)

    async def _facemesh_json(self, request):
        from aiohttp import web

        if self._facemesh is None:
            try:
                self._facemesh = json.dumps(facemesh_topology(), separators=(",", ":")).encode()
            except Exception as e:  # noqa: BLE001 - the page then draws points only
                log.warning("monitor: FaceMesh topology unavailable: %s", e)
                return web.json_response({"error": f"FaceMesh topology unavailable ({e})"}, status=503)
        return web.Response(body=self._facemesh, content_type="application/json")

    async def _ws(self, request):
        from aiohttp import WSMsgType, web

        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc.lower() != request.headers.get("Host", "").lower():
            return web.Response(status=403, text="facebridge monitor: cross-origin WebSocket refused\n")
        if len(self._pages) >= MAX_PAGES:
            return web.Response(status=503, text=f"facebridge monitor: {MAX_PAGES} pages are open already\n")
        ws = web.WebSocketResponse(heartbeat=10.0, compress=False, max_msg_size=MAX_IN_MSG, timeout=1.0)
        await ws.prepare(request)
        page = _Page(ws, self.queue_messages, request.remote or "?")
        self._pages.add(page)
        self._n_pages = len(self._pages)
        log.info("monitor: page connected from %s (%d open)", page.peer, self._n_pages)
        page.put(self._welcome)
        page.put(self._stats_message(self._last_stats or {}, page))
        sender = asyncio.ensure_future(self._send_loop(page))
        try:
            async for msg in ws:  # the page sends nothing we use; whatever comes is read and ignored
                if msg.type == WSMsgType.ERROR:
                    break
        finally:
            self._pages.discard(page)
            self._n_pages = len(self._pages)
            self._dropped_gone += page.dropped
            sender.cancel()
            with contextlib.suppress(BaseException):
                await sender
            log.info("monitor: page %s gone after %d messages (%d dropped)", page.peer, page.sent, page.dropped)
        return ws

    async def _send_loop(self, page: _Page) -> None:
        try:
            while not page.ws.closed:
                await page.wake.wait()
                page.wake.clear()
                while page.queue and not page.ws.closed:
                    data = page.queue.popleft()
                    await page.ws.send_bytes(data)
                    page.sent += 1
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - the page went away mid-send
            log.info("monitor: page %s: send failed (%s)", page.peer, e)
            page.queue.clear()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(page.ws.close(), 1.0)
