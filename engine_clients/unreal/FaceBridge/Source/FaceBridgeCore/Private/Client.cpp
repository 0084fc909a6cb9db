#include "FaceBridgeCore/Client.h"

#include <zmq.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "FaceBridgeCore/Names.h"
#include "FaceBridgeCore/Util.h"

namespace facebridge {

const char* toString(ConnectionState s) {
    switch (s) {
        case ConnectionState::Connecting: return "connecting";
        case ConnectionState::Connected: return "connected";
        case ConnectionState::Restoring: return "restoring avatars";
        case ConnectionState::Reconnecting: return "reconnecting";
        case ConnectionState::Failed: return "failed";
        case ConnectionState::Stopped: return "stopped";
    }
    return "?";
}

namespace {

constexpr uint64_t kInternalIds = uint64_t(1) << 48;  // hello, ping, restores: never a user id
constexpr size_t kMaxReplies = 4096;                   // unpolled replies kept
constexpr size_t kDrainPerLoop = 512;                  // messages per socket per loop turn
const int kSupportedVersions[] = {1};

bool supported(int v) {
    for (int s : kSupportedVersions)
        if (s == v) return true;
    return false;
}

struct CreateInfo {
    std::string image;
    std::optional<std::string> render;
    std::optional<int> videoSize;
};

struct Op {
    enum Kind { Request, Subscribe, Unsubscribe } kind = Request;
    uint64_t id = 0;
    std::string type;
    std::string bytes;                   // encoded (on the network thread)
    std::function<std::string()> build;  // encodes the request
    std::string avatar;  // subscribe: the avatar; stop+remove: the avatar to forget
    bool video = false;
    bool remove = false;
    std::shared_ptr<CreateInfo> create;  // create_avatar: what a restore needs
    int64_t deadlineNs = 0;              // steady clock
};

struct Pending {
    Op op;
    bool retried = false;    // re-sent once after hello_first
    int64_t sentSystemNs = 0;
};

std::string hostOf(const std::string& endpoint) {
    const size_t colon = endpoint.rfind(':');
    return colon == std::string::npos ? endpoint : endpoint.substr(0, colon);
}

std::string portOf(const std::string& endpoint) {
    const size_t colon = endpoint.rfind(':');
    return colon == std::string::npos ? std::string() : endpoint.substr(colon + 1);
}

void defaultLog(LogLevel level, const std::string& msg) {
    static const char* names[] = {"debug", "info", "warning", "error"};
    if (level == LogLevel::Debug) return;
    std::fprintf(stderr, "facebridge %s: %s\n", names[static_cast<int>(level)], msg.c_str());
}

}  // namespace

struct Client::Impl {
    ClientConfig cfg;

    // ---- shared with callers
    mutable std::mutex ctl;  // ops, replies, state, stats, welcome, clock
    std::condition_variable replyCv;
    std::deque<Op> ops;
    std::unordered_map<uint64_t, Reply> replies;
    std::deque<uint64_t> replyOrder;
    ConnectionState state = ConnectionState::Stopped;
    std::string lastError;
    Welcome welcome;
    bool haveWelcome = false;
    uint64_t epoch = 0;
    ClientStats stats;
    ClockOffset clock;
    std::atomic<uint64_t> nextId{1};

    mutable std::mutex frames;  // queue, jitter buffers, video slots
    std::deque<MotionFrame> queue;
    std::unordered_map<std::string, JitterBuffer> jitter;
    struct VideoSlot { VideoFrame frame; bool fresh = false; };
    std::unordered_map<std::string, VideoSlot> video;
    double lookaheadS = 0.1;  // under `frames`

    std::mutex wakeMutex;
    zmq::context_t ctx{1};
    std::unique_ptr<zmq::socket_t> wakeTx, wakeRx;
    std::thread thread;
    std::atomic<bool> stopping{false};
    int64_t startSteadyNs = 0;

    // ---- network thread only
    std::unique_ptr<zmq::socket_t> dealer, mon, sub, vsub;
    int dealerGeneration = 0;
    enum class Phase { NeedHello, WaitWelcome, Restoring, Ready, Failed } phase = Phase::NeedHello;
    uint64_t nextInternal = kInternalIds;
    uint64_t helloId = 0;
    int64_t helloSentNs = 0;
    int64_t nextHelloNs = 0;
    double backoffS = 0.1;
    bool everWelcomed = false;
    std::deque<Pending> held;
    std::unordered_map<uint64_t, Pending> inflight;
    std::unordered_map<uint64_t, int64_t> pings;  // id -> system ns sent
    std::map<uint64_t, std::string> restores;      // id -> avatar
    std::map<std::string, std::shared_ptr<CreateInfo>> avatars;
    std::set<std::string> subs, videoSubs;
    std::string videoEndpoint;
    BlendshapeMap map;
    std::set<std::string> warnedUnknown;
    std::set<int> warnedHandshake;
    int64_t nextPingNs = 0;
    std::vector<zmq::message_t> parts;
    std::string failMessage;

    explicit Impl(ClientConfig c) : cfg(std::move(c)) {
        if (!cfg.log) cfg.log = defaultLog;
    }

    void log(LogLevel l, const std::string& m) {
        try {
            cfg.log(l, m);
        } catch (...) {
        }
    }

    void setState(ConnectionState s) {
        std::lock_guard<std::mutex> g(ctl);
        state = s;
    }

    void setError(const std::string& e) {
        std::lock_guard<std::mutex> g(ctl);
        lastError = e;
    }

    void wake() {
        std::lock_guard<std::mutex> g(wakeMutex);
        if (!wakeTx) return;
        try {
            char c = 1;
            (void)wakeTx->send(zmq::const_buffer(&c, 1), zmq::send_flags::dontwait);
        } catch (...) {
        }
    }

    void pushOp(Op op) {
        {
            std::lock_guard<std::mutex> g(ctl);
            ops.push_back(std::move(op));
        }
        wake();
    }

    void deliver(Reply r, uint64_t id) {
        {
            std::lock_guard<std::mutex> g(ctl);
            replies[id] = std::move(r);
            replyOrder.push_back(id);
            while (replyOrder.size() > kMaxReplies) {
                replies.erase(replyOrder.front());
                replyOrder.pop_front();
            }
        }
        replyCv.notify_all();
    }

    void deliverError(uint64_t id, const std::string& code, const std::string& message) {
        deliver(makeClientError(RequestId(id), code, message), id);
    }

    Op requestOp(const std::string& type, std::function<std::string()> build, uint64_t id) {
        Op op;
        op.kind = Op::Request;
        op.id = id;
        op.type = type;
        op.build = std::move(build);
        op.deadlineNs = steadyNowNs() + int64_t(cfg.replyTimeoutS * 1e9);
        return op;
    }

    // ------------------------------------------------------------------ sockets
    void applyCurve(zmq::socket_t& s) {
        if (!cfg.curve.enabled()) return;
        std::string pub = cfg.curve.clientPublicKey, sec = cfg.curve.clientSecretKey;
        if (pub.empty() || sec.empty()) {
            char p[41], k[41];
            if (zmq_curve_keypair(p, k) == 0) {
                pub = p;
                sec = k;
            }
            log(LogLevel::Warning, "CURVE: no client key pair given; using a fresh one (the daemon admits only keys "
                                   "in its KEYS/clients/)");
            cfg.curve.clientPublicKey = pub;
            cfg.curve.clientSecretKey = sec;
        }
        s.set(zmq::sockopt::curve_serverkey, cfg.curve.serverPublicKey);
        s.set(zmq::sockopt::curve_publickey, pub);
        s.set(zmq::sockopt::curve_secretkey, sec);
    }

    void openDealer() {
        dealer = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::dealer);
        dealer->set(zmq::sockopt::linger, 0);
        dealer->set(zmq::sockopt::immediate, 1);  // queue only to a live connection
        dealer->set(zmq::sockopt::reconnect_ivl, std::max(10, int(cfg.retryMinS * 1000)));
        dealer->set(zmq::sockopt::reconnect_ivl_max, std::max(20, int(cfg.retryMaxS * 1000)));
        applyCurve(*dealer);
        char ep[96];
        std::snprintf(ep, sizeof ep, "inproc://facebridge-monitor-%p-%d", static_cast<void*>(this), ++dealerGeneration);
        zmq_socket_monitor(dealer->handle(), ep,
                           ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_DISCONNECTED |
                               ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
        mon = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::pair);
        mon->set(zmq::sockopt::linger, 0);
        mon->connect(ep);
        dealer->connect(cfg.control);
    }

    void closeDealer() {
        if (dealer) {
            zmq_socket_monitor(dealer->handle(), nullptr, 0);
            dealer->close();
            dealer.reset();
        }
        if (mon) {
            mon->close();
            mon.reset();
        }
    }

    void openSub() {
        sub = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::sub);
        sub->set(zmq::sockopt::linger, 0);
        sub->set(zmq::sockopt::rcvhwm, 10000);
        sub->set(zmq::sockopt::reconnect_ivl, std::max(10, int(cfg.retryMinS * 1000)));
        sub->set(zmq::sockopt::reconnect_ivl_max, std::max(20, int(cfg.retryMaxS * 1000)));
        applyCurve(*sub);
        sub->connect(cfg.data);
    }

    void openVideo(const std::string& endpoint) {
        if (vsub) {
            vsub->close();
            vsub.reset();
        }
        videoEndpoint = endpoint;
        vsub = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::sub);
        vsub->set(zmq::sockopt::linger, 0);
        vsub->set(zmq::sockopt::rcvhwm, std::max(1, cfg.videoRcvHwm));  // a texture wants the newest frame
        vsub->set(zmq::sockopt::reconnect_ivl, std::max(10, int(cfg.retryMinS * 1000)));
        vsub->set(zmq::sockopt::reconnect_ivl_max, std::max(20, int(cfg.retryMaxS * 1000)));
        applyCurve(*vsub);
        vsub->connect(endpoint);
        for (const auto& a : videoSubs) vsub->set(zmq::sockopt::subscribe, "video." + a);
    }

    // The video endpoint: configured, or welcome's port on the control host.
    std::string wantedVideoEndpoint() {
        if (!cfg.video.empty()) return cfg.video;
        std::lock_guard<std::mutex> g(ctl);
        if (!haveWelcome || welcome.videoEndpoint.empty()) return std::string();
        return hostOf(cfg.control) + ":" + portOf(welcome.videoEndpoint);
    }

    void ensureVideo() {
        if (videoSubs.empty()) return;
        const std::string ep = wantedVideoEndpoint();
        if (!ep.empty() && (!vsub || ep != videoEndpoint)) openVideo(ep);
    }

    // ------------------------------------------------------------------ sending
    bool sendBytes(const std::string& bytes) {
        if (!dealer) return false;
        auto r = dealer->send(zmq::const_buffer(bytes.data(), bytes.size()), zmq::send_flags::dontwait);
        return r.has_value();
    }

    void publicState() {
        ConnectionState s;
        switch (phase) {
            case Phase::Ready: s = ConnectionState::Connected; break;
            case Phase::Restoring: s = ConnectionState::Restoring; break;
            case Phase::Failed: s = ConnectionState::Failed; break;
            default: s = everWelcomed ? ConnectionState::Reconnecting : ConnectionState::Connecting;
        }
        setState(s);
    }

    void tryHello(int64_t now) {
        {
            std::lock_guard<std::mutex> g(ctl);
            stats.helloAttempts++;
            if (stats.helloAttemptTimesS.size() < 32)
                stats.helloAttemptTimesS.push_back(double(now - startSteadyNs) / 1e9);
        }
        helloId = nextInternal++;
        if (sendBytes(request::hello(RequestId(helloId), cfg.protocol, cfg.clientName))) {
            phase = Phase::WaitWelcome;
            helloSentNs = now;
            std::lock_guard<std::mutex> g(ctl);
            stats.helloSent++;
            stats.requestsSent++;
        } else {
            // No connection yet (ZeroMQ keeps trying to connect): try again after the backoff.
            nextHelloNs = now + int64_t(backoffS * 1e9);
            backoffS = std::min(backoffS * 2, cfg.retryMaxS);
        }
    }

    void fail(const std::string& code, const std::string& message) {
        phase = Phase::Failed;
        failMessage = message;
        setError(message);
        log(LogLevel::Error, message);
        for (auto& p : held) deliverError(p.op.id, code, message);
        held.clear();
        for (auto& kv : inflight) deliverError(kv.first, code, message);
        inflight.clear();
        publicState();
    }

    void onWelcome(const Reply& r, int64_t now) {
        Welcome w;
        std::string err;
        if (!parseWelcome(r, w, &err)) {
            fail("unsupported_protocol", "facebridge: the daemon at " + cfg.control + " sent a welcome this client "
                                         "cannot read (" + err + ")");
            return;
        }
        if (!supported(w.protocol) || w.protocol > cfg.protocol) {
            fail("unsupported_protocol",
                 "facebridge: protocol version mismatch: the daemon at " + cfg.control + " (" + w.server +
                     ") answered protocol " + std::to_string(w.protocol) + ", this client speaks " +
                     std::to_string(kProtocolVersion) + ". Update the FaceBridge plugin or the daemon so they share a version.");
            return;
        }
        std::vector<std::string> unknown;
        if (w.blendshapeNames.empty()) {
            map = BlendshapeMap();
            log(LogLevel::Warning, "welcome.schema has no blendshape_names; assuming ARKit's canonical order");
        } else {
            map.build(w.blendshapeNames, &unknown);
        }
        std::vector<std::string> fresh;
        for (const auto& u : unknown)
            if (warnedUnknown.insert(u).second) fresh.push_back(u);
        if (!fresh.empty()) {
            std::string list;
            for (const auto& u : fresh) list += (list.empty() ? "" : ", ") + u;
            log(LogLevel::Warning, "the daemon sends blendshapes this client does not know; they are ignored: " + list);
            std::lock_guard<std::mutex> g(ctl);
            stats.unknownBlendshapeWarnings++;
        }
        const bool reconnect = everWelcomed;
        everWelcomed = true;
        {
            std::lock_guard<std::mutex> g(ctl);
            welcome = w;
            haveWelcome = true;
            epoch++;
            stats.welcomes++;
            clock.clear();
            if (!reconnect) lastError.clear();
        }
        {
            std::lock_guard<std::mutex> g(frames);
            lookaheadS = w.lookaheadS;
        }
        backoffS = cfg.retryMinS;
        log(LogLevel::Info, std::string(reconnect ? "reconnected to " : "connected to ") + w.server + " at " + cfg.control +
                                ", protocol " + std::to_string(w.protocol));
        ensureVideo();
        nextPingNs = now;  // a first clock sample at once
        restores.clear();
        if (reconnect && cfg.restoreAvatars && !avatars.empty()) {
            for (const auto& kv : avatars) {
                const uint64_t id = nextInternal++;
                const CreateInfo& c = *kv.second;
                if (sendBytes(request::createAvatar(RequestId(id), c.image, kv.first, c.render, c.videoSize))) {
                    restores[id] = kv.first;
                    std::lock_guard<std::mutex> g(ctl);
                    stats.requestsSent++;
                }
            }
        }
        if (!restores.empty()) {
            phase = Phase::Restoring;
        } else {
            phase = Phase::Ready;
            flushHeld();
        }
        publicState();
    }

    void flushHeld() {
        while (!held.empty() && phase == Phase::Ready) {
            Pending& p = held.front();
            if (!sendBytes(p.op.bytes)) break;  // no connection: the next turn retries
            p.sentSystemNs = systemNowNs();
            {
                std::lock_guard<std::mutex> g(ctl);
                stats.requestsSent++;
            }
            const uint64_t id = p.op.id;
            inflight[id] = std::move(p);
            held.pop_front();
        }
    }

    void connectionLost(const std::string& why) {
        if (phase == Phase::Failed) return;
        const bool wasUp = phase != Phase::NeedHello;
        for (auto& kv : inflight)
            deliverError(kv.first, "disconnected", "the connection to the daemon dropped (" + why +
                                                       ") before the reply; the request may not have been done");
        inflight.clear();
        pings.clear();
        restores.clear();
        phase = Phase::NeedHello;
        backoffS = cfg.retryMinS;
        nextHelloNs = 0;
        if (wasUp) {
            std::lock_guard<std::mutex> g(ctl);
            stats.disconnects++;
        }
        if (wasUp) log(LogLevel::Warning, "lost the daemon at " + cfg.control + " (" + why + "); reconnecting");
        publicState();
    }

    // ------------------------------------------------------------------ receiving
    void onMonitor() {
        for (size_t n = 0; n < 64; ++n) {
            zmq::message_t ev;
            if (!mon->recv(ev, zmq::recv_flags::dontwait)) return;
            uint16_t event = 0;
            uint32_t value = 0;
            if (ev.size() >= 6) {
                std::memcpy(&event, ev.data(), 2);
                std::memcpy(&value, static_cast<const char*>(ev.data()) + 2, 4);
            }
            while (ev.more()) {
                zmq::message_t rest;
                if (!mon->recv(rest, zmq::recv_flags::dontwait)) break;
                ev = std::move(rest);
            }
            const int64_t now = steadyNowNs();
            if (event == ZMQ_EVENT_CONNECT_RETRIED) {
                std::lock_guard<std::mutex> g(ctl);
                stats.connectRetries++;
                stats.lastConnectRetryMs = int(value);
            } else if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED || (event == ZMQ_EVENT_CONNECTED && !cfg.curve.enabled())) {
                if (phase == Phase::NeedHello) {
                    backoffS = cfg.retryMinS;
                    tryHello(now);
                }
            } else if (event == ZMQ_EVENT_DISCONNECTED) {
                connectionLost("disconnected");
            } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH || event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
                       event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
                if (warnedHandshake.insert(event).second) {
                    const std::string m =
                        cfg.curve.enabled()
                            ? "CURVE handshake with the daemon at " + cfg.control + " failed" +
                                  (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ? " (not admitted)" : "") +
                                  ": check the server public key (server.key) and that this client's public key is in "
                                  "the daemon's KEYS/clients/"
                            : "ZeroMQ handshake with " + cfg.control +
                                  " failed: is the daemon using CURVE (serve --curve-keys)? Then give this client its keys";
                    log(LogLevel::Error, m);
                    setError(m);
                }
            }
        }
    }

    void onReply(const Reply& r, int64_t now) {
        const uint64_t id = r.id.isString ? 0 : r.id.num;
        if (!r.id.isString && id == helloId && (phase == Phase::WaitWelcome)) {
            if (r.type == "welcome") {
                onWelcome(r, now);
            } else if (r.errorCode() == "unsupported_protocol") {
                fail("unsupported_protocol", "facebridge: protocol version mismatch: this client speaks protocol " +
                                                 std::to_string(cfg.protocol) + " and the daemon at " + cfg.control +
                                                 " refused it (" + r.errorMessage() +
                                                 "). Update the FaceBridge plugin or the daemon so they share a version.");
            } else {
                fail(r.errorCode().empty() ? "internal" : r.errorCode(),
                     "facebridge: the daemon refused hello: " + r.errorCode() + ": " + r.errorMessage());
            }
            return;
        }
        if (auto it = pings.find(id); it != pings.end()) {
            if (r.type == "pong") {
                const Value* t = r.msg.find("t_ns");
                if (t && t->isInt()) {
                    std::lock_guard<std::mutex> g(ctl);
                    clock.add(it->second, systemNowNs(), t->asInt());
                }
            }
            pings.erase(it);
            return;
        }
        if (auto it = restores.find(id); it != restores.end()) {
            const std::string avatar = it->second;
            restores.erase(it);
            if (r.type == "avatar_created") {
                {
                    std::lock_guard<std::mutex> g(frames);
                    jitter[avatar].clear();  // a new avatar: its utterances count from 1 again
                }
                std::lock_guard<std::mutex> g(ctl);
                stats.avatarsRestored++;
            } else if (!(r.errorCode() == "bad_field" && r.errorMessage().find("exists") != std::string::npos)) {
                log(LogLevel::Warning, "could not re-create avatar " + avatar + " after reconnecting: " + r.errorCode() +
                                           ": " + r.errorMessage());
            }
            if (restores.empty() && phase == Phase::Restoring) {
                phase = Phase::Ready;
                flushHeld();
                publicState();
            }
            return;
        }
        auto it = inflight.find(id);
        if (r.id.isString || it == inflight.end()) return;  // stale (a dropped connection's) or not ours
        Pending p = std::move(it->second);
        inflight.erase(it);
        if (r.isError() && r.errorCode() == "hello_first" && !p.retried) {
            // The daemon does not know this connection (it restarted): hello again, then resend.
            p.retried = true;
            auto pos = std::find_if(held.begin(), held.end(), [&](const Pending& h) { return h.op.id > p.op.id; });
            held.insert(pos, std::move(p));
            if (phase == Phase::Ready || phase == Phase::Restoring) {
                log(LogLevel::Info, "the daemon asked for hello again (it restarted?); saying hello");
                phase = Phase::NeedHello;
                backoffS = cfg.retryMinS;
                tryHello(now);
                publicState();
            }
            return;
        }
        if (r.type == "avatar_created" && p.op.create) {
            const Value* name = r.msg.find("avatar");
            if (name && name->isStr()) avatars[name->asString()] = p.op.create;
        }
        if (p.op.remove && r.type == "ok") avatars.erase(p.op.avatar);
        deliver(r, id);
    }

    void onDealer(int64_t now) {
        for (size_t n = 0; n < kDrainPerLoop && dealer; ++n) {
            zmq::message_t msg;
            if (!dealer->recv(msg, zmq::recv_flags::dontwait)) return;
            bool multi = false;
            while (msg.more()) {  // a reply is one frame
                multi = true;
                zmq::message_t rest;
                if (!dealer->recv(rest, zmq::recv_flags::dontwait)) break;
                msg = std::move(rest);
            }
            Reply r;
            std::string err;
            if (multi || !parseReply(msg.data(), msg.size(), r, &err)) {
                std::lock_guard<std::mutex> g(ctl);
                stats.repliesMalformed++;
                continue;
            }
            {
                std::lock_guard<std::mutex> g(ctl);
                stats.repliesReceived++;
            }
            onReply(r, now);
        }
    }

    // Receive one multipart message into `parts`; false when none is waiting.
    bool recvMultipart(zmq::socket_t& s) {
        parts.clear();
        zmq::message_t m;
        if (!s.recv(m, zmq::recv_flags::dontwait)) return false;
        bool more = m.more();
        parts.push_back(std::move(m));
        while (more) {
            zmq::message_t next;
            if (!s.recv(next, zmq::recv_flags::dontwait)) break;
            more = next.more();
            if (parts.size() < 16) parts.push_back(std::move(next));  // more than 16 parts: malformed anyway
        }
        return true;
    }

    void onSub() {
        Part ps[16];
        MotionFrame f;
        std::string err;
        for (size_t n = 0; n < kDrainPerLoop && sub; ++n) {
            if (!recvMultipart(*sub)) return;
            for (size_t i = 0; i < parts.size(); ++i) ps[i] = Part{parts[i].data(), parts[i].size()};
            if (!decodeMotionFrame(ps, parts.size(), f, &err)) {
                std::lock_guard<std::mutex> g(ctl);
                stats.framesDropped++;
                continue;
            }
            map.apply(f.blendshapes.data(), f.blendshapes.size(), f.blendshapes.data());
            f.arrivalNs = systemNowNs();
            {
                std::lock_guard<std::mutex> g(ctl);
                stats.framesReceived++;
                f.localPublishNs = clock.valid() ? f.tNs - clock.offsetNs() : f.arrivalNs;
            }
            std::lock_guard<std::mutex> g(frames);
            auto jt = jitter.find(f.avatar);
            if (jt == jitter.end()) jt = jitter.emplace(f.avatar, JitterBuffer(cfg.jitterCapacity)).first;
            jt->second.push(f, lookaheadS);
            if (cfg.frameQueue > 0) {
                queue.push_back(f);
                if (queue.size() > cfg.frameQueue) {
                    queue.pop_front();
                    std::lock_guard<std::mutex> g2(ctl);
                    stats.framesQueueOverflow++;
                }
            }
        }
    }

    void onVideo() {
        Part ps[16];
        for (size_t n = 0; n < kDrainPerLoop && vsub; ++n) {
            if (!recvMultipart(*vsub)) return;
            for (size_t i = 0; i < parts.size(); ++i) ps[i] = Part{parts[i].data(), parts[i].size()};
            VideoFrame v;
            if (!decodeVideoFrame(ps, parts.size(), v, nullptr)) {
                std::lock_guard<std::mutex> g(ctl);
                stats.videoDropped++;
                continue;
            }
            v.arrivalNs = systemNowNs();
            bool replaced = false;
            {
                std::lock_guard<std::mutex> g(frames);
                VideoSlot& slot = video[v.avatar];
                replaced = slot.fresh;
                slot.frame = std::move(v);
                slot.fresh = true;
            }
            std::lock_guard<std::mutex> g(ctl);
            stats.videoReceived++;
            if (replaced) stats.videoReplaced++;
        }
    }

    // ------------------------------------------------------------------ ops and timers
    void onOps(int64_t now) {
        std::deque<Op> mine;
        {
            std::lock_guard<std::mutex> g(ctl);
            mine.swap(ops);
        }
        for (auto& op : mine) {
            if (op.kind == Op::Subscribe) {
                if (sub && subs.insert(op.avatar).second) sub->set(zmq::sockopt::subscribe, "anim." + op.avatar);
                if (op.video && videoSubs.insert(op.avatar).second) {
                    if (vsub) vsub->set(zmq::sockopt::subscribe, "video." + op.avatar);
                    else ensureVideo();
                }
                continue;
            }
            if (op.kind == Op::Unsubscribe) {
                if (sub && subs.erase(op.avatar)) sub->set(zmq::sockopt::unsubscribe, "anim." + op.avatar);
                if (videoSubs.erase(op.avatar) && vsub) vsub->set(zmq::sockopt::unsubscribe, "video." + op.avatar);
                continue;
            }
            if (phase == Phase::Failed) {
                deliverError(op.id, "unsupported_protocol", failMessage);
                continue;
            }
            if (held.size() >= cfg.maxHeldRequests) {
                deliverError(op.id, "client_busy", "too many requests are waiting for the daemon; try again later");
                continue;
            }
            Pending p;
            p.op = std::move(op);
            try {
                if (p.op.build) p.op.bytes = p.op.build();
            } catch (const std::exception& e) {
                deliverError(p.op.id, "bad_field", std::string("cannot encode the request: ") + e.what());
                continue;
            }
            p.op.build = nullptr;
            held.push_back(std::move(p));
        }
        if (phase == Phase::Ready) flushHeld();
        (void)now;
    }

    void onTimers(int64_t now) {
        if (phase == Phase::NeedHello && now >= nextHelloNs) tryHello(now);
        if (phase == Phase::WaitWelcome && now - helloSentNs > int64_t(cfg.helloTimeoutS * 1e9)) {
            // Sent but unanswered (a daemon going down, or not admitting us): start over on a
            // fresh socket, after the backoff.
            log(LogLevel::Debug, "no welcome within " + std::to_string(cfg.helloTimeoutS) + " s; retrying");
            closeDealer();
            openDealer();
            phase = Phase::NeedHello;
            nextHelloNs = now + int64_t(backoffS * 1e9);
            backoffS = std::min(backoffS * 2, cfg.retryMaxS);
            publicState();
        }
        if (phase == Phase::Ready) {
            flushHeld();
            if (cfg.pingIntervalS > 0 && now >= nextPingNs) {
                const uint64_t id = nextInternal++;
                const int64_t t = systemNowNs();
                if (sendBytes(request::ping(RequestId(id), t))) {
                    pings[id] = t;
                    if (pings.size() > 64) pings.erase(pings.begin());
                }
                nextPingNs = now + int64_t(cfg.pingIntervalS * 1e9);
            }
        }
        // Deadlines.
        for (auto it = held.begin(); it != held.end();) {
            if (now > it->op.deadlineNs) {
                deliverError(it->op.id, "timeout", "no connection to the daemon at " + cfg.control +
                                                       " (is `facebridge serve` running there?)");
                it = held.erase(it);
            } else {
                ++it;
            }
        }
        for (auto it = inflight.begin(); it != inflight.end();) {
            if (now > it->second.op.deadlineNs) {
                deliverError(it->first, "timeout", "no reply to " + it->second.op.type + " within " +
                                                       std::to_string(int(cfg.replyTimeoutS)) + " s");
                it = inflight.erase(it);
            } else {
                ++it;
            }
        }
    }

    int64_t nextTimerNs(int64_t now) {
        int64_t next = now + 100'000'000;  // at least every 100 ms
        if (phase == Phase::NeedHello) next = std::min(next, nextHelloNs);
        if (phase == Phase::Ready && cfg.pingIntervalS > 0) next = std::min(next, nextPingNs);
        if (phase == Phase::Ready && !held.empty()) next = std::min(next, now + 2'000'000);
        return next;
    }

    void run() {
        try {
            openDealer();
            openSub();
            for (const auto& a : subs) sub->set(zmq::sockopt::subscribe, "anim." + a);
            phase = Phase::NeedHello;
            nextHelloNs = 0;
            backoffS = cfg.retryMinS;
            publicState();
            while (!stopping.load()) {
                const int64_t now = steadyNowNs();
                const int64_t wait = std::max<int64_t>(0, nextTimerNs(now) - now);
                std::vector<zmq::pollitem_t> items;
                items.push_back({wakeRx->handle(), 0, ZMQ_POLLIN, 0});
                items.push_back({mon->handle(), 0, ZMQ_POLLIN, 0});
                items.push_back({dealer->handle(), 0, ZMQ_POLLIN, 0});
                items.push_back({sub->handle(), 0, ZMQ_POLLIN, 0});
                if (vsub) items.push_back({vsub->handle(), 0, ZMQ_POLLIN, 0});
                zmq::poll(items.data(), items.size(), std::chrono::milliseconds((wait + 999'999) / 1'000'000));
                if (items[0].revents & ZMQ_POLLIN) {
                    zmq::message_t m;
                    while (wakeRx->recv(m, zmq::recv_flags::dontwait)) {
                    }
                }
                const int64_t t = steadyNowNs();
                onOps(t);
                onMonitor();
                onDealer(t);
                onSub();
                if (vsub) onVideo();
                onTimers(steadyNowNs());
            }
        } catch (const std::exception& e) {
            const std::string m = std::string("facebridge client stopped: ") + e.what() + " (control " + cfg.control +
                                  ", data " + cfg.data + ")";
            fail("internal", m);
        }
        // Best effort for requests made just before stop() (e.g. stop+remove of an avatar):
        // send what is queued and give it 100 ms to leave.
        try {
            if (phase == Phase::Ready && dealer) {
                onOps(steadyNowNs());
                flushHeld();
                dealer->set(zmq::sockopt::linger, 100);
            }
        } catch (...) {
        }
        for (auto& p : held) deliverError(p.op.id, "stopped", "the client was stopped");
        held.clear();
        for (auto& kv : inflight) deliverError(kv.first, "stopped", "the client was stopped");
        inflight.clear();
        closeDealer();
        if (sub) { sub->close(); sub.reset(); }
        if (vsub) { vsub->close(); vsub.reset(); }
        if (phase != Phase::Failed) setState(ConnectionState::Stopped);
    }
};

Client::Client(ClientConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}

Client::~Client() {
    stop();
    std::lock_guard<std::mutex> g(impl_->wakeMutex);
    if (impl_->wakeTx) impl_->wakeTx->close();
    if (impl_->wakeRx) impl_->wakeRx->close();
    impl_->wakeTx.reset();
    impl_->wakeRx.reset();
}

void Client::start() {
    Impl& d = *impl_;
    if (d.thread.joinable()) return;
    {
        std::lock_guard<std::mutex> g(d.wakeMutex);
        if (!d.wakeRx) {
            char ep[80];
            std::snprintf(ep, sizeof ep, "inproc://facebridge-wake-%p", static_cast<void*>(&d));
            d.wakeRx = std::make_unique<zmq::socket_t>(d.ctx, zmq::socket_type::pair);
            d.wakeRx->set(zmq::sockopt::linger, 0);
            d.wakeRx->bind(ep);
            d.wakeTx = std::make_unique<zmq::socket_t>(d.ctx, zmq::socket_type::pair);
            d.wakeTx->set(zmq::sockopt::linger, 0);
            d.wakeTx->set(zmq::sockopt::sndhwm, 4);  // one pending wake is enough
            d.wakeTx->connect(ep);
        }
    }
    d.stopping = false;
    d.startSteadyNs = steadyNowNs();
    d.setState(ConnectionState::Connecting);
    d.thread = std::thread([&d] { d.run(); });
}

void Client::stop() {
    Impl& d = *impl_;
    if (!d.thread.joinable()) return;
    d.stopping = true;
    d.wake();
    d.thread.join();
}

ConnectionState Client::state() const {
    std::lock_guard<std::mutex> g(impl_->ctl);
    return impl_->state;
}

std::string Client::lastError() const {
    std::lock_guard<std::mutex> g(impl_->ctl);
    return impl_->lastError;
}

uint64_t Client::epoch() const {
    std::lock_guard<std::mutex> g(impl_->ctl);
    return impl_->epoch;
}

bool Client::welcome(Welcome& out) const {
    std::lock_guard<std::mutex> g(impl_->ctl);
    if (!impl_->haveWelcome) return false;
    out = impl_->welcome;
    return true;
}

ClientStats Client::stats() const {
    std::lock_guard<std::mutex> g(impl_->ctl);
    return impl_->stats;
}


// Requests are encoded on the network thread: the caller only copies its arguments (one
// memcpy of an image or a clip), so a call stays far below 1 ms even for a large image.
uint64_t Client::send(const std::string& type, const std::vector<Field>& fields) {
    const uint64_t id = impl_->nextId++;
    impl_->pushOp(impl_->requestOp(type, [=] { return encodeRequest(type, RequestId(id), fields); }, id));
    return id;
}

uint64_t Client::ping() {
    const uint64_t id = impl_->nextId++;
    const int64_t t = systemNowNs();
    impl_->pushOp(impl_->requestOp("ping", [=] { return request::ping(RequestId(id), t); }, id));
    return id;
}

uint64_t Client::createAvatar(std::string imageFile, const std::optional<std::string>& name,
                              const std::optional<std::string>& render, std::optional<int> videoSize) {
    const uint64_t id = impl_->nextId++;
    auto info = std::make_shared<CreateInfo>(CreateInfo{std::move(imageFile), render, videoSize});
    Op op = impl_->requestOp("create_avatar", [=] {
        return request::createAvatar(RequestId(id), info->image, name, info->render, info->videoSize);
    }, id);
    op.create = info;
    impl_->pushOp(std::move(op));
    return id;
}

uint64_t Client::speakClip(const std::string& avatar, std::string audioFile, const std::optional<std::string>& text,
                           const std::optional<std::string>& emotion) {
    const uint64_t id = impl_->nextId++;
    auto audio = std::make_shared<std::string>(std::move(audioFile));
    impl_->pushOp(impl_->requestOp("speak", [=] {
        return request::speakClip(RequestId(id), avatar, *audio, text, emotion);
    }, id));
    return id;
}

uint64_t Client::speakChunk(const std::string& avatar, const float* pcm, size_t samples, int rate, bool final,
                            const std::optional<std::string>& text, const std::optional<std::string>& emotion) {
    const uint64_t id = impl_->nextId++;
    auto x = std::make_shared<std::vector<float>>(pcm, pcm + samples);
    impl_->pushOp(impl_->requestOp("speak", [=] {
        return request::speakChunk(RequestId(id), avatar, x->data(), x->size(), rate, final, text, emotion);
    }, id));
    return id;
}

uint64_t Client::listen(const std::string& avatar, const float* pcm, size_t samples, int rate, std::optional<bool> final) {
    const uint64_t id = impl_->nextId++;
    auto x = std::make_shared<std::vector<float>>(pcm, pcm + samples);
    impl_->pushOp(impl_->requestOp("listen", [=] {
        return request::listen(RequestId(id), avatar, x->data(), x->size(), rate, final);
    }, id));
    return id;
}

uint64_t Client::setEmotion(const std::string& avatar, const std::string& emotion) {
    const uint64_t id = impl_->nextId++;
    impl_->pushOp(impl_->requestOp("set_emotion", [=] { return request::setEmotion(RequestId(id), avatar, emotion); }, id));
    return id;
}

uint64_t Client::stopAvatar(const std::string& avatar, bool remove) {
    const uint64_t id = impl_->nextId++;
    Op op = impl_->requestOp("stop", [=] {
        return request::stop(RequestId(id), avatar, remove ? std::optional<bool>(true) : std::nullopt);
    }, id);
    op.avatar = avatar;
    op.remove = remove;
    impl_->pushOp(std::move(op));
    return id;
}

uint64_t Client::requestStats() {
    const uint64_t id = impl_->nextId++;
    impl_->pushOp(impl_->requestOp("stats", [=] { return request::stats(RequestId(id)); }, id));
    return id;
}

bool Client::pollReply(uint64_t id, Reply& out) {
    std::lock_guard<std::mutex> g(impl_->ctl);
    auto it = impl_->replies.find(id);
    if (it == impl_->replies.end()) return false;
    out = std::move(it->second);
    impl_->replies.erase(it);
    return true;
}

bool Client::waitReply(uint64_t id, Reply& out, double timeoutS) {
    std::unique_lock<std::mutex> g(impl_->ctl);
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(int64_t(timeoutS * 1e6));
    while (true) {
        auto it = impl_->replies.find(id);
        if (it != impl_->replies.end()) {
            out = std::move(it->second);
            impl_->replies.erase(it);
            return true;
        }
        if (impl_->replyCv.wait_until(g, until) == std::cv_status::timeout) {
            it = impl_->replies.find(id);
            if (it == impl_->replies.end()) return false;
        }
    }
}

void Client::subscribe(const std::string& avatar, bool video) {
    Op op;
    op.kind = Op::Subscribe;
    op.avatar = avatar;
    op.video = video;
    impl_->pushOp(std::move(op));
}

void Client::unsubscribe(const std::string& avatar) {
    Op op;
    op.kind = Op::Unsubscribe;
    op.avatar = avatar;
    impl_->pushOp(std::move(op));
}

size_t Client::drainFrames(std::vector<MotionFrame>& out, size_t max) {
    std::lock_guard<std::mutex> g(impl_->frames);
    size_t n = 0;
    while (!impl_->queue.empty() && n < max) {
        out.push_back(std::move(impl_->queue.front()));
        impl_->queue.pop_front();
        ++n;
    }
    return n;
}

bool Client::sampleFrame(const std::string& avatar, int64_t utterance, double audioPosS, MotionFrame& out) const {
    std::lock_guard<std::mutex> g(impl_->frames);
    auto it = impl_->jitter.find(avatar);
    return it != impl_->jitter.end() && it->second.sample(utterance, audioPosS, out);
}

bool Client::sampleFrameAuto(const std::string& avatar, MotionFrame& out, double extraDelayS) const {
    const int64_t now = systemNowNs();
    std::lock_guard<std::mutex> g(impl_->frames);
    auto it = impl_->jitter.find(avatar);
    return it != impl_->jitter.end() && it->second.sampleAt(now, out, extraDelayS);
}

size_t Client::eventsBetween(const std::string& avatar, int64_t utterance, double afterPts, double uptoPts,
                             std::vector<Event>& out) const {
    std::lock_guard<std::mutex> g(impl_->frames);
    auto it = impl_->jitter.find(avatar);
    return it == impl_->jitter.end() ? 0 : it->second.eventsBetween(utterance, afterPts, uptoPts, out);
}

bool Client::latestFrame(const std::string& avatar, MotionFrame& out) const {
    std::lock_guard<std::mutex> g(impl_->frames);
    auto it = impl_->jitter.find(avatar);
    return it != impl_->jitter.end() && it->second.latest(out);
}

bool Client::takeVideo(const std::string& avatar, VideoFrame& out) {
    std::lock_guard<std::mutex> g(impl_->frames);
    auto it = impl_->video.find(avatar);
    if (it == impl_->video.end() || !it->second.fresh) return false;
    std::swap(out, it->second.frame);
    it->second.fresh = false;
    return true;
}

bool Client::clockOffset(int64_t& offsetNs, int64_t& rttNs) const {
    std::lock_guard<std::mutex> g(impl_->ctl);
    if (!impl_->clock.valid()) return false;
    offsetNs = impl_->clock.offsetNs();
    rttNs = impl_->clock.rttNs();
    return true;
}

int64_t Client::serverNowNs() const {
    std::lock_guard<std::mutex> g(impl_->ctl);
    return systemNowNs() + (impl_->clock.valid() ? impl_->clock.offsetNs() : 0);
}

}  // namespace facebridge
