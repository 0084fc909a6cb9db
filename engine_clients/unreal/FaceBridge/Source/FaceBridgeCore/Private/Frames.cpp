#include "FaceBridgeCore/Frames.h"

#include <cmath>
#include <cstring>

#include "FaceBridgeCore/Codec.h"
#include "MsgpackImpl.h"

namespace facebridge {

namespace {

bool fail(std::string* error, const std::string& why) {
    if (error) *error = why;
    return false;
}

bool hostIsLittle() {
    const uint16_t probe = 1;
    return *reinterpret_cast<const uint8_t*>(&probe) == 1;
}

void copyFloats(const void* src, size_t count, float* dst) {
    if (hostIsLittle()) {
        std::memcpy(dst, src, count * 4);
        return;
    }
    const uint8_t* p = static_cast<const uint8_t*>(src);
    for (size_t i = 0; i < count; ++i) {
        const uint32_t b = uint32_t(p[4 * i]) | uint32_t(p[4 * i + 1]) << 8 | uint32_t(p[4 * i + 2]) << 16 |
                           uint32_t(p[4 * i + 3]) << 24;
        std::memcpy(dst + i, &b, 4);
    }
}

// "<kind>.<avatar>" with a non-empty avatar (the daemon never publishes an empty one).
bool splitTopic(const Part& p, const char* kind, std::string& avatar) {
    const size_t k = std::strlen(kind);
    const char* s = static_cast<const char*>(p.data);
    if (!s || p.size < k + 2 || std::memcmp(s, kind, k) != 0 || s[k] != '.') return false;
    avatar.assign(s + k + 1, p.size - k - 1);
    return true;
}

bool asInt64(const msgpack::object& o, int64_t& out) {
    if (o.type == msgpack::type::POSITIVE_INTEGER) {
        if (o.via.u64 > static_cast<uint64_t>(INT64_MAX)) return false;
        out = static_cast<int64_t>(o.via.u64);
        return true;
    }
    if (o.type == msgpack::type::NEGATIVE_INTEGER) {
        out = o.via.i64;
        return true;
    }
    return false;
}

bool asNumber(const msgpack::object& o, double& out) {
    if (o.type == msgpack::type::FLOAT64 || o.type == msgpack::type::FLOAT32) out = o.via.f64;
    else if (o.type == msgpack::type::POSITIVE_INTEGER) out = static_cast<double>(o.via.u64);
    else if (o.type == msgpack::type::NEGATIVE_INTEGER) out = static_cast<double>(o.via.i64);
    else return false;
    return std::isfinite(out);
}

bool asStr(const msgpack::object& o, std::string& out) {
    if (o.type != msgpack::type::STR) return false;
    out.assign(o.via.str.ptr, o.via.str.size);
    return true;
}

#define KEY(k, lit) detail::keyIs(k, lit, sizeof(lit) - 1)

// header.events (listening frames): a list of at most kMaxEvents maps {type: str, t, duration_s,
// strength: numbers}. Like bridge/protocol/codec.py: nil is no field, a missing number is 0,
// other keys in an event are ignored (new optional fields); anything else is malformed.
bool parseEvents(const msgpack::object& v, std::optional<std::vector<Event>>& out) {
    if (v.type == msgpack::type::NIL) {
        out.reset();
        return true;
    }
    if (v.type != msgpack::type::ARRAY || v.via.array.size > kMaxEvents) return false;
    std::vector<Event> events(v.via.array.size);
    for (uint32_t i = 0; i < v.via.array.size; ++i) {
        const msgpack::object& e = v.via.array.ptr[i];
        if (e.type != msgpack::type::MAP) return false;
        bool haveType = false;
        for (uint32_t j = 0; j < e.via.map.size; ++j) {
            const msgpack::object& k = e.via.map.ptr[j].key;
            const msgpack::object& x = e.via.map.ptr[j].val;
            if (k.type != msgpack::type::STR) return false;
            bool ok = true;
            if (KEY(k, "type")) { ok = asStr(x, events[i].type); haveType = ok; }
            else if (KEY(k, "t")) ok = asNumber(x, events[i].t);
            else if (KEY(k, "duration_s")) ok = asNumber(x, events[i].durationS);
            else if (KEY(k, "strength")) ok = asNumber(x, events[i].strength);
            if (!ok) return false;
        }
        if (!haveType) return false;
    }
    out = std::move(events);
    return true;
}

// The decoders run on the network thread; their zone is reused from message to message.
msgpack::zone& scratchZone() {
    thread_local msgpack::zone z;
    z.clear();
    return z;
}

}  // namespace

bool decodeMotionFrame(const Part* parts, size_t count, MotionFrame& out, std::string* error) {
    if (count < 4 || count > 5)
        return fail(error, "a frame has a topic, a header and 2-3 blobs; got " + std::to_string(count) + " parts");
    std::string avatar;
    if (!splitTopic(parts[0], "anim", avatar)) return fail(error, "topic must be 'anim.<avatar>'");
    msgpack::zone& z = scratchZone();
    msgpack::object h;
    if (!detail::unpackOne(z, static_cast<const char*>(parts[1].data), parts[1].size, kMaxHeaderBytes, true, h, error))
        return false;
    if (h.type != msgpack::type::MAP) return fail(error, "frame header is not a map");

    enum : unsigned { kSeq = 1, kPts = 2, kTns = 4, kMode = 8, kUtt = 16, kEmo = 32, kBlobs = 64 };
    unsigned seen = 0;
    const msgpack::object* blobs = nullptr;
    out.final = false;
    out.events.reset();
    for (uint32_t i = 0; i < h.via.map.size; ++i) {
        const msgpack::object& k = h.via.map.ptr[i].key;
        const msgpack::object& v = h.via.map.ptr[i].val;
        if (k.type != msgpack::type::STR) return fail(error, "frame header key is not a string");
        bool ok = true;
        if (KEY(k, "seq")) { ok = asInt64(v, out.seq); seen |= kSeq; }
        else if (KEY(k, "pts")) { ok = asNumber(v, out.pts); seen |= kPts; }
        else if (KEY(k, "t_ns")) { ok = asInt64(v, out.tNs); seen |= kTns; }
        else if (KEY(k, "mode")) { ok = asStr(v, out.mode); seen |= kMode; }
        else if (KEY(k, "utterance")) { ok = asInt64(v, out.utterance); seen |= kUtt; }
        else if (KEY(k, "emotion")) { ok = asStr(v, out.emotion); seen |= kEmo; }
        else if (KEY(k, "final")) {
            if (v.type == msgpack::type::BOOLEAN) out.final = v.via.boolean;
            else ok = v.type == msgpack::type::NIL;
        } else if (KEY(k, "blobs")) { blobs = &v; seen |= kBlobs; }
        else if (KEY(k, "events")) {
            if (!parseEvents(v, out.events))
                return fail(error, "frame header field 'events' is not a list of at most 64 {type, t, duration_s, strength} maps");
        }
        // Other keys: new optional fields (protocol.md "Versioning"), ignored.
        if (!ok) return fail(error, "frame header field '" + std::string(k.via.str.ptr, k.via.str.size) + "' has a bad type");
    }
    if (seen != (kSeq | kPts | kTns | kMode | kUtt | kEmo | kBlobs))
        return fail(error, "frame header is missing a field (seq, pts, t_ns, mode, utterance, emotion, blobs)");
    if (blobs->type != msgpack::type::ARRAY || blobs->via.array.size != count - 2)
        return fail(error, "header.blobs does not match the " + std::to_string(count - 2) + " blobs");

    bool haveB = false, haveH = false, haveL = false;
    for (uint32_t i = 0; i < blobs->via.array.size; ++i) {
        const msgpack::object& name = blobs->via.array.ptr[i];
        const Part& p = parts[2 + i];
        if (name.type != msgpack::type::STR) return fail(error, "header.blobs holds a non-string");
        if (KEY(name, "blendshapes") && !haveB) {
            if (p.size != 4u * kBlendshapes || !p.data)
                return fail(error, "blob blendshapes has " + std::to_string(p.size) + " bytes, expected 208");
            copyFloats(p.data, kBlendshapes, out.blendshapes.data());
            haveB = true;
        } else if (KEY(name, "head_pose") && !haveH) {
            if (p.size != 4u * kHeadPose || !p.data)
                return fail(error, "blob head_pose has " + std::to_string(p.size) + " bytes, expected 24");
            copyFloats(p.data, kHeadPose, out.headPose.data());
            haveH = true;
        } else if (KEY(name, "landmarks") && !haveL) {
            if (p.size != 4u * kLandmarks * 3 || !p.data)
                return fail(error, "blob landmarks has " + std::to_string(p.size) + " bytes, expected 5736");
            out.landmarks.resize(size_t(kLandmarks) * 3);
            copyFloats(p.data, size_t(kLandmarks) * 3, out.landmarks.data());
            haveL = true;
        } else {
            return fail(error, "header.blobs names an unknown or repeated blob '" +
                                   std::string(name.via.str.ptr, name.via.str.size) + "'");
        }
    }
    if (!haveB || !haveH) return fail(error, "a frame needs the blendshapes and head_pose blobs");
    out.hasLandmarks = haveL;
    if (!haveL) out.landmarks.clear();
    out.avatar = std::move(avatar);
    return true;
}

bool decodeVideoFrame(const Part* parts, size_t count, VideoFrame& out, std::string* error) {
    if (count != 3)
        return fail(error, "a video frame has a topic, a header and 1 blob; got " + std::to_string(count) + " parts");
    std::string avatar;
    if (!splitTopic(parts[0], "video", avatar)) return fail(error, "topic must be 'video.<avatar>'");
    msgpack::zone& z = scratchZone();
    msgpack::object h;
    if (!detail::unpackOne(z, static_cast<const char*>(parts[1].data), parts[1].size, kMaxHeaderBytes, true, h, error))
        return false;
    if (h.type != msgpack::type::MAP) return fail(error, "video header is not a map");
    enum : unsigned { kSeq = 1, kPts = 2, kTns = 4, kUtt = 8, kW = 16, kH = 32, kFmt = 64 };
    unsigned seen = 0;
    int64_t w = 0, ht = 0;
    out.final = false;
    for (uint32_t i = 0; i < h.via.map.size; ++i) {
        const msgpack::object& k = h.via.map.ptr[i].key;
        const msgpack::object& v = h.via.map.ptr[i].val;
        if (k.type != msgpack::type::STR) return fail(error, "video header key is not a string");
        bool ok = true;
        if (KEY(k, "seq")) { ok = asInt64(v, out.seq); seen |= kSeq; }
        else if (KEY(k, "pts")) { ok = asNumber(v, out.pts); seen |= kPts; }
        else if (KEY(k, "t_ns")) { ok = asInt64(v, out.tNs); seen |= kTns; }
        else if (KEY(k, "utterance")) { ok = asInt64(v, out.utterance); seen |= kUtt; }
        else if (KEY(k, "width")) { ok = asInt64(v, w); seen |= kW; }
        else if (KEY(k, "height")) { ok = asInt64(v, ht); seen |= kH; }
        else if (KEY(k, "format")) { ok = asStr(v, out.format); seen |= kFmt; }
        else if (KEY(k, "final")) {
            if (v.type == msgpack::type::BOOLEAN) out.final = v.via.boolean;
            else ok = v.type == msgpack::type::NIL;
        }
        if (!ok) return fail(error, "video header field '" + std::string(k.via.str.ptr, k.via.str.size) + "' has a bad type");
    }
    if (seen != (kSeq | kPts | kTns | kUtt | kW | kH | kFmt))
        return fail(error, "video header is missing a field (seq, pts, t_ns, utterance, width, height, format)");
    if (out.format != "rgb24") return fail(error, "video format '" + out.format + "' is not rgb24");
    if (w <= 0 || ht <= 0 || w > kMaxVideoSide || ht > kMaxVideoSide)
        return fail(error, "video size " + std::to_string(w) + "x" + std::to_string(ht) + " is out of range");
    const size_t need = size_t(w) * size_t(ht) * 3;
    if (parts[2].size != need || !parts[2].data)
        return fail(error, std::to_string(parts[2].size) + " bytes of pixels for " + std::to_string(w) + "x" +
                               std::to_string(ht) + " rgb24");
    out.width = static_cast<int>(w);
    out.height = static_cast<int>(ht);
    const uint8_t* px = static_cast<const uint8_t*>(parts[2].data);
    out.pixels.assign(px, px + need);
    out.avatar = std::move(avatar);
    return true;
}

void rgb24ToBgra8(const uint8_t* rgb, int width, int height, uint8_t* bgra, bool flipRows) {
    for (int y = 0; y < height; ++y) {
        const uint8_t* s = rgb + size_t(y) * size_t(width) * 3;
        uint8_t* d = bgra + size_t(flipRows ? height - 1 - y : y) * size_t(width) * 4;
        for (int x = 0; x < width; ++x, s += 3, d += 4) {
            d[0] = s[2];
            d[1] = s[1];
            d[2] = s[0];
            d[3] = 255;
        }
    }
}

}  // namespace facebridge
