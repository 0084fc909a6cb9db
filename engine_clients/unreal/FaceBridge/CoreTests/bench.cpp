// FaceBridge core benchmarks.
//
//   facebridge_bench --golden tests/golden [--decode-only]
//       decode_us=<µs per decode of tests/golden/frame_anim.msgpack> (and with landmarks)
//   facebridge_bench --golden tests/golden --samples samples --control EP --data EP
//       + against a running `facebridge serve`:
//       latency_p50_ms, latency_p99_ms: samples/hello.wav streamed in 20 ms chunks at real-time
//         pace; a frame's latency = its decode time in this client minus the send time of the
//         chunk that completed the audio it needs ((f + 0.5) / 30 + 0.0175 s), as bench/daemon.py
//         stream_realtime measures it for the Python client;
//       frames_per_s: a minute of speech sent in 1 s chunks as fast as the daemon takes them
//         (8 in flight), frames per second of wall time at this one subscriber (bench/daemon.py
//         throughput).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "FaceBridgeCore/Client.h"
#include "FaceBridgeCore/Codec.h"
#include "FaceBridgeCore/Frames.h"
#include "FaceBridgeCore/Util.h"

using namespace facebridge;

namespace {

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

double decodeUs(const std::string& path, int iterations) {
    std::string bytes;
    if (!readFile(path, bytes)) {
        std::fprintf(stderr, "cannot read %s\n", path.c_str());
        std::exit(1);
    }
    const auto parts = readParts(bytes);
    std::vector<Part> ps;
    for (const auto& p : parts) ps.push_back(Part{p.data(), p.size()});
    MotionFrame f;
    for (int i = 0; i < 1000; ++i) decodeMotionFrame(ps.data(), ps.size(), f, nullptr);  // warm up
    double best = 1e9;
    for (int round = 0; round < 5; ++round) {
        const int64_t t0 = steadyNowNs();
        for (int i = 0; i < iterations; ++i)
            if (!decodeMotionFrame(ps.data(), ps.size(), f, nullptr)) std::exit(1);
        best = std::min(best, double(steadyNowNs() - t0) / 1e3 / iterations);
    }
    return best;
}

double percentile(std::vector<double> v, double q) {
    if (v.empty()) return NAN;
    std::sort(v.begin(), v.end());
    const double pos = q / 100.0 * double(v.size() - 1);
    const size_t lo = size_t(std::floor(pos)), hi = size_t(std::ceil(pos));
    return v[lo] + (v[hi] - v[lo]) * (pos - double(lo));
}

bool wait(Client& c, uint64_t id, Reply& r, double s = 60) { return c.waitReply(id, r, s); }

std::string create(Client& c, const std::string& image) {
    Reply r;
    if (!wait(c, c.createAvatar(image), r) || r.type != "avatar_created") {
        std::fprintf(stderr, "create_avatar failed: %s\n", r.msg.debugString().c_str());
        std::exit(1);
    }
    return r.msg.find("avatar")->asString();
}

void latency(Client& c, const std::string& image, const std::vector<float>& x, int rate) {
    const std::string avatar = create(c, image);
    c.subscribe(avatar);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::vector<MotionFrame> frames, batch;
    c.drainFrames(batch);
    const size_t step = size_t(rate) / 50;
    std::vector<int64_t> sends;
    std::vector<double> ends;
    std::vector<uint64_t> ids;
    const int64_t t0 = steadyNowNs();
    for (size_t k = 0, i = 0; i < x.size(); ++k, i += step) {
        const int64_t due = t0 + int64_t(k) * 20'000'000;
        while (steadyNowNs() < due) {
            const int64_t left = due - steadyNowNs();
            if (left > 1'500'000) std::this_thread::sleep_for(std::chrono::nanoseconds(left - 1'000'000));
        }
        const size_t n = std::min(step, x.size() - i);
        sends.push_back(systemNowNs());  // the same clock as MotionFrame::arrivalNs
        ends.push_back(double(i + n) / rate);
        // Sent without waiting for each reply, as a live source would.
        ids.push_back(c.speakChunk(avatar, x.data() + i, n, rate, i + step >= x.size()));
    }
    Reply r, lastOk;
    for (uint64_t id : ids)
        if (wait(c, id, r, 30)) lastOk = r;
    const Value* expected = lastOk.msg.find("frames");
    const long long want = expected ? static_cast<long long>(expected->asInt()) : -1;
    const int64_t frames0 = steadyNowNs();
    while (steadyNowNs() - frames0 < 5'000'000'000) {
        batch.clear();
        c.drainFrames(batch);
        bool done = false;
        for (auto& f : batch)
            if (f.avatar == avatar) {
                frames.push_back(f);
                done = done || f.final;
            }
        if (done) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    std::vector<double> lat;
    for (const auto& f : frames) {
        const double need = (std::llround(f.pts * 30.0) + 0.5) / 30.0 + 0.0175;
        size_t k = size_t(std::lower_bound(ends.begin(), ends.end(), need) - ends.begin());
        k = std::min(k, ends.size() - 1);
        lat.push_back(double(f.arrivalNs - sends[k]) / 1e6);
    }
    wait(c, c.stopAvatar(avatar, true), r, 10);
    std::printf("latency_p50_ms=%.1f\nlatency_p99_ms=%.1f\nlatency_frames=%zu/%lld\n", percentile(lat, 50),
                percentile(lat, 99), frames.size(), want);
}

void throughput(Client& c, const std::string& image, const std::vector<float>& x, int rate, double seconds) {
    const std::string avatar = create(c, image);
    c.subscribe(avatar);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::vector<MotionFrame> batch;
    c.drainFrames(batch);
    std::vector<float> audio;
    const size_t total = size_t(seconds * rate);
    while (audio.size() < total) audio.insert(audio.end(), x.begin(), x.end());
    audio.resize(total);
    std::deque<uint64_t> inflight;
    Reply r, last;
    size_t got = 0;
    int64_t first = 0, lastArrival = 0;
    bool final = false;
    auto drain = [&] {
        batch.clear();
        c.drainFrames(batch);
        for (auto& f : batch) {
            if (f.avatar != avatar) continue;
            ++got;
            if (!first) first = f.arrivalNs;
            lastArrival = f.arrivalNs;
            final = final || f.final;
        }
    };
    for (size_t i = 0; i < audio.size(); i += size_t(rate)) {
        if (inflight.size() == 8) {  // the daemon queues at most 16 requests per avatar
            while (!c.pollReply(inflight.front(), r)) {
                drain();
                std::this_thread::sleep_for(std::chrono::microseconds(200));
            }
            inflight.pop_front();
        }
        const size_t n = std::min(size_t(rate), audio.size() - i);
        inflight.push_back(c.speakChunk(avatar, audio.data() + i, n, rate, i + size_t(rate) >= audio.size()));
    }
    while (!inflight.empty()) {
        while (!c.pollReply(inflight.front(), r)) {
            drain();
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        last = r;
        inflight.pop_front();
    }
    const int64_t t0 = steadyNowNs();
    while (!final && steadyNowNs() - t0 < 5'000'000'000) {
        drain();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    drain();
    const Value* expected = last.msg.find("frames");
    wait(c, c.stopAvatar(avatar, true), r, 10);
    std::printf("frames_per_s=%.0f\nthroughput_frames=%zu/%lld\n", double(got) / std::max(1e-6, double(lastArrival - first) / 1e9),
                got, static_cast<long long>(expected ? expected->asInt() : -1));
}

}  // namespace

int main(int argc, char** argv) {
    std::string golden, samples, control, data;
    bool decodeOnly = false;
    double seconds = 60;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : std::string(); };
        if (a == "--golden") golden = next();
        else if (a == "--samples") samples = next();
        else if (a == "--control") control = next();
        else if (a == "--data") data = next();
        else if (a == "--decode-only") decodeOnly = true;
        else if (a == "--seconds") seconds = std::atof(next().c_str());
        else {
            std::fprintf(stderr, "unknown argument %s\n", a.c_str());
            return 2;
        }
    }
    if (!golden.empty()) {
        std::printf("decode_us=%.2f\n", decodeUs(golden + "/frame_anim.msgpack", 200000));
        std::printf("decode_landmarks_us=%.2f\n", decodeUs(golden + "/frame_performing.msgpack", 50000));
        std::fflush(stdout);
    }
    if (decodeOnly || control.empty()) return 0;
    std::string image, wav;
    std::vector<float> x;
    int rate = 0;
    if (!readFile(samples + "/astronaut.png", image) || !readFile(samples + "/hello.wav", wav) || !parseWav16(wav, x, rate)) {
        std::fprintf(stderr, "--samples must hold astronaut.png and hello.wav\n");
        return 1;
    }
    ClientConfig cfg;
    cfg.control = control;
    cfg.data = data;
    cfg.replyTimeoutS = 120;
    Client c(cfg);
    c.start();
    const int64_t t0 = steadyNowNs();
    while (c.state() != ConnectionState::Connected) {
        if (steadyNowNs() - t0 > 10'000'000'000LL || c.state() == ConnectionState::Failed) {
            std::fprintf(stderr, "no daemon at %s: %s\n", control.c_str(), c.lastError().c_str());
            return 1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    latency(c, image, x, rate);
    std::fflush(stdout);
    throughput(c, image, x, rate, seconds);
    const ClientStats s = c.stats();
    std::printf("frames_dropped=%llu\n", static_cast<unsigned long long>(s.framesDropped + s.framesQueueOverflow));
    c.stop();
    return 0;
}
