#include "FaceBridgeCore/Util.h"

#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

namespace facebridge {

bool readFile(const std::string& path, std::string& out) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return false;
    std::ostringstream ss;
    ss << f.rdbuf();
    out = ss.str();
    return static_cast<bool>(f) || f.eof();
}

namespace {
uint32_t le32(const unsigned char* p) { return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24; }
uint16_t le16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
bool fail(std::string* e, const std::string& why) {
    if (e) *e = why;
    return false;
}
}  // namespace

bool parseWav16(const std::string& bytes, std::vector<float>& samples, int& rate, std::string* error) {
    const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
    const size_t n = bytes.size();
    if (n < 12 || std::memcmp(b, "RIFF", 4) != 0 || std::memcmp(b + 8, "WAVE", 4) != 0)
        return fail(error, "not a RIFF/WAVE file");
    size_t off = 12;
    int channels = 0, bits = 0, format = 0;
    bool haveFmt = false;
    while (off + 8 <= n) {
        const uint32_t size = le32(b + off + 4);
        const unsigned char* body = b + off + 8;
        if (size > n - off - 8) return fail(error, "truncated WAV chunk");
        if (std::memcmp(b + off, "fmt ", 4) == 0) {
            if (size < 16) return fail(error, "short fmt chunk");
            format = le16(body);
            channels = le16(body + 2);
            rate = static_cast<int>(le32(body + 4));
            bits = le16(body + 14);
            if (format == 0xFFFE && size >= 26) format = le16(body + 24);  // WAVE_FORMAT_EXTENSIBLE
            haveFmt = true;
        } else if (std::memcmp(b + off, "data", 4) == 0) {
            if (!haveFmt) return fail(error, "data chunk before fmt");
            if (format != 1 || bits != 16 || channels < 1)
                return fail(error, "only 16-bit integer PCM is read here (format " + std::to_string(format) + ", " +
                                       std::to_string(bits) + " bits)");
            const size_t frames = size / (2u * size_t(channels));
            samples.resize(frames);
            for (size_t i = 0; i < frames; ++i) {
                float acc = 0.0f;
                for (int c = 0; c < channels; ++c)
                    acc += static_cast<float>(static_cast<int16_t>(le16(body + 2 * (i * size_t(channels) + size_t(c))))) /
                           32768.0f;
                samples[i] = channels == 1 ? acc : acc / static_cast<float>(channels);
            }
            return true;
        }
        off += 8 + size + (size & 1u);  // chunks are padded to even sizes
    }
    return fail(error, "no data chunk");
}

bool readCurveCertificate(const std::string& path, std::string& publicKey, std::string& secretKey, std::string* error) {
    std::string text;
    if (!readFile(path, text)) return fail(error, "cannot read key file " + path);
    publicKey.clear();
    secretKey.clear();
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        const size_t eq = line.find('=');
        if (eq == std::string::npos) continue;
        std::string key = line.substr(0, eq);
        key.erase(0, key.find_first_not_of(" \t"));
        key.erase(key.find_last_not_of(" \t\r") + 1);
        const size_t q1 = line.find('"', eq);
        const size_t q2 = q1 == std::string::npos ? q1 : line.find('"', q1 + 1);
        if (q2 == std::string::npos) continue;
        const std::string value = line.substr(q1 + 1, q2 - q1 - 1);
        if (key == "public-key") publicKey = value;
        else if (key == "secret-key") secretKey = value;
    }
    if (publicKey.size() != 40) return fail(error, "no public-key (40 Z85 characters) in " + path);
    if (!secretKey.empty() && secretKey.size() != 40) return fail(error, "bad secret-key in " + path);
    return true;
}

int64_t systemNowNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

int64_t steadyNowNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace facebridge
