// facebridge Unreal client core: jitter buffer and clock (docs/protocol.md "Clock").
//
// The audio clock is the master: at audio position p of an utterance, show the newest frame
// with pts <= p. Frames arrive ahead of their pts (lookahead_s for clips; a stream's as soon
// as computed), so a small buffer keyed on (utterance, pts) absorbs the network's jitter.
//
// Without an audio position (nothing plays the sound in-engine, e.g. a Live Link subject),
// the buffer estimates each utterance's start on the local clock from the frames themselves,
// from the smallest (publish - pts) over its first frames (pts up to lookahead_s + 70 ms):
// - frames that came faster than their pts advance (a clip, which the daemon publishes
//   lookahead_s before each frame is due, the first lookahead_s at once; or a stream sent
//   faster than real time): start = that + lookahead_s. For a clip this is exact: the frame
//   at pts = lookahead_s is published on time, the earlier ones late.
// - frames that came at the pace of their audio (a real-time stream, published as computed):
//   start = that, so each frame shows as soon as it can.
// Until the pace is known (the first lookahead_s of pts), the first rule applies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "FaceBridgeCore/Frames.h"

namespace facebridge {

class JitterBuffer {
public:
    explicit JitterBuffer(size_t capacity = 600) : capacity_(capacity) {}

    // Keeps (utterance, pts) order; a frame with the same (utterance, seq) replaces the old one.
    void push(const MotionFrame& f, double lookaheadS = 0.1);
    // The newest frame of `utterance` with pts <= audioPosS.
    bool sample(int64_t utterance, double audioPosS, MotionFrame& out) const;
    // The newest frame of the newest utterance whose estimated start is <= nowNs (local clock,
    // system_clock ns), at position nowNs - start (+ extraDelayS later). Holds an utterance's
    // last frame after its end.
    bool sampleAt(int64_t nowNs, MotionFrame& out, double extraDelayS = 0.0) const;
    // The listening events (header.events) of `utterance`'s frames with afterPts < pts <=
    // uptoPts, appended to `out` oldest first: what playback passed moving from one sampled
    // frame to the next, skipped frames included. Returns how many were appended.
    size_t eventsBetween(int64_t utterance, double afterPts, double uptoPts, std::vector<Event>& out) const;
    // The newest frame received.
    bool latest(MotionFrame& out) const;
    // Estimated start of an utterance (local ns), or false.
    bool utteranceStart(int64_t utterance, int64_t& startNs) const;
    int64_t newestUtterance() const;
    size_t size() const { return frames_.size(); }
    void clear();

private:
    static constexpr double kRefineS = 0.07;  // about two frames at 30 fps
    struct Start {
        int64_t utterance;
        int64_t firstPublishNs;
        double firstPts;
        int64_t minDeltaNs;  // min(publish - pts) over the first frames
        int bursty;          // -1 unknown, 0 real-time pace, 1 faster
        int64_t lookaheadNs;
        int64_t startNs() const;
    };
    size_t capacity_;
    std::deque<MotionFrame> frames_;  // sorted by (utterance, pts)
    std::vector<Start> starts_;       // a few most recent utterances
};

// The offset between this machine's clock and the daemon's (t_ns), from ping/pong:
// offset = server_t - (send + receive) / 2, taking the sample with the smallest round trip
// among the last `window` (the least queueing, so the least error: at most rtt/2).
class ClockOffset {
public:
    explicit ClockOffset(size_t window = 16) : window_(window) {}
    void add(int64_t clientSendNs, int64_t clientRecvNs, int64_t serverNs);
    bool valid() const { return !samples_.empty(); }
    int64_t offsetNs() const;  // server - local
    int64_t rttNs() const;     // of the sample used
    size_t count() const { return samples_.size(); }
    void clear() { samples_.clear(); }

private:
    struct Sample { int64_t offset; int64_t rtt; };
    size_t window_;
    std::deque<Sample> samples_;
};

}  // namespace facebridge
