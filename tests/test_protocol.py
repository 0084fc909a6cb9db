"""The wire protocol: golden bytes, round trips, and every class of bad message refused with
the right error code (never an unexpected exception)."""

import os

import msgpack
import numpy as np
import pytest
from conftest import ROOT

from bridge.protocol import (ERROR_CODES, REQUESTS, Frame, ProtocolError, decode_frame, decode_reply,
                             decode_request, encode_frame, encode_reply, encode_request, error_reply)
from bridge.protocol import golden

GOLDEN = os.path.join(ROOT, "tests", "golden")


def pack(msg) -> bytes:
    return msgpack.packb(msg, use_bin_type=True)


def refused(data, code):
    with pytest.raises(ProtocolError) as e:
        decode_request(data)
    assert e.value.code == code, (e.value.code, e.value.message)
    return e.value


@pytest.mark.parametrize("name", sorted(golden.examples()))
def test_golden_files_are_what_the_codec_writes(name):
    """The wire format does not drift: the committed bytes are exactly what we encode, and the
    JSON beside them is their decoded form (engine clients test their codecs on these)."""
    parts = golden.examples()[name]
    assert golden.read_parts(os.path.join(GOLDEN, name + ".msgpack"), len(parts) > 1) == parts
    import json

    assert json.load(open(os.path.join(GOLDEN, name + ".json"))) == json.loads(json.dumps(golden.decoded(parts)))
    if name == "frame_video":
        from bridge.protocol import decode_video

        assert decode_video(parts).pixels.shape == (2, 3, 3)
    elif name == "frame_performing":  # a camera-driven avatar's frame, with landmarks
        f = decode_frame(parts)
        assert f.avatar == "performer" and f.mode == "performing" and f.landmarks.shape == (478, 3)
    elif name == "frame_listening":  # a listening avatar's frame: the reactions starting in it
        f = decode_frame(parts)
        assert f.mode == "listening" and f.events == [{"type": "nod", "t": 2.2, "duration_s": 0.55, "strength": 0.6}]
    elif len(parts) > 1:
        f = decode_frame(parts)
        assert f.events is None  # no header field outside listening
        assert f.avatar == "a1" and f.seq == 7 and f.blendshapes.shape == (52,) and f.emotion == "joy"
    else:
        msg = msgpack.unpackb(parts[0], raw=False)
        (decode_request if msg["type"] in REQUESTS and name not in ("ok", "error", "pong") else decode_reply)(parts[0])


def test_request_and_frame_round_trips():
    pcm = np.zeros(320, "<f4").tobytes()
    msg = decode_request(encode_request("speak", "req-1", avatar="a", pcm=pcm, rate=16000, final=True))
    assert msg == {"type": "speak", "id": "req-1", "avatar": "a", "pcm": pcm, "rate": 16000, "final": True}
    lm = np.random.default_rng(0).random((478, 3)).astype(np.float32)
    f = Frame("a", "anim", 3, 0.1, 5, "speaking", 2, "neutral", np.ones(52, np.float32), np.zeros(6, np.float32), lm)
    g = decode_frame(encode_frame(f))
    assert np.array_equal(g.landmarks, lm) and g.utterance == 2 and g.pts == 0.1
    reply = decode_reply(error_reply(ProtocolError("bad_field", "x"), request_id="req-1"))
    assert reply == {"type": "error", "id": "req-1", "code": "bad_field", "message": "x"}


@pytest.mark.parametrize("data,code", [
    (b"", "malformed"),
    (b"\xc1", "malformed"),  # a byte msgpack never uses
    (pack([1, 2, 3]), "malformed"),
    (pack("hello"), "malformed"),
    (pack({"type": "hello", "protocol": 1}), "missing_field"),  # no id
    (pack({"type": "hello", "id": -1, "protocol": 1}), "bad_field"),
    (pack({"type": "hello", "id": True, "protocol": 1}), "bad_field"),  # bool is not an id
    (pack({"type": "hello", "id": "x" * 65, "protocol": 1}), "bad_field"),
    (pack({"type": "explode", "id": 1}), "unknown_type"),
    (pack({"type": 5, "id": 1}), "unknown_type"),
    (pack({"type": "hello", "id": 1}), "missing_field"),
    (pack({"type": "hello", "id": 1, "protocol": "1"}), "bad_field"),
    (pack({"type": "hello", "id": 1, "protocol": 0}), "bad_field"),
    (pack({"type": "hello", "id": 1, "protocol": 1, "emotoin": "joy"}), "unknown_field"),
    (pack({"type": "ping", "id": 1, "t_ns": 1.5}), "bad_field"),
    (pack({"type": "create_avatar", "id": 1, "image": b"x", "render": "raytrace"}), "bad_field"),
    (pack({"type": "create_avatar", "id": 1, "image": b"x", "render": "warp", "video_size": 8}), "bad_field"),
    (pack({"type": "speak", "id": 1, "avatar": "a"}), "bad_field"),  # neither audio nor pcm
    (pack({"type": "speak", "id": 1, "avatar": "a", "pcm": b"\0" * 8}), "missing_field"),  # no rate
    (pack({"type": "speak", "id": 1, "avatar": "a", "pcm": b"\0" * 7, "rate": 16000}), "bad_field"),
    (pack({"type": "speak", "id": 1, "avatar": "a", "pcm": b"\0" * 8, "rate": 12345}), "bad_field"),
    (pack({"type": "speak", "id": 1, "avatar": "a", "pcm": b"\0" * 8, "rate": 16000, "final": 1}), "bad_field"),
    (pack({"type": "speak", "id": 1, "avatar": "a", "pcm": b"\0" * (5 << 20), "rate": 16000}), "too_large"),
    (pack({"type": "create_avatar", "id": 1, "image": "not bytes"}), "bad_field"),
    (pack({1: 2}), "malformed"),  # non-string keys
])
def test_bad_requests_get_their_error_code(data, code):
    err = refused(data, code)
    assert err.message and code in ERROR_CODES


def test_hostile_sizes_are_refused_before_allocating():
    # A 5-byte map header announcing 2^32 entries, an array announcing 2^32 items, a frame
    # over the size limit, deep nesting: each refused cleanly.
    refused(b"\xdf\xff\xff\xff\xff", "malformed")
    refused(b"\xdd\xff\xff\xff\xff", "malformed")
    refused(b"\x80" + b"\0" * (90 << 20), "too_large")
    refused(b"\x91" * 100_000 + b"\x80", "malformed")


def test_fuzzed_messages_only_ever_raise_protocol_errors():
    """Mutations of every golden control message (bit flips, truncations, splices): decoding
    either succeeds (and then re-validates) or raises ProtocolError. Nothing else escapes."""
    rng = np.random.default_rng(1)
    seeds = [p[0] for p in golden.examples().values() if len(p) == 1]
    outcomes = {"ok": 0, "refused": 0}
    for i in range(3000):
        data = bytearray(seeds[i % len(seeds)])
        op = i % 3
        if op == 0 and data:
            for _ in range(rng.integers(1, 4)):
                data[rng.integers(len(data))] ^= 1 << int(rng.integers(8))
        elif op == 1:
            data = data[:rng.integers(len(data) + 1)]
        else:
            other = seeds[rng.integers(len(seeds))]
            data = data[:rng.integers(len(data) + 1)] + other[rng.integers(len(other) + 1):]
        try:
            decode_request(bytes(data))
            outcomes["ok"] += 1
        except ProtocolError as e:
            assert e.code in ERROR_CODES
            outcomes["refused"] += 1
    assert outcomes["refused"] > 1000 and outcomes["ok"] > 0, outcomes


def test_bad_data_frames_are_refused():
    good = golden.examples()["frame_anim"]
    for parts in ([good[0], good[1]], [b"\xff\xfe", *good[1:]], [good[0], good[1], good[2][:-4], good[3]],
                  [good[0], pack({"seq": 1, "blobs": ["blendshapes", "head_pose"]}), *good[2:]],
                  [good[0], pack({"blobs": ["nope", "head_pose"]}), *good[2:]]):
        with pytest.raises(ProtocolError):
            decode_frame(parts)


def test_bad_listening_events_are_refused():
    good = golden.examples()["frame_listening"]
    header = msgpack.unpackb(good[1], raw=False)
    for events in ("nod", [1, 2], [{"t": 1.0}], [{"type": "nod", "t": "soon"}], [{"type": "nod"}] * 65):
        with pytest.raises(ProtocolError):
            decode_frame([good[0], pack({**header, "events": events}), *good[2:]])


def test_replies_are_validated_when_encoded():
    """A daemon bug cannot put a malformed reply on the wire."""
    with pytest.raises(ProtocolError):
        encode_reply("welcome", 1, protocol=1)  # no server, no schema
    with pytest.raises(ProtocolError):
        encode_reply("pong", 1, t_ns="soon", client_t_ns=1)
    # An error for a request without a usable id still goes out, with id 0.
    assert decode_reply(error_reply(ProtocolError("malformed", "x")))["id"] == 0


def test_video_frames_round_trip_and_bad_ones_are_refused():
    from bridge.protocol import VideoFrame, decode_video, encode_video

    px = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    f = decode_video(encode_video(VideoFrame(avatar="a1", seq=2, pts=0.5, t_ns=9, utterance=3, pixels=px, final=True)))
    assert (f.avatar, f.seq, f.pts, f.utterance, f.final) == ("a1", 2, 0.5, 3, True)
    np.testing.assert_array_equal(f.pixels, px)
    topic, header, pixels = encode_video(VideoFrame(avatar="a1", seq=2, pts=0.5, t_ns=9, utterance=3, pixels=px))
    for parts in ([topic, header], [topic, header, pixels[:-1]], [b"anim.a1", header, pixels],
                  [topic, msgpack.packb({"seq": 1}), pixels],
                  [topic, msgpack.packb({**msgpack.unpackb(header), "width": 10 ** 6}), pixels]):
        with pytest.raises(ProtocolError):
            decode_video(parts)
