// Private: msgpack-cxx, header-only, without Boost and without the type adaptors (faster to
// compile). Only the core's .cpp files include it; the public headers stay free of it.
#pragma once

#ifndef MSGPACK_NO_BOOST
#define MSGPACK_NO_BOOST 1
#endif
#include <msgpack/object.hpp>
#include <msgpack/pack.hpp>
#include <msgpack/sbuffer.hpp>
#include <msgpack/unpack.hpp>
#include <msgpack/zone.hpp>

#include <cstring>
#include <string>

#include "FaceBridgeCore/Value.h"

namespace facebridge {
namespace detail {

// The protocol's bounds inside msgpack (bridge/protocol/codec.py _unpack): a 10-byte header
// must not announce a 4 GB array.
inline msgpack::unpack_limit boundedLimit(size_t bytes) {
    return msgpack::unpack_limit(/*array*/ 100000, /*map*/ 1000, /*str*/ bytes, /*bin*/ bytes, /*ext*/ 0, /*depth*/ 32);
}

inline bool referenceAll(msgpack::type::object_type, std::size_t, void*) { return true; }

// Unpack exactly one object filling [data, data+size) into zone z. Never throws.
inline bool unpackOne(msgpack::zone& z, const char* data, size_t size, size_t limit, bool reference,
                      msgpack::object& out, std::string* error) {
    if (size > limit) {
        if (error) *error = "message of " + std::to_string(size) + " bytes exceeds the limit of " + std::to_string(limit);
        return false;
    }
    if (size == 0) {
        if (error) *error = "empty message";
        return false;
    }
    try {
        size_t off = 0;
        bool referenced = false;
        out = msgpack::unpack(z, data, size, off, referenced, reference ? &referenceAll : nullptr, nullptr,
                              boundedLimit(limit));
        if (off != size) {
            if (error) *error = "extra bytes after the msgpack object";
            return false;
        }
        return true;
    } catch (const std::exception& e) {
        if (error) *error = std::string("not valid msgpack (") + e.what() + ")";
        return false;
    } catch (...) {
        if (error) *error = "not valid msgpack";
        return false;
    }
}

inline bool keyOf(const msgpack::object& k, std::string& out) {
    if (k.type != msgpack::type::STR) return false;
    out.assign(k.via.str.ptr, k.via.str.size);
    return true;
}

inline bool keyIs(const msgpack::object& k, const char* name, size_t len) {
    return k.type == msgpack::type::STR && k.via.str.size == len && std::memcmp(k.via.str.ptr, name, len) == 0;
}

// msgpack object -> Value (map keys must be strings, as the daemon's strict_map_key).
inline bool toValue(const msgpack::object& o, Value& v, std::string* error) {
    switch (o.type) {
        case msgpack::type::NIL: v = Value::nil(); return true;
        case msgpack::type::BOOLEAN: v = Value::boolean(o.via.boolean); return true;
        case msgpack::type::POSITIVE_INTEGER: v = Value::uinteger(o.via.u64); return true;
        case msgpack::type::NEGATIVE_INTEGER: v = Value::integer(o.via.i64); return true;
        case msgpack::type::FLOAT32:
        case msgpack::type::FLOAT64: v = Value::number(o.via.f64); return true;
        case msgpack::type::STR: v = Value::string(std::string(o.via.str.ptr, o.via.str.size)); return true;
        case msgpack::type::BIN: v = Value::binary(o.via.bin.ptr, o.via.bin.size); return true;
        case msgpack::type::ARRAY: {
            std::vector<Value> items(o.via.array.size);
            for (uint32_t i = 0; i < o.via.array.size; ++i)
                if (!toValue(o.via.array.ptr[i], items[i], error)) return false;
            v = Value::array(std::move(items));
            return true;
        }
        case msgpack::type::MAP: {
            std::vector<std::pair<std::string, Value>> items(o.via.map.size);
            for (uint32_t i = 0; i < o.via.map.size; ++i) {
                if (!keyOf(o.via.map.ptr[i].key, items[i].first)) {
                    if (error) *error = "a map key is not a string";
                    return false;
                }
                if (!toValue(o.via.map.ptr[i].val, items[i].second, error)) return false;
            }
            v = Value::map(std::move(items));
            return true;
        }
        default:
            if (error) *error = "ext types are not part of the protocol";
            return false;
    }
}

}  // namespace detail
}  // namespace facebridge
