"""The wire protocol between the daemon and engine clients: one schema, one codec.

Control (ROUTER daemon <-> DEALER client): every request and reply is one frame holding one
msgpack map with `type` and `id`; replies echo the request's `id`. Data (PUB/SUB): multipart
[topic, header, blob...]. docs/protocol.md documents every message; this package is the
only place that encodes, decodes or validates them (server, Python client and tests alike).
"""

from bridge.protocol.codec import (MAX_MESSAGE_BYTES, Frame, ProtocolError, VideoFrame, decode_frame, decode_reply,
                                   decode_request, decode_video, encode_frame, encode_reply, encode_request,
                                   encode_video, error_reply)
from bridge.protocol.schema import ERROR_CODES, PROTOCOL_VERSION, REPLIES, REQUESTS, SUPPORTED_VERSIONS

__all__ = ["ERROR_CODES", "MAX_MESSAGE_BYTES", "PROTOCOL_VERSION", "REPLIES", "REQUESTS", "SUPPORTED_VERSIONS",
           "Frame", "ProtocolError", "VideoFrame", "decode_frame", "decode_reply", "decode_request", "decode_video",
           "encode_frame", "encode_reply", "encode_request", "encode_video", "error_reply"]
