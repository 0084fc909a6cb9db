#include "FaceBridgeCore/Value.h"

#include <cmath>
#include <cstdio>
#include <limits>

namespace facebridge {

Value Value::uinteger(uint64_t u) {
    Value v;
    if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        v.type_ = Type::Int;
        v.i_ = static_cast<int64_t>(u);
    } else {
        v.type_ = Type::UInt;
        v.u_ = u;
    }
    return v;
}

Value Value::binary(const void* data, size_t size) {
    return binary(std::string(static_cast<const char*>(data), size));
}

int64_t Value::asInt(int64_t def) const {
    switch (type_) {
        case Type::Int: return i_;
        case Type::UInt: return def;  // does not fit
        case Type::Float:
            if (std::isfinite(f_) && f_ == std::floor(f_) && std::fabs(f_) < 9.2e18) return static_cast<int64_t>(f_);
            return def;
        default: return def;
    }
}

uint64_t Value::asUInt(uint64_t def) const {
    if (type_ == Type::UInt) return u_;
    if (type_ == Type::Int && i_ >= 0) return static_cast<uint64_t>(i_);
    return def;
}

double Value::asDouble(double def) const {
    switch (type_) {
        case Type::Int: return static_cast<double>(i_);
        case Type::UInt: return static_cast<double>(u_);
        case Type::Float: return f_;
        default: return def;
    }
}

const std::string& Value::asString() const {
    static const std::string empty;
    return (type_ == Type::Str || type_ == Type::Bin) ? s_ : empty;
}

const Value* Value::find(const std::string& key) const {
    if (type_ != Type::Map) return nullptr;
    for (const auto& kv : obj_)
        if (kv.first == key) return &kv.second;
    return nullptr;
}

Value& Value::add(std::string key, Value v) {
    if (type_ != Type::Map) {
        *this = Value::map();
    }
    obj_.emplace_back(std::move(key), std::move(v));
    return obj_.back().second;
}

static void quote(std::string& out, const std::string& s) {
    out += '"';
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') { out += '\\'; out += static_cast<char>(c); }
        else if (c < 0x20) { char b[8]; std::snprintf(b, sizeof b, "\\u%04x", c); out += b; }
        else out += static_cast<char>(c);
    }
    out += '"';
}

static void render(const Value& v, std::string& out, size_t maxLen) {
    if (out.size() > maxLen) return;
    char b[64];
    switch (v.type()) {
        case Value::Type::Nil: out += "null"; break;
        case Value::Type::Bool: out += v.asBool() ? "true" : "false"; break;
        case Value::Type::Int: std::snprintf(b, sizeof b, "%lld", static_cast<long long>(v.asInt())); out += b; break;
        case Value::Type::UInt: std::snprintf(b, sizeof b, "%llu", static_cast<unsigned long long>(v.asUInt())); out += b; break;
        case Value::Type::Float: std::snprintf(b, sizeof b, "%.17g", v.asDouble()); out += b; break;
        case Value::Type::Str: quote(out, v.asString()); break;
        case Value::Type::Bin: {
            out += "{\"$bytes\": \"";
            static const char* hex = "0123456789abcdef";
            for (unsigned char c : v.asString()) {
                out += hex[c >> 4];
                out += hex[c & 15];
                if (out.size() > maxLen) break;
            }
            out += "\"}";
            break;
        }
        case Value::Type::Array: {
            out += '[';
            bool first = true;
            for (const auto& x : v.items()) {
                if (!first) out += ", ";
                first = false;
                render(x, out, maxLen);
                if (out.size() > maxLen) break;
            }
            out += ']';
            break;
        }
        case Value::Type::Map: {
            out += '{';
            bool first = true;
            for (const auto& kv : v.entries()) {
                if (!first) out += ", ";
                first = false;
                quote(out, kv.first);
                out += ": ";
                render(kv.second, out, maxLen);
                if (out.size() > maxLen) break;
            }
            out += '}';
            break;
        }
    }
}

std::string Value::debugString(size_t maxLen) const {
    std::string out;
    render(*this, out, maxLen);
    if (out.size() > maxLen) {
        out.resize(maxLen);
        out += "...";
    }
    return out;
}

}  // namespace facebridge
