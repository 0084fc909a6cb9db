#include "FaceBridgeCore/JitterBuffer.h"

#include <algorithm>
#include <cmath>

namespace facebridge {

namespace {
struct ByKey {
    bool operator()(const MotionFrame& a, const MotionFrame& b) const {
        return a.utterance < b.utterance || (a.utterance == b.utterance && a.pts < b.pts);
    }
};
}  // namespace

void JitterBuffer::push(const MotionFrame& f, double lookaheadS) {
    // Usually the end (frames come in order); the first frame after f's (utterance, pts).
    auto it = std::upper_bound(frames_.begin(), frames_.end(), f, ByKey());
    if (it != frames_.begin() && (it - 1)->utterance == f.utterance &&
        ((it - 1)->pts == f.pts || (it - 1)->seq == f.seq)) {
        *(it - 1) = f;  // the same frame again
    } else {
        frames_.insert(it, f);
        while (frames_.size() > capacity_) frames_.pop_front();
    }
    // The utterance's start on the local clock (see the header).
    const int64_t delta = f.localPublishNs - static_cast<int64_t>(std::llround(f.pts * 1e9));
    const int64_t lookNs = static_cast<int64_t>(std::llround(lookaheadS * 1e9));
    Start* s = nullptr;
    for (auto& x : starts_)
        if (x.utterance == f.utterance) s = &x;
    if (!s) {
        starts_.push_back({f.utterance, f.localPublishNs, f.pts, delta, -1, lookNs});
        if (starts_.size() > 8) starts_.erase(starts_.begin());
        return;
    }
    if (f.pts <= lookaheadS + kRefineS) s->minDeltaNs = std::min(s->minDeltaNs, delta);
    if (s->bursty < 0 && f.pts - s->firstPts >= lookaheadS) {
        // Paced by the daemon (a clip) or sent faster than real time: the frames came faster
        // than their pts advance. A real-time stream's came at the pace of its audio.
        const double wall = double(f.localPublishNs - s->firstPublishNs) / 1e9;
        s->bursty = wall < 0.5 * (f.pts - s->firstPts) ? 1 : 0;
    }
}

int64_t JitterBuffer::Start::startNs() const { return minDeltaNs + (bursty != 0 ? lookaheadNs : 0); }

bool JitterBuffer::sample(int64_t utterance, double audioPosS, MotionFrame& out) const {
    // The first frame after (utterance, audioPosS), then one back.
    auto it = std::upper_bound(frames_.begin(), frames_.end(), std::make_pair(utterance, audioPosS),
                               [](const std::pair<int64_t, double>& k, const MotionFrame& f) {
                                   return k.first < f.utterance || (k.first == f.utterance && k.second < f.pts);
                               });
    if (it == frames_.begin()) return false;
    --it;
    if (it->utterance != utterance) return false;
    out = *it;
    return true;
}

bool JitterBuffer::sampleAt(int64_t nowNs, MotionFrame& out, double extraDelayS) const {
    // The newest utterance that has started.
    const Start* best = nullptr;
    const int64_t now = nowNs - static_cast<int64_t>(std::llround(extraDelayS * 1e9));
    for (const auto& s : starts_)
        if (s.startNs() <= now && (!best || s.utterance > best->utterance)) best = &s;
    if (!best) return false;
    return sample(best->utterance, double(now - best->startNs()) / 1e9, out);
}

size_t JitterBuffer::eventsBetween(int64_t utterance, double afterPts, double uptoPts, std::vector<Event>& out) const {
    auto it = std::upper_bound(frames_.begin(), frames_.end(), std::make_pair(utterance, afterPts),
                               [](const std::pair<int64_t, double>& k, const MotionFrame& f) {
                                   return k.first < f.utterance || (k.first == f.utterance && k.second < f.pts);
                               });
    const size_t before = out.size();
    for (; it != frames_.end() && it->utterance == utterance && it->pts <= uptoPts; ++it)
        if (it->events) out.insert(out.end(), it->events->begin(), it->events->end());
    return out.size() - before;
}

bool JitterBuffer::latest(MotionFrame& out) const {
    if (frames_.empty()) return false;
    out = frames_.back();
    return true;
}

bool JitterBuffer::utteranceStart(int64_t utterance, int64_t& startNs) const {
    for (const auto& s : starts_)
        if (s.utterance == utterance) {
            startNs = s.startNs();
            return true;
        }
    return false;
}

int64_t JitterBuffer::newestUtterance() const { return frames_.empty() ? 0 : frames_.back().utterance; }

void JitterBuffer::clear() {
    frames_.clear();
    starts_.clear();
}

void ClockOffset::add(int64_t clientSendNs, int64_t clientRecvNs, int64_t serverNs) {
    const int64_t rtt = clientRecvNs - clientSendNs;
    if (rtt < 0) return;
    samples_.push_back({serverNs - (clientSendNs + rtt / 2), rtt});
    while (samples_.size() > window_) samples_.pop_front();
}

int64_t ClockOffset::offsetNs() const {
    if (samples_.empty()) return 0;
    auto best = std::min_element(samples_.begin(), samples_.end(),
                                 [](const Sample& a, const Sample& b) { return a.rtt < b.rtt; });
    return best->offset;
}

int64_t ClockOffset::rttNs() const {
    if (samples_.empty()) return 0;
    auto best = std::min_element(samples_.begin(), samples_.end(),
                                 [](const Sample& a, const Sample& b) { return a.rtt < b.rtt; });
    return best->rtt;
}

}  // namespace facebridge
