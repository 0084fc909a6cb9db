// facebridge Unreal client core: a decoded msgpack value (engine-free C++17).
//
// Control messages (requests, replies) are msgpack maps; Value is their decoded form. Maps
// keep their keys in wire order, because requests must be encoded with the same key order
// as the Python reference (`type`, `id`, then the fields), byte for byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace facebridge {

class Value {
public:
    enum class Type : uint8_t { Nil, Bool, Int, UInt, Float, Str, Bin, Array, Map };

    Value() = default;
    static Value nil() { return Value(); }
    static Value boolean(bool b) { Value v; v.type_ = Type::Bool; v.b_ = b; return v; }
    static Value integer(int64_t i) { Value v; v.type_ = Type::Int; v.i_ = i; return v; }
    // Integers above INT64_MAX only (msgpack uint64); smaller ones are Int.
    static Value uinteger(uint64_t u);
    static Value number(double f) { Value v; v.type_ = Type::Float; v.f_ = f; return v; }
    static Value string(std::string s) { Value v; v.type_ = Type::Str; v.s_ = std::move(s); return v; }
    static Value binary(std::string bytes) { Value v; v.type_ = Type::Bin; v.s_ = std::move(bytes); return v; }
    static Value binary(const void* data, size_t size);
    static Value array(std::vector<Value> items = {}) { Value v; v.type_ = Type::Array; v.arr_ = std::move(items); return v; }
    static Value map(std::vector<std::pair<std::string, Value>> items = {}) {
        Value v; v.type_ = Type::Map; v.obj_ = std::move(items); return v;
    }

    Type type() const { return type_; }
    bool isNil() const { return type_ == Type::Nil; }
    bool isBool() const { return type_ == Type::Bool; }
    bool isInt() const { return type_ == Type::Int || type_ == Type::UInt; }
    bool isNumber() const { return isInt() || type_ == Type::Float; }
    bool isStr() const { return type_ == Type::Str; }
    bool isBin() const { return type_ == Type::Bin; }
    bool isArray() const { return type_ == Type::Array; }
    bool isMap() const { return type_ == Type::Map; }

    bool asBool(bool def = false) const { return type_ == Type::Bool ? b_ : def; }
    int64_t asInt(int64_t def = 0) const;
    uint64_t asUInt(uint64_t def = 0) const;
    double asDouble(double def = 0.0) const;
    // Str and Bin: the bytes; anything else: "".
    const std::string& asString() const;
    const std::vector<Value>& items() const { return arr_; }
    const std::vector<std::pair<std::string, Value>>& entries() const { return obj_; }
    std::vector<Value>& items() { return arr_; }
    std::vector<std::pair<std::string, Value>>& entries() { return obj_; }

    // Map lookup (nullptr when absent or not a map).
    const Value* find(const std::string& key) const;
    // Map append (keeps order; the caller keeps keys unique).
    Value& add(std::string key, Value v);

    // A one-line JSON-ish rendering for logs and test messages (bin as {"$bytes": hex}).
    std::string debugString(size_t maxLen = 400) const;

private:
    Type type_ = Type::Nil;
    bool b_ = false;
    int64_t i_ = 0;
    uint64_t u_ = 0;
    double f_ = 0.0;
    std::string s_;
    std::vector<Value> arr_;
    std::vector<std::pair<std::string, Value>> obj_;
};

}  // namespace facebridge
