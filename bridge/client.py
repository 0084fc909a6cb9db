"""The reference client: a DEALER for requests, a SUB for frames (bridge.protocol on both).

    python -m bridge.client speak --image f.png --audio a.wav [--text "…"] [--control A --data B]

API:
    with Client() as c:
        c.hello()
        avatar = c.create_avatar(open("face.png", "rb").read())
        c.subscribe(avatar)
        ok = c.speak(avatar, audio=open("a.wav", "rb").read())
        for frame in c.frames(until_final=True): ...

Rendered frames: create the avatar with render="warp", subscribe with video=True, then read
`video_frames()` or, for a texture, `latest_video()` (drains the queue, keeps the newest).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time

import zmq

from bridge.errors import FacebridgeError
from bridge.protocol import (PROTOCOL_VERSION, Frame, ProtocolError, VideoFrame, decode_frame, decode_reply,
                             decode_video, encode_request)
from bridge.server.daemon import DEFAULT_CONTROL, DEFAULT_DATA


class ServerError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


class Client:
    def __init__(self, control: str = DEFAULT_CONTROL, data: str = DEFAULT_DATA, timeout_s: float = 60.0,
                 name: str = "bridge.client", curve_keys: str | None = None, video: str | None = None):
        """curve_keys: the folder from `facebridge keys` (clients/client.key_secret, server.key).
        video: the daemon's video endpoint; default: the port its welcome names, on the control host."""
        self.ctx = zmq.Context()
        self.req = self.ctx.socket(zmq.DEALER)
        self.req.setsockopt(zmq.LINGER, 0)
        # A DEALER with no connected peer blocks on send: when a CURVE handshake is refused
        # (or the daemon is gone) before the first request, that would be forever.
        self.req.setsockopt(zmq.SNDTIMEO, max(1, int(timeout_s * 1000)))
        self.sub = self.ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.setsockopt(zmq.RCVHWM, 10000)
        if curve_keys is not None:
            from bridge.server.security import client_curve

            client_curve(self.req, curve_keys)
            client_curve(self.sub, curve_keys)
        self.req.connect(control)
        self.sub.connect(data)
        self.timeout_s, self.name = timeout_s, name
        self.control, self.curve_keys, self.video_endpoint = control, curve_keys, video
        self.vsub = None  # the video SUB socket, made on the first subscribe(video=True)
        self._ids = itertools.count(1)
        self.welcome: dict | None = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self.req.close(0)
        self.sub.close(0)
        if self.vsub is not None:
            self.vsub.close(0)
        self.ctx.term()

    def request(self, type: str, **fields) -> dict:
        """Send one request, wait for its reply (replies to other ids are skipped). After a
        daemon restart the connection comes back by itself (ZeroMQ reconnects) but the new
        daemon has not heard our hello: say it again once, then retry."""
        try:
            return self._request(type, **fields)
        except ServerError as e:
            if e.code != "hello_first" or self.welcome is None or type == "hello":
                raise
            self.hello()
            return self._request(type, **fields)

    def _request(self, type: str, **fields) -> dict:
        rid = next(self._ids)
        try:
            self.req.send(encode_request(type, rid, **fields))
        except zmq.Again:
            raise TimeoutError(f"cannot send {type} within {self.timeout_s:g} s (is the daemon running? "
                               "are the CURVE keys admitted?)") from None
        deadline = time.monotonic() + self.timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self.req.poll(int(left * 1000)):
                raise TimeoutError(f"no reply to {type} within {self.timeout_s:g} s (is the daemon running?)")
            reply = decode_reply(self.req.recv())
            if reply["id"] == rid:
                if reply["type"] == "error":
                    raise ServerError(reply["code"], reply["message"])
                return reply

    def hello(self) -> dict:
        self.welcome = self.request("hello", protocol=PROTOCOL_VERSION, client=self.name)
        return self.welcome

    def ping(self) -> float:
        """Round trip in seconds."""
        t0 = time.perf_counter()
        self.request("ping", t_ns=time.time_ns())
        return time.perf_counter() - t0

    def create_avatar(self, image: bytes, name: str | None = None, render: str | None = None,
                      video_size: int | None = None) -> str:
        """render="warp": the daemon also renders frames, published on video.<avatar>."""
        return self.request("create_avatar", image=image, name=name, render=render, video_size=video_size)["avatar"]

    def subscribe(self, avatar: str, video: bool = False) -> None:
        self.sub.setsockopt(zmq.SUBSCRIBE, f"anim.{avatar}".encode())
        if video:
            self._video_socket().setsockopt(zmq.SUBSCRIBE, f"video.{avatar}".encode())
        time.sleep(0.2)  # PUB/SUB: a subscription takes a moment to reach the daemon

    def _video_socket(self):
        if self.vsub is None:
            endpoint = self.video_endpoint
            if endpoint is None:
                if self.welcome is None:
                    self.hello()
                port = self.welcome["schema"]["video"]["endpoint"].rsplit(":", 1)[1]
                endpoint = self.control.rsplit(":", 1)[0] + ":" + port
            self.vsub = self.ctx.socket(zmq.SUB)
            self.vsub.setsockopt(zmq.LINGER, 0)
            self.vsub.setsockopt(zmq.RCVHWM, 2)  # a texture wants the newest frame, not a backlog
            if self.curve_keys is not None:
                from bridge.server.security import client_curve

                client_curve(self.vsub, self.curve_keys)
            self.vsub.connect(endpoint)
        return self.vsub

    def video_frames(self, until_final: bool = True, timeout_s: float | None = None):
        """Yield VideoFrames as they arrive; stop after an utterance's final frame (or on timeout)."""
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        sock = self._video_socket()
        while sock.poll(int(timeout_s * 1000)):
            try:
                frame = decode_video(sock.recv_multipart())
            except ProtocolError:
                continue
            yield frame
            if until_final and frame.final:
                return

    def latest_video(self, timeout_s: float = 0.0) -> VideoFrame | None:
        """The newest video frame waiting (older ones are discarded), or None."""
        sock, newest = self._video_socket(), None
        if not sock.poll(int(timeout_s * 1000)):
            return None
        while sock.poll(0):
            try:
                newest = decode_video(sock.recv_multipart())
            except ProtocolError:
                continue
        return newest

    def speak(self, avatar: str, audio: bytes | None = None, text: str | None = None,
              emotion: str | None = None) -> dict:
        return self.request("speak", avatar=avatar, audio=audio, text=text, emotion=emotion)

    def speak_stream(self, avatar: str, samples, rate: int = 16000, chunk_s: float = 0.02,
                     text: str | None = None, emotion: str | None = None, final: bool = True) -> dict:
        """Send float32 mono samples in chunks (as a TTS or microphone would). With final, the
        last chunk ends the utterance and its reply describes it; without, more can follow."""
        import numpy as np

        x = np.asarray(samples, "<f4")
        step = max(1, int(rate * chunk_s))
        reply = {}
        for i in range(0, len(x), step):
            last = final and i + step >= len(x)
            reply = self.request("speak", avatar=avatar, pcm=x[i:i + step].tobytes(), rate=rate, final=last,
                                 text=text if i == 0 else None, emotion=emotion if i == 0 else None)
        return reply

    def listen_stream(self, avatar: str, samples, rate: int = 16000, chunk_s: float = 0.02,
                      final: bool = True, realtime: bool = False) -> dict:
        """Send the user's voice (float32 mono) in chunks, as a microphone would; the avatar
        listens and reacts. With final, the last chunk ends the user's turn. With realtime,
        chunks are paced at the audio's own speed."""
        import time

        import numpy as np

        x = np.asarray(samples, "<f4")
        step = max(1, int(rate * chunk_s))
        reply, t0 = {}, time.monotonic()
        for i in range(0, len(x), step):
            if realtime:
                time.sleep(max(0.0, t0 + i / rate - time.monotonic()))
            reply = self.request("listen", avatar=avatar, pcm=x[i:i + step].tobytes(), rate=rate,
                                 final=final and i + step >= len(x))
        return reply

    def set_emotion(self, avatar: str, emotion: str) -> dict:
        return self.request("set_emotion", avatar=avatar, emotion=emotion)

    def stop(self, avatar: str, remove: bool = False) -> dict:
        return self.request("stop", avatar=avatar, remove=remove or None)

    def stats(self) -> dict:
        return self.request("stats")["stats"]

    def frames(self, until_final: bool = True, timeout_s: float | None = None):
        """Yield Frames as they arrive; stop after an utterance's final frame (or on timeout)."""
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        while True:
            if not self.sub.poll(int(timeout_s * 1000)):
                return
            try:
                frame = decode_frame(self.sub.recv_multipart())
            except ProtocolError:
                continue
            yield frame
            if until_final and frame.final:
                return


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bridge.client")
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("speak", help="create an avatar, speak a clip, report frames/s and latency")
    s.add_argument("--image", required=True)
    s.add_argument("--audio", required=True)
    s.add_argument("--text")
    s.add_argument("--emotion")
    s.add_argument("--control", default=DEFAULT_CONTROL)
    s.add_argument("--data", default=DEFAULT_DATA)
    s.add_argument("--curve-keys", help="keys folder from `facebridge keys` (when the daemon uses CURVE)")
    args = ap.parse_args(argv)
    try:
        with Client(args.control, args.data, timeout_s=120, curve_keys=args.curve_keys) as c:
            w = c.hello()
            print(f"connected: {w['server']}, protocol {w['protocol']}, ping {c.ping() * 1000:.1f} ms")
            avatar = c.create_avatar(open(args.image, "rb").read())
            c.subscribe(avatar)
            t0 = time.perf_counter()
            ok = c.speak(avatar, audio=open(args.audio, "rb").read(), text=args.text, emotion=args.emotion)
            t_ok = time.perf_counter()
            frames = list(c.frames())
            t_end = time.perf_counter()
            print(f"avatar {avatar}: {ok['frames']} frames ({ok['duration_s']:.2f} s) computed in {t_ok - t0:.2f} s; "
                  f"received {len(frames)} frames over {t_end - t_ok:.2f} s "
                  f"({len(frames) / max(1e-6, t_end - t_ok):.1f} frames/s)")
    except (ServerError, TimeoutError, OSError, FacebridgeError) as e:
        print(f"bridge.client: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
