"""Golden messages: canonical examples of every message, as the bytes on the wire
(`tests/golden/NAME.msgpack`) beside their decoded form (`NAME.json`; bytes as
{"$bytes": hex}). Engine clients' tests read them to check their own codecs; our tests check
that the codec still produces exactly these bytes (the wire format must not drift).

    python -m bridge.protocol.golden tests/golden      # rewrite them (a protocol change)
"""

from __future__ import annotations

import json
import os
import sys

import msgpack
import numpy as np

from bridge.motion import arkit
from bridge.protocol.codec import Frame, VideoFrame, encode_frame, encode_reply, encode_request, encode_video

PCM = np.sin(np.arange(8) / 3).astype("<f4").tobytes()  # 8 samples


def examples() -> dict[str, list[bytes]]:
    """name -> the message's frames (control messages have one; data frames several)."""
    f = Frame(avatar="a1", kind="anim", seq=7, pts=0.2333, t_ns=1_700_000_000_000_000_000, mode="speaking",
              utterance=1, emotion="joy", blendshapes=np.linspace(0, 1, arkit.N, dtype=np.float32),
              head_pose=np.array([1, -2, 0.5, 0, 0.1, 0], np.float32), final=False)
    schema = {"blendshape_names": arkit.NAMES, "landmarks": 478, "head_pose": ["pitch", "yaw", "roll", "tx", "ty", "tz"],
              "fps": 30.0, "lookahead_s": 0.1, "topics": ["anim.<avatar>", "video.<avatar>"],
              "blobs": {"blendshapes": [52], "head_pose": [6], "landmarks": [478, 3]},
              "video": {"endpoint": "tcp://127.0.0.1:5557", "format": "rgb24"}}
    return {
        "hello": [encode_request("hello", 1, protocol=1, client="unity-client/0.1")],
        "welcome": [encode_reply("welcome", 1, protocol=1, server="facebridge/0.1.0", schema=schema)],
        "ping": [encode_request("ping", 2, t_ns=123_456_789)],
        "pong": [encode_reply("pong", 2, t_ns=987_654_321, client_t_ns=123_456_789)],
        "create_avatar": [encode_request("create_avatar", 3, image=b"\x89PNG\r\n\x1a\n", name="a1")],
        "avatar_created": [encode_reply("avatar_created", 3, avatar="a1", image_size=[512, 512])],
        "avatar_created_video": [encode_reply("avatar_created", 10, avatar="a2", image_size=[512, 512],
                                              video_size=[256, 256])],
        "speak_clip": [encode_request("speak", 4, avatar="a1", audio=b"RIFF....WAVE", text="[joy] Hello there.")],
        "speak_chunk": [encode_request("speak", 5, avatar="a1", pcm=PCM, rate=16000, final=False)],
        "listen": [encode_request("listen", 6, avatar="a1", pcm=PCM, rate=16000)],
        "set_emotion": [encode_request("set_emotion", 7, avatar="a1", emotion="sadness:0.5")],
        "stop": [encode_request("stop", 8, avatar="a1")],
        "ok": [encode_reply("ok", 4, avatar="a1", utterance=1, frames=154, duration_s=5.12)],
        "error": [encode_reply("error", 9, code="unknown_avatar", message="no avatar 'zz' (create_avatar first)")],
        "frame_anim": encode_frame(f),
        # A camera-driven avatar (facebridge capture --serve): mode "performing", with landmarks.
        "frame_performing": encode_frame(Frame(
            avatar="performer", kind="anim", seq=12, pts=0.4, t_ns=1_700_000_000_000_000_000, mode="performing",
            utterance=1, emotion="neutral", blendshapes=np.linspace(1, 0, arkit.N, dtype=np.float32),
            head_pose=np.array([-3, 4, 1, 0.5, -0.2, 1], np.float32),
            landmarks=np.arange(478 * 3, dtype=np.float32).reshape(478, 3) / 4, final=False)),
        # A listening avatar (the daemon's `listen`): a nod starts in this frame.
        "frame_listening": encode_frame(Frame(
            avatar="a1", kind="anim", seq=40, pts=2.2, t_ns=1_700_000_000_000_000_000, mode="listening",
            utterance=2, emotion="neutral", blendshapes=np.linspace(0, 0.5, arkit.N, dtype=np.float32),
            head_pose=np.array([-2.5, 1, 0, 0, -0.1, 0], np.float32), final=False,
            events=[{"type": "nod", "t": 2.2, "duration_s": 0.55, "strength": 0.6}])),
        "create_avatar_video": [encode_request("create_avatar", 10, image=b"\x89PNG\r\n\x1a\n", name="a2",
                                               render="warp", video_size=256)],
        "frame_video": encode_video(VideoFrame(avatar="a2", seq=3, pts=0.1, t_ns=1_700_000_000_000_000_000,
                                               utterance=1, pixels=np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3))),
    }


def _jsonable(x):
    if isinstance(x, (bytes, bytearray)):
        return {"$bytes": bytes(x).hex()}
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_jsonable(v) for v in x]
    return x


def decoded(parts: list[bytes]):
    """The JSON form: a control message's map, or a data frame's topic, header and blobs."""
    if len(parts) == 1:
        return _jsonable(msgpack.unpackb(parts[0], raw=False))
    if parts[0].startswith(b"video."):  # pixels: bytes, not float32
        return {"topic": parts[0].decode(), "header": _jsonable(msgpack.unpackb(parts[1], raw=False)),
                "blobs": [list(parts[2])]}
    return {"topic": parts[0].decode(), "header": _jsonable(msgpack.unpackb(parts[1], raw=False)),
            "blobs": [np.frombuffer(p, "<f4").astype(np.float64).round(6).tolist() for p in parts[2:]]}


def write(folder: str) -> None:
    os.makedirs(folder, exist_ok=True)
    for name, parts in examples().items():
        with open(os.path.join(folder, name + ".msgpack"), "wb") as f:
            # Several frames: each prefixed by its length (uint32 LE), so one file holds them.
            if len(parts) == 1:
                f.write(parts[0])
            else:
                for p in parts:
                    f.write(len(p).to_bytes(4, "little") + p)
        with open(os.path.join(folder, name + ".json"), "w") as f:
            json.dump(decoded(parts), f, indent=1)
            f.write("\n")


def read_parts(path: str, multipart: bool) -> list[bytes]:
    data = open(path, "rb").read()
    if not multipart:
        return [data]
    parts, i = [], 0
    while i < len(data):
        n = int.from_bytes(data[i:i + 4], "little")
        parts.append(data[i + 4:i + 4 + n])
        i += 4 + n
    return parts


if __name__ == "__main__":
    write(sys.argv[1] if len(sys.argv) > 1 else os.path.join("tests", "golden"))
