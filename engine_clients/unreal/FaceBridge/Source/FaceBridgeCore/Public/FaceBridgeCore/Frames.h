// facebridge Unreal client core: data and video frames (docs/protocol.md "Data frames",
// "Video frames").
//
// Motion: [topic "anim.<avatar>", header map, blob...], blobs named by header.blobs
// (blendshapes 52, head_pose 6, landmarks 478x3 float32 LE). Video: [topic "video.<avatar>",
// header map, width*height*3 bytes rgb24]. The decoders validate every size against the header
// and return false (never throw) on a malformed or truncated message.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace facebridge {

constexpr int kBlendshapes = 52;
constexpr int kHeadPose = 6;
constexpr int kLandmarks = 478;
constexpr int kMaxVideoSide = 1024;
constexpr size_t kMaxEvents = 64;  // header.events holds at most this many

// One part of a multipart message.
struct Part {
    const void* data = nullptr;
    size_t size = 0;
};

// A listening reaction that starts in a frame (header.events, listening frames only). `type`:
// nod, brow_raise, smile, concern, frown, blink, gaze_shift, inhale (newer daemons may add
// types: pass them on, do not refuse them). `t` is on the frame's pts clock.
struct Event {
    std::string type;
    double t = 0.0;
    double durationS = 0.0;
    double strength = 0.0;
};

struct MotionFrame {
    std::string avatar;
    int64_t seq = 0;
    double pts = 0.0;      // seconds on the utterance's audio timeline
    int64_t tNs = 0;       // daemon clock at publishing (ns, Unix epoch)
    std::string mode;      // "speaking", "performing", ...
    int64_t utterance = 0;
    std::string emotion;
    bool final = false;
    // As decoded: in the order of welcome.schema.blendshape_names (the wire order). The
    // Client replaces them with `weights`' canonical order (see Names.h) after mapping.
    std::array<float, kBlendshapes> blendshapes{};
    std::array<float, kHeadPose> headPose{};  // pitch, yaw, roll (deg); tx, ty, tz (cm)
    bool hasLandmarks = false;
    std::vector<float> landmarks;  // 478*3 when hasLandmarks: x, y in image pixels, z
    // header.events: present (possibly empty) on listening frames, absent (nullopt) on others.
    std::optional<std::vector<Event>> events;
    // Filled by the Client: when it was decoded, and when it was published, both on this
    // machine's clock (system_clock ns; published = t_ns minus the ping/pong offset, or the
    // arrival time while no offset is known).
    int64_t arrivalNs = 0;
    int64_t localPublishNs = 0;
};

struct VideoFrame {
    std::string avatar;
    int64_t seq = 0;
    double pts = 0.0;
    int64_t tNs = 0;
    int64_t utterance = 0;
    int width = 0;
    int height = 0;
    std::string format;  // "rgb24"
    bool final = false;
    std::vector<uint8_t> pixels;  // width*height*3, RGB, rows top to bottom
    int64_t arrivalNs = 0;
};

// Decoders. `error` (optional) says why a message was refused.
bool decodeMotionFrame(const Part* parts, size_t count, MotionFrame& out, std::string* error = nullptr);
bool decodeVideoFrame(const Part* parts, size_t count, VideoFrame& out, std::string* error = nullptr);

// rgb24 (rows top to bottom) -> 8-bit BGRA (A = 255), what a PF_B8G8R8A8 texture takes.
// flipRows: write rows bottom to top (for textures whose first row is the bottom one).
void rgb24ToBgra8(const uint8_t* rgb, int width, int height, uint8_t* bgra, bool flipRows = false);

}  // namespace facebridge
