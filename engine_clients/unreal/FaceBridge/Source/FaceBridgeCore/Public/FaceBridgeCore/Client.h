// facebridge Unreal client core: the client.
//
// One background network thread owns the ZeroMQ sockets (a DEALER for control, a SUB for
// motion frames, a SUB for video). Every public method only takes a short lock and copies or
// swaps: a game thread calling it never blocks on the network (measured <= 1 ms per call,
// including while the daemon is absent). Requests are answered asynchronously: a method
// returns the request's id at once and pollReply(id) gives the reply when it has come.
//
// The thread:
// - says hello (protocol 1) as soon as a connection exists, retrying with backoff while the
//   daemon is absent (ZeroMQ's own reconnect backs off 100 ms -> 1 s, ours likewise);
// - holds requests made before the welcome, and sends them after it;
// - after a reconnect (the daemon restarted, or the connection dropped), says hello again,
//   re-creates the avatars this client created (same ids, same image and render options), then
//   sends the held requests; requests in flight when the connection dropped are answered with
//   a client-made error `disconnected`; an `error hello_first` also triggers the re-hello;
// - pings every second for the clock offset;
// - decodes frames (malformed or truncated ones are dropped and counted), maps blendshapes by
//   name, and fills a jitter buffer per avatar, a queue of frames and the newest video frame.
//
// Client-made error codes (in pollReply): `timeout` (no reply within replyTimeoutS),
// `disconnected` (the connection dropped with the request in flight), `unsupported_protocol`
// (no protocol version in common: the client stops; lastError() says what to do),
// `stopped` (the client was stopped), `client_busy` (too many requests held while offline).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "FaceBridgeCore/Codec.h"
#include "FaceBridgeCore/Frames.h"
#include "FaceBridgeCore/JitterBuffer.h"

namespace facebridge {

enum class LogLevel { Debug, Info, Warning, Error };
using LogFn = std::function<void(LogLevel, const std::string&)>;

struct CurveKeys {
    // Z85 text (40 characters): the daemon's public key (server.key), and this client's pair
    // (clients/client.key_secret holds both). All empty: no CURVE.
    std::string serverPublicKey;
    std::string clientPublicKey;
    std::string clientSecretKey;
    bool enabled() const { return !serverPublicKey.empty(); }
};

struct ClientConfig {
    std::string control = "tcp://127.0.0.1:5555";
    std::string data = "tcp://127.0.0.1:5556";
    std::string video;  // empty: the port welcome.schema.video.endpoint names, on the control host
    std::string clientName = "facebridge-unreal/0.1";
    CurveKeys curve;
    int protocol = kProtocolVersion;  // offered in hello (the highest this client speaks)
    double replyTimeoutS = 60.0;      // a speak clip is answered after its motion is computed
    double helloTimeoutS = 2.0;       // welcome expected within this after a hello is sent
    double retryMinS = 0.1;           // backoff between hello attempts: min, doubling up to max
    double retryMaxS = 1.0;
    double pingIntervalS = 1.0;       // 0: no pings (no clock offset)
    size_t frameQueue = 4096;         // frames kept for drainFrames (0: none kept)
    size_t jitterCapacity = 600;      // frames per avatar in the jitter buffer
    size_t maxHeldRequests = 1024;    // requests waiting for a connection
    int videoRcvHwm = 2;              // the video SUB's high-water mark (keep the newest)
    bool restoreAvatars = true;       // re-create this client's avatars after a reconnect
    LogFn log;                        // default: stderr
};

enum class ConnectionState { Connecting, Connected, Restoring, Reconnecting, Failed, Stopped };
const char* toString(ConnectionState s);

struct ClientStats {
    uint64_t framesReceived = 0;   // motion frames decoded
    uint64_t framesDropped = 0;    // motion messages refused (malformed, truncated)
    uint64_t framesQueueOverflow = 0;
    uint64_t videoReceived = 0;
    uint64_t videoDropped = 0;     // video messages refused
    uint64_t videoReplaced = 0;    // newest-frame slot overwritten before it was taken
    uint64_t requestsSent = 0;
    uint64_t repliesReceived = 0;
    uint64_t repliesMalformed = 0;
    uint64_t helloSent = 0;
    uint64_t helloAttempts = 0;    // including attempts with no connection yet
    uint64_t welcomes = 0;         // = the connection epoch
    uint64_t disconnects = 0;
    uint64_t avatarsRestored = 0;
    uint64_t connectRetries = 0;   // ZeroMQ's reconnect attempts (monitor events)
    int lastConnectRetryMs = 0;    // the interval of the latest one
    std::vector<double> helloAttemptTimesS;  // steady seconds since start, the first 32
    uint64_t unknownBlendshapeWarnings = 0;
};

class Client {
public:
    explicit Client(ClientConfig config);
    ~Client();  // stops
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Start / stop the network thread. start() returns at once; stop() joins (up to ~100 ms).
    void start();
    void stop();

    ConnectionState state() const;
    std::string lastError() const;  // the latest error worth telling a user (one line)
    uint64_t epoch() const;          // welcomes so far: changes after each (re)connection
    bool welcome(Welcome& out) const;
    ClientStats stats() const;

    // Requests (non-blocking): the id to poll. Requests before the welcome are held. They are
    // encoded on the network thread; large buffers (an image, a clip) are taken by value, so
    // std::move them in to avoid even the copy.
    uint64_t send(const std::string& type, const std::vector<Field>& fields);
    uint64_t ping();
    uint64_t createAvatar(std::string imageFile, const std::optional<std::string>& name = {},
                          const std::optional<std::string>& render = {}, std::optional<int> videoSize = {});
    uint64_t speakClip(const std::string& avatar, std::string audioFile,
                       const std::optional<std::string>& text = {}, const std::optional<std::string>& emotion = {});
    uint64_t speakChunk(const std::string& avatar, const float* pcm, size_t samples, int rate, bool final,
                        const std::optional<std::string>& text = {}, const std::optional<std::string>& emotion = {});
    uint64_t listen(const std::string& avatar, const float* pcm, size_t samples, int rate, std::optional<bool> final = {});
    uint64_t setEmotion(const std::string& avatar, const std::string& emotion);
    uint64_t stopAvatar(const std::string& avatar, bool remove = false);
    uint64_t requestStats();

    // The reply to `id`, once (true), or false while it has not come.
    bool pollReply(uint64_t id, Reply& out);
    // Blocking helper for tools and tests (NOT for a game thread): waits up to timeoutS.
    bool waitReply(uint64_t id, Reply& out, double timeoutS);

    // Subscriptions: motion frames of `avatar` ("" = every avatar), and its video frames.
    void subscribe(const std::string& avatar, bool video = false);
    void unsubscribe(const std::string& avatar);

    // Every decoded frame since the last call (oldest first), up to `max`. Needs frameQueue > 0.
    size_t drainFrames(std::vector<MotionFrame>& out, size_t max = SIZE_MAX);
    // Jitter buffer: the newest frame of `utterance` with pts <= audioPosS.
    bool sampleFrame(const std::string& avatar, int64_t utterance, double audioPosS, MotionFrame& out) const;
    // Jitter buffer on the estimated utterance clock (no audio position known).
    bool sampleFrameAuto(const std::string& avatar, MotionFrame& out, double extraDelayS = 0.0) const;
    bool latestFrame(const std::string& avatar, MotionFrame& out) const;
    // Jitter buffer: the listening events of `utterance`'s frames with afterPts < pts <= uptoPts
    // (appended to `out`, oldest first), to fire each event once as playback passes its frame.
    size_t eventsBetween(const std::string& avatar, int64_t utterance, double afterPts, double uptoPts,
                         std::vector<Event>& out) const;
    // The newest video frame of `avatar` not taken yet: swapped into `out` (no copy).
    bool takeVideo(const std::string& avatar, VideoFrame& out);

    // Clock: daemon clock - local clock (ns), from ping/pong; false until the first pong.
    bool clockOffset(int64_t& offsetNs, int64_t& rttNs) const;
    // The daemon's clock now (local + offset; local while no offset is known).
    int64_t serverNowNs() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace facebridge
