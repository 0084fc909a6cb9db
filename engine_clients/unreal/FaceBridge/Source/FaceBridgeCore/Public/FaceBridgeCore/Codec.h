// facebridge Unreal client core: control messages (docs/protocol.md "Control messages").
//
// Requests are encoded exactly as the Python reference encodes them
// (msgpack.packb(use_bin_type=True) of {"type", "id", fields in the given order}): the
// smallest int/str/bin/map header for each value, floats always as float64. The golden files
// in tests/golden/ pin this byte for byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "FaceBridgeCore/Value.h"

namespace facebridge {

constexpr int kProtocolVersion = 1;            // the highest version this client speaks
constexpr size_t kMaxControlBytes = 80u << 20;  // a control frame (the daemon checks 80 MiB)
constexpr size_t kMaxHeaderBytes = 64u << 10;   // a data/video frame's header map

// A request id: an integer 0..2^63-1 or a string of 1..64 characters.
struct RequestId {
    bool isString = false;
    uint64_t num = 0;
    std::string str;
    RequestId() = default;
    RequestId(uint64_t n) : num(n) {}  // NOLINT: implicit on purpose
    RequestId(const char* s) : isString(true), str(s) {}  // NOLINT
    RequestId(std::string s) : isString(true), str(std::move(s)) {}  // NOLINT
    Value toValue() const { return isString ? Value::string(str) : Value::integer(static_cast<int64_t>(num)); }
    bool operator==(const RequestId& o) const { return isString == o.isString && num == o.num && str == o.str; }
};

using Field = std::pair<std::string, Value>;

// Any request: {"type": type, "id": id, fields...} (fields whose value is Nil are left out,
// as Python leaves out None).
std::string encodeRequest(const std::string& type, const RequestId& id, const std::vector<Field>& fields);
// Any value as msgpack (Python's packb(use_bin_type=True) encoding).
std::string encodeValue(const Value& v);

// The requests of docs/protocol.md, fields in the reference client's order.
namespace request {
std::string hello(const RequestId& id, int protocol, const std::optional<std::string>& client);
std::string ping(const RequestId& id, int64_t tNs);
std::string createAvatar(const RequestId& id, const std::string& image, const std::optional<std::string>& name = {},
                         const std::optional<std::string>& render = {}, std::optional<int> videoSize = {});
// A whole clip (a WAV/FLAC/OGG file's bytes).
std::string speakClip(const RequestId& id, const std::string& avatar, const std::string& audioFile,
                      const std::optional<std::string>& text = {}, const std::optional<std::string>& emotion = {});
// A chunk of float32 mono samples (little-endian on the wire whatever the host).
std::string speakChunk(const RequestId& id, const std::string& avatar, const float* pcm, size_t samples, int rate,
                       std::optional<bool> final, const std::optional<std::string>& text = {},
                       const std::optional<std::string>& emotion = {});
std::string listen(const RequestId& id, const std::string& avatar, const float* pcm, size_t samples, int rate,
                   std::optional<bool> final = {});
std::string setEmotion(const RequestId& id, const std::string& avatar, const std::string& emotion);
std::string stop(const RequestId& id, const std::string& avatar, std::optional<bool> remove = {});
std::string stats(const RequestId& id);
}  // namespace request

// float32 samples -> their little-endian bytes (what `pcm` carries).
std::string pcmBytes(const float* pcm, size_t samples);

// Decode one control frame (or any msgpack map) with the protocol's bounds: at most
// kMaxControlBytes, arrays of 100,000, maps of 1,000, nesting 32, no ext, string map keys.
// Never throws; false + *error on anything else.
bool decodeMap(const void* data, size_t size, Value& out, std::string* error, size_t limit = kMaxControlBytes);

// A reply: its type and id, and the whole map.
struct Reply {
    std::string type;  // welcome, pong, avatar_created, ok, stats, error; client-made errors too
    RequestId id;
    Value msg;
    bool isError() const { return type == "error"; }
    std::string errorCode() const;
    std::string errorMessage() const;
};
bool parseReply(const void* data, size_t size, Reply& out, std::string* error);
// A reply the client makes itself (timeout, disconnected, unsupported_protocol...).
Reply makeClientError(const RequestId& id, const std::string& code, const std::string& message);

// welcome.schema, the parts a client uses. New keys are allowed (and ignored).
struct Welcome {
    int protocol = 0;
    std::string server;
    std::vector<std::string> blendshapeNames;
    double fps = 30.0;
    double lookaheadS = 0.1;
    std::string videoEndpoint;
    std::string videoFormat;
    int landmarks = 478;
    Value schema;
};
bool parseWelcome(const Reply& reply, Welcome& out, std::string* error);

}  // namespace facebridge
