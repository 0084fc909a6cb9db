"""Protocol version 1: every control message, its fields and their limits.

A field is (type, required, limits). Unknown fields are refused rather than ignored: a
client that misspells `emotion` should hear about it, not get a face without emotion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PROTOCOL_VERSION = 1
SUPPORTED_VERSIONS = (1,)

MIB = 1 << 20
MAX_ID_LEN = 64
MAX_NAME_LEN = 64
MAX_TEXT_LEN = 100_000  # characters of transcript per request
MAX_IMAGE_BYTES = 32 * MIB
MAX_AUDIO_BYTES = 48 * MIB  # a whole clip as a file (about 25 min of 16 kHz 16-bit WAV)
MAX_PCM_BYTES = 4 * MIB  # one streamed chunk: float32 mono (a minute at 16 kHz)
RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000)


@dataclass(frozen=True)
class Field:
    type: type | tuple[type, ...]
    required: bool = False
    max_len: int | None = None  # str: characters; bytes: bytes
    lo: float | None = None
    hi: float | None = None
    choices: tuple[Any, ...] | None = None
    doc: str = ""


def _avatar(required: bool = True) -> Field:
    return Field(str, required, max_len=MAX_NAME_LEN, doc="avatar id from avatar_created")


# Requests: client -> daemon.
REQUESTS: dict[str, dict[str, Field]] = {
    "hello": {
        "protocol": Field(int, True, lo=1, hi=2 ** 31, doc="the highest protocol version the client speaks"),
        "client": Field(str, max_len=128, doc="client name and version, for logs"),
    },
    "ping": {"t_ns": Field(int, True, lo=0, hi=2 ** 63 - 1, doc="client clock, nanoseconds")},
    "create_avatar": {
        "image": Field(bytes, True, max_len=MAX_IMAGE_BYTES, doc="an image file's bytes (JPEG, PNG, WebP)"),
        "name": Field(str, max_len=MAX_NAME_LEN, doc="requested avatar id; default: assigned"),
        "render": Field(str, choices=("none", "warp", "gan"), doc="publish rendered frames on video.<avatar> (warp or the trained generator); default none"),
        "video_size": Field(int, lo=64, hi=1024, doc="longest side of the video frames (px); default 512"),
    },
    "speak": {
        "avatar": _avatar(),
        "audio": Field(bytes, max_len=MAX_AUDIO_BYTES, doc="a whole clip as a file's bytes (WAV, FLAC, OGG)"),
        "pcm": Field(bytes, max_len=MAX_PCM_BYTES, doc="a chunk of float32 little-endian mono samples"),
        "rate": Field(int, choices=RATES, doc="sample rate of pcm (Hz); required with pcm"),
        "final": Field(bool, doc="with pcm: this is the utterance's last chunk"),
        "text": Field(str, max_len=MAX_TEXT_LEN, doc="the transcript, optionally with [emotion] tags"),
        "emotion": Field(str, max_len=32, doc="LABEL[:INTENSITY] for this utterance"),
    },
    "listen": {
        "avatar": _avatar(),
        "pcm": Field(bytes, True, max_len=MAX_PCM_BYTES, doc="the user's speech, float32 LE mono"),
        "rate": Field(int, True, choices=RATES),
        "final": Field(bool),
    },
    "set_emotion": {"avatar": _avatar(), "emotion": Field(str, True, max_len=32, doc="LABEL[:INTENSITY]")},
    "stop": {"avatar": _avatar(), "remove": Field(bool, doc="also forget the avatar")},
    "stats": {},
}

# Replies: daemon -> client. Validated on encode too, so a daemon bug cannot put a malformed
# message on the wire.
REPLIES: dict[str, dict[str, Field]] = {
    "welcome": {
        "protocol": Field(int, True, doc="the version this connection will use"),
        "server": Field(str, True, max_len=128),
        "schema": Field(dict, True, doc="blendshape_names, landmarks, head_pose, fps, topics"),
    },
    "pong": {"t_ns": Field(int, True, doc="daemon clock"), "client_t_ns": Field(int, True)},
    "avatar_created": {
        "avatar": _avatar(),
        "image_size": Field(list, True, doc="[width, height]"),
        "video_size": Field(list, doc="[width, height] of the video frames, when render is on"),
    },
    "ok": {"avatar": _avatar(False), "utterance": Field(int), "frames": Field(int), "duration_s": Field(float)},
    "stats": {"stats": Field(dict, True)},
    "error": {
        "code": Field(str, True, max_len=64),
        "message": Field(str, True, max_len=2000),
    },
}

ERROR_CODES = {
    "malformed": "the frame is not a msgpack map",
    "too_large": "the message exceeds the size limit",
    "unknown_type": "no such request type",
    "missing_field": "a required field is absent",
    "unknown_field": "a field this request does not have",
    "bad_field": "a field has the wrong type or is out of range",
    "unsupported_protocol": "no protocol version in common",
    "hello_first": "send hello before other requests",
    "unknown_avatar": "no avatar with that id",
    "bad_input": "the image, audio or text cannot be used (the message says why)",
    "busy": "too many requests in flight; retry later",
    "internal": "the daemon failed; it keeps serving",
}
