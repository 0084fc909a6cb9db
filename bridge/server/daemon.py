"""The daemon: a ROUTER for control requests, a PUB for frames, one loop that owns both.

Only this loop touches sockets (ZeroMQ sockets are not thread-safe). Session workers compute
and post to the outbox; the loop sends replies at once and frames when they fall due (their
pts minus the lookahead, on the utterance's clock). Every request is validated by
bridge.protocol; anything wrong gets an `error` reply and is counted, and the loop goes on.

Taps are the daemon's other outputs (Live Link Face, VMC, the browser monitor): they get the
very frames the PUB socket sends, but at their pts on the audio clock rather than lookahead
early, since their receivers show a frame the moment it arrives. A tap has
`frame(Frame)`, `video(VideoFrame)`, `stats(dict)` (about once a second) and `close()`; it is
called on this loop and must not block (a UDP send, or a hand-off to its own thread).
"""

from __future__ import annotations

import heapq
import ipaddress
import itertools
import logging
import queue
import signal
import threading
import time
from collections import deque
from urllib.parse import urlparse

import numpy as np
import zmq

from bridge import __version__
from bridge.motion import arkit
from bridge.protocol import (PROTOCOL_VERSION, SUPPORTED_VERSIONS, ProtocolError, decode_request, encode_frame,
                             encode_reply, encode_video, error_reply)
from bridge.server.session import Session

log = logging.getLogger("facebridge.daemon")
DEFAULT_CONTROL = "tcp://127.0.0.1:5555"
DEFAULT_DATA = "tcp://127.0.0.1:5556"
DEFAULT_VIDEO = "tcp://127.0.0.1:5557"
MAX_SESSIONS = 32
POLL_MS = 5  # loop period when idle: bounds how late a due frame can be sent
STATS_S = 1.0  # how often taps get the daemon's stats
PUB, TAP = 0, 1  # a due entry goes to the PUB socket, or to the taps


def is_loopback(endpoint: str) -> bool:
    host = urlparse(endpoint).hostname or ""
    if endpoint.startswith(("ipc://", "inproc://")) or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Daemon:
    def __init__(self, control: str = DEFAULT_CONTROL, data: str = DEFAULT_DATA, fps: float = 30.0,
                 lookahead_s: float = 0.1, curve_keys: str | None = None, video: str = DEFAULT_VIDEO,
                 taps=()):
        self.fps, self.lookahead_s = fps, lookahead_s
        self.taps = list(taps)
        self._tap_failed: set[int] = set()  # taps whose failure was logged (once each)
        self._next_stats = 0.0
        self.ctx = zmq.Context()
        self.curve = None
        if curve_keys is not None:
            from bridge.server.security import ServerCurve

            self.curve = ServerCurve(self.ctx, curve_keys)
        self.control = self.ctx.socket(zmq.ROUTER)
        self.control.setsockopt(zmq.LINGER, 0)
        self.control.setsockopt(zmq.ROUTER_MANDATORY, 0)  # a vanished client's reply is dropped
        self.control.setsockopt(zmq.MAXMSGSIZE, 100 << 20)  # the transport drops bigger frames
        self.data = self.ctx.socket(zmq.PUB)
        self.data.setsockopt(zmq.LINGER, 0)
        self.data.setsockopt(zmq.SNDHWM, 256)  # a slow subscriber loses frames, never grows memory
        # Video on its own socket: a frame is hundreds of KB, so a slow texture consumer may
        # hold two (then newer ones are dropped until it reads), and anim subscribers never wait for it.
        self.video = self.ctx.socket(zmq.PUB)
        self.video.setsockopt(zmq.LINGER, 0)
        self.video.setsockopt(zmq.SNDHWM, 2)
        if self.curve is not None:
            for sock in (self.control, self.data, self.video):
                self.curve.apply(sock)
        for ep in (control, data, video):
            if not is_loopback(ep) and self.curve is None:
                log.warning("binding %s: reachable from the network without encryption (use --curve-keys)", ep)
        self.control.bind(control)
        self.data.bind(data)
        self.video.bind(video)
        self.endpoints = tuple(s.getsockopt_string(zmq.LAST_ENDPOINT) for s in (self.control, self.data, self.video))
        self.sessions: dict[str, Session] = {}
        self.peers: dict[bytes, int] = {}  # client identity -> negotiated protocol version
        self.outq: queue.Queue = queue.Queue()
        self.due: list = []  # heap of (due time, order, frame, session, PUB or TAP)
        self._order = itertools.count()
        self._ids = itertools.count(1)
        self.stop_flag = threading.Event()
        self.started = time.monotonic()
        self.counts = {"requests": 0, "frames_sent": 0, "video_sent": 0, "errors": {}}
        self.timings: dict[str, deque] = {}
        self.lateness: list[float] = []

    # ---- helpers for sessions
    def post(self, kind, peer, rid, **kw) -> None:
        self.outq.put((kind, peer, rid, kw))

    # ---- the loop
    def serve(self) -> None:
        poller = zmq.Poller()
        poller.register(self.control, zmq.POLLIN)
        while not self.stop_flag.is_set():
            timeout = POLL_MS
            if self.due:
                timeout = max(0, min(POLL_MS, int((self.due[0][0] - time.monotonic()) * 1000)))
            if poller.poll(timeout):
                for _ in range(100):  # drain, but let frames out between bursts
                    try:
                        parts = self.control.recv_multipart(zmq.NOBLOCK, copy=True)
                    except zmq.Again:
                        break
                    self._handle(parts)
            self._drain_outbox()
            self._send_due()
            if self.taps and time.monotonic() >= self._next_stats:
                self._next_stats = time.monotonic() + STATS_S
                self._tap("stats", self.stats())
        self.close()

    def close(self) -> None:
        for s in self.sessions.values():
            s.close()
        for t in self.taps:
            try:
                t.close()
            except Exception:
                log.exception("closing output %r", t)
        self.control.close(0)
        self.data.close(0)
        self.video.close(0)
        if self.curve is not None:
            self.curve.stop()
        self.ctx.term()

    def add_live(self, name: str, image_size, mode: str):
        """An avatar this process drives (capture, play): -> LiveAvatar; push frames to it from
        one thread. Safe to call while serve() runs on another thread."""
        from bridge.server.live import LiveAvatar

        live = LiveAvatar(name, image_size, mode, self.post)
        self.post("add_live", None, None, live=live)
        return live

    def start(self) -> threading.Thread:
        """Serve on a background thread (capture and play embed the daemon); stop() ends it."""
        t = threading.Thread(target=self.serve, name="daemon", daemon=True)
        t.start()
        self._thread = t
        return t

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_flag.set()
        t = getattr(self, "_thread", None)
        if t is not None:
            t.join(timeout)

    def _reply(self, peer: bytes, data: bytes) -> None:
        try:
            self.control.send_multipart([peer, data], zmq.NOBLOCK)
        except zmq.ZMQError:
            pass  # the client is gone or not reading: replies are not queued forever

    def _error(self, peer: bytes, err: ProtocolError, rid=None) -> None:
        self.counts["errors"][err.code] = self.counts["errors"].get(err.code, 0) + 1
        log.info("error %s to %s: %s", err.code, peer.hex()[:8], err.message)
        self._reply(peer, error_reply(err, rid))

    def _handle(self, parts: list[bytes]) -> None:
        self.counts["requests"] += 1
        if len(parts) < 2:
            return
        peer, frames = parts[0], parts[1:]
        if len(frames) != 1:
            return self._error(peer, ProtocolError("malformed", f"a request is one frame, got {len(frames)}"))
        try:
            msg = decode_request(frames[0])
            self._dispatch(peer, msg)
        except ProtocolError as e:
            self._error(peer, e)
        except Exception:  # the daemon never dies of client input
            log.exception("request failed")
            self._error(peer, ProtocolError("internal", "the request failed inside the daemon (see its log)"))

    def _dispatch(self, peer: bytes, msg: dict) -> None:
        kind, rid = msg["type"], msg["id"]
        if kind == "hello":
            common = [v for v in SUPPORTED_VERSIONS if v <= msg["protocol"]]
            if not common:
                raise ProtocolError("unsupported_protocol", f"this daemon speaks protocol {list(SUPPORTED_VERSIONS)}; "
                                    f"the client offered up to {msg['protocol']}", rid)
            self.peers[peer] = max(common)
            log.info("hello from %s (%s), protocol %d", peer.hex()[:8], msg.get("client", "?"), self.peers[peer])
            return self._reply(peer, encode_reply("welcome", rid, protocol=self.peers[peer],
                                                  server=f"facebridge/{__version__}", schema=self.schema()))
        if peer not in self.peers:
            raise ProtocolError("hello_first", f"send hello (protocol {PROTOCOL_VERSION}) before {kind}", rid)
        if kind == "ping":
            return self._reply(peer, encode_reply("pong", rid, t_ns=time.time_ns(), client_t_ns=msg["t_ns"]))
        if kind == "stats":
            return self._reply(peer, encode_reply("stats", rid, stats=self.stats()))
        if kind == "create_avatar":
            name = msg.get("name") or f"a{next(self._ids)}"
            if name in self.sessions:
                raise ProtocolError("bad_field", f"an avatar named {name!r} exists (stop it with remove, or pick another)", rid)
            if len(self.sessions) >= MAX_SESSIONS:
                raise ProtocolError("busy", f"{MAX_SESSIONS} avatars exist; remove one first", rid)
            from bridge.emotion import default_model

            s = Session(name, self.post, self.fps, self.lookahead_s, default_model)
            self.sessions[name] = s
            s.submit(("create", peer, rid, {k: msg[k] for k in ("image", "render", "video_size") if k in msg}))
            return
        session = self.sessions.get(msg["avatar"])
        if session is None or session.avatar is None and kind != "stop":
            raise ProtocolError("unknown_avatar", f"no avatar {msg['avatar']!r} (create_avatar first; "
                                f"avatars: {', '.join(self.sessions) or 'none'})", rid)
        if getattr(session, "live", False) and kind in ("speak", "listen", "set_emotion"):
            raise ProtocolError("bad_input", f"avatar {session.name} is {session.mode} (driven by this daemon's "
                                f"{'camera' if session.mode == 'performing' else 'file player'}); it takes no {kind} "
                                "(create an avatar of your own to make one speak)", rid)
        if kind == "speak":
            args = {k: msg[k] for k in ("audio", "pcm", "rate", "final", "text", "emotion") if k in msg}
            if not session.submit(("speak", peer, rid, args)):
                raise ProtocolError("busy", f"avatar {session.name} has 16 requests queued; wait for replies", rid)
        elif kind == "listen":
            args = {k: msg[k] for k in ("pcm", "rate", "final") if k in msg}
            if not session.submit(("listen", peer, rid, args)):
                raise ProtocolError("busy", f"avatar {session.name} has 16 requests queued; wait for replies", rid)
        elif kind == "set_emotion":
            from bridge.emotion.tags import parse_emotion
            from bridge.errors import FacebridgeError

            try:
                parse_emotion(msg["emotion"], name="set_emotion.emotion")
            except FacebridgeError as e:
                raise ProtocolError("bad_field", str(e), rid) from None
            session.emotion = msg["emotion"]
            self._reply(peer, encode_reply("ok", rid, avatar=session.name))
        elif kind == "stop":
            session.cancelled.set()
            if session.video is not None:
                session.video.clear()
            self.due = [d for d in self.due if d[3] is not session]
            heapq.heapify(self.due)
            if msg.get("remove"):
                session.close()
                del self.sessions[session.name]
            self._reply(peer, encode_reply("ok", rid, avatar=session.name))

    def _drain_outbox(self) -> None:
        while True:
            try:
                kind, peer, rid, kw = self.outq.get_nowait()
            except queue.Empty:
                return
            if kind == "reply":
                self._reply(peer, encode_reply(kw.pop("type"), rid, **kw))
            elif kind == "error":
                self._error(peer, ProtocolError(kw["code"], kw["message"]), rid)
            elif kind == "frame":  # taps get it at its pts on the audio clock
                self._schedule(kw["frame"], kw["session"], kw["due"], kw["due"] + self.lookahead_s)
            elif kind == "frames":  # a streamed chunk's frames, all due at once (to taps too: already late)
                for frame in kw["frames"]:
                    self._schedule(frame, kw["session"], kw["due"], kw["due"])
            elif kind == "video":  # rendered when due (bridge/server/video.py): send now
                frame = kw["frame"]
                frame.t_ns = time.time_ns()
                # PUB never blocks: a subscriber with two frames queued silently misses this one
                # and gets a newer one when it has read (ZeroMQ counts no such drops for us).
                self.video.send_multipart(encode_video(frame), zmq.NOBLOCK)
                self.counts["video_sent"] += 1
                self._tap("video", frame)
            elif kind == "add_live":  # capture/play's own avatar (bridge/server/live.py)
                self.sessions[kw["live"].name] = kw["live"]
            elif kind == "drop_session":
                s = self.sessions.pop(kw["name"], None)
                if s:
                    s.close()
            elif kind == "timing":
                # The last 1,000 per job: a stream posts 50 a second, for hours.
                self.timings.setdefault(kw["job"], deque(maxlen=1000)).append(kw["seconds"])

    def _schedule(self, frame, session, due: float, tap_due: float) -> None:
        heapq.heappush(self.due, (due, next(self._order), frame, session, PUB))
        if self.taps:
            heapq.heappush(self.due, (tap_due, next(self._order), frame, session, TAP))

    def _send_due(self) -> None:
        now = time.monotonic()
        while self.due and self.due[0][0] <= now:
            due, _, frame, session, target = heapq.heappop(self.due)
            if session.cancelled.is_set():
                continue
            if target == TAP:
                self._tap("frame", frame)
                continue
            frame.t_ns = time.time_ns()
            try:
                self.data.send_multipart(encode_frame(frame), zmq.NOBLOCK)
                self.counts["frames_sent"] += 1
            except zmq.Again:  # PUB drops for a subscriber 256 frames behind without raising; kept for safety
                pass
            self.lateness.append(now - due)
            if len(self.lateness) > 10000:
                del self.lateness[:5000]

    def _tap(self, method: str, arg) -> None:
        for t in self.taps:
            try:
                getattr(t, method)(arg)
            except Exception:  # an output's bug or a dead receiver must not stop the daemon
                if id(t) not in self._tap_failed:
                    self._tap_failed.add(id(t))
                    log.exception("output %r failed (logged once; it keeps being called)", t)

    # ---- introspection
    def ready_line(self) -> str:
        """The first line `serve` prints: endpoints, protocol, outputs (tests and tools parse it)."""
        return (f"facebridge serve: control {self.endpoints[0]}  data {self.endpoints[1]}  video {self.endpoints[2]}  "
                f"(protocol {PROTOCOL_VERSION}{', CURVE' if self.curve else ''})"
                + "".join(f"  {t.describe()}" for t in self.taps if hasattr(t, "describe")))

    def schema(self) -> dict:
        return {"blendshape_names": list(arkit.NAMES), "landmarks": 478,
                "head_pose": ["pitch", "yaw", "roll", "tx", "ty", "tz"], "fps": self.fps,
                "lookahead_s": self.lookahead_s, "topics": ["anim.<avatar>", "video.<avatar>"],
                "blobs": {"blendshapes": [52], "head_pose": [6], "landmarks": [478, 3]},
                "video": {"endpoint": self.endpoints[2], "format": "rgb24"}}

    def stats(self) -> dict:
        late = np.array(self.lateness or [0.0]) * 1000
        return {"uptime_s": round(time.monotonic() - self.started, 1), "sessions": len(self.sessions),
                "clients": len(self.peers), "requests": self.counts["requests"],
                "frames_sent": self.counts["frames_sent"], "video_sent": self.counts["video_sent"],
                # Frames the renderer skipped to stay on the audio clock (see server/video.py).
                "video_skipped": sum(s.video.dropped for s in self.sessions.values() if s.video is not None),
                "errors": dict(self.counts["errors"]),
                "frame_lateness_ms": {"p50": round(float(np.percentile(late, 50)), 2),
                                      "p99": round(float(np.percentile(late, 99)), 2)},
                "compute_s": {k: round(float(np.median(v)), 3) for k, v in self.timings.items()},
                "avatars": {name: s.describe() for name, s in self.sessions.items()}}


def run(control: str = DEFAULT_CONTROL, data: str = DEFAULT_DATA, fps: float = 30.0, lookahead_s: float = 0.1,
        ready=print, curve_keys: str | None = None, video: str = DEFAULT_VIDEO, taps=()) -> None:
    """Serve until SIGINT/SIGTERM."""
    d = Daemon(control, data, fps=fps, lookahead_s=lookahead_s, curve_keys=curve_keys, video=video, taps=taps)

    def stop(signum, _frame):
        log.info("signal %d: shutting down", signum)
        d.stop_flag.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    ready(d.ready_line())
    d.serve()
