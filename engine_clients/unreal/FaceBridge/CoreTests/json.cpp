#include "json.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>

using facebridge::Value;

namespace fbtest {

namespace {

struct Reader {
    const std::string& s;
    size_t i = 0;
    std::string err;

    void ws() {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) ++i;
    }
    bool fail(const std::string& e) {
        if (err.empty()) err = e + " at offset " + std::to_string(i);
        return false;
    }
    bool str(std::string& out) {
        if (s[i] != '"') return fail("expected a string");
        ++i;
        while (i < s.size() && s[i] != '"') {
            if (s[i] == '\\') {
                ++i;
                if (i >= s.size()) return fail("bad escape");
                char c = s[i];
                if (c == 'n') out += '\n';
                else if (c == 't') out += '\t';
                else if (c == 'r') out += '\r';
                else if (c == 'b') out += '\b';
                else if (c == 'f') out += '\f';
                else if (c == 'u') {
                    if (i + 4 >= s.size()) return fail("bad \\u");
                    unsigned cp = static_cast<unsigned>(std::strtoul(s.substr(i + 1, 4).c_str(), nullptr, 16));
                    i += 4;
                    if (cp < 0x80) out += static_cast<char>(cp);
                    else if (cp < 0x800) { out += static_cast<char>(0xc0 | (cp >> 6)); out += static_cast<char>(0x80 | (cp & 0x3f)); }
                    else { out += static_cast<char>(0xe0 | (cp >> 12)); out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f)); out += static_cast<char>(0x80 | (cp & 0x3f)); }
                } else out += c;
                ++i;
            } else {
                out += s[i++];
            }
        }
        if (i >= s.size()) return fail("unterminated string");
        ++i;
        return true;
    }
    bool value(Value& v) {
        ws();
        if (i >= s.size()) return fail("unexpected end");
        char c = s[i];
        if (c == '{') {
            ++i;
            v = Value::map();
            ws();
            if (s[i] == '}') { ++i; return true; }
            while (true) {
                ws();
                std::string k;
                if (!str(k)) return false;
                ws();
                if (s[i] != ':') return fail("expected ':'");
                ++i;
                Value x;
                if (!value(x)) return false;
                v.add(k, std::move(x));
                ws();
                if (s[i] == ',') { ++i; continue; }
                if (s[i] == '}') { ++i; return true; }
                return fail("expected ',' or '}'");
            }
        }
        if (c == '[') {
            ++i;
            v = Value::array();
            ws();
            if (s[i] == ']') { ++i; return true; }
            while (true) {
                Value x;
                if (!value(x)) return false;
                v.items().push_back(std::move(x));
                ws();
                if (s[i] == ',') { ++i; continue; }
                if (s[i] == ']') { ++i; return true; }
                return fail("expected ',' or ']'");
            }
        }
        if (c == '"') {
            std::string x;
            if (!str(x)) return false;
            v = Value::string(std::move(x));
            return true;
        }
        if (s.compare(i, 4, "true") == 0) { i += 4; v = Value::boolean(true); return true; }
        if (s.compare(i, 5, "false") == 0) { i += 5; v = Value::boolean(false); return true; }
        if (s.compare(i, 4, "null") == 0) { i += 4; v = Value::nil(); return true; }
        size_t j = i;
        bool isFloat = false;
        if (s[j] == '-') ++j;
        while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.' || s[j] == 'e' ||
                                s[j] == 'E' || s[j] == '+' || s[j] == '-')) {
            if (s[j] == '.' || s[j] == 'e' || s[j] == 'E') isFloat = true;
            ++j;
        }
        if (j == i) return fail("unexpected character");
        const std::string num = s.substr(i, j - i);
        i = j;
        if (isFloat) v = Value::number(std::strtod(num.c_str(), nullptr));
        else if (num[0] == '-') v = Value::integer(std::strtoll(num.c_str(), nullptr, 10));
        else v = Value::uinteger(std::strtoull(num.c_str(), nullptr, 10));
        return true;
    }
};

std::string hex(const std::string& b) {
    static const char* h = "0123456789abcdef";
    std::string out;
    for (unsigned char c : b) { out += h[c >> 4]; out += h[c & 15]; }
    return out;
}

}  // namespace

bool parseJson(const std::string& text, Value& out, std::string* error) {
    Reader r{text};
    if (!r.value(out)) {
        if (error) *error = r.err;
        return false;
    }
    return true;
}

bool sameAsJson(const Value& got, const Value& want, double tol, std::string* where) {
    auto diff = [&](const std::string& what) {
        if (where) *where = what + ": got " + got.debugString(120) + ", want " + want.debugString(120);
        return false;
    };
    if (want.isMap() && want.entries().size() == 1 && want.entries()[0].first == "$bytes") {
        if (!got.isBin()) return diff("expected bin");
        if (hex(got.asString()) != want.entries()[0].second.asString()) return diff("bin differs");
        return true;
    }
    switch (want.type()) {
        case Value::Type::Nil: return got.isNil() || diff("expected null");
        case Value::Type::Bool: return (got.isBool() && got.asBool() == want.asBool()) || diff("bool differs");
        case Value::Type::Int:
        case Value::Type::UInt:
            if (got.isInt()) return (got.asUInt() == want.asUInt() && got.asInt() == want.asInt()) || diff("integer differs");
            return (got.isNumber() && std::fabs(got.asDouble() - want.asDouble()) <= tol) || diff("number differs");
        case Value::Type::Float:
            // Relative above 1: golden.py rounds float32 blobs with numpy in float32 arithmetic
            // (np.frombuffer(p, "<f4").round(6)), which moves a landmark of 268.75 to 268.75003.
            return (got.isNumber() &&
                    std::fabs(got.asDouble() - want.asDouble()) <= tol * std::max(1.0, std::fabs(want.asDouble()))) ||
                   diff("number differs");
        case Value::Type::Str: return (got.isStr() && got.asString() == want.asString()) || diff("string differs");
        case Value::Type::Bin: return (got.isBin() && got.asString() == want.asString()) || diff("bin differs");
        case Value::Type::Array: {
            if (!got.isArray() || got.items().size() != want.items().size()) return diff("array length differs");
            for (size_t k = 0; k < want.items().size(); ++k) {
                std::string w;
                if (!sameAsJson(got.items()[k], want.items()[k], tol, &w)) {
                    if (where) *where = "[" + std::to_string(k) + "] " + w;
                    return false;
                }
            }
            return true;
        }
        case Value::Type::Map: {
            if (!got.isMap() || got.entries().size() != want.entries().size()) return diff("map keys differ");
            for (const auto& kv : want.entries()) {
                const Value* g = got.find(kv.first);
                if (!g) return diff("missing key '" + kv.first + "'");
                std::string w;
                if (!sameAsJson(*g, kv.second, tol, &w)) {
                    if (where) *where = "." + kv.first + " " + w;
                    return false;
                }
            }
            return true;
        }
    }
    return false;
}

std::vector<std::string> readParts(const std::string& bytes) {
    std::vector<std::string> parts;
    size_t i = 0;
    while (i + 4 <= bytes.size()) {
        const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + i);
        const size_t n = size_t(p[0]) | size_t(p[1]) << 8 | size_t(p[2]) << 16 | size_t(p[3]) << 24;
        if (i + 4 + n > bytes.size()) break;
        parts.push_back(bytes.substr(i + 4, n));
        i += 4 + n;
    }
    return parts;
}

}  // namespace fbtest
