#include "FaceBridgeCore/Codec.h"

#include <cstring>

#include "MsgpackImpl.h"

namespace facebridge {

namespace {

struct StringStream {
    std::string* out;
    void write(const char* p, size_t n) { out->append(p, n); }
};

void pack(msgpack::packer<StringStream>& pk, StringStream& ss, const Value& v) {
    switch (v.type()) {
        case Value::Type::Nil: pk.pack_nil(); break;
        case Value::Type::Bool: v.asBool() ? pk.pack_true() : pk.pack_false(); break;
        case Value::Type::Int: {
            const int64_t i = v.asInt();
            // Python: non-negative -> fixint/uint8/16/32/64, negative -> fixint/int8/16/32/64;
            // msgpack-cxx's pack_int64 picks the same smallest form.
            if (i >= 0) pk.pack_uint64(static_cast<uint64_t>(i));
            else pk.pack_int64(i);
            break;
        }
        case Value::Type::UInt: pk.pack_uint64(v.asUInt()); break;
        case Value::Type::Float: {
            // Always float64 (0xcb), as Python's packb. (msgpack-cxx 4.x's pack_double writes
            // integral doubles as integers: 1.0 -> 0x01, which Python never does.)
            const double d = v.asDouble();
            uint64_t bits;
            std::memcpy(&bits, &d, 8);
            char buf[9];
            buf[0] = static_cast<char>(0xcb);
            for (int k = 0; k < 8; ++k) buf[1 + k] = static_cast<char>((bits >> (56 - 8 * k)) & 0xff);
            ss.write(buf, 9);
            break;
        }
        case Value::Type::Str: {
            const std::string& s = v.asString();
            pk.pack_str(static_cast<uint32_t>(s.size()));  // fixstr/str8/16/32 (use_bin_type=True)
            pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
            break;
        }
        case Value::Type::Bin: {
            const std::string& s = v.asString();
            pk.pack_bin(static_cast<uint32_t>(s.size()));
            pk.pack_bin_body(s.data(), static_cast<uint32_t>(s.size()));
            break;
        }
        case Value::Type::Array:
            pk.pack_array(static_cast<uint32_t>(v.items().size()));
            for (const auto& x : v.items()) pack(pk, ss, x);
            break;
        case Value::Type::Map:
            pk.pack_map(static_cast<uint32_t>(v.entries().size()));
            for (const auto& kv : v.entries()) {
                pk.pack_str(static_cast<uint32_t>(kv.first.size()));
                pk.pack_str_body(kv.first.data(), static_cast<uint32_t>(kv.first.size()));
                pack(pk, ss, kv.second);
            }
            break;
    }
}

template <typename T>
Value opt(const std::optional<T>& o);
template <>
Value opt(const std::optional<std::string>& o) { return o ? Value::string(*o) : Value(); }
template <>
Value opt(const std::optional<bool>& o) { return o ? Value::boolean(*o) : Value(); }
template <>
Value opt(const std::optional<int>& o) { return o ? Value::integer(*o) : Value(); }

}  // namespace

std::string encodeValue(const Value& v) {
    std::string out;
    StringStream ss{&out};
    msgpack::packer<StringStream> pk(ss);
    pack(pk, ss, v);
    return out;
}

std::string encodeRequest(const std::string& type, const RequestId& id, const std::vector<Field>& fields) {
    Value m = Value::map();
    m.add("type", Value::string(type));
    m.add("id", id.toValue());
    for (const auto& f : fields)
        if (!f.second.isNil()) m.add(f.first, f.second);
    return encodeValue(m);
}

std::string pcmBytes(const float* pcm, size_t samples) {
    std::string out(samples * 4, '\0');
    if (samples == 0) return out;
    const uint16_t probe = 1;
    const bool little = *reinterpret_cast<const uint8_t*>(&probe) == 1;
    if (little) {
        std::memcpy(&out[0], pcm, samples * 4);
    } else {
        for (size_t i = 0; i < samples; ++i) {
            uint32_t b;
            std::memcpy(&b, pcm + i, 4);
            for (int k = 0; k < 4; ++k) out[4 * i + k] = static_cast<char>((b >> (8 * k)) & 0xff);
        }
    }
    return out;
}

namespace request {

std::string hello(const RequestId& id, int protocol, const std::optional<std::string>& client) {
    return encodeRequest("hello", id, {{"protocol", Value::integer(protocol)}, {"client", opt(client)}});
}

std::string ping(const RequestId& id, int64_t tNs) {
    return encodeRequest("ping", id, {{"t_ns", Value::integer(tNs)}});
}

std::string createAvatar(const RequestId& id, const std::string& image, const std::optional<std::string>& name,
                         const std::optional<std::string>& render, std::optional<int> videoSize) {
    return encodeRequest("create_avatar", id, {{"image", Value::binary(image)}, {"name", opt(name)},
                                               {"render", opt(render)}, {"video_size", opt(videoSize)}});
}

std::string speakClip(const RequestId& id, const std::string& avatar, const std::string& audioFile,
                      const std::optional<std::string>& text, const std::optional<std::string>& emotion) {
    return encodeRequest("speak", id, {{"avatar", Value::string(avatar)}, {"audio", Value::binary(audioFile)},
                                       {"text", opt(text)}, {"emotion", opt(emotion)}});
}

std::string speakChunk(const RequestId& id, const std::string& avatar, const float* pcm, size_t samples, int rate,
                       std::optional<bool> final, const std::optional<std::string>& text,
                       const std::optional<std::string>& emotion) {
    return encodeRequest("speak", id, {{"avatar", Value::string(avatar)}, {"pcm", Value::binary(pcmBytes(pcm, samples))},
                                       {"rate", Value::integer(rate)}, {"final", opt(final)},
                                       {"text", opt(text)}, {"emotion", opt(emotion)}});
}

std::string listen(const RequestId& id, const std::string& avatar, const float* pcm, size_t samples, int rate,
                   std::optional<bool> final) {
    return encodeRequest("listen", id, {{"avatar", Value::string(avatar)}, {"pcm", Value::binary(pcmBytes(pcm, samples))},
                                        {"rate", Value::integer(rate)}, {"final", opt(final)}});
}

std::string setEmotion(const RequestId& id, const std::string& avatar, const std::string& emotion) {
    return encodeRequest("set_emotion", id, {{"avatar", Value::string(avatar)}, {"emotion", Value::string(emotion)}});
}

std::string stop(const RequestId& id, const std::string& avatar, std::optional<bool> remove) {
    return encodeRequest("stop", id, {{"avatar", Value::string(avatar)}, {"remove", opt(remove)}});
}

std::string stats(const RequestId& id) { return encodeRequest("stats", id, {}); }

}  // namespace request

bool decodeMap(const void* data, size_t size, Value& out, std::string* error, size_t limit) {
    msgpack::zone z;
    msgpack::object o;
    if (!detail::unpackOne(z, static_cast<const char*>(data), size, limit, true, o, error)) return false;
    if (o.type != msgpack::type::MAP) {
        if (error) *error = "a message must be a msgpack map";
        return false;
    }
    return detail::toValue(o, out, error);
}

std::string Reply::errorCode() const {
    const Value* v = msg.find("code");
    return v ? v->asString() : std::string();
}

std::string Reply::errorMessage() const {
    const Value* v = msg.find("message");
    return v ? v->asString() : std::string();
}

bool parseReply(const void* data, size_t size, Reply& out, std::string* error) {
    Value m;
    if (!decodeMap(data, size, m, error)) return false;
    const Value* type = m.find("type");
    const Value* id = m.find("id");
    if (!type || !type->isStr()) {
        if (error) *error = "reply without a string `type`";
        return false;
    }
    if (!id || !(id->isStr() || (id->isInt() && id->asInt(-1) >= 0))) {
        if (error) *error = "reply without a usable `id`";
        return false;
    }
    out.type = type->asString();
    out.id = id->isStr() ? RequestId(id->asString()) : RequestId(id->asUInt());
    out.msg = std::move(m);
    return true;
}

Reply makeClientError(const RequestId& id, const std::string& code, const std::string& message) {
    Reply r;
    r.type = "error";
    r.id = id;
    r.msg = Value::map();
    r.msg.add("type", Value::string("error"));
    r.msg.add("id", id.toValue());
    r.msg.add("code", Value::string(code));
    r.msg.add("message", Value::string(message));
    return r;
}

bool parseWelcome(const Reply& reply, Welcome& out, std::string* error) {
    if (reply.type != "welcome") {
        if (error) *error = "expected welcome, got " + reply.type;
        return false;
    }
    const Value* protocol = reply.msg.find("protocol");
    const Value* schema = reply.msg.find("schema");
    if (!protocol || !protocol->isInt() || !schema || !schema->isMap()) {
        if (error) *error = "welcome without protocol or schema";
        return false;
    }
    Welcome w;
    w.protocol = static_cast<int>(protocol->asInt());
    if (const Value* s = reply.msg.find("server")) w.server = s->asString();
    w.schema = *schema;
    if (const Value* names = schema->find("blendshape_names")) {
        for (const auto& n : names->items())
            if (n.isStr()) w.blendshapeNames.push_back(n.asString());
    }
    if (const Value* fps = schema->find("fps"); fps && fps->isNumber() && fps->asDouble() > 0) w.fps = fps->asDouble();
    if (const Value* la = schema->find("lookahead_s"); la && la->isNumber() && la->asDouble() >= 0) w.lookaheadS = la->asDouble();
    if (const Value* lm = schema->find("landmarks"); lm && lm->isInt()) w.landmarks = static_cast<int>(lm->asInt());
    if (const Value* video = schema->find("video"); video && video->isMap()) {
        if (const Value* ep = video->find("endpoint")) w.videoEndpoint = ep->asString();
        if (const Value* fmt = video->find("format")) w.videoFormat = fmt->asString();
    }
    out = std::move(w);
    return true;
}

}  // namespace facebridge
