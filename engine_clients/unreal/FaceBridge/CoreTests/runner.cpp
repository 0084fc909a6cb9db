// The FaceBridge core's test runner.
//
//   facebridge_core_tests --golden tests/golden --samples samples                 # offline
//   facebridge_core_tests --golden ... --samples ... --control EP --data EP --video EP
//        [--clip-out F] [--stream-out F] [--livelink-out F] [--restart]           # + live daemon
//
// Offline: golden files (decode to their JSON, requests encode byte for byte), the frame
// decoders against malformed and truncated messages, blendshape mapping, the jitter buffer,
// the clock offset, WAV parsing, and the client against in-process mock daemons (unsupported
// protocol, malformed frames, unknown blendshape names, CURVE) and against no daemon at all.
// Live: the client against `facebridge serve`. --restart: mid-way the runner prints
// FB_STOP_DAEMON and waits for a line on stdin (the daemon is then down), then FB_START_DAEMON
// and waits for a line (the daemon is back on the SAME endpoints).
//
// Prints PASS/FAIL per test, metric lines (name=value), and last "N passed, N failed"; exits
// non-zero when a test failed.
#include <zmq.hpp>

#if defined(__linux__)
#include <sys/resource.h>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "FaceBridgeCore/Client.h"
#include "FaceBridgeCore/Codec.h"
#include "FaceBridgeCore/Frames.h"
#include "FaceBridgeCore/JitterBuffer.h"
#include "FaceBridgeCore/Names.h"
#include "FaceBridgeCore/Util.h"
#include "json.h"

using namespace facebridge;
namespace fs = std::filesystem;
using fbtest::parseJson;
using fbtest::sameAsJson;

namespace {

struct Args {
    std::string golden, samples, control, data, video, clipOut, streamOut, livelinkOut, curveKeys;
    bool restart = false;
    std::string only;  // run only tests whose name contains this
};
Args args;

struct TestFailure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

#define REQUIRE(cond, msg)                                                                              \
    do {                                                                                                \
        if (!(cond)) throw TestFailure(std::string(msg) + "  [" #cond "]");                             \
    } while (0)

int passed = 0, failed = 0;

void run(const std::string& name, const std::function<void()>& body) {
    if (!args.only.empty() && name.find(args.only) == std::string::npos) return;
    const int64_t t0 = steadyNowNs();
    try {
        body();
        ++passed;
        std::printf("PASS %s (%.0f ms)\n", name.c_str(), double(steadyNowNs() - t0) / 1e6);
    } catch (const std::exception& e) {
        ++failed;
        std::printf("FAIL %s (%.0f ms): %s\n", name.c_str(), double(steadyNowNs() - t0) / 1e6, e.what());
    }
    std::fflush(stdout);
}

void metric(const std::string& name, double value) {
    std::printf("%s=%.3f\n", name.c_str(), value);
    std::fflush(stdout);
}

// Caller-facing Client calls, timed. A call that the OS scheduler preempted (an involuntary
// context switch of this thread during the call, on a machine whose 2 cores are shared with
// the daemon) is counted apart: its wall time is the scheduler's, not the client's. A call
// that waited (a lock, I/O) shows up as a voluntary switch and counts in full.
double maxCallUs = 0;
std::string maxCallWhat;
int preemptedCalls = 0;
double maxPreemptedUs = 0;
std::vector<float> callUs;

long involuntarySwitches() {
#if defined(__linux__)
    rusage ru{};
    getrusage(RUSAGE_THREAD, &ru);
    return ru.ru_nivcsw;
#else
    return 0;
#endif
}

void resetCalls() {
    maxCallUs = 0;
    maxCallWhat.clear();
    preemptedCalls = 0;
    maxPreemptedUs = 0;
    callUs.clear();
}

double callPercentile(double q) {
    if (callUs.empty()) return 0;
    std::vector<float> v = callUs;
    const size_t k = std::min(v.size() - 1, size_t(q / 100.0 * double(v.size())));
    std::nth_element(v.begin(), v.begin() + long(k), v.end());
    return v[k];
}

template <typename F>
auto timed(const char* what, F&& f) -> decltype(f()) {
    const long s0 = involuntarySwitches();
    const int64_t t0 = steadyNowNs();
    auto note = [&] {
        const double us = double(steadyNowNs() - t0) / 1e3;
        callUs.push_back(float(us));
        if (involuntarySwitches() != s0) {
            ++preemptedCalls;
            maxPreemptedUs = std::max(maxPreemptedUs, us);
        } else if (us > maxCallUs) {
            maxCallUs = us;
            maxCallWhat = what;
        }
    };
    if constexpr (std::is_void_v<decltype(f())>) {
        f();
        note();
    } else {
        auto r = f();
        note();
        return r;
    }
}

void reportCalls(const std::string& prefix) {
    metric(prefix + "max_call_us", maxCallUs);
    metric(prefix + "call_p99_us", callPercentile(99));
    metric(prefix + "calls", double(callUs.size()));
    metric(prefix + "preempted_calls", preemptedCalls);
    metric(prefix + "preempted_max_us", maxPreemptedUs);
    std::printf("  slowest call: %s\n", maxCallWhat.c_str());
    REQUIRE(maxCallUs <= 1000, std::string("every caller call <= 1 ms; the slowest: ") + maxCallWhat + " " +
                                   std::to_string(maxCallUs) + " us");
    REQUIRE(callPercentile(99) <= 1000, "p99 of all calls, preempted ones included, <= 1 ms");
}

void sleepMs(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

std::string file(const std::string& path) {
    std::string s;
    if (!readFile(path, s)) throw TestFailure("cannot read " + path);
    return s;
}

template <typename Pred>
bool waitFor(Pred pred, double timeoutS, int stepMs = 2) {
    const int64_t until = steadyNowNs() + int64_t(timeoutS * 1e9);
    while (steadyNowNs() < until) {
        if (pred()) return true;
        sleepMs(stepMs);
    }
    return pred();
}

// A log sink the tests can read.
struct LogSink {
    std::mutex m;
    std::vector<std::pair<LogLevel, std::string>> lines;
    LogFn fn() {
        return [this](LogLevel l, const std::string& s) {
            std::lock_guard<std::mutex> g(m);
            lines.emplace_back(l, s);
        };
    }
    int count(LogLevel l, const std::string& needle) {
        std::lock_guard<std::mutex> g(m);
        int n = 0;
        for (auto& x : lines)
            if (x.first == l && x.second.find(needle) != std::string::npos) ++n;
        return n;
    }
    std::string all() {
        std::lock_guard<std::mutex> g(m);
        std::string s;
        for (auto& x : lines) s += x.second + " | ";
        return s;
    }
};

Reply expectReply(Client& c, uint64_t id, const std::string& type, double timeoutS = 30) {
    Reply r;
    REQUIRE(c.waitReply(id, r, timeoutS), "no reply within " + std::to_string(timeoutS) + " s (want " + type + ")");
    if (r.type != type)
        throw TestFailure("want " + type + ", got " + r.type + ": " + r.msg.debugString(300));
    return r;
}

// Frames of `avatar` (and `utterance` when >= 0) until the final one.
std::vector<MotionFrame> collect(Client& c, const std::string& avatar, double timeoutS, int64_t utterance = -1) {
    std::vector<MotionFrame> got, batch;
    const int64_t until = steadyNowNs() + int64_t(timeoutS * 1e9);
    while (steadyNowNs() < until) {
        batch.clear();
        timed("drainFrames", [&] { return c.drainFrames(batch); });
        for (auto& f : batch) {
            if (f.avatar != avatar || (utterance >= 0 && f.utterance != utterance)) continue;
            got.push_back(std::move(f));
            if (got.back().final) return got;
        }
        sleepMs(2);
    }
    return got;
}

void writeWeights(const std::string& path, const std::vector<MotionFrame>& frames) {
    if (path.empty()) return;
    std::ofstream f(path, std::ios::binary);
    for (const auto& fr : frames) f.write(reinterpret_cast<const char*>(fr.blendshapes.data()), 4 * kBlendshapes);
}

std::vector<Part> asParts(const std::vector<std::string>& v) {
    std::vector<Part> p;
    for (const auto& s : v) p.push_back(Part{s.data(), s.size()});
    return p;
}

// ------------------------------------------------------------------ golden files
Value motionToJson(const MotionFrame& f) {
    Value h = Value::map();
    h.add("seq", Value::integer(f.seq));
    h.add("pts", Value::number(f.pts));
    h.add("t_ns", Value::integer(f.tNs));
    h.add("mode", Value::string(f.mode));
    h.add("utterance", Value::integer(f.utterance));
    h.add("emotion", Value::string(f.emotion));
    h.add("final", Value::boolean(f.final));
    Value names = Value::array({Value::string("blendshapes"), Value::string("head_pose")});
    if (f.hasLandmarks) names.items().push_back(Value::string("landmarks"));
    h.add("blobs", names);
    if (f.events) {  // listening frames only: absent stays absent
        Value events = Value::array();
        for (const Event& e : *f.events)
            events.items().push_back(Value::map({{"type", Value::string(e.type)},
                                                 {"t", Value::number(e.t)},
                                                 {"duration_s", Value::number(e.durationS)},
                                                 {"strength", Value::number(e.strength)}}));
        h.add("events", events);
    }
    auto floats = [](const float* p, size_t n) {
        Value a = Value::array();
        for (size_t i = 0; i < n; ++i) a.items().push_back(Value::number(p[i]));
        return a;
    };
    Value blobs = Value::array({floats(f.blendshapes.data(), kBlendshapes), floats(f.headPose.data(), kHeadPose)});
    if (f.hasLandmarks) blobs.items().push_back(floats(f.landmarks.data(), f.landmarks.size()));
    Value v = Value::map();
    v.add("topic", Value::string("anim." + f.avatar));
    v.add("header", h);
    v.add("blobs", blobs);
    return v;
}

Value videoToJson(const VideoFrame& f) {
    Value h = Value::map();
    h.add("seq", Value::integer(f.seq));
    h.add("pts", Value::number(f.pts));
    h.add("t_ns", Value::integer(f.tNs));
    h.add("utterance", Value::integer(f.utterance));
    h.add("width", Value::integer(f.width));
    h.add("height", Value::integer(f.height));
    h.add("format", Value::string(f.format));
    h.add("final", Value::boolean(f.final));
    Value px = Value::array();
    for (uint8_t b : f.pixels) px.items().push_back(Value::integer(b));
    Value v = Value::map();
    v.add("topic", Value::string("video." + f.avatar));
    v.add("header", h);
    v.add("blobs", Value::array({px}));
    return v;
}

std::string golden(const std::string& name) { return file(args.golden + "/" + name); }

void testGoldenDecode() {
    REQUIRE(!args.golden.empty(), "--golden not given");
    int n = 0;
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(args.golden))
        if (e.path().extension() == ".json") names.push_back(e.path().stem().string());
    std::sort(names.begin(), names.end());
    REQUIRE(names.size() >= 18, "expected the golden files");
    for (const auto& name : names) {
        Value want;
        std::string err;
        REQUIRE(parseJson(golden(name + ".json"), want, &err), name + ".json: " + err);
        const std::string bytes = golden(name + ".msgpack");
        Value got;
        std::string where;
        if (decodeMap(bytes.data(), bytes.size(), got, &err)) {  // a control message
            REQUIRE(sameAsJson(got, want, 1e-6, &where), name + ": " + where);
            Reply r;
            REQUIRE(parseReply(bytes.data(), bytes.size(), r, &err), name + ": " + err);
            ++n;
            continue;
        }
        const auto parts = fbtest::readParts(bytes);
        REQUIRE(parts.size() >= 3, name + ": neither a map nor a multipart message");
        const auto ps = asParts(parts);
        Value header;
        REQUIRE(decodeMap(parts[1].data(), parts[1].size(), header, &err), name + " header: " + err);
        REQUIRE(want.find("header") && sameAsJson(header, *want.find("header"), 1e-6, &where), name + " header: " + where);
        if (parts[0].rfind("video.", 0) == 0) {
            VideoFrame v;
            REQUIRE(decodeVideoFrame(ps.data(), ps.size(), v, &err), name + ": " + err);
            REQUIRE(sameAsJson(videoToJson(v), want, 1e-6, &where), name + ": " + where);
        } else {
            MotionFrame f;
            REQUIRE(decodeMotionFrame(ps.data(), ps.size(), f, &err), name + ": " + err);
            REQUIRE(sameAsJson(motionToJson(f), want, 1e-6, &where), name + ": " + where);
        }
        ++n;
    }
    metric("golden_files_decoded", n);
}

void testGoldenEncode() {
    const std::string png("\x89PNG\r\n\x1a\n", 8);
    float pcm[8];
    for (int i = 0; i < 8; ++i) pcm[i] = static_cast<float>(std::sin(i / 3.0));  // np.sin(np.arange(8) / 3)
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"hello", request::hello(1, 1, std::string("unity-client/0.1"))},
        {"ping", request::ping(2, 123456789)},
        {"create_avatar", request::createAvatar(3, png, std::string("a1"))},
        {"speak_clip", request::speakClip(4, "a1", "RIFF....WAVE", std::string("[joy] Hello there."))},
        {"speak_chunk", request::speakChunk(5, "a1", pcm, 8, 16000, false)},
        {"listen", request::listen(6, "a1", pcm, 8, 16000)},
        {"set_emotion", request::setEmotion(7, "a1", "sadness:0.5")},
        {"stop", request::stop(8, "a1")},
        {"create_avatar_video", request::createAvatar(10, png, std::string("a2"), std::string("warp"), 256)},
    };
    for (const auto& c : cases) {
        const std::string want = golden(c.first + ".msgpack");
        REQUIRE(c.second == want, c.first + ": encoded bytes differ from tests/golden/" + c.first + ".msgpack");
    }
    // Every control message re-encodes to its own bytes (floats as float64, smallest headers).
    for (const auto& e : fs::directory_iterator(args.golden)) {
        if (e.path().extension() != ".msgpack") continue;
        const std::string bytes = file(e.path().string());
        Value v;
        if (!decodeMap(bytes.data(), bytes.size(), v, nullptr)) continue;
        REQUIRE(encodeValue(v) == bytes, e.path().filename().string() + ": decode+encode is not the identity");
    }
    // Integer and string header sizes at their edges, as Python's packb writes them.
    REQUIRE(encodeValue(Value::integer(127)) == std::string("\x7f", 1), "fixint");
    REQUIRE(encodeValue(Value::integer(128)) == std::string("\xcc\x80", 2), "uint8");
    REQUIRE(encodeValue(Value::integer(-33)) == std::string("\xd0\xdf", 2), "int8");
    REQUIRE(encodeValue(Value::integer(1700000000000000000LL)).size() == 9, "uint64");
    REQUIRE(encodeValue(Value::number(1.0)) == std::string("\xcb\x3f\xf0\0\0\0\0\0\0", 9), "float64 even when integral");
    REQUIRE(encodeValue(Value::string(std::string(40, 'x'))).substr(0, 2) == std::string("\xd9\x28", 2), "str8");
}

void testGoldenReplies() {
    std::string err;
    Reply r;
    std::string b = golden("welcome.msgpack");
    REQUIRE(parseReply(b.data(), b.size(), r, &err), err);
    Welcome w;
    REQUIRE(parseWelcome(r, w, &err), err);
    REQUIRE(w.protocol == 1 && w.server == "facebridge/0.1.0", "welcome fields");
    REQUIRE(w.blendshapeNames.size() == 52 && w.blendshapeNames[17] == "jawOpen", "blendshape names");
    REQUIRE(w.fps == 30.0 && w.videoEndpoint == "tcp://127.0.0.1:5557" && w.videoFormat == "rgb24", "schema");
    b = golden("ok.msgpack");
    REQUIRE(parseReply(b.data(), b.size(), r, &err) && r.type == "ok" && r.id == RequestId(4), "ok");
    REQUIRE(r.msg.find("frames")->asInt() == 154 && std::fabs(r.msg.find("duration_s")->asDouble() - 5.12) < 1e-12, "ok fields");
    b = golden("error.msgpack");
    REQUIRE(parseReply(b.data(), b.size(), r, &err) && r.isError() && r.errorCode() == "unknown_avatar", "error");
    b = golden("pong.msgpack");
    REQUIRE(parseReply(b.data(), b.size(), r, &err) && r.msg.find("client_t_ns")->asInt() == 123456789, "pong");
    b = golden("avatar_created_video.msgpack");
    REQUIRE(parseReply(b.data(), b.size(), r, &err) && r.msg.find("video_size")->items()[0].asInt() == 256, "video_size");
}

// ------------------------------------------------------------------ decoders
std::vector<std::string> frameAnimParts() { return fbtest::readParts(golden("frame_anim.msgpack")); }

bool decodes(const std::vector<std::string>& parts) {
    MotionFrame f;
    const auto ps = asParts(parts);
    return decodeMotionFrame(ps.data(), ps.size(), f, nullptr);
}

std::string header(const Value& h) { return encodeValue(h); }

void testDecoderRejects() {
    auto good = frameAnimParts();
    REQUIRE(decodes(good), "the golden frame decodes");
    Value h;
    REQUIRE(decodeMap(good[1].data(), good[1].size(), h, nullptr), "header");
    auto with = [&](const std::function<void(std::vector<std::string>&)>& edit) {
        auto p = good;
        edit(p);
        return p;
    };
    auto headerWithout = [&](const std::string& key) {
        Value m = Value::map();
        for (const auto& kv : h.entries())
            if (kv.first != key) m.add(kv.first, kv.second);
        return header(m);
    };
    auto headerWith = [&](const std::string& key, const Value& v) {
        Value m = Value::map();
        for (const auto& kv : h.entries()) m.add(kv.first, kv.first == key ? v : kv.second);
        return header(m);
    };
    const std::vector<std::pair<std::string, std::vector<std::string>>> bad = {
        {"1 part", {good[0]}},
        {"2 parts", {good[0], good[1]}},
        {"3 parts", {good[0], good[1], good[2]}},
        {"6 parts", with([](auto& p) { p.push_back(p[2]); p.push_back(p[2]); })},
        {"extra blob not in header", with([](auto& p) { p.push_back(p[3]); })},
        {"blendshapes 207 bytes", with([](auto& p) { p[2].pop_back(); })},
        {"blendshapes 212 bytes", with([](auto& p) { p[2] += "abcd"; })},
        {"head_pose 0 bytes", with([](auto& p) { p[3].clear(); })},
        {"header not msgpack", with([](auto& p) { p[1] = "\xc1"; })},
        {"header truncated", with([](auto& p) { p[1] = p[1].substr(0, p[1].size() / 2); })},
        {"header empty", with([](auto& p) { p[1].clear(); })},
        {"header extra bytes", with([](auto& p) { p[1] += '\x01'; })},
        {"header an array", with([](auto& p) { p[1] = encodeValue(Value::array({Value::integer(1)})); })},
        {"header announces 4G elements", with([](auto& p) { p[1] = std::string("\xdd\xff\xff\xff\xff", 5); })},
        {"header announces a 4 GB string", with([](auto& p) { p[1] = std::string("\x81\xdb\xff\xff\xff\xff", 6); })},
        {"header without seq", with([&](auto& p) { p[1] = headerWithout("seq"); })},
        {"header without pts", with([&](auto& p) { p[1] = headerWithout("pts"); })},
        {"header without blobs", with([&](auto& p) { p[1] = headerWithout("blobs"); })},
        {"seq a string", with([&](auto& p) { p[1] = headerWith("seq", Value::string("7")); })},
        {"pts a string", with([&](auto& p) { p[1] = headerWith("pts", Value::string("0.1")); })},
        {"final an int", with([&](auto& p) { p[1] = headerWith("final", Value::integer(1)); })},
        {"blobs names 3 for 2", with([&](auto& p) {
             p[1] = headerWith("blobs", Value::array({Value::string("blendshapes"), Value::string("head_pose"),
                                                      Value::string("landmarks")}));
         })},
        {"blobs unknown name", with([&](auto& p) {
             p[1] = headerWith("blobs", Value::array({Value::string("blendshapes"), Value::string("eyes")}));
         })},
        {"blobs repeated", with([&](auto& p) {
             p[1] = headerWith("blobs", Value::array({Value::string("blendshapes"), Value::string("blendshapes")}));
         })},
        {"no head_pose", with([&](auto& p) {
             p[1] = headerWith("blobs", Value::array({Value::string("blendshapes"), Value::string("landmarks")}));
             p[3] = std::string(4 * 478 * 3, '\0');
         })},
        {"topic without dot", with([](auto& p) { p[0] = "anim"; })},
        {"topic of video", with([](auto& p) { p[0] = "video.a1"; })},
        {"topic empty avatar", with([](auto& p) { p[0] = "anim."; })},
        {"a map key not a string", with([](auto& p) { p[1] = std::string("\x81\x01\x02", 3); })},
    };
    for (const auto& b : bad) REQUIRE(!decodes(b.second), "accepted: " + b.first);
    // New optional header fields are fine.
    REQUIRE(decodes(with([&](auto& p) {
                Value m = h;
                m.add("new_field", Value::string("x"));
                p[1] = header(m);
            })),
            "a header with a new field is accepted");
    // Landmarks (the performing golden frame).
    const auto perf = fbtest::readParts(golden("frame_performing.msgpack"));
    MotionFrame f;
    auto ps = asParts(perf);
    REQUIRE(decodeMotionFrame(ps.data(), ps.size(), f, nullptr) && f.hasLandmarks && f.landmarks.size() == 1434, "landmarks");
    REQUIRE(f.landmarks[5] == 1.25f && f.mode == "performing", "landmark values");
    REQUIRE(!f.events, "a performing frame has no events");

    // Listening events (header.events).
    const auto listening = fbtest::readParts(golden("frame_listening.msgpack"));
    ps = asParts(listening);
    REQUIRE(decodeMotionFrame(ps.data(), ps.size(), f, nullptr) && f.mode == "listening", "the listening golden frame");
    REQUIRE(f.events && f.events->size() == 1, "the listening golden frame has one event");
    const Event& nod = f.events->front();
    REQUIRE(nod.type == "nod" && nod.t == 2.2 && nod.durationS == 0.55 && nod.strength == 0.6, "the nod's fields");
    ps = asParts(good);
    REQUIRE(decodeMotionFrame(ps.data(), ps.size(), f, nullptr) && !f.events,
            "frame_anim has no events, also when decoded into a frame that had some");
    auto event = [](Value type, Value t, Value d, Value st) {
        return Value::map({{"type", std::move(type)}, {"t", std::move(t)}, {"duration_s", std::move(d)},
                           {"strength", std::move(st)}});
    };
    const Value nodV = event(Value::string("nod"), Value::number(0.4), Value::number(0.55), Value::number(0.6));
    auto withEvents = [&](const Value& events) {
        Value m = h;
        m.add("events", events);
        return with([&](auto& p) { p[1] = header(m); });
    };
    auto eventsDecode = [&](const Value& events, MotionFrame& out) {
        const auto p = withEvents(events);
        const auto q = asParts(p);
        return decodeMotionFrame(q.data(), q.size(), out, nullptr);
    };
    std::vector<Value> many(65, nodV);
    const std::vector<std::pair<std::string, Value>> badEvents = {
        {"events a map", nodV},
        {"events a string", Value::string("nod")},
        {"events an int", Value::integer(1)},
        {"65 events", Value::array(many)},
        {"an event a string", Value::array({nodV, Value::string("nod")})},
        {"an event an array", Value::array({Value::array({Value::string("nod")})})},
        {"an event without type", Value::array({Value::map({{"t", Value::number(0.4)}})})},
        {"an event type an int", Value::array({event(Value::integer(1), Value::number(0.4), Value::number(0.5), Value::number(0.5))})},
        {"an event type nil", Value::array({event(Value::nil(), Value::number(0.4), Value::number(0.5), Value::number(0.5))})},
        {"an event t a string", Value::array({event(Value::string("nod"), Value::string("0.4"), Value::number(0.5), Value::number(0.5))})},
        {"an event duration_s a bool", Value::array({event(Value::string("nod"), Value::number(0.4), Value::boolean(true), Value::number(0.5))})},
        {"an event strength nil", Value::array({event(Value::string("nod"), Value::number(0.4), Value::number(0.5), Value::nil())})},
        {"an event t NaN", Value::array({event(Value::string("nod"), Value::number(std::nan("")), Value::number(0.5), Value::number(0.5))})},
    };
    for (const auto& b : badEvents) REQUIRE(!decodes(withEvents(b.second)), "accepted: " + b.first);
    {  // an event map with an integer key (Value maps have string keys: write it by hand)
        std::string p1 = header(h);
        REQUIRE(static_cast<uint8_t>(p1[0]) >= 0x80 && static_cast<uint8_t>(p1[0]) < 0x8f, "frame_anim header is a fixmap");
        p1[0] = char(p1[0] + 1);
        p1 += encodeValue(Value::string("events"));
        p1 += std::string("\x91\x82", 2) + encodeValue(Value::string("type")) + encodeValue(Value::string("nod"));
        p1 += std::string("\x01\x02", 2);
        REQUIRE(!decodes(with([&](auto& p) { p[1] = p1; })), "accepted: an event key not a string");
    }
    MotionFrame e;
    REQUIRE(eventsDecode(Value::array(), e) && e.events && e.events->empty(), "no events: an empty list");
    REQUIRE(eventsDecode(Value::nil(), e) && !e.events, "events nil: no field");
    REQUIRE(eventsDecode(Value::array(std::vector<Value>(64, nodV)), e) && e.events->size() == 64, "64 events");
    REQUIRE(eventsDecode(Value::array({event(Value::string("inhale"), Value::integer(3), Value::integer(1), Value::integer(-1))}), e) &&
                e.events->at(0).type == "inhale" && e.events->at(0).t == 3.0 && e.events->at(0).durationS == 1.0 &&
                e.events->at(0).strength == -1.0,
            "integer numbers are numbers");
    Value extra = nodV;
    extra.add("new_field", Value::string("x"));
    REQUIRE(eventsDecode(Value::array({extra, event(Value::string("wink"), Value::number(0.5), Value::number(0.2), Value::number(1.0))}), e) &&
                e.events->size() == 2 && e.events->at(0).t == 0.4 && e.events->at(1).type == "wink",
            "new event fields and types are accepted");
    REQUIRE(eventsDecode(Value::array({Value::map({{"type", Value::string("blink")}})}), e) && e.events->at(0).t == 0.0 &&
                e.events->at(0).durationS == 0.0 && e.events->at(0).strength == 0.0,
            "missing numbers are 0, as in bridge/protocol/codec.py");

    // Video.
    auto vgood = fbtest::readParts(golden("frame_video.msgpack"));
    auto vdecodes = [](const std::vector<std::string>& p) {
        VideoFrame v;
        auto q = asParts(p);
        return decodeVideoFrame(q.data(), q.size(), v, nullptr);
    };
    REQUIRE(vdecodes(vgood), "golden video decodes");
    Value vh;
    REQUIRE(decodeMap(vgood[1].data(), vgood[1].size(), vh, nullptr), "video header");
    auto vheaderWith = [&](const std::string& key, const Value& v) {
        Value m = Value::map();
        for (const auto& kv : vh.entries()) m.add(kv.first, kv.first == key ? v : kv.second);
        return encodeValue(m);
    };
    std::vector<std::pair<std::string, std::vector<std::string>>> vbad = {
        {"pixels short", {vgood[0], vgood[1], vgood[2].substr(1)}},
        {"pixels long", {vgood[0], vgood[1], vgood[2] + "x"}},
        {"2 parts", {vgood[0], vgood[1]}},
        {"4 parts", {vgood[0], vgood[1], vgood[2], vgood[2]}},
        {"width 0", {vgood[0], vheaderWith("width", Value::integer(0)), ""}},
        {"width 2000", {vgood[0], vheaderWith("width", Value::integer(2000)), std::string(2000 * 2 * 3, '\0')}},
        {"height negative", {vgood[0], vheaderWith("height", Value::integer(-2)), vgood[2]}},
        {"format rgba", {vgood[0], vheaderWith("format", Value::string("rgba")), vgood[2]}},
        {"topic anim", {"anim.a2", vgood[1], vgood[2]}},
        {"header garbage", {vgood[0], "\xc1", vgood[2]}},
    };
    for (const auto& b : vbad) REQUIRE(!vdecodes(b.second), "video accepted: " + b.first);
}

void testDecoderFuzz() {
    // Bit flips and truncations of the golden frames: the decoder never throws or crashes, and
    // what it accepts is well-formed.
    std::mt19937 rng(1234);
    const std::vector<std::vector<std::string>> seeds = {frameAnimParts(), fbtest::readParts(golden("frame_performing.msgpack")),
                                                         fbtest::readParts(golden("frame_listening.msgpack"))};
    const auto vseed = fbtest::readParts(golden("frame_video.msgpack"));
    int accepted = 0, refused = 0;
    for (int i = 0; i < 4000; ++i) {
        auto p = seeds[size_t(i) % seeds.size()];
        const int kind = i % 4;
        std::string& target = p[size_t(rng() % p.size())];
        if (kind == 0 && !target.empty()) target[rng() % target.size()] ^= char(1 << (rng() % 8));
        else if (kind == 1) target = target.substr(0, target.empty() ? 0 : rng() % target.size());
        else if (kind == 2) { for (auto& c : p[1]) if (rng() % 8 == 0) c = char(rng()); }
        else p.resize(1 + rng() % (p.size() + 1), std::string(rng() % 300, 'x'));
        MotionFrame f;
        auto ps = asParts(p);
        if (decodeMotionFrame(ps.data(), ps.size(), f, nullptr)) {
            ++accepted;
            REQUIRE(!f.avatar.empty() && (!f.hasLandmarks || f.landmarks.size() == 1434) &&
                        (!f.events || f.events->size() <= kMaxEvents),
                    "accepted frame is well-formed");
        } else {
            ++refused;
        }
        auto v = vseed;
        std::string& vt = v[size_t(rng() % v.size())];
        if (!vt.empty()) vt[rng() % vt.size()] ^= char(1 << (rng() % 8));
        VideoFrame vf;
        auto vps = asParts(v);
        if (decodeVideoFrame(vps.data(), vps.size(), vf, nullptr))
            REQUIRE(vf.pixels.size() == size_t(vf.width) * size_t(vf.height) * 3, "video size");
    }
    REQUIRE(refused > 1000, "most mutations are refused");
    metric("fuzz_accepted", accepted);
    metric("fuzz_refused", refused);
}

// ------------------------------------------------------------------ names, jitter, clock, wav
void testBlendshapeMap() {
    std::vector<std::string> names(kArkitNames, kArkitNames + kBlendshapes);
    BlendshapeMap ident;
    ident.build(names);
    REQUIRE(ident.identity() && ident.missing().empty(), "canonical names: identity");
    std::reverse(names.begin(), names.end());
    names[0] = "fooUnknown";   // was tongueOut
    names[5] = "barUnknown";   // was cheekPuff
    BlendshapeMap m;
    std::vector<std::string> unknown;
    m.build(names, &unknown);
    REQUIRE(unknown.size() == 2 && unknown[0] == "fooUnknown", "unknown names listed");
    REQUIRE(m.missing().size() == 2, "missing names listed");
    float wire[52], out[52];
    for (int j = 0; j < 52; ++j) wire[j] = float(j) / 100.0f;
    m.apply(wire, 52, out);
    for (int c = 0; c < 52; ++c) {
        const std::string n = kArkitNames[c];
        const float want = (n == "tongueOut" || n == "cheekPuff") ? 0.0f : float(51 - c) / 100.0f;
        REQUIRE(out[c] == want, "mapped by name: " + n);
    }
    REQUIRE(liveLinkCurveName(0) == "EyeBlinkLeft" && liveLinkCurveName(17) == "JawOpen" &&
                liveLinkCurveName(51) == "TongueOut" && liveLinkCurveName(52) == "HeadYaw" &&
                liveLinkCurveName(60) == "RightEyeRoll",
            "Live Link curve names");
}

void testLiveLinkValues() {
    std::vector<float> dump;
    for (const char* name : {"frame_anim", "frame_performing"}) {
        auto parts = fbtest::readParts(golden(std::string(name) + ".msgpack"));
        auto ps = asParts(parts);
        MotionFrame f;
        REQUIRE(decodeMotionFrame(ps.data(), ps.size(), f, nullptr), "decode");
        float v[kLiveLinkCurves];
        liveLinkValues(f.blendshapes.data(), f.headPose.data(), v);
        REQUIRE(v[17] == f.blendshapes[17], "weights pass through");
        REQUIRE(std::fabs(v[52] - f.headPose[1] / 180.0f) < 1e-7, "HeadYaw = yaw / 180");
        REQUIRE(std::fabs(v[53] - f.headPose[0] / 180.0f) < 1e-7, "HeadPitch = pitch / 180");
        REQUIRE(std::fabs(v[54] - f.headPose[2] / 180.0f) < 1e-7, "HeadRoll = roll / 180");
        dump.insert(dump.end(), v, v + kLiveLinkCurves);
    }
    if (!args.livelinkOut.empty()) {
        std::ofstream o(args.livelinkOut, std::ios::binary);
        o.write(reinterpret_cast<const char*>(dump.data()), std::streamsize(dump.size() * 4));
    }
}

MotionFrame synth(int64_t utt, int64_t seq, double pts, int64_t publishNs = 0) {
    MotionFrame f;
    f.avatar = "a1";
    f.utterance = utt;
    f.seq = seq;
    f.pts = pts;
    f.localPublishNs = publishNs;
    f.blendshapes[0] = float(seq);
    return f;
}

void testJitterBuffer() {
    JitterBuffer jb(100);
    MotionFrame out;
    REQUIRE(!jb.sample(1, 0.5, out), "empty");
    // Out of order arrival.
    for (int k : {0, 2, 1, 3, 5, 4}) jb.push(synth(1, k, k / 30.0));
    REQUIRE(jb.size() == 6, "6 frames");
    REQUIRE(!jb.sample(1, -0.01, out), "before the first pts: nothing");
    REQUIRE(jb.sample(1, 0.0, out) && out.seq == 0, "pts 0");
    REQUIRE(jb.sample(1, 2.5 / 30, out) && out.seq == 2, "newest frame with pts <= p");
    REQUIRE(jb.sample(1, 3.0 / 30, out) && out.seq == 3, "exactly on a pts");
    REQUIRE(jb.sample(1, 10.0, out) && out.seq == 5, "after the end: the last frame");
    jb.push(synth(1, 3, 3 / 30.0));
    REQUIRE(jb.size() == 6, "a duplicate replaces");
    jb.push(synth(2, 6, 0.0));
    REQUIRE(jb.sample(2, 0.01, out) && out.seq == 6 && jb.newestUtterance() == 2, "a new utterance");
    REQUIRE(jb.sample(1, 0.01, out) && out.seq == 0, "the old one is still there");
    REQUIRE(!jb.sample(3, 0.5, out), "unknown utterance");
    JitterBuffer small(10);
    for (int k = 0; k < 50; ++k) small.push(synth(1, k, k / 30.0));
    REQUIRE(small.size() == 10 && small.sample(1, 100, out) && out.seq == 49, "capacity keeps the newest");
    // Listening events: each frame's, between two sampled positions, skipped frames included.
    JitterBuffer ev;
    for (int k = 0; k < 10; ++k) {
        MotionFrame f = synth(4, k, k / 30.0);
        f.mode = "listening";
        f.events.emplace();
        if (k == 2 || k == 3) f.events->push_back(Event{k == 2 ? "nod" : "blink", k / 30.0, 0.5, 0.6});
        ev.push(f);
    }
    ev.push(synth(5, 10, 0.0));  // the next utterance (no events field)
    std::vector<Event> events;
    REQUIRE(ev.eventsBetween(4, -1.0, 1.0 / 30, events) == 0 && events.empty(), "none before frame 2");
    REQUIRE(ev.eventsBetween(4, 1.0 / 30, 4.0 / 30, events) == 2 && events[0].type == "nod" && events[1].type == "blink",
            "frames 2 and 3 passed at once (frame 2 skipped): both, in order");
    events.clear();
    REQUIRE(ev.eventsBetween(4, 2.0 / 30, 2.0 / 30, events) == 0, "the same frame again: nothing");
    REQUIRE(ev.eventsBetween(4, 2.0 / 30, 3.0 / 30, events) == 1 && events[0].type == "blink", "after pts, up to pts inclusive");
    REQUIRE(ev.eventsBetween(4, -1.0, 10.0, events) == 2 && events.size() == 3, "appends");
    REQUIRE(ev.eventsBetween(5, -1.0, 10.0, events) == 0 && ev.eventsBetween(6, -1.0, 10.0, events) == 0, "other utterances");

    // The utterance clock: frames published lookahead (0.1 s) before they are due.
    JitterBuffer clk;
    const int64_t start = 1'000'000'000'000;
    // A clip: computed, then `ok` at `start` (pts 0 plays then); the first 0.1 s of frames are
    // published at once (2 ms of jitter), the rest 0.1 s before they are due.
    for (int k = 0; k < 30; ++k) {
        const double pts = k / 30.0;
        const int64_t paced = start + int64_t((pts - 0.1) * 1e9);
        const int64_t pub = std::max(paced, start + (k % 2) * 2'000'000);
        clk.push(synth(1, k, pts, pub), 0.1);
    }
    int64_t est = 0;
    REQUIRE(clk.utteranceStart(1, est) && std::llabs(est - start) < 1000, "start estimated from paced frames");
    REQUIRE(!clk.sampleAt(start - 1'000'000, out), "nothing before the start");
    REQUIRE(clk.sampleAt(start + 500'000'000, out) && out.seq == 15, "at start + 0.5 s: frame 15");
    REQUIRE(clk.sampleAt(start + 600'000'000, out, 0.1) && out.seq == 15, "extra delay");
    // A stream sent 10x faster than real time, frames published 45 ms after their audio came:
    // start = its first frames' (publish - pts) + lookahead, about when its audio began.
    JitterBuffer fast;
    const int64_t sent = 5'000'000'000'000;
    for (int k = 0; k < 60; ++k) {
        const double pts = k / 30.0;
        fast.push(synth(1, k, pts, sent + int64_t(pts / 10 * 1e9) + 45'000'000), 0.1);
    }
    REQUIRE(fast.utteranceStart(1, est) && std::llabs(est - sent) < 10'000'000,
            "a fast stream starts about when its audio was sent (" + std::to_string((est - sent) / 1000000) + " ms)");
    // A real-time stream: frames shown as soon as they arrive, no lookahead added.
    JitterBuffer rt;
    for (int k = 0; k < 60; ++k) {
        const double pts = k / 30.0;
        rt.push(synth(1, k, pts, sent + int64_t(pts * 1e9) + 45'000'000 + (k % 3) * 5'000'000), 0.1);
    }
    REQUIRE(rt.utteranceStart(1, est) && std::llabs(est - (sent + 45'000'000)) < 1'000'000,
            "a real-time stream: start = arrival - pts (" + std::to_string((est - sent) / 1000000) + " ms)");
    REQUIRE(rt.sampleAt(sent + 45'000'000 + 1'000'000'000, out) && out.seq == 30, "1 s later: frame 30");
}

void testClockOffset() {
    ClockOffset c(8);
    REQUIRE(!c.valid(), "empty");
    // True offset +5 ms; asymmetric queueing on the slow samples.
    const int64_t off = 5'000'000;
    c.add(0, 10'000'000, 9'000'000 + off);          // rtt 10 ms, reply delayed: error 4 ms
    c.add(100'000'000, 100'400'000, 100'200'000 + off);  // rtt 0.4 ms, symmetric
    c.add(200'000'000, 230'000'000, 201'000'000 + off);  // rtt 30 ms
    REQUIRE(c.valid() && c.rttNs() == 400'000 && std::llabs(c.offsetNs() - off) < 1000, "min-rtt sample");
    for (int k = 0; k < 8; ++k) c.add(k * 1'000'000'000LL, k * 1'000'000'000LL + 2'000'000, k * 1'000'000'000LL + 1'000'000 + off);
    REQUIRE(c.count() == 8 && c.rttNs() == 2'000'000, "window");
}

void testWav() {
    REQUIRE(!args.samples.empty(), "--samples not given");
    const std::string bytes = file(args.samples + "/hello.wav");
    std::vector<float> x;
    int rate = 0;
    std::string err;
    REQUIRE(parseWav16(bytes, x, rate, &err), err);
    REQUIRE(rate == 22050 && x.size() == 112938, "hello.wav: 22050 Hz, 112938 samples (got " + std::to_string(rate) +
                                                     ", " + std::to_string(x.size()) + ")");
    float peak = 0;
    for (float s : x) peak = std::max(peak, std::fabs(s));
    REQUIRE(peak > 0.05f && peak <= 1.0f, "plausible samples");
    REQUIRE(!parseWav16("RIFF\0\0\0\0WAVEjunk", x, rate, nullptr), "refuses a file without data");
    REQUIRE(!parseWav16(golden("ok.msgpack"), x, rate, nullptr), "refuses a non-WAV");
}

void testRgbToBgra() {
    auto parts = fbtest::readParts(golden("frame_video.msgpack"));
    auto ps = asParts(parts);
    VideoFrame v;
    REQUIRE(decodeVideoFrame(ps.data(), ps.size(), v, nullptr), "decode");
    std::vector<uint8_t> bgra(size_t(v.width) * size_t(v.height) * 4);
    rgb24ToBgra8(v.pixels.data(), v.width, v.height, bgra.data());
    REQUIRE(bgra[0] == 2 && bgra[1] == 1 && bgra[2] == 0 && bgra[3] == 255, "first pixel");
    rgb24ToBgra8(v.pixels.data(), v.width, v.height, bgra.data(), true);
    REQUIRE(bgra[0] == 11 && bgra[1] == 10 && bgra[2] == 9, "flipped: first pixel of the last row");
}

// ------------------------------------------------------------------ mock daemons
std::string freeEndpoint() {
    zmq::context_t ctx(1);
    zmq::socket_t s(ctx, zmq::socket_type::router);
    s.set(zmq::sockopt::linger, 0);
    s.bind("tcp://127.0.0.1:*");
    std::string ep = s.get(zmq::sockopt::last_endpoint);
    s.close();
    return ep;
}

Value welcomeMap(const Value& id, int protocol, const std::vector<std::string>& names) {
    Value schema = Value::map();
    Value n = Value::array();
    for (const auto& s : names) n.items().push_back(Value::string(s));
    schema.add("blendshape_names", n);
    schema.add("landmarks", Value::integer(478));
    schema.add("fps", Value::number(30.0));
    schema.add("lookahead_s", Value::number(0.1));
    Value video = Value::map();
    video.add("endpoint", Value::string("tcp://127.0.0.1:1"));
    video.add("format", Value::string("rgb24"));
    schema.add("video", video);
    schema.add("future_key", Value::string("clients must ignore new schema keys"));
    Value m = Value::map();
    m.add("type", Value::string("welcome"));
    m.add("id", id);
    m.add("protocol", Value::integer(protocol));
    m.add("server", Value::string("mock/1"));
    m.add("schema", schema);
    return m;
}

Value replyMap(const std::string& type, const Value& id) {
    Value m = Value::map();
    m.add("type", Value::string(type));
    m.add("id", id);
    return m;
}

// A daemon stand-in: a ROUTER answering with `handler`, an XPUB publishing what tests queue.
struct MockDaemon {
    zmq::context_t ctx{1};
    zmq::socket_t router{ctx, zmq::socket_type::router};
    zmq::socket_t xpub{ctx, zmq::socket_type::xpub};
    std::string control, data;
    std::function<std::vector<Value>(const Value&)> handler;
    std::atomic<int> requests{0}, hellos{0}, subscriptions{0};
    std::mutex m;
    std::deque<std::vector<std::string>> outbox;
    std::atomic<bool> stopping{false};
    std::thread th;

    explicit MockDaemon(std::function<std::vector<Value>(const Value&)> h, const char* curveSecret = nullptr)
        : handler(std::move(h)) {
        router.set(zmq::sockopt::linger, 0);
        xpub.set(zmq::sockopt::linger, 0);
        if (curveSecret) {
            router.set(zmq::sockopt::curve_server, 1);
            router.set(zmq::sockopt::curve_secretkey, std::string(curveSecret));
        }
        router.bind("tcp://127.0.0.1:*");
        xpub.bind("tcp://127.0.0.1:*");
        control = router.get(zmq::sockopt::last_endpoint);
        data = xpub.get(zmq::sockopt::last_endpoint);
        th = std::thread([this] { loop(); });
    }
    ~MockDaemon() {
        stopping = true;
        th.join();
    }
    void publish(std::vector<std::string> parts) {
        std::lock_guard<std::mutex> g(m);
        outbox.push_back(std::move(parts));
    }
    void loop() {
        while (!stopping) {
            zmq::pollitem_t items[] = {{router.handle(), 0, ZMQ_POLLIN, 0}, {xpub.handle(), 0, ZMQ_POLLIN, 0}};
            zmq::poll(items, 2, std::chrono::milliseconds(5));
            if (items[0].revents & ZMQ_POLLIN) {
                zmq::message_t peer, body;
                (void)router.recv(peer);
                (void)router.recv(body);
                ++requests;
                Value req;
                if (decodeMap(body.data(), body.size(), req, nullptr)) {
                    if (req.find("type") && req.find("type")->asString() == "hello") ++hellos;
                    for (const auto& r : handler(req)) {
                        const std::string b = encodeValue(r);
                        router.send(zmq::buffer(peer.data(), peer.size()), zmq::send_flags::sndmore);
                        router.send(zmq::buffer(b), zmq::send_flags::none);
                    }
                }
            }
            if (items[1].revents & ZMQ_POLLIN) {
                zmq::message_t sub;
                (void)xpub.recv(sub);
                if (sub.size() > 0 && static_cast<const char*>(sub.data())[0] == 1) ++subscriptions;
            }
            std::deque<std::vector<std::string>> out;
            {
                std::lock_guard<std::mutex> g(m);
                out.swap(outbox);
            }
            for (auto& parts : out)
                for (size_t i = 0; i < parts.size(); ++i)
                    xpub.send(zmq::buffer(parts[i]), i + 1 < parts.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
        }
    }
};

ClientConfig mockConfig(const MockDaemon& d, LogSink& sink) {
    ClientConfig c;
    c.control = d.control;
    c.data = d.data;
    c.log = sink.fn();
    c.pingIntervalS = 0;
    c.replyTimeoutS = 5;
    return c;
}

void testUnsupportedProtocolError() {
    MockDaemon d([](const Value& req) -> std::vector<Value> {
        Value r = replyMap("error", *req.find("id"));
        r.add("code", Value::string("unsupported_protocol"));
        r.add("message", Value::string("this daemon speaks protocol [2]; the client offered up to 1"));
        return {r};
    });
    LogSink sink;
    Client c(mockConfig(d, sink));
    c.start();
    const uint64_t id = c.ping();
    REQUIRE(waitFor([&] { return c.state() == ConnectionState::Failed; }, 3), "client fails");
    Reply r;
    REQUIRE(c.waitReply(id, r, 2) && r.errorCode() == "unsupported_protocol", "held request answered unsupported_protocol");
    sleepMs(500);  // no retry loop
    REQUIRE(d.hellos == 1, "one hello, no retries (" + std::to_string(d.hellos.load()) + ")");
    REQUIRE(sink.count(LogLevel::Error, "protocol") == 1, "exactly one clear message: " + sink.all());
    const std::string e = c.lastError();
    REQUIRE(e.find("protocol version mismatch") != std::string::npos && e.find("speaks protocol 1") != std::string::npos &&
                e.find("Update") != std::string::npos,
            "message says what and what to do: " + e);
    const uint64_t later = timed("ping", [&] { return c.ping(); });
    REQUIRE(c.waitReply(later, r, 2) && r.errorCode() == "unsupported_protocol", "later requests too");
    std::printf("  message: %s\n", e.c_str());
}

void testProtocolTooNew() {
    std::vector<std::string> names(kArkitNames, kArkitNames + kBlendshapes);
    MockDaemon d([&](const Value& req) -> std::vector<Value> { return {welcomeMap(*req.find("id"), 2, names)}; });
    LogSink sink;
    Client c(mockConfig(d, sink));
    c.start();
    REQUIRE(waitFor([&] { return c.state() == ConnectionState::Failed; }, 3), "client fails on a welcome of protocol 2");
    sleepMs(300);
    REQUIRE(sink.count(LogLevel::Error, "protocol") == 1 && d.hellos == 1, "one message, no retries: " + sink.all());
    REQUIRE(c.lastError().find("answered protocol 2") != std::string::npos, c.lastError());
}

std::vector<std::string> mockFrame(const std::string& avatar, int64_t seq, double pts, bool final,
                                   const float* wire) {
    Value h = Value::map();
    h.add("seq", Value::integer(seq));
    h.add("pts", Value::number(pts));
    h.add("t_ns", Value::integer(systemNowNs()));
    h.add("mode", Value::string("speaking"));
    h.add("utterance", Value::integer(1));
    h.add("emotion", Value::string("neutral"));
    h.add("final", Value::boolean(final));
    h.add("blobs", Value::array({Value::string("blendshapes"), Value::string("head_pose")}));
    float hp[6] = {1, 2, 3, 0, 0, 0};
    return {"anim." + avatar, encodeValue(h), std::string(reinterpret_cast<const char*>(wire), 208),
            std::string(reinterpret_cast<const char*>(hp), 24)};
}

void testMockFramesAndNames() {
    std::vector<std::string> names(kArkitNames, kArkitNames + kBlendshapes);
    std::reverse(names.begin(), names.end());
    names[0] = "fooUnknown";
    names[5] = "barUnknown";
    std::atomic<int> statsSeen{0};
    MockDaemon d([&](const Value& req) -> std::vector<Value> {
        const std::string type = req.find("type")->asString();
        if (type == "hello") return {welcomeMap(*req.find("id"), 1, names)};
        if (type == "stats" && statsSeen++ == 0) {  // as a restarted daemon would: hello first
            Value r = replyMap("error", *req.find("id"));
            r.add("code", Value::string("hello_first"));
            r.add("message", Value::string("send hello (protocol 1) before stats"));
            return {r};
        }
        Value r = replyMap(type == "stats" ? "stats" : "ok", *req.find("id"));
        if (type == "stats") r.add("stats", Value::map());
        return {r};
    });
    LogSink sink;
    Client c(mockConfig(d, sink));
    c.start();
    c.subscribe("m1");
    REQUIRE(waitFor([&] { return c.state() == ConnectionState::Connected; }, 3), "connected");
    REQUIRE(waitFor([&] { return d.subscriptions >= 1; }, 3), "subscription reached the mock");
    float wire[52];
    for (int j = 0; j < 52; ++j) wire[j] = float(j) / 100.0f;
    auto good = mockFrame("m1", 0, 0.0, false, wire);
    std::vector<std::vector<std::string>> bad = {
        {good[0]},
        {good[0], good[1]},
        {good[0], good[1], good[2]},
        {good[0], good[1], good[2].substr(0, 207), good[3]},
        {good[0], good[1], good[2], good[3].substr(0, 23)},
        {good[0], "\xc1", good[2], good[3]},
        {good[0], good[1].substr(0, good[1].size() / 2), good[2], good[3]},
        {good[0], std::string("\xdd\xff\xff\xff\xff", 5), good[2], good[3]},
        {good[0], good[1], good[2], good[3], good[3], good[3]},
        {good[0], good[1], good[2], good[3], std::string(5736, '\0')},
    };
    d.publish(good);
    for (auto& b : bad) d.publish(b);
    d.publish(mockFrame("m1", 1, 1 / 30.0, true, wire));
    REQUIRE(waitFor([&] { return c.stats().framesReceived + c.stats().framesDropped >= 12; }, 3),
            "all messages arrived");
    const ClientStats s = c.stats();
    REQUIRE(s.framesReceived == 2 && s.framesDropped == bad.size(),
            "2 frames kept, " + std::to_string(bad.size()) + " dropped and counted (got " +
                std::to_string(s.framesReceived) + ", " + std::to_string(s.framesDropped) + ")");
    std::vector<MotionFrame> frames;
    c.drainFrames(frames);
    REQUIRE(frames.size() == 2 && frames[1].final, "the good frames, in order");
    for (int k = 0; k < 52; ++k) {
        const std::string n = kArkitNames[k];
        const float want = (n == "tongueOut" || n == "cheekPuff") ? 0.0f : float(51 - k) / 100.0f;
        REQUIRE(frames[0].blendshapes[size_t(k)] == want, "mapped by name: " + n);
    }
    REQUIRE(sink.count(LogLevel::Warning, "fooUnknown") == 1 && sink.count(LogLevel::Warning, "barUnknown") == 1 &&
                sink.count(LogLevel::Warning, "does not know") == 1,
            "one warning naming both unknown names: " + sink.all());
    // hello_first (the daemon lost our hello): the client says hello again and resends.
    const uint64_t id = c.requestStats();
    expectReply(c, id, "stats", 3);
    REQUIRE(c.stats().welcomes == 2 && d.hellos == 2, "re-hello after hello_first");
    REQUIRE(sink.count(LogLevel::Warning, "does not know") == 1 && c.stats().unknownBlendshapeWarnings == 1,
            "still one warning after the second welcome");
    // A listening frame (the golden one, for m1): its events reach drainFrames and the jitter buffer.
    auto listening = fbtest::readParts(golden("frame_listening.msgpack"));
    listening[0] = "anim.m1";
    d.publish(listening);
    REQUIRE(waitFor([&] { return c.stats().framesReceived >= 3; }, 3), "the listening frame arrived");
    frames.clear();
    c.drainFrames(frames);
    REQUIRE(frames.size() == 1 && frames[0].events && frames[0].events->size() == 1 && frames[0].events->at(0).type == "nod",
            "drained with its events");
    std::vector<Event> events;
    REQUIRE(c.eventsBetween("m1", 2, 2.0, 2.2, events) == 1 && events[0].strength == 0.6, "eventsBetween through the client");
    REQUIRE(c.eventsBetween("m1", 2, 2.2, 3.0, events) == 0 && c.eventsBetween("x", 2, 0.0, 3.0, events) == 0,
            "nothing after it, nothing for another avatar");
    // An out-of-range field in a reply does not break anything; malformed replies are counted.
    metric("mock_frames_dropped", double(s.framesDropped));
}

void testCurveMock() {
    char spub[41], ssec[41], cpub[41], csec[41], wpub[41], wsec[41];
    REQUIRE(zmq_curve_keypair(spub, ssec) == 0 && zmq_curve_keypair(cpub, csec) == 0 && zmq_curve_keypair(wpub, wsec) == 0,
            "libzmq has CURVE");
    std::vector<std::string> names(kArkitNames, kArkitNames + kBlendshapes);
    MockDaemon d([&](const Value& req) -> std::vector<Value> { return {welcomeMap(*req.find("id"), 1, names)}; }, ssec);
    LogSink sink;
    ClientConfig cfg = mockConfig(d, sink);
    cfg.curve = CurveKeys{spub, cpub, csec};
    Client ok(cfg);
    ok.start();
    REQUIRE(waitFor([&] { return ok.state() == ConnectionState::Connected; }, 3), "CURVE client with the server key connects");
    LogSink sink2;
    ClientConfig bad = mockConfig(d, sink2);
    bad.curve = CurveKeys{wpub, cpub, csec};  // the wrong server key
    Client no(bad);
    no.start();
    sleepMs(1200);
    REQUIRE(no.state() == ConnectionState::Connecting && no.stats().welcomes == 0, "wrong server key: no connection");
    const int before = d.hellos;
    REQUIRE(before == 1, "only the admitted client's hello reached the daemon");
    // Key files as `facebridge keys` writes them.
    const std::string path = (fs::temp_directory_path() / "facebridge_test_client.key_secret").string();
    {
        std::ofstream f(path);
        f << "#   ****  Generated test certificate  ****\nmetadata\ncurve\n    public-key = \"" << cpub
          << "\"\n    secret-key = \"" << csec << "\"\n";
    }
    std::string p, s, err;
    REQUIRE(readCurveCertificate(path, p, s, &err) && p == cpub && s == csec, "certificate file: " + err);
    fs::remove(path);
}

void testDaemonAbsent() {
    resetCalls();
    LogSink sink;
    ClientConfig cfg;
    cfg.control = freeEndpoint();
    cfg.data = freeEndpoint();
    cfg.replyTimeoutS = 0.6;
    cfg.log = sink.fn();
    std::string image;
    if (!args.samples.empty()) readFile(args.samples + "/astronaut.png", image);
    Client c(cfg);
    const int64_t t0 = steadyNowNs();
    timed("start", [&] { c.start(); });
    c.subscribe("a1", true);
    std::vector<float> chunk(441, 0.01f);
    std::vector<uint64_t> ids;
    MotionFrame f;
    VideoFrame v;
    std::vector<MotionFrame> drained;
    Reply r;
    int calls = 0;
    if (image.empty()) image = "x";
    ids.push_back(timed("createAvatar", [&] { return c.createAvatar(std::move(image)); }));
    while (steadyNowNs() - t0 < 2'000'000'000) {
        timed("state", [&] { return c.state(); });
        timed("stats", [&] { return c.stats(); });
        timed("sampleFrameAuto", [&] { return c.sampleFrameAuto("a1", f); });
        timed("sampleFrame", [&] { return c.sampleFrame("a1", 1, 0.5, f); });
        timed("latestFrame", [&] { return c.latestFrame("a1", f); });
        timed("takeVideo", [&] { return c.takeVideo("a1", v); });
        timed("drainFrames", [&] { return c.drainFrames(drained); });
        timed("pollReply", [&] { return c.pollReply(999999, r); });
        if (calls % 50 == 0) ids.push_back(timed("speakChunk", [&] { return c.speakChunk("a1", chunk.data(), chunk.size(), 22050, false); }));
        calls += 8;
        sleepMs(1);
    }
    const ClientStats s = c.stats();
    REQUIRE(c.state() == ConnectionState::Connecting, "still connecting");
    REQUIRE(s.connectRetries >= 3, "ZeroMQ retried the connection (" + std::to_string(s.connectRetries) + ")");
    REQUIRE(s.lastConnectRetryMs > 150, "with a growing interval (last " + std::to_string(s.lastConnectRetryMs) + " ms)");
    REQUIRE(s.helloAttemptTimesS.size() >= 4, "hello attempts: " + std::to_string(s.helloAttemptTimesS.size()));
    const auto& t = s.helloAttemptTimesS;
    for (size_t k = 2; k < std::min<size_t>(t.size(), 5); ++k)
        REQUIRE(t[k] - t[k - 1] > 1.5 * (t[k - 1] - t[k - 2]), "hello attempts back off");
    REQUIRE(s.helloAttempts < 20, "not a busy loop (" + std::to_string(s.helloAttempts) + " attempts in 2 s)");
    sleepMs(int(cfg.replyTimeoutS * 1000) + 150);  // the last requests' deadlines pass
    int timeouts = 0;
    for (uint64_t id : ids)
        if (timed("pollReply", [&] { return c.pollReply(id, r); }) && r.errorCode() == "timeout" &&
            r.errorMessage().find(cfg.control) != std::string::npos)
            ++timeouts;
    REQUIRE(timeouts == int(ids.size()), "requests time out with a clear error (" + std::to_string(timeouts) + "/" +
                                                  std::to_string(ids.size()) + ")");
    const int64_t s0 = steadyNowNs();
    c.stop();
    metric("absent_stop_ms", double(steadyNowNs() - s0) / 1e6);
    metric("absent_hello_attempts", double(s.helloAttempts));
    metric("absent_connect_retries", double(s.connectRetries));
    reportCalls("absent_");
}

// ------------------------------------------------------------------ live daemon
struct Live {
    std::unique_ptr<Client> c;
    LogSink sink;
    std::string image, wav;
    std::vector<float> pcm;
    int rate = 0;
};
Live live;

ClientConfig liveConfig(LogSink& sink) {
    ClientConfig cfg;
    cfg.control = args.control;
    cfg.data = args.data;
    cfg.video = args.video;
    cfg.log = sink.fn();
    cfg.replyTimeoutS = 60;
    return cfg;
}

std::string createAvatar(Client& c, const std::optional<std::string>& name, const std::optional<std::string>& render = {},
                         std::optional<int> size = {}, Reply* out = nullptr) {
    std::string image = live.image;  // moved into the call (no copy inside it)
    const uint64_t id = timed("createAvatar", [&] { return c.createAvatar(std::move(image), name, render, size); });
    Reply r = expectReply(c, id, "avatar_created", 30);
    if (out) *out = r;
    return r.msg.find("avatar")->asString();
}

// Send pcm in 20 ms chunks, at most `window` unanswered; returns the final ok.
Reply streamChunks(Client& c, const std::string& avatar, const std::vector<float>& x, int rate, int window = 8) {
    const size_t step = size_t(rate) / 50;  // 20 ms
    std::deque<uint64_t> pending;
    Reply r, last;
    for (size_t i = 0; i < x.size(); i += step) {
        const bool final = i + step >= x.size();
        const size_t n = std::min(step, x.size() - i);
        pending.push_back(timed("speakChunk", [&] { return c.speakChunk(avatar, x.data() + i, n, rate, final); }));
        while (pending.size() >= size_t(window)) {
            REQUIRE(c.waitReply(pending.front(), r, 30), "chunk reply");
            REQUIRE(r.type == "ok", "chunk answered ok: " + r.msg.debugString(200));
            pending.pop_front();
        }
    }
    while (!pending.empty()) {
        REQUIRE(c.waitReply(pending.front(), r, 30), "chunk reply");
        REQUIRE(r.type == "ok", "chunk answered ok: " + r.msg.debugString(200));
        last = r;
        pending.pop_front();
    }
    return last;
}

void checkSequence(const std::vector<MotionFrame>& frames) {
    for (size_t k = 1; k < frames.size(); ++k) {
        REQUIRE(frames[k].seq == frames[k - 1].seq + 1, "seq +1 per frame");
        REQUIRE(frames[k].pts > frames[k - 1].pts, "pts increasing");
    }
}

void testLiveHello() {
    live.image = file(args.samples + "/astronaut.png");
    live.wav = file(args.samples + "/hello.wav");
    REQUIRE(parseWav16(live.wav, live.pcm, live.rate, nullptr), "hello.wav");
    live.c = std::make_unique<Client>(liveConfig(live.sink));
    Client& c = *live.c;
    timed("start", [&] { c.start(); });
    REQUIRE(waitFor([&] { return timed("state", [&] { return c.state(); }) == ConnectionState::Connected; }, 10),
            "welcome within 10 s: " + c.lastError());
    Welcome w;
    REQUIRE(c.welcome(w) && w.protocol == 1 && w.server.rfind("facebridge/", 0) == 0, "welcome");
    REQUIRE(w.blendshapeNames.size() == 52 && w.fps == 30.0 && w.lookaheadS > 0, "schema");
    int64_t off = 0, rtt = 0;
    REQUIRE(waitFor([&] { return c.clockOffset(off, rtt); }, 3), "a pong gave the clock offset");
    REQUIRE(std::llabs(off) < 50'000'000 && rtt < 50'000'000, "same machine: offset " + std::to_string(off) + " ns");
    Reply r = expectReply(c, c.ping(), "pong", 5);
    REQUIRE(r.msg.find("client_t_ns") && r.msg.find("t_ns"), "pong fields");
    metric("clock_offset_ms", double(off) / 1e6);
    metric("ping_rtt_ms", double(rtt) / 1e6);
}

void testLiveClip() {
    REQUIRE(live.c != nullptr, "no client (live_hello failed)");
    Client& c = *live.c;
    REQUIRE(c.state() == ConnectionState::Connected, "connected");
    Reply created;
    const std::string avatar = createAvatar(c, std::nullopt, std::nullopt, std::nullopt, &created);
    const Value* size = created.msg.find("image_size");
    REQUIRE(size && size->items().size() == 2 && size->items()[0].asInt() > 0, "image_size");
    timed("subscribe", [&] { c.subscribe(avatar); });
    sleepMs(300);
    std::vector<MotionFrame> stale;
    c.drainFrames(stale);
    const int64_t t0 = steadyNowNs();
    std::string wav = live.wav;
    const uint64_t id = timed("speakClip", [&] { return c.speakClip(avatar, std::move(wav)); });
    Reply ok = expectReply(c, id, "ok", 60);
    const int64_t okAt = systemNowNs();
    const int64_t n = ok.msg.find("frames")->asInt();
    REQUIRE(ok.msg.find("utterance")->asInt() == 1 && n > 100, "ok: utterance 1 with frames");
    // The jitter buffer while the clip plays: at audio position 1 s, the frame at pts <= 1 s.
    MotionFrame mid;
    REQUIRE(waitFor([&] { return timed("sampleFrame", [&] { return c.sampleFrame(avatar, 1, 1.0, mid); }) && mid.pts > 0.96; }, 10),
            "sampleFrame at 1.0 s");
    REQUIRE(mid.pts <= 1.0 && mid.pts > 1.0 - 1.0 / 30 - 1e-9, "newest frame with pts <= 1.0");
    // The estimated playback clock (no audio position): pts 0 is when `ok` came.
    std::this_thread::sleep_until(std::chrono::system_clock::time_point(std::chrono::nanoseconds(okAt + 1'500'000'000)));
    MotionFrame autoFrame;
    REQUIRE(timed("sampleFrameAuto", [&] { return c.sampleFrameAuto(avatar, autoFrame); }), "auto clock has a frame");
    const double playhead = double(systemNowNs() - okAt) / 1e9;
    metric("auto_clock_error_ms", (autoFrame.pts - playhead) * 1000);
    REQUIRE(autoFrame.pts <= playhead + 0.02 && autoFrame.pts > playhead - 0.08,
            "the auto clock follows the clip: frame pts " + std::to_string(autoFrame.pts) + " at " + std::to_string(playhead));
    auto frames = collect(c, avatar, 30, 1);
    metric("clip_wall_s", double(steadyNowNs() - t0) / 1e9);
    REQUIRE(int64_t(frames.size()) == n, "received every frame: " + std::to_string(frames.size()) + "/" + std::to_string(n));
    REQUIRE(frames.back().final && frames.front().pts == 0.0 && frames[0].mode == "speaking", "first and final");
    checkSequence(frames);
    REQUIRE(!frames[10].hasLandmarks || frames[10].landmarks.size() == 1434, "landmarks");
    writeWeights(args.clipOut, frames);
    metric("clip_frames", double(frames.size()));
}

void testLiveChunks() {
    REQUIRE(live.c != nullptr, "no client (live_hello failed)");
    Client& c = *live.c;
    const std::string avatar = createAvatar(c, std::string("chunky"));
    c.subscribe(avatar);
    sleepMs(300);
    Reply ok = streamChunks(c, avatar, live.pcm, live.rate);
    const int64_t n = ok.msg.find("frames")->asInt();
    REQUIRE(n > 100 && ok.msg.find("utterance")->asInt() == 1, "final ok gives frames: " + ok.msg.debugString(200));
    auto frames = collect(c, avatar, 20, 1);
    REQUIRE(int64_t(frames.size()) == n, "received every streamed frame: " + std::to_string(frames.size()) + "/" +
                                             std::to_string(n));
    checkSequence(frames);
    writeWeights(args.streamOut, frames);
    metric("stream_frames", double(frames.size()));
}

void testLiveVideo() {
    REQUIRE(live.c != nullptr, "no client (live_hello failed)");
    Client& c = *live.c;
    Reply created;
    const std::string avatar = createAvatar(c, std::string("video1"), std::string("warp"), 256, &created);
    const Value* vs = created.msg.find("video_size");
    REQUIRE(vs && vs->items().size() == 2, "avatar_created has video_size: " + created.msg.debugString(200));
    const int W = int(vs->items()[0].asInt()), H = int(vs->items()[1].asInt());
    REQUIRE(std::max(W, H) == 256, "longest side 256");
    c.subscribe(avatar, true);
    sleepMs(400);
    std::vector<float> half(live.pcm.begin(), live.pcm.begin() + live.rate / 2);
    streamChunks(c, avatar, half, live.rate);
    VideoFrame v;
    REQUIRE(waitFor([&] { return timed("takeVideo", [&] { return c.takeVideo(avatar, v); }); }, 10), "a video frame");
    REQUIRE(v.width == W && v.height == H && v.pixels.size() == size_t(W) * size_t(H) * 3 && v.format == "rgb24",
            "the announced size: " + std::to_string(v.width) + "x" + std::to_string(v.height));
    std::vector<uint8_t> bgra(size_t(W) * size_t(H) * 4);
    rgb24ToBgra8(v.pixels.data(), W, H, bgra.data());
    uint64_t sum = 0;
    for (size_t i = 0; i < bgra.size(); i += 4) sum += bgra[i] + bgra[i + 1] + bgra[i + 2];
    REQUIRE(sum > 0, "not a black frame");
    const ClientStats s = c.stats();
    REQUIRE(s.videoDropped == 0 && s.videoReceived >= 1, "video frames decoded");
    metric("video_width", W);
    metric("video_height", H);
}

std::string waitLine(const char* say) {
    std::printf("%s\n", say);
    std::fflush(stdout);
    std::string line;
    if (!std::getline(std::cin, line)) throw TestFailure(std::string("no answer on stdin to ") + say);
    return line;
}

void testLiveRestart() {
    REQUIRE(live.c != nullptr, "no client (live_hello failed)");
    Client& a = *live.c;
    const std::string avatar = createAvatar(a, std::string("survivor"));
    a.subscribe(avatar);
    sleepMs(300);
    std::vector<MotionFrame> stale;
    a.drainFrames(stale);
    const uint64_t id = a.speakClip(avatar, live.wav);
    expectReply(a, id, "ok", 60);
    // Mid-stream: frames are flowing.
    std::vector<MotionFrame> got, batch;
    REQUIRE(waitFor([&] {
                batch.clear();
                a.drainFrames(batch);
                for (auto& f : batch)
                    if (f.avatar == avatar) got.push_back(f);
                return got.size() >= 10;
            }, 10),
            "frames flowing before the restart");
    const uint64_t epochBefore = a.epoch();
    waitLine("FB_STOP_DAEMON");
    // The daemon is gone: the client notices, and every call stays short.
    REQUIRE(waitFor([&] { return timed("state", [&] { return a.state(); }) == ConnectionState::Reconnecting; }, 5),
            "reconnecting after the daemon stopped");
    const uint64_t held = timed("setEmotion", [&] { return a.setEmotion(avatar, "joy"); });
    // A second client starts while the daemon is absent.
    LogSink sinkB;
    Client b(liveConfig(sinkB));
    timed("start", [&] { b.start(); });
    MotionFrame f;
    VideoFrame v;
    Reply r;
    const int64_t t0 = steadyNowNs();
    while (steadyNowNs() - t0 < 1'500'000'000) {
        for (Client* c : {&a, &b}) {
            timed("state", [&] { return c->state(); });
            timed("sampleFrameAuto", [&] { return c->sampleFrameAuto(avatar, f); });
            timed("takeVideo", [&] { return c->takeVideo(avatar, v); });
            timed("pollReply", [&] { return c->pollReply(held, r); });
            timed("drainFrames", [&] { return c->drainFrames(batch); });
        }
        sleepMs(1);
    }
    REQUIRE(b.state() == ConnectionState::Connecting && b.stats().helloAttempts >= 3, "B retries while the daemon is absent");
    metric("restart_down_max_call_us", maxCallUs);
    metric("restart_down_preempted_calls", preemptedCalls);
    waitLine("FB_START_DAEMON");
    const int64_t t1 = steadyNowNs();
    REQUIRE(waitFor([&] { return a.state() == ConnectionState::Connected && a.epoch() == epochBefore + 1; }, 15),
            "re-hello after the restart (state " + std::string(toString(a.state())) + ")");
    metric("reconnect_s", double(steadyNowNs() - t1) / 1e9);
    REQUIRE(a.stats().avatarsRestored >= 1, "the avatar was re-created on the new daemon");
    expectReply(a, held, "ok", 10);  // the request made while the daemon was down
    REQUIRE(waitFor([&] { return b.state() == ConnectionState::Connected; }, 10), "B connected once the daemon came");
    REQUIRE(b.stats().welcomes == 1, "B: one welcome");
    // The next utterance on the same avatar id, from the new daemon.
    std::vector<float> second(live.pcm.begin(), live.pcm.begin() + live.rate);
    a.drainFrames(stale);
    Reply ok = streamChunks(a, avatar, second, live.rate);
    REQUIRE(ok.msg.find("utterance")->asInt() == 1, "a fresh avatar on the new daemon: utterance 1");
    const int64_t n = ok.msg.find("frames")->asInt();
    auto frames = collect(a, avatar, 15, 1);
    REQUIRE(int64_t(frames.size()) == n && n > 20, "next utterance received after the restart: " +
                                                      std::to_string(frames.size()) + "/" + std::to_string(n));
    REQUIRE(frames.back().emotion == "joy", "the held set_emotion applied (emotion " + frames.back().emotion + ")");
    REQUIRE(a.stats().disconnects >= 1, "the disconnect was seen");
}

// A daemon started with --curve-keys DIR: the keys `facebridge keys` wrote admit this client;
// a key pair it never saw, or no keys at all, get no connection (and a log line that says why).
void testLiveCurve() {
    std::string spub, unused, pub, sec, err;
    REQUIRE(readCurveCertificate(args.curveKeys + "/server.key", spub, unused, &err), err);
    REQUIRE(readCurveCertificate(args.curveKeys + "/clients/client.key_secret", pub, sec, &err) && !sec.empty(), err);
    LogSink sink;
    ClientConfig cfg = liveConfig(sink);
    cfg.curve = CurveKeys{spub, pub, sec};
    Client c(cfg);
    c.start();
    REQUIRE(waitFor([&] { return c.state() == ConnectionState::Connected; }, 10), "admitted client connects: " + sink.all());
    expectReply(c, c.ping(), "pong", 5);
    char p[41], k[41];
    REQUIRE(zmq_curve_keypair(p, k) == 0, "keypair");
    LogSink sinkS, sinkN;
    ClientConfig stranger = liveConfig(sinkS);
    stranger.curve = CurveKeys{spub, p, k};
    ClientConfig plain = liveConfig(sinkN);
    Client s(stranger), n(plain);
    s.start();
    n.start();
    sleepMs(1500);
    REQUIRE(s.state() != ConnectionState::Connected && s.stats().welcomes == 0, "a key the daemon never admitted: no connection");
    REQUIRE(n.state() != ConnectionState::Connected && n.stats().welcomes == 0, "no CURVE at all: no connection");
    std::printf("  not admitted: %s\n  no keys: %s\n", s.lastError().c_str(), n.lastError().c_str());
}

void testLiveCallTimes() {
    reportCalls("live_");
    if (live.c) {
        const ClientStats s = live.c->stats();
        metric("frames_received", double(s.framesReceived));
        metric("frames_dropped", double(s.framesDropped));
        REQUIRE(s.framesDropped == 0 && s.repliesMalformed == 0, "nothing malformed from the real daemon");
        live.c->stop();
    }
}

}  // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--golden") args.golden = next();
        else if (a == "--samples") args.samples = next();
        else if (a == "--control") args.control = next();
        else if (a == "--data") args.data = next();
        else if (a == "--video") args.video = next();
        else if (a == "--clip-out") args.clipOut = next();
        else if (a == "--stream-out") args.streamOut = next();
        else if (a == "--livelink-out") args.livelinkOut = next();
        else if (a == "--restart") args.restart = true;
        else if (a == "--curve-keys") args.curveKeys = next();
        else if (a == "--only") args.only = next();
        else {
            std::fprintf(stderr, "unknown argument %s\n", a.c_str());
            return 2;
        }
    }
    run("golden_decode", testGoldenDecode);
    run("golden_encode", testGoldenEncode);
    run("golden_replies", testGoldenReplies);
    run("decoder_rejects_malformed", testDecoderRejects);
    run("decoder_fuzz", testDecoderFuzz);
    run("blendshape_map", testBlendshapeMap);
    run("livelink_values", testLiveLinkValues);
    run("jitter_buffer", testJitterBuffer);
    run("clock_offset", testClockOffset);
    run("wav_parse", testWav);
    run("rgb_to_bgra", testRgbToBgra);
    run("mock_unsupported_protocol", testUnsupportedProtocolError);
    run("mock_protocol_too_new", testProtocolTooNew);
    run("mock_malformed_frames_unknown_names", testMockFramesAndNames);
    run("mock_curve", testCurveMock);
    run("daemon_absent", testDaemonAbsent);
    if (!args.control.empty() && args.curveKeys.empty()) {
        resetCalls();
        run("live_hello", testLiveHello);
        run("live_clip", testLiveClip);
        run("live_chunks", testLiveChunks);
        run("live_video", testLiveVideo);
        if (args.restart) run("live_restart", testLiveRestart);
        run("live_call_times", testLiveCallTimes);
    }
    if (!args.control.empty() && !args.curveKeys.empty()) run("live_curve", testLiveCurve);
    std::printf("%d passed, %d failed\n", passed, failed);
    std::fflush(stdout);
    return failed == 0 ? 0 : 1;
}
