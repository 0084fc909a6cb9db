// Test support: a small JSON reader (into facebridge::Value), the comparison of a decoded
// message with its golden JSON, and the golden files' multipart layout.
#pragma once

#include <string>
#include <vector>

#include "FaceBridgeCore/Value.h"

namespace fbtest {

// JSON text -> Value (objects keep their key order; integers without '.', 'e' stay integers).
bool parseJson(const std::string& text, facebridge::Value& out, std::string* error);

// got (decoded from msgpack) vs want (from the golden JSON): maps by key set, integers exactly,
// floats within tol, bin against {"$bytes": hex}. On a difference, *where says what and where.
bool sameAsJson(const facebridge::Value& got, const facebridge::Value& want, double tol, std::string* where);

// tests/golden multipart files: parts, each prefixed by its uint32 LE length.
std::vector<std::string> readParts(const std::string& bytes);

}  // namespace fbtest
