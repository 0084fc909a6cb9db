// The client: one background thread owns the ZeroMQ sockets (DEALER for control, SUB for
// data, SUB for video), says hello, keeps the connection alive with pings (clock offset),
// reconnects with backoff, says hello again after a daemon restart and re-creates its
// avatars. The game thread only enqueues requests and takes decoded frames: no public
// method waits on the network (except Request.Wait and Dispose(waitMs), for tools and tests).
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using FaceBridge.Transport;

namespace FaceBridge.Core
{
    public enum ConnectionState
    {
        /// <summary>Start() not called yet, or stopped.</summary>
        Stopped,
        /// <summary>saying hello (retrying with backoff while the daemon is absent)</summary>
        Connecting,
        /// <summary>welcomed: requests go out</summary>
        Ready,
        /// <summary>the connection was lost (or the daemon restarted): saying hello again, then re-creating avatars</summary>
        Reconnecting,
        /// <summary>gave up: protocol mismatch, libzmq missing, bad CURVE keys (see LastError)</summary>
        Failed,
    }

    public sealed class ClientOptions
    {
        public string ControlEndpoint = "tcp://127.0.0.1:5555";
        public string DataEndpoint = "tcp://127.0.0.1:5556";
        /// <summary>null: the port welcome.schema.video.endpoint names, on the control endpoint's host.</summary>
        public string VideoEndpoint;
        public CurveOptions Curve;
        public string ClientName = Protocol.ClientName;
        /// <summary>The protocol version offered in hello (tests change it).</summary>
        public int ProtocolVersion = Protocol.Version;

        /// <summary>The network thread's poll period: the most a request waits before it goes out.</summary>
        public int PollIntervalMs = 2;
        /// <summary>hello is retried after this long, doubling up to the max, while the daemon is absent.</summary>
        public int HelloBackoffMinMs = 100;
        public int HelloBackoffMaxMs = 2000;
        /// <summary>A hello that was sent but not answered within this is given up (new socket, retry).</summary>
        public int HelloTimeoutMs = 3000;
        public int PingIntervalMs = 1000;
        /// <summary>No pong within this: the connection is considered lost.</summary>
        public int PingTimeoutMs = 4000;
        /// <summary>A request not answered this long after the call fails with "timeout".</summary>
        public int RequestTimeoutMs = 60000;
        /// <summary>ZeroMQ's reconnect interval and its cap (it doubles).</summary>
        public int ReconnectIvlMs = 100;
        public int ReconnectIvlMaxMs = 2000;
        /// <summary>After a re-hello, create again the avatars this client created (same ids, image, render).</summary>
        public bool RecreateAvatars = true;
        /// <summary>Requests per avatar in flight (the daemon queues 16, then answers busy).</summary>
        public int MaxInFlightPerAvatar = 12;
        public int JitterCapacity = 1024;
        /// <summary>Receive high-water marks: motion (the daemon keeps 256 per subscriber) and video (2).</summary>
        public int DataHwm = 1000;
        public int VideoHwm = 2;
        /// <summary>Flip video rows on the network thread so they are ready for Texture2D.LoadRawTextureData.</summary>
        public bool VideoBottomUp;
        /// <summary>Incoming messages larger than this close the connection (hostile publishers).</summary>
        public long MaxMessageBytes = 16L << 20;

        public ClientOptions Clone() { return (ClientOptions)MemberwiseClone(); }
    }

    public sealed class FaceBridgeConnection : IDisposable
    {
        public readonly ClientOptions Options;
        readonly ILog log;
        readonly Func<ITransport> transportFactory;
        Thread thread;
        volatile bool stopping, ended;

        volatile ConnectionState state = ConnectionState.Stopped;
        volatile string lastError;
        volatile Welcome welcome;
        volatile string transportName;

        readonly ConcurrentQueue<Request> incoming = new ConcurrentQueue<Request>();
        readonly ConcurrentQueue<Action> commands = new ConcurrentQueue<Action>();
        readonly ConcurrentQueue<Request> completed = new ConcurrentQueue<Request>();
        readonly ConcurrentQueue<AnimFrame> eventFrames = new ConcurrentQueue<AnimFrame>();
        int eventFramesQueued;

        /// <summary>Frames with events kept for <see cref="ListeningEventsReceived"/> until DispatchCallbacks runs (the oldest go beyond).</summary>
        public const int MaxQueuedEventFrames = 256;

        readonly object buffersGate = new object();
        readonly Dictionary<string, JitterBuffer> buffers = new Dictionary<string, JitterBuffer>();
        readonly Dictionary<string, VideoFrame> videos = new Dictionary<string, VideoFrame>();
        readonly HashSet<string> readyAvatars = new HashSet<string>();

        public readonly ClockSync Clock = new ClockSync();

        // counters (written by the network thread)
        long framesReceived, framesDropped, videoReceived, videoSkipped, videoDropped, repliesMalformed,
             helloAttempts, reconnects, unmatchedReplies;

        // ---- network thread state ----
        ITransport transport;
        ISocket dealer, sub, vsub;
        string vsubEndpoint;
        readonly Stopwatch watch = new Stopwatch();
        long nextId = 1;
        readonly List<Request> waiting = new List<Request>();
        readonly Dictionary<long, Request> inflight = new Dictionary<long, Request>();
        readonly Dictionary<string, int> inflightPerAvatar = new Dictionary<string, int>();
        readonly HashSet<string> subscribed = new HashSet<string>();
        readonly HashSet<string> videoSubscribed = new HashSet<string>();
        readonly Dictionary<string, AvatarRecord> avatars = new Dictionary<string, AvatarRecord>();
        Request hello, ping;
        long nextHelloMs, helloBackoffMs, nextPingMs, welcomedMs;
        int generation, recreating;
        bool everWelcomed;
        readonly FrameDecoder decoder = new FrameDecoder();
        readonly List<byte[]> parts = new List<byte[]>();
        readonly List<long> helloAttemptTimes = new List<long>();
        string lastDropWarning;

        sealed class AvatarRecord
        {
            public byte[] Image;
            public string Render;
            public int VideoSize;
        }

        /// <param name="transportFactory">null: <see cref="Transports.CreateDefault"/> (libzmq, or NetMQ with FACEBRIDGE_NETMQ).</param>
        public FaceBridgeConnection(ClientOptions options, ILog log = null, Func<ITransport> transportFactory = null)
        {
            Options = (options ?? new ClientOptions()).Clone();
            this.log = log ?? new ConsoleLog();
            this.transportFactory = transportFactory ?? Transports.CreateDefault;
        }

        // ================================================================ public API (any thread, never waits)

        public ConnectionState State { get { return state; } }
        /// <summary>What went wrong last (one line), or null.</summary>
        public string LastError { get { return lastError; } }
        /// <summary>The daemon's welcome (schema), or null before the first. Replaced after a re-hello.</summary>
        public Welcome Welcome { get { return welcome; } }
        public string TransportName { get { return transportName; } }
        public bool IsReady { get { return state == ConnectionState.Ready; } }

        public long FramesReceived { get { return Interlocked.Read(ref framesReceived); } }
        /// <summary>Malformed or truncated motion frames dropped.</summary>
        public long FramesDropped { get { return Interlocked.Read(ref framesDropped); } }
        public long VideoReceived { get { return Interlocked.Read(ref videoReceived); } }
        /// <summary>Video frames not decoded because a newer one was already waiting.</summary>
        public long VideoSkipped { get { return Interlocked.Read(ref videoSkipped); } }
        public long VideoDropped { get { return Interlocked.Read(ref videoDropped); } }
        public long RepliesMalformed { get { return Interlocked.Read(ref repliesMalformed); } }
        public long HelloAttempts { get { return Interlocked.Read(ref helloAttempts); } }
        /// <summary>Times the connection was re-established after a loss or a daemon restart.</summary>
        public long Reconnects { get { return Interlocked.Read(ref reconnects); } }

        /// <summary>When each hello attempt was made (ms since Start), for diagnostics and tests.</summary>
        public long[] HelloAttemptTimesMs()
        {
            lock (helloAttemptTimes) return helloAttemptTimes.ToArray();
        }

        /// <summary>Starts the network thread. Returns at once.</summary>
        public void Start()
        {
            if (thread != null) return;
            stopping = false;
            state = ConnectionState.Connecting;
            thread = new Thread(Run) { IsBackground = true, Name = "facebridge network" };
            thread.Start();
        }

        /// <summary>Asks the network thread to close the sockets and end. Returns at once.</summary>
        public void Dispose()
        {
            stopping = true;
        }

        /// <summary>As Dispose, then waits up to <paramref name="waitMs"/> for the thread to end (tools, tests).</summary>
        public bool Dispose(int waitMs)
        {
            stopping = true;
            var t = thread;
            return t == null || t.Join(waitMs);
        }

        /// <summary>Raised by <see cref="DispatchCallbacks"/>, on its thread, for each motion frame of a
        /// subscribed avatar whose header carries listening reactions (<see cref="AnimFrame.HasEvents"/>),
        /// once, in arrival order. Frames are kept for it only while a handler is attached, at most
        /// <see cref="MaxQueuedEventFrames"/>. (FaceBridgeClient raises OnListeningEvent from it.)</summary>
        public event Action<AnimFrame> ListeningEventsReceived;

        /// <summary>Runs the callbacks of requests that finished since the last call, then
        /// <see cref="ListeningEventsReceived"/> for the frames with events that arrived, on the calling
        /// thread (call it from Update). Returns the number of request callbacks run.</summary>
        public int DispatchCallbacks()
        {
            int n = 0;
            Request r;
            while (completed.TryDequeue(out r))
            {
                n++;
                try { r.Callback(r); }
                catch (Exception e) { log.Error("a " + r.Type + " callback threw: " + e); }
            }
            AnimFrame f;
            while (eventFrames.TryDequeue(out f))
            {
                Interlocked.Decrement(ref eventFramesQueued);
                var handler = ListeningEventsReceived;
                if (handler == null) continue;
                try { handler(f); }
                catch (Exception e) { log.Error("a ListeningEventsReceived handler threw: " + e); }
            }
            return n;
        }

        void QueueEventFrame(AnimFrame f)
        {
            if (ListeningEventsReceived == null) return; // nobody listens: keep nothing
            eventFrames.Enqueue(f);
            AnimFrame old;
            if (Interlocked.Increment(ref eventFramesQueued) > MaxQueuedEventFrames && eventFrames.TryDequeue(out old))
                Interlocked.Decrement(ref eventFramesQueued);
        }

        Request Enqueue(string type, string avatar, Func<long, byte[]> build, Action<Request> callback, Action<Request, Reply> onReply = null)
        {
            var r = new Request(type, avatar, build, callback) { OnReply = onReply };
            if (state == ConnectionState.Failed || stopping)
            {
                r.Fail(stopping ? Request.Closed : "failed", stopping ? "the client was closed" : "the client gave up: " + lastError);
                Completed(r);
                return r;
            }
            incoming.Enqueue(r);
            if (ended) DrainAfterEnd(); // the thread has gone: nobody else will answer it
            return r;
        }

        void DrainAfterEnd()
        {
            Request q;
            while (incoming.TryDequeue(out q))
            {
                q.Fail(Request.Closed, "the client was closed" + (lastError != null ? " (" + lastError + ")" : ""));
                Completed(q);
            }
        }

        Request Invalid(string type, string avatar, string message, Action<Request> callback)
        {
            var r = new Request(type, avatar, null, callback);
            r.Fail(Request.BadArgument, message);
            Completed(r);
            return r;
        }

        void Completed(Request r)
        {
            if (r.Callback != null) completed.Enqueue(r);
        }

        /// <summary>create_avatar: <paramref name="image"/> is an image file's bytes (PNG, JPEG, WebP).
        /// render "warp"/"gan" also publishes video frames; videoSize 0 = the daemon's default.</summary>
        public Request CreateAvatar(byte[] image, string name = null, string render = null, int videoSize = 0, Action<Request> callback = null)
        {
            try { Requests.CreateAvatar(0, new byte[1], name, render, videoSize); }
            catch (ArgumentException e) { return Invalid("create_avatar", name, e.Message, callback); }
            if (image == null || image.Length == 0 || image.Length > Protocol.MaxImageBytes)
                return Invalid("create_avatar", name, "image must be an image file's bytes (1 byte .. 32 MiB)", callback);
            var record = new AvatarRecord { Image = image, Render = render, VideoSize = videoSize };
            return Enqueue("create_avatar", null, id => Requests.CreateAvatar(id, image, name, render, videoSize), callback,
                           (r, reply) => OnAvatarCreated(reply, record));
        }

        /// <summary>speak with a whole clip: a WAV/FLAC/OGG file's bytes. On its `ok`, start the audio:
        /// pts 0 is its first sample.</summary>
        public Request Speak(string avatar, byte[] audioFile, string text = null, string emotion = null, Action<Request> callback = null)
        {
            try { Requests.SpeakClip(0, avatar, new byte[1], text, emotion); }
            catch (ArgumentException e) { return Invalid("speak", avatar, e.Message, callback); }
            if (audioFile == null || audioFile.Length == 0 || audioFile.Length > Protocol.MaxAudioBytes)
                return Invalid("speak", avatar, "audio must be a sound file's bytes (1 byte .. 48 MiB)", callback);
            return Enqueue("speak", avatar, id => Requests.SpeakClip(id, avatar, audioFile, text, emotion), callback);
        }

        /// <summary>speak with a whole clip given as samples (an AudioClip's GetData): the network
        /// thread encodes them as a 16-bit WAV file. The array is kept, not copied.</summary>
        public Request SpeakSamples(string avatar, float[] interleaved, int channels, int rate, string text = null,
                                    string emotion = null, Action<Request> callback = null)
        {
            if (interleaved == null || interleaved.Length == 0 || channels < 1 || rate < 1)
                return Invalid("speak", avatar, "samples, channels and rate are required", callback);
            try { Requests.SpeakClip(0, avatar, new byte[1], text, emotion); }
            catch (ArgumentException e) { return Invalid("speak", avatar, e.Message, callback); }
            byte[] wav = null;
            return Enqueue("speak", avatar, id =>
            {
                if (wav == null) wav = Wav.Encode16(interleaved, 0, interleaved.Length, channels, rate);
                return Requests.SpeakClip(id, avatar, wav, text, emotion);
            }, callback);
        }

        /// <summary>speak with one chunk of float32 mono samples (the streaming path; the range is
        /// copied). final = the utterance's last chunk. Send text/emotion with the first chunk.</summary>
        public Request SpeakChunk(string avatar, float[] samples, int offset, int count, int rate, bool final,
                                  string text = null, string emotion = null, Action<Request> callback = null)
        {
            byte[] pcm;
            try
            {
                if (samples == null || offset < 0 || count < 0 || offset + count > samples.Length) throw new ArgumentException("bad sample range");
                pcm = Requests.PcmBytes(samples, offset, count);
                Requests.SpeakChunkBytes(0, avatar, new byte[0], rate, final, text, emotion);
                if (pcm.Length > Protocol.MaxPcmBytes) throw new ArgumentException("a pcm chunk holds at most 4 MiB");
            }
            catch (ArgumentException e) { return Invalid("speak", avatar, e.Message, callback); }
            return Enqueue("speak", avatar, id => Requests.SpeakChunkBytes(id, avatar, pcm, rate, final, text, emotion), callback);
        }

        /// <summary>listen: one chunk of the user's voice (float32 mono, e.g. 20 ms of a microphone;
        /// the range is copied). The avatar listens and reacts: its frames come with mode "listening"
        /// and carry <see cref="AnimFrame.Events"/>. final = the last chunk of the user's turn (null
        /// leaves the field out). The reply's `utterance` is the listening turn.</summary>
        public Request Listen(string avatar, float[] samples, int offset, int count, int rate, bool? final = null, Action<Request> callback = null)
        {
            byte[] pcm;
            try
            {
                if (samples == null || offset < 0 || count < 0 || offset + count > samples.Length) throw new ArgumentException("bad sample range");
                pcm = Requests.PcmBytes(samples, offset, count);
                Requests.Listen(0, avatar, new byte[0], rate, final);
            }
            catch (ArgumentException e) { return Invalid("listen", avatar, e.Message, callback); }
            return Enqueue("listen", avatar, id => Requests.Listen(id, avatar, pcm, rate, final), callback);
        }

        /// <summary>listen with a whole array of samples (see the overload with a range).</summary>
        public Request Listen(string avatar, float[] samples, int rate, bool final, Action<Request> callback = null)
        {
            return Listen(avatar, samples, 0, samples == null ? 0 : samples.Length, rate, final, callback);
        }

        public Request SetEmotion(string avatar, string emotion, Action<Request> callback = null)
        {
            try { Requests.SetEmotion(0, avatar, emotion); }
            catch (ArgumentException e) { return Invalid("set_emotion", avatar, e.Message, callback); }
            return Enqueue("set_emotion", avatar, id => Requests.SetEmotion(id, avatar, emotion), callback);
        }

        /// <summary>stop: cancels the avatar's frames not yet sent; remove also forgets it.</summary>
        public Request StopAvatar(string avatar, bool remove = false, Action<Request> callback = null)
        {
            try { Requests.Stop(0, avatar, remove); }
            catch (ArgumentException e) { return Invalid("stop", avatar, e.Message, callback); }
            return Enqueue("stop", avatar, id => Requests.Stop(id, avatar, remove), callback, (r, reply) =>
            {
                if (remove && !reply.IsError) ForgetAvatar(avatar);
            });
        }

        public Request Stats(Action<Request> callback = null)
        {
            return Enqueue("stats", null, Requests.Stats, callback);
        }

        /// <summary>A ping (the connection also pings by itself every PingIntervalMs).</summary>
        public Request Ping(Action<Request> callback = null)
        {
            return Enqueue("ping", null, id => Requests.Ping(id, ClientClock.NowNs()), callback, OnPong);
        }

        /// <summary>Receive the avatar's motion frames (into <see cref="Buffer"/>), and with video its rendered frames.</summary>
        public void Subscribe(string avatar, bool video = false)
        {
            if (string.IsNullOrEmpty(avatar)) return;
            Buffer(avatar);
            commands.Enqueue(() => DoSubscribe(avatar, video));
        }

        public void Unsubscribe(string avatar)
        {
            if (string.IsNullOrEmpty(avatar)) return;
            commands.Enqueue(() => DoUnsubscribe(avatar));
        }

        /// <summary>The avatar's jitter buffer (created when first asked for).</summary>
        public JitterBuffer Buffer(string avatar)
        {
            lock (buffersGate)
            {
                JitterBuffer b;
                if (!buffers.TryGetValue(avatar, out b))
                {
                    b = new JitterBuffer(Options.JitterCapacity);
                    buffers[avatar] = b;
                }
                return b;
            }
        }

        /// <summary>The newest rendered frame that arrived since the last call (null: none new).</summary>
        public bool TryTakeVideo(string avatar, out VideoFrame frame)
        {
            lock (buffersGate)
            {
                if (videos.TryGetValue(avatar, out frame) && frame != null)
                {
                    videos.Remove(avatar);
                    return true;
                }
                frame = null;
                return false;
            }
        }

        /// <summary>True once the avatar exists on the daemon this client is connected to (after
        /// avatar_created, and again after its re-creation following a restart).</summary>
        public bool IsAvatarReady(string avatar)
        {
            lock (buffersGate) return avatar != null && readyAvatars.Contains(avatar);
        }

        // ================================================================ network thread

        long NowMs() { return watch.ElapsedMilliseconds; }

        void Run()
        {
            watch.Start();
            try
            {
                transport = transportFactory();
                transportName = transport.Name;
                string bad = Options.Curve != null ? Options.Curve.Validate() : null;
                if (bad != null) throw new ArgumentException(bad);
                sub = transport.CreateSocket(SocketKind.Sub, SubOptions(Options.DataHwm));
                sub.Connect(Options.DataEndpoint);
                foreach (var a in subscribed) sub.Subscribe("anim." + a);
                NewDealer();
                helloBackoffMs = Options.HelloBackoffMinMs;
                nextHelloMs = 0;
                log.Info("connecting to " + Options.ControlEndpoint + " (data " + Options.DataEndpoint + ", " + transport.Name + ")");
                Loop();
            }
            catch (DllNotFoundException e)
            {
                GiveUp("libzmq was not found (" + e.Message + "): on Linux install libzmq5; on Windows/macOS put libzmq in Assets/Plugins (see the README), or use NetMQ (FACEBRIDGE_NETMQ)");
            }
            catch (Exception e)
            {
                GiveUp("the network thread stopped: " + e.GetType().Name + ": " + e.Message);
                if (!(e is ArgumentException)) log.Error(e.ToString());
            }
            finally
            {
                Shutdown();
            }
        }

        SocketOptions SubOptions(int hwm)
        {
            return new SocketOptions
            {
                ReceiveHwm = hwm, Curve = Options.Curve, MaxMessageSize = Options.MaxMessageBytes,
                ReconnectIvlMs = Options.ReconnectIvlMs, ReconnectIvlMaxMs = Options.ReconnectIvlMaxMs,
            };
        }

        void NewDealer()
        {
            if (dealer != null) dealer.Dispose();
            dealer = transport.CreateSocket(SocketKind.Dealer, new SocketOptions
            {
                Immediate = true, // a send fails at once while the daemon is absent: we retry with backoff
                Curve = Options.Curve, MaxMessageSize = Options.MaxMessageBytes,
                ReconnectIvlMs = Options.ReconnectIvlMs, ReconnectIvlMaxMs = Options.ReconnectIvlMaxMs,
            });
            dealer.Connect(Options.ControlEndpoint);
        }

        void Loop()
        {
            var socks = new ISocket[3];
            var readable = new bool[3];
            while (!stopping)
            {
                Action cmd;
                while (commands.TryDequeue(out cmd)) cmd();
                Request r;
                while (incoming.TryDequeue(out r))
                {
                    r.QueuedMs = NowMs();
                    r.DeadlineMs = r.QueuedMs + Options.RequestTimeoutMs;
                    waiting.Add(r);
                }
                long now = NowMs();
                Tick(now);
                if (state == ConnectionState.Failed) { FailAll("failed", lastError); break; }
                if (state == ConnectionState.Ready) SendWaiting(now);

                int n = 0;
                socks[n++] = dealer;
                socks[n++] = sub;
                if (vsub != null) socks[n++] = vsub;
                transport.Poll(socks, n, readable, Options.PollIntervalMs);
                if (readable[0]) DrainReplies();
                if (readable[1]) DrainFrames();
                if (n > 2 && readable[2]) DrainVideo();
            }
        }

        void Shutdown()
        {
            ended = true; // before the last drain: a request enqueued after it is failed by Enqueue
            FailAll(Request.Closed, "the client was closed");
            try
            {
                if (dealer != null) dealer.Dispose();
                if (sub != null) sub.Dispose();
                if (vsub != null) vsub.Dispose();
                if (transport != null) transport.Dispose();
            }
            catch (Exception e) { log.Warn("closing the sockets: " + e.Message); }
            dealer = sub = vsub = null;
            if (state != ConnectionState.Failed) state = ConnectionState.Stopped;
        }

        void GiveUp(string message)
        {
            if (state == ConnectionState.Failed) return;
            lastError = message;
            state = ConnectionState.Failed;
            log.Error(message);
        }

        void FailAll(string code, string message)
        {
            foreach (var r in waiting) Finish(r, code, message);
            waiting.Clear();
            foreach (var r in inflight.Values) if (!r.Internal) Finish(r, code, message);
            inflight.Clear();
            inflightPerAvatar.Clear();
            Request q;
            while (incoming.TryDequeue(out q)) Finish(q, code, message);
        }

        void Finish(Request r, string code, string message)
        {
            if (r.IsDone) return;
            r.Fail(code, message);
            Completed(r);
        }

        // ---- connection state machine

        void Tick(long now)
        {
            var s = state;
            // welcomed: Ready, or re-creating avatars after a re-hello (no more hellos then)
            bool welcomed = s == ConnectionState.Ready || (s == ConnectionState.Reconnecting && recreating > 0);
            if (!welcomed && (s == ConnectionState.Connecting || s == ConnectionState.Reconnecting))
            {
                if (hello == null && now >= nextHelloMs) SendHello(now);
                else if (hello != null && now - hello.SentMs > Options.HelloTimeoutMs)
                {
                    inflight.Remove(hello.Id);
                    hello = null;
                    lastError = "no welcome from " + Options.ControlEndpoint + " within " + Options.HelloTimeoutMs + " ms (is it a facebridge daemon?)";
                    NewDealer();
                    ScheduleHello(now);
                }
            }
            else if (welcomed)
            {
                if (recreating > 0 && now - welcomedMs > Options.RequestTimeoutMs)
                {
                    ConnectionLost("the avatars were not re-created within " + Options.RequestTimeoutMs + " ms");
                    return;
                }
                if (ping == null && now >= nextPingMs)
                {
                    var p = new Request("ping", null, id => Requests.Ping(id, ClientClock.NowNs()), null) { Internal = true, OnReply = OnPong };
                    if (!TrySendRequest(p, now))
                    {
                        ConnectionLost("the connection to " + Options.ControlEndpoint + " was lost (the daemon stopped?)");
                        return;
                    }
                    ping = p;
                    nextPingMs = now + Options.PingIntervalMs;
                }
                else if (ping != null && now - ping.SentMs > Options.PingTimeoutMs)
                {
                    ConnectionLost("no pong within " + Options.PingTimeoutMs + " ms: the connection to " + Options.ControlEndpoint + " was lost");
                    return;
                }
            }
            // timeouts
            for (int i = waiting.Count - 1; i >= 0; i--)
            {
                var r = waiting[i];
                if (now >= r.DeadlineMs)
                {
                    waiting.RemoveAt(i);
                    Finish(r, Request.Timeout, "not sent within " + Options.RequestTimeoutMs + " ms: " + Describe());
                }
            }
            if (inflight.Count > 0)
            {
                List<long> late = null;
                foreach (var kv in inflight)
                    if (!kv.Value.Internal && now >= kv.Value.DeadlineMs) (late ?? (late = new List<long>())).Add(kv.Key);
                if (late != null)
                    foreach (long id in late)
                    {
                        var r = inflight[id];
                        Untrack(r);
                        Finish(r, Request.Timeout, "no reply to " + r.Type + " within " + Options.RequestTimeoutMs + " ms");
                    }
            }
        }

        string Describe()
        {
            return state == ConnectionState.Ready ? "connected" : "state " + state + (lastError != null ? " (" + lastError + ")" : "");
        }

        void ScheduleHello(long now)
        {
            nextHelloMs = now + helloBackoffMs;
            helloBackoffMs = Math.Min(helloBackoffMs * 2, Options.HelloBackoffMaxMs);
        }

        void SendHello(long now)
        {
            Interlocked.Increment(ref helloAttempts);
            lock (helloAttemptTimes) { if (helloAttemptTimes.Count < 1000) helloAttemptTimes.Add(now); }
            var h = new Request("hello", null, id => Requests.Hello(id, Options.ProtocolVersion, Options.ClientName), null) { Internal = true, OnReply = OnWelcome };
            if (TrySendRequest(h, now))
            {
                hello = h;
                return;
            }
            long attempts = HelloAttempts;
            lastError = "no connection to " + Options.ControlEndpoint + " yet (attempt " + attempts + "): is the daemon running, on that port, " +
                        "reachable through the firewall" + (Options.Curve != null && Options.Curve.Enabled ? ", and are this client's CURVE keys admitted" : "") + "?";
            if (attempts == 1 || attempts == 10 || attempts % 100 == 0) log.Info(lastError + " Retrying every " + helloBackoffMs + "-" + Options.HelloBackoffMaxMs + " ms.");
            ScheduleHello(now);
        }

        bool TrySendRequest(Request r, long now)
        {
            long id = nextId++;
            byte[] data;
            try { data = r.Build(id); }
            catch (Exception e)
            {
                Finish(r, Request.BadArgument, e.Message);
                return true; // handled
            }
            if (!dealer.TrySend(data)) return false;
            r.MarkSent(id, now);
            r.SentAtNs = ClientClock.NowNs();
            inflight[id] = r;
            if (r.Avatar != null && !r.Internal)
            {
                int c;
                inflightPerAvatar.TryGetValue(r.Avatar, out c);
                inflightPerAvatar[r.Avatar] = c + 1;
            }
            return true;
        }

        void Untrack(Request r)
        {
            inflight.Remove(r.Id);
            if (r.Avatar != null && !r.Internal)
            {
                int c;
                if (inflightPerAvatar.TryGetValue(r.Avatar, out c)) inflightPerAvatar[r.Avatar] = Math.Max(0, c - 1);
            }
        }

        void SendWaiting(long now)
        {
            HashSet<string> blocked = null;
            for (int i = 0; i < waiting.Count && state == ConnectionState.Ready;)
            {
                var r = waiting[i];
                if (r.Avatar != null)
                {
                    int c;
                    inflightPerAvatar.TryGetValue(r.Avatar, out c);
                    if ((blocked != null && blocked.Contains(r.Avatar)) || c >= Options.MaxInFlightPerAvatar)
                    {
                        (blocked ?? (blocked = new HashSet<string>())).Add(r.Avatar); // keep the avatar's order
                        i++;
                        continue;
                    }
                }
                if (!TrySendRequest(r, now))
                {
                    ConnectionLost("the connection to " + Options.ControlEndpoint + " was lost (the daemon stopped?)");
                    return;
                }
                waiting.RemoveAt(i);
            }
        }

        /// <summary>The daemon went away (or stopped answering): fail what was in flight, say hello again on a new socket.</summary>
        void ConnectionLost(string why)
        {
            if (state == ConnectionState.Failed) return;
            log.Warn(why + "; reconnecting");
            lastError = why;
            state = ConnectionState.Reconnecting;
            foreach (var r in new List<Request>(inflight.Values))
                if (!r.Internal) Finish(r, Request.Disconnected, "the connection to the daemon was lost before the reply (" + why + ")");
            inflight.Clear();
            inflightPerAvatar.Clear();
            hello = null;
            ping = null;
            recreating = 0;
            lock (buffersGate) readyAvatars.Clear();
            NewDealer();
            helloBackoffMs = Options.HelloBackoffMinMs;
            nextHelloMs = NowMs();
        }

        /// <summary>A request got hello_first: the daemon restarted and ZeroMQ reconnected before
        /// we noticed. Requests sent after it reached the new daemon too: send them again after
        /// the new welcome. Those sent before it went to the old daemon: lost.</summary>
        void DaemonRestarted(Request r)
        {
            log.Warn("the daemon at " + Options.ControlEndpoint + " restarted (hello_first): saying hello again");
            lastError = "the daemon restarted";
            state = ConnectionState.Reconnecting;
            var again = new List<Request>();
            foreach (var q in new List<Request>(inflight.Values))
            {
                if (q.Internal) continue;
                if (q == r || q.SentMs > r.SentMs || (q.SentMs == r.SentMs && q.Id > r.Id)) again.Add(q);
                else Finish(q, Request.Disconnected, "sent to the daemon before it restarted; no reply will come");
            }
            inflight.Clear();
            inflightPerAvatar.Clear();
            again.Sort((a, b) => a.Id.CompareTo(b.Id));
            foreach (var q in again) q.MarkQueued();
            waiting.InsertRange(0, again);
            hello = null;
            ping = null;
            recreating = 0;
            lock (buffersGate) readyAvatars.Clear();
            helloBackoffMs = Options.HelloBackoffMinMs;
            nextHelloMs = NowMs();
        }

        // ---- replies

        void DrainReplies()
        {
            for (int k = 0; k < 256 && dealer.TryReceive(parts); k++)
            {
                Reply reply;
                string error;
                if (parts.Count != 1 || !Reply.TryParse(parts[0], out reply, out error))
                {
                    Interlocked.Increment(ref repliesMalformed);
                    log.Warn("ignored a malformed reply (" + (parts.Count != 1 ? parts.Count + " frames" : "bad msgpack") + ")");
                    continue;
                }
                Request r;
                if (!(reply.Id is long) || !inflight.TryGetValue((long)reply.Id, out r))
                {
                    Interlocked.Increment(ref unmatchedReplies);
                    continue; // a late reply to something given up on
                }
                if (reply.IsError && reply.ErrorCode == "hello_first" && r != hello && everWelcomed)
                {
                    DaemonRestarted(r);
                    return;
                }
                Untrack(r);
                if (r.OnReply != null)
                {
                    try { r.OnReply(r, reply); }
                    catch (Exception e) { log.Error("handling " + r.Type + " reply: " + e); }
                }
                r.Complete(reply);
                if (!r.Internal) Completed(r);
                if (state == ConnectionState.Failed) return;
            }
        }

        void OnWelcome(Request r, Reply reply)
        {
            if (r != hello) return;
            hello = null;
            if (reply.IsError)
            {
                if (reply.ErrorCode == "unsupported_protocol")
                    GiveUp("protocol version mismatch: this client speaks facebridge protocol " + Options.ProtocolVersion +
                           " and the daemon refused it (" + reply.ErrorMessage + "). Update the Unity package or the daemon so they share a version (README: version mismatch).");
                else
                    GiveUp("the daemon refused hello: " + reply.ErrorCode + ": " + reply.ErrorMessage);
                return;
            }
            if (reply.Type != "welcome")
            {
                GiveUp("the daemon answered hello with " + reply.Type + ", not welcome (is " + Options.ControlEndpoint + " a facebridge daemon?)");
                return;
            }
            var w = Welcome.FromReply(reply);
            if (w.Protocol < 1 || w.Protocol > Options.ProtocolVersion)
            {
                GiveUp("protocol version mismatch: the daemon chose protocol " + w.Protocol + " but this client speaks up to " + Options.ProtocolVersion +
                       ". Update the Unity package or the daemon (README: version mismatch).");
                return;
            }
            if (w.Schema.BlendshapeNames.Length > 0) decoder.BlendshapeCount = w.Schema.BlendshapeNames.Length;
            w.Generation = ++generation;
            welcomedMs = NowMs();
            bool again = everWelcomed;
            everWelcomed = true;
            welcome = w;
            helloBackoffMs = Options.HelloBackoffMinMs;
            nextPingMs = NowMs(); // the first ping at once: a clock offset early
            EnsureVideoSocket();
            if (again)
            {
                Interlocked.Increment(ref reconnects);
                lock (buffersGate)
                {
                    foreach (var b in buffers.Values) b.Clear(); // utterance numbers start again on a new daemon
                    videos.Clear();
                }
                log.Info("reconnected to " + w.Server + " (protocol " + w.Protocol + ")");
                if (Options.RecreateAvatars) RecreateAvatars();
            }
            else log.Info("connected to " + w.Server + " (protocol " + w.Protocol + ", " + w.Schema.BlendshapeNames.Length + " blendshapes)");
            if (recreating == 0)
            {
                lastError = null;
                state = ConnectionState.Ready;
            }
        }

        void RecreateAvatars()
        {
            foreach (var kv in avatars)
            {
                string name = kv.Key;
                var rec = kv.Value;
                var r = new Request("create_avatar", null, id => Requests.CreateAvatar(id, rec.Image, name, rec.Render, rec.VideoSize), null)
                {
                    Internal = true,
                    OnReply = (q, reply) =>
                    {
                        recreating--;
                        if (!reply.IsError) { lock (buffersGate) readyAvatars.Add(name); }
                        else log.Warn("could not re-create avatar " + name + " after the daemon restarted: " + reply.ErrorCode + ": " + reply.ErrorMessage);
                        if (recreating == 0 && state == ConnectionState.Reconnecting)
                        {
                            lastError = null;
                            state = ConnectionState.Ready;
                        }
                    },
                };
                if (TrySendRequest(r, NowMs())) recreating++;
                else { ConnectionLost("the connection was lost while re-creating avatars"); return; }
            }
            if (avatars.Count > 0) log.Info("re-creating " + avatars.Count + " avatar(s) on the restarted daemon");
        }

        void OnAvatarCreated(Reply reply, AvatarRecord record)
        {
            if (reply.IsError) return;
            string id = reply.GetString("avatar");
            if (id == null) return;
            avatars[id] = record;
            lock (buffersGate) readyAvatars.Add(id);
        }

        void ForgetAvatar(string avatar)
        {
            avatars.Remove(avatar);
            lock (buffersGate) readyAvatars.Remove(avatar);
        }

        void OnPong(Request r, Reply reply)
        {
            if (r == ping) ping = null;
            if (reply.IsError) return;
            long server = reply.GetLong("t_ns", -1);
            if (server > 0) Clock.AddSample(r.SentAtNs, server, ClientClock.NowNs());
        }

        // ---- subscriptions and frames

        void DoSubscribe(string avatar, bool video)
        {
            if (subscribed.Add(avatar) && sub != null) sub.Subscribe("anim." + avatar);
            if (video && videoSubscribed.Add(avatar))
            {
                EnsureVideoSocket();
                if (vsub != null) vsub.Subscribe("video." + avatar);
            }
        }

        void DoUnsubscribe(string avatar)
        {
            if (subscribed.Remove(avatar) && sub != null) sub.Unsubscribe("anim." + avatar);
            if (videoSubscribed.Remove(avatar) && vsub != null) vsub.Unsubscribe("video." + avatar);
        }

        /// <summary>The video endpoint: the option, or welcome's port on the control host.</summary>
        public static string VideoEndpointFor(string control, string welcomeVideo)
        {
            if (string.IsNullOrEmpty(welcomeVideo)) return null;
            int c = control.LastIndexOf(':'), w = welcomeVideo.LastIndexOf(':');
            if (c < 0 || w < 0) return welcomeVideo;
            return control.Substring(0, c) + welcomeVideo.Substring(w);
        }

        void EnsureVideoSocket()
        {
            if (videoSubscribed.Count == 0 || transport == null) return;
            string ep = Options.VideoEndpoint;
            if (string.IsNullOrEmpty(ep))
            {
                var w = welcome;
                if (w == null) return; // after the welcome
                ep = VideoEndpointFor(Options.ControlEndpoint, w.Schema.VideoEndpoint);
                if (ep == null) return;
            }
            if (vsub != null && ep == vsubEndpoint) return;
            if (vsub != null) vsub.Dispose();
            vsub = transport.CreateSocket(SocketKind.Sub, SubOptions(Options.VideoHwm));
            vsub.Connect(ep);
            vsubEndpoint = ep;
            foreach (var a in videoSubscribed) vsub.Subscribe("video." + a);
        }

        void DrainFrames()
        {
            for (int k = 0; k < 512 && sub.TryReceive(parts); k++)
            {
                long dropped = decoder.Dropped;
                var f = decoder.DecodeAnim(parts);
                if (f == null)
                {
                    Interlocked.Add(ref framesDropped, decoder.Dropped - dropped);
                    if (decoder.LastError != lastDropWarning)
                    {
                        lastDropWarning = decoder.LastError;
                        log.Warn("dropped a malformed motion frame: " + decoder.LastError);
                    }
                    continue;
                }
                if (!subscribed.Contains(f.Avatar)) continue; // "anim.a1" also matches anim.a10's topic
                f.ReceivedNs = ClientClock.NowNs();
                Interlocked.Increment(ref framesReceived);
                Buffer(f.Avatar).Add(f);
                if (f.HasEvents) QueueEventFrame(f);
            }
        }

        readonly Dictionary<string, List<byte[]>> newestVideo = new Dictionary<string, List<byte[]>>();

        void DrainVideo()
        {
            newestVideo.Clear();
            for (int k = 0; k < 64 && vsub.TryReceive(parts); k++)
            {
                string kind = parts.Count > 0 ? FrameDecoder.KindOf(parts[0]) : null;
                string topic = kind == "video" ? System.Text.Encoding.UTF8.GetString(parts[0]) : "";
                List<byte[]> prev;
                if (newestVideo.TryGetValue(topic, out prev)) Interlocked.Increment(ref videoSkipped);
                newestVideo[topic] = new List<byte[]>(parts);
            }
            foreach (var msg in newestVideo.Values)
            {
                VideoFrame v;
                if (!decoder.TryDecodeVideo(msg, out v, Options.VideoBottomUp))
                {
                    Interlocked.Increment(ref videoDropped);
                    continue;
                }
                if (!videoSubscribed.Contains(v.Avatar)) continue;
                v.ReceivedNs = ClientClock.NowNs();
                Interlocked.Increment(ref videoReceived);
                lock (buffersGate) videos[v.Avatar] = v;
            }
        }
    }
}
