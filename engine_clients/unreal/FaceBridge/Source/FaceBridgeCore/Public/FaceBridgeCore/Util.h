// facebridge Unreal client core: small helpers (files, WAV, CURVE certificates, clocks).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace facebridge {

// A whole file's bytes; false when it cannot be read.
bool readFile(const std::string& path, std::string& out);

// A RIFF/WAVE file holding 16-bit integer PCM -> float32 mono samples (s / 32768, as
// libsndfile reads them; several channels are averaged). false + *error otherwise.
bool parseWav16(const std::string& bytes, std::vector<float>& samples, int& rate, std::string* error = nullptr);

// A ZeroMQ certificate file (what `facebridge keys` writes: server.key, client.key_secret):
// its public-key and, when present, secret-key, as Z85 text (40 characters each).
bool readCurveCertificate(const std::string& path, std::string& publicKey, std::string& secretKey,
                          std::string* error = nullptr);

// Clocks: system_clock (Unix epoch, comparable to the daemon's t_ns) and steady_clock, in ns.
int64_t systemNowNs();
int64_t steadyNowNs();

}  // namespace facebridge
