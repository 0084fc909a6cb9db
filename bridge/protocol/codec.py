"""Encode, decode and validate protocol messages (msgpack)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import msgpack
import numpy as np

from bridge.protocol.schema import ERROR_CODES, MAX_ID_LEN, MAX_IMAGE_BYTES, MAX_AUDIO_BYTES, REPLIES, REQUESTS, Field

MAX_MESSAGE_BYTES = MAX_IMAGE_BYTES + MAX_AUDIO_BYTES  # checked before unpacking
MAX_HEADER_BYTES = 64 * 1024  # a data frame's header map
LANDMARKS = 478
BLENDSHAPES = 52
HEAD_POSE = 6


class ProtocolError(Exception):
    """A message that breaks the protocol; becomes an `error` reply with `code`."""

    def __init__(self, code: str, message: str, request_id=None):
        assert code in ERROR_CODES, code
        super().__init__(message)
        self.code, self.message, self.request_id = code, message, request_id


def _unpack(data: bytes, limit: int):
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ProtocolError("malformed", "a message must be one binary frame")
    if len(data) > limit:
        raise ProtocolError("too_large", f"message of {len(data)} bytes exceeds the limit of {limit}")
    try:
        # Limits inside msgpack too: a 10-byte header must not announce a 4 GB array.
        obj = msgpack.unpackb(bytes(data), raw=False, strict_map_key=True,
                              max_str_len=limit, max_bin_len=limit, max_array_len=100_000,
                              max_map_len=1_000, max_ext_len=0)
    except (ValueError, TypeError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError,
            UnicodeDecodeError) as e:
        raise ProtocolError("malformed", f"not valid msgpack ({type(e).__name__})") from None
    if not isinstance(obj, dict):
        raise ProtocolError("malformed", f"a message must be a msgpack map, got {type(obj).__name__}")
    return obj


def _check_id(msg: dict):
    rid = msg.get("id")
    ok = (isinstance(rid, int) and not isinstance(rid, bool) and 0 <= rid < 2 ** 63) or \
         (isinstance(rid, str) and 0 < len(rid) <= MAX_ID_LEN)
    if not ok:
        raise ProtocolError("bad_field" if "id" in msg else "missing_field",
                            f"`id` must be an integer 0..2^63-1 or a string of 1..{MAX_ID_LEN} characters")
    return rid


def _check_fields(kind: str, msg: dict, spec: dict[str, Field], rid) -> None:
    for name in msg:
        if name in ("type", "id"):
            continue
        if name not in spec:
            raise ProtocolError("unknown_field", f"{kind} has no field {str(name)[:40]!r} "
                                f"(fields: {', '.join(spec) or 'none'})", rid)
    for name, f in spec.items():
        if name not in msg or msg[name] is None:
            if f.required:
                raise ProtocolError("missing_field", f"{kind} needs `{name}` ({f.doc or f.type.__name__})", rid)
            continue
        v = msg[name]
        types = f.type if isinstance(f.type, tuple) else (f.type,)
        if float in types and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        if not isinstance(v, types) or (isinstance(v, bool) and bool not in types):
            raise ProtocolError("bad_field", f"{kind}.{name} must be {'/'.join(t.__name__ for t in types)}, "
                                f"got {type(v).__name__}", rid)
        if f.max_len is not None and len(v) > f.max_len:
            raise ProtocolError("too_large" if isinstance(v, bytes) else "bad_field",
                                f"{kind}.{name} is {len(v)} long; the limit is {f.max_len}", rid)
        if isinstance(v, float) and not math.isfinite(v):
            raise ProtocolError("bad_field", f"{kind}.{name} must be finite", rid)
        if f.lo is not None and v < f.lo or f.hi is not None and v > f.hi:
            raise ProtocolError("bad_field", f"{kind}.{name} = {v} is out of range {f.lo}..{f.hi}", rid)
        if f.choices is not None and v not in f.choices:
            raise ProtocolError("bad_field", f"{kind}.{name} = {v} is not one of {list(f.choices)}", rid)


def _validate(msg: dict, table: dict, what: str) -> dict:
    rid = _check_id(msg)
    kind = msg.get("type")
    if not isinstance(kind, str) or kind not in table:
        raise ProtocolError("unknown_type", f"unknown {what} type {str(kind)[:40]!r} "
                            f"(known: {', '.join(table)})", rid)
    _check_fields(kind, msg, table[kind], rid)
    if kind == "speak":
        if ("audio" in msg) == ("pcm" in msg):
            raise ProtocolError("bad_field", "speak needs exactly one of `audio` (a whole clip) or `pcm` (a chunk)", rid)
        if "pcm" in msg and "rate" not in msg:
            raise ProtocolError("missing_field", "speak with pcm needs `rate`", rid)
        if "pcm" in msg and len(msg["pcm"]) % 4:
            raise ProtocolError("bad_field", "speak.pcm must hold whole float32 samples (length % 4 == 0)", rid)
    if kind == "listen" and len(msg["pcm"]) % 4:
        raise ProtocolError("bad_field", "listen.pcm must hold whole float32 samples (length % 4 == 0)", rid)
    return msg


def decode_request(data: bytes) -> dict:
    """One control frame from a client -> a validated request map. Raises ProtocolError."""
    msg = _unpack(data, MAX_MESSAGE_BYTES)
    return _validate(msg, REQUESTS, "request")


def encode_request(type: str, id, **fields) -> bytes:
    msg = {"type": type, "id": id, **{k: v for k, v in fields.items() if v is not None}}
    _validate(msg, REQUESTS, "request")
    return msgpack.packb(msg, use_bin_type=True)


def encode_reply(type: str, id, **fields) -> bytes:
    msg = {"type": type, "id": id, **{k: v for k, v in fields.items() if v is not None}}
    _validate(msg, REPLIES, "reply")
    return msgpack.packb(msg, use_bin_type=True)


def error_reply(err: ProtocolError, request_id=None) -> bytes:
    rid = err.request_id if err.request_id is not None else request_id
    # A request without a usable id still gets its error; id 0 marks "no id".
    if not ((isinstance(rid, int) and not isinstance(rid, bool) and 0 <= rid < 2 ** 63)
            or (isinstance(rid, str) and 0 < len(rid) <= MAX_ID_LEN)):
        rid = 0
    return encode_reply("error", rid, code=err.code, message=err.message[:2000])


def decode_reply(data: bytes) -> dict:
    return _validate(_unpack(data, MAX_MESSAGE_BYTES), REPLIES, "reply")


# ---------------------------------------------------------------- data frames (PUB/SUB)
@dataclass
class Frame:
    avatar: str
    kind: str  # "anim"
    seq: int
    pts: float  # seconds on the avatar's audio timeline
    t_ns: int  # daemon clock when published
    mode: str  # speaking | listening | idle
    utterance: int
    emotion: str
    blendshapes: np.ndarray  # (52,) float32
    head_pose: np.ndarray  # (6,) float32: pitch, yaw, roll (deg), tx, ty, tz (cm)
    landmarks: np.ndarray | None = field(default=None)  # (478, 3) float32 image pixels, or None
    final: bool = False  # the utterance's last frame
    # Listening frames: the reactions that start in this frame ({type, t, duration_s,
    # strength}, t on the same clock as pts). None (no header field) in other modes.
    events: list | None = None


def encode_frame(f: Frame) -> list[bytes]:
    blobs = [np.ascontiguousarray(f.blendshapes, "<f4"), np.ascontiguousarray(f.head_pose, "<f4")]
    names = ["blendshapes", "head_pose"]
    if f.landmarks is not None:
        blobs.append(np.ascontiguousarray(f.landmarks, "<f4"))
        names.append("landmarks")
    header = {"seq": f.seq, "pts": float(f.pts), "t_ns": int(f.t_ns), "mode": f.mode, "utterance": f.utterance,
              "emotion": f.emotion, "final": f.final, "blobs": names}
    if f.events is not None:
        header["events"] = f.events
    return [f"{f.kind}.{f.avatar}".encode(), msgpack.packb(header, use_bin_type=True)] + [b.tobytes() for b in blobs]


_SHAPES = {"blendshapes": (BLENDSHAPES,), "head_pose": (HEAD_POSE,), "landmarks": (LANDMARKS, 3)}
_BYTES = {name: 4 * int(np.prod(shape)) for name, shape in _SHAPES.items()}


def _topic_and_header(parts: list[bytes]) -> tuple[str, str, dict]:
    try:
        kind, avatar = bytes(parts[0]).decode().split(".", 1)
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError("malformed", "topic must be '<kind>.<avatar>'") from None
    return kind, avatar, _unpack(parts[1], MAX_HEADER_BYTES)


def decode_frame(parts: list[bytes]) -> Frame:
    """A data message [topic, header, blobs...] -> Frame. Raises ProtocolError."""
    if len(parts) < 4:
        raise ProtocolError("malformed", f"a frame has a topic, a header and 2-3 blobs; got {len(parts)} parts")
    kind, avatar, h = _topic_and_header(parts)
    names = h.get("blobs")
    if not isinstance(names, list) or len(names) != len(parts) - 2 or not set(names) <= set(_SHAPES):
        raise ProtocolError("malformed", f"header.blobs {names!r} does not match the {len(parts) - 2} blobs")
    arrays = {}
    for name, blob in zip(names, parts[2:]):
        if len(blob) != _BYTES[name]:
            raise ProtocolError("malformed", f"blob {name} has {len(blob)} bytes, expected {_BYTES[name]}")
        arrays[name] = np.frombuffer(bytes(blob), "<f4").reshape(_SHAPES[name])
    try:
        return Frame(avatar=avatar, kind=kind, seq=int(h["seq"]), pts=float(h["pts"]), t_ns=int(h["t_ns"]),
                     mode=str(h["mode"]), utterance=int(h["utterance"]), emotion=str(h["emotion"]),
                     blendshapes=arrays["blendshapes"], head_pose=arrays["head_pose"],
                     landmarks=arrays.get("landmarks"), final=bool(h.get("final", False)),
                     events=_events(h.get("events")))
    except (KeyError, TypeError, ValueError) as e:
        raise ProtocolError("malformed", f"frame header is missing or has a bad field ({e})") from None


def _events(raw) -> list | None:
    """A frame header's events, checked: a list of {type, t, duration_s, strength} maps."""
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) > 64:
        raise ProtocolError("malformed", "header.events must be a list of at most 64 events")
    out = []
    for e in raw:
        if not isinstance(e, dict) or not isinstance(e.get("type"), str):
            raise ProtocolError("malformed", f"header.events holds {e!r}, not an event map")
        out.append({"type": e["type"], "t": float(e.get("t", 0.0)), "duration_s": float(e.get("duration_s", 0.0)),
                    "strength": float(e.get("strength", 0.0))})
    return out


# ---------------------------------------------------------------- video frames
MAX_VIDEO_SIDE = 1024


@dataclass
class VideoFrame:
    avatar: str
    seq: int
    pts: float  # seconds on the avatar's audio timeline (the anim frame of the same pts)
    t_ns: int  # daemon clock when published
    utterance: int
    pixels: np.ndarray  # (height, width, 3) uint8 RGB, rows top to bottom
    final: bool = False


def encode_video(f: VideoFrame) -> list[bytes]:
    h, w = f.pixels.shape[:2]
    header = {"seq": f.seq, "pts": float(f.pts), "t_ns": int(f.t_ns), "utterance": f.utterance, "width": w,
              "height": h, "format": "rgb24", "final": f.final}
    return [f"video.{f.avatar}".encode(), msgpack.packb(header, use_bin_type=True),
            np.ascontiguousarray(f.pixels, np.uint8).tobytes()]


def decode_video(parts: list[bytes]) -> VideoFrame:
    """A video message [topic, header, pixels] -> VideoFrame. Raises ProtocolError."""
    if len(parts) != 3:
        raise ProtocolError("malformed", f"a video frame has a topic, a header and 1 blob; got {len(parts)} parts")
    kind, avatar, h = _topic_and_header(parts)
    try:
        w, ht = int(h["width"]), int(h["height"])
        if kind != "video" or h.get("format") != "rgb24" or not (0 < w <= MAX_VIDEO_SIDE and 0 < ht <= MAX_VIDEO_SIDE):
            raise ValueError(f"kind {kind!r}, format {h.get('format')!r}, size {w}x{ht}")
        if len(parts[2]) != w * ht * 3:
            raise ValueError(f"{len(parts[2])} bytes of pixels for {w}x{ht} rgb24")
        return VideoFrame(avatar=avatar, seq=int(h["seq"]), pts=float(h["pts"]), t_ns=int(h["t_ns"]),
                          utterance=int(h["utterance"]), final=bool(h.get("final", False)),
                          pixels=np.frombuffer(bytes(parts[2]), np.uint8).reshape(ht, w, 3))
    except (KeyError, TypeError, ValueError) as e:
        raise ProtocolError("malformed", f"bad video frame ({e})") from None
