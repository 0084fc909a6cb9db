// A stand-in daemon (a ROUTER and a PUB bound by the runner through LibZmqTransport) for
// what a healthy daemon never does: refuse the protocol, restart between two requests,
// answer garbage, publish malformed frames.
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using FaceBridge.Core;
using FaceBridge.Transport;

namespace FaceBridge.Tests
{
    public sealed class FakeDaemon : IDisposable
    {
        readonly LibZmqTransport transport = new LibZmqTransport();
        readonly ISocket router, pub;
        public readonly string Control, Data;
        readonly Thread thread;
        volatile bool stop;
        readonly ConcurrentQueue<List<byte[]>> toPublish = new ConcurrentQueue<List<byte[]>>();
        /// <summary>request map -> reply frames to send back (each one frame); runs on the fake's thread.</summary>
        public Func<Dictionary<string, object>, List<byte[]>> Handler;
        public readonly List<Dictionary<string, object>> Received = new List<Dictionary<string, object>>();

        public FakeDaemon()
        {
            router = transport.CreateSocket(SocketKind.Router, new SocketOptions());
            Control = router.Bind("tcp://127.0.0.1:*");
            pub = transport.CreateSocket(SocketKind.Pub, new SocketOptions());
            Data = pub.Bind("tcp://127.0.0.1:*");
            thread = new Thread(Loop) { IsBackground = true, Name = "fake daemon" };
            thread.Start();
        }

        public int Count(string type)
        {
            lock (Received)
            {
                int n = 0;
                foreach (var r in Received) if ((r["type"] as string) == type) n++;
                return n;
            }
        }

        public void Publish(List<byte[]> parts) { toPublish.Enqueue(parts); }

        void Loop()
        {
            var socks = new ISocket[] { router };
            var readable = new bool[1];
            var parts = new List<byte[]>();
            while (!stop)
            {
                List<byte[]> p;
                while (toPublish.TryDequeue(out p)) pub.TrySendMultipart(p);
                transport.Poll(socks, 1, readable, 2);
                while (router.TryReceive(parts))
                {
                    if (parts.Count != 2) continue;
                    var identity = parts[0];
                    var req = MsgPackReader.Unpack(parts[1]) as Dictionary<string, object>;
                    lock (Received) Received.Add(req);
                    var replies = Handler(req);
                    if (replies == null) continue;
                    foreach (var r in replies) router.TrySendMultipart(new List<byte[]> { identity, r });
                }
            }
            router.Dispose();
            pub.Dispose();
            transport.Dispose();
        }

        public static byte[] Reply(string type, object id, params object[] kv)
        {
            var m = new Dictionary<string, object> { { "type", type }, { "id", id } };
            for (int i = 0; i < kv.Length; i += 2) m[(string)kv[i]] = kv[i + 1];
            var w = new MsgPackWriter();
            w.WriteObject(m);
            return w.ToArray();
        }

        public static byte[] Welcome(object id, int protocol, IList<string> names = null)
        {
            var list = new List<object>();
            foreach (var n in names ?? ArkitNames.All) list.Add(n);
            var schema = new Dictionary<string, object> { { "blendshape_names", list }, { "fps", 30.0 }, { "landmarks", 478L } };
            return Reply("welcome", id, "protocol", (long)protocol, "server", "fake/0", "schema", schema);
        }

        public void Dispose()
        {
            stop = true;
            thread.Join(2000);
        }
    }

    public static class FakeDaemonTests
    {
        static ClientOptions Fast(FakeDaemon d)
        {
            return new ClientOptions
            {
                ControlEndpoint = d.Control, DataEndpoint = d.Data,
                HelloBackoffMinMs = 20, HelloBackoffMaxMs = 200, PingIntervalMs = 200, PingTimeoutMs = 2000,
                ReconnectIvlMs = 20, ReconnectIvlMaxMs = 200, RequestTimeoutMs = 5000,
            };
        }

        public static void Run(Args args)
        {
            T.Run("fake daemon: an unsupported protocol gives ONE clear message and no retries", () =>
            {
                using (var d = new FakeDaemon())
                {
                    d.Handler = req => new List<byte[]>
                    {
                        FakeDaemon.Reply("error", req["id"], "code", "unsupported_protocol",
                                         "message", "this daemon speaks protocol [2]; the client offered up to 1"),
                    };
                    var log = new CapturingLog();
                    var c = new FaceBridgeConnection(Fast(d), log);
                    var early = c.Stats(); // queued before the answer
                    c.Start();
                    T.Check(T.WaitFor(() => c.State == ConnectionState.Failed, 5000), "state " + c.State);
                    Thread.Sleep(400);
                    T.Eq(1, log.ErrorCount, "error messages (" + log.All + ")");
                    string msg = log.Errors[0];
                    T.Check(msg.Contains("protocol") && msg.Contains("mismatch") && msg.Contains("[2]"), "clear message: " + msg);
                    T.Eq(msg, c.LastError, "LastError");
                    T.Eq(1, d.Count("hello"), "hellos sent (no retry loop)");
                    T.Check(T.WaitFor(() => early.IsDone, 1000) && early.Status == RequestStatus.Failed, "queued request failed: " + early);
                    var late = c.Ping();
                    T.Check(late.Status == RequestStatus.Failed && late.ErrorMessage.Contains("mismatch"), "later request fails at once: " + late);
                    T.Eq(1, log.ErrorCount, "still one message");
                    c.Dispose(2000);
                }
            });

            T.Run("fake daemon: a welcome in a protocol newer than ours is refused clearly", () =>
            {
                using (var d = new FakeDaemon())
                {
                    d.Handler = req => new List<byte[]> { FakeDaemon.Welcome(req["id"], 2) };
                    var log = new CapturingLog();
                    var c = new FaceBridgeConnection(Fast(d), log);
                    c.Start();
                    T.Check(T.WaitFor(() => c.State == ConnectionState.Failed, 5000), "state " + c.State);
                    T.Eq(1, log.ErrorCount, "messages (" + log.All + ")");
                    T.Check(c.LastError.Contains("protocol 2"), c.LastError);
                    c.Dispose(2000);
                }
            });

            T.Run("fake daemon: hello_first (a restart between requests) -> re-hello, re-create, retry", () =>
            {
                using (var d = new FakeDaemon())
                {
                    int speaks = 0;
                    d.Handler = req =>
                    {
                        object id = req["id"];
                        switch ((string)req["type"])
                        {
                            case "hello": return new List<byte[]> { FakeDaemon.Welcome(id, 1) };
                            case "ping": return new List<byte[]> { FakeDaemon.Reply("pong", id, "t_ns", 1L, "client_t_ns", req["t_ns"]) };
                            case "create_avatar":
                                return new List<byte[]> { FakeDaemon.Reply("avatar_created", id, "avatar", req.ContainsKey("name") ? req["name"] : "f1", "image_size", new List<object> { 4L, 4L }) };
                            case "speak":
                                speaks++;
                                if (speaks == 1) return new List<byte[]> { FakeDaemon.Reply("error", id, "code", "hello_first", "message", "send hello first") };
                                return new List<byte[]> { FakeDaemon.Reply("ok", id, "avatar", req["avatar"], "utterance", 1L, "frames", 3L, "duration_s", 0.1) };
                        }
                        return null;
                    };
                    var log = new CapturingLog();
                    var c = new FaceBridgeConnection(Fast(d), log);
                    c.Start();
                    var create = c.CreateAvatar(new byte[] { 1, 2, 3 });
                    T.Check(create.Wait(5000) && create.Succeeded, "create: " + create);
                    T.Check(c.IsAvatarReady("f1"), "avatar ready");
                    var speak = c.Speak("f1", new byte[] { 1 });
                    T.Check(speak.Wait(5000), "speak not done: " + speak + " state " + c.State);
                    T.Check(speak.Succeeded, "speak: " + speak);
                    T.Eq(2, d.Count("hello"), "hellos");
                    T.Eq(2, d.Count("create_avatar"), "creates (the avatar re-created)");
                    lock (d.Received)
                    {
                        var recreate = d.Received.FindLast(r => (string)r["type"] == "create_avatar");
                        T.Eq("f1", recreate["name"], "re-created under its id");
                        T.Eq(GoldenTests.Hex(new byte[] { 1, 2, 3 }), GoldenTests.Hex((byte[])recreate["image"]), "with its image");
                    }
                    T.Eq(1L, c.Reconnects, "reconnects");
                    T.Eq(ConnectionState.Ready, c.State, "state");
                    T.Check(c.IsAvatarReady("f1"), "avatar ready again");
                    c.Dispose(2000);
                }
            });

            T.Run("fake daemon: malformed replies are counted and skipped", () =>
            {
                using (var d = new FakeDaemon())
                {
                    d.Handler = req =>
                    {
                        object id = req["id"];
                        if ((string)req["type"] == "hello") return new List<byte[]> { FakeDaemon.Welcome(id, 1) };
                        return new List<byte[]>
                        {
                            new byte[] { 0xde, 0xad, 0xbe, 0xef },
                            FakeDaemon.Reply("stats", "not-ours", "stats", new Dictionary<string, object>()),
                            new byte[] { 0x93, 1, 2, 3 },
                            FakeDaemon.Reply("stats", id, "stats", new Dictionary<string, object> { { "uptime_s", 1.5 } }),
                        };
                    };
                    var log = new CapturingLog();
                    var c = new FaceBridgeConnection(Fast(d), log);
                    c.Start();
                    var s = c.Stats();
                    T.Check(s.Wait(5000) && s.Succeeded, "stats: " + s);
                    T.Near(1.5, s.Reply.GetMap("stats").ContainsKey("uptime_s") ? Values.ToDouble(s.Reply.GetMap("stats")["uptime_s"]) : -1, 0, "uptime");
                    T.Check(c.RepliesMalformed >= 2, "malformed counted: " + c.RepliesMalformed);
                    c.Dispose(2000);
                }
            });

            T.Run("fake daemon: malformed published frames are dropped and counted; good ones flow", () =>
            {
                var anim = GoldenTests.ReadParts(Path.Combine(args.Golden, "frame_anim.msgpack"));
                using (var d = new FakeDaemon())
                {
                    d.Handler = req => (string)req["type"] == "hello" ? new List<byte[]> { FakeDaemon.Welcome(req["id"], 1) } : null;
                    var log = new CapturingLog();
                    var c = new FaceBridgeConnection(Fast(d), log);
                    c.Start();
                    c.Subscribe("a1");
                    c.Subscribe("a10"); // a prefix of nothing else: a1's subscription also matches anim.a10
                    T.Check(T.WaitFor(() => c.IsReady, 5000), "ready");
                    // the subscription takes a moment to reach the publisher: publish until one arrives
                    T.Check(T.WaitFor(() => { d.Publish(anim); return c.FramesReceived > 0; }, 5000, 20), "no frame arrived");
                    Thread.Sleep(100);
                    long before = c.FramesReceived;
                    var bad = new List<List<byte[]>>();
                    bad.Add(new List<byte[]> { anim[0], new byte[] { 0x85 }, anim[2], anim[3] });
                    bad.Add(new List<byte[]> { anim[0], anim[1], new byte[10], anim[3] });
                    bad.Add(new List<byte[]> { anim[0], anim[1], anim[2] });
                    bad.Add(new List<byte[]> { anim[0] });
                    foreach (var b in bad) d.Publish(b);
                    var other = new List<byte[]>(anim);
                    other[0] = System.Text.Encoding.ASCII.GetBytes("anim.a100"); // matches the a10 prefix, not subscribed
                    d.Publish(other);
                    d.Publish(anim);
                    T.Check(T.WaitFor(() => c.FramesReceived == before + 1, 3000), "the good frame after the bad ones: " + c.FramesReceived);
                    T.Eq(4L, c.FramesDropped, "dropped");
                    T.Check(c.Buffer("a1").Latest != null && c.Buffer("a1").Latest.Seq == 7, "buffered");
                    T.Eq(0, c.Buffer("a10").Count, "anim.a100 did not land in a10's buffer");
                    c.Dispose(2000);
                }
            });

            T.Run("fake daemon: frames with listening events raise ListeningEventsReceived once each, in DispatchCallbacks", () =>
            {
                var anim = GoldenTests.ReadParts(Path.Combine(args.Golden, "frame_anim.msgpack"));
                var listening = GoldenTests.ReadParts(Path.Combine(args.Golden, "frame_listening.msgpack"));
                using (var d = new FakeDaemon())
                {
                    d.Handler = req => (string)req["type"] == "hello" ? new List<byte[]> { FakeDaemon.Welcome(req["id"], 1) } : null;
                    var c = new FaceBridgeConnection(Fast(d), new CapturingLog());
                    c.Start();
                    c.Subscribe("a1");
                    T.Check(T.WaitFor(() => c.IsReady, 5000), "ready");
                    // listening frames told apart by seq; frames from one publisher arrive in order
                    Func<long, List<byte[]>> listen = seq =>
                    {
                        var h = (Dictionary<string, object>)MsgPackReader.Unpack(listening[1]);
                        h["seq"] = seq;
                        var w = new MsgPackWriter();
                        w.WriteObject(h);
                        return new List<byte[]> { listening[0], w.ToArray(), listening[2], listening[3] };
                    };
                    Func<long, bool> arrived = seq => { var l = c.Buffer("a1").Latest; return l != null && l.Seq == seq; };
                    // no handler: nothing is kept for it
                    T.Check(T.WaitFor(() => { d.Publish(listen(100)); return arrived(100); }, 5000, 20), "no frame arrived");
                    d.Publish(anim); // after the copies of 100 still in flight
                    T.Check(T.WaitFor(() => arrived(7), 3000), "frame_anim (seq 7)");
                    var seen = new List<AnimFrame>();
                    int thread = -1;
                    c.ListeningEventsReceived += f => { seen.Add(f); thread = Thread.CurrentThread.ManagedThreadId; };
                    c.DispatchCallbacks();
                    T.Eq(0, seen.Count, "frames that came while no handler was attached");
                    d.Publish(anim);        // no events: not raised
                    d.Publish(listen(101)); // one nod
                    T.Check(T.WaitFor(() => arrived(101), 3000), "the listening frame");
                    T.Eq(0, seen.Count, "raised only in DispatchCallbacks");
                    c.DispatchCallbacks();
                    T.Eq(1, seen.Count, "raised once");
                    T.Eq(Thread.CurrentThread.ManagedThreadId, thread, "on the thread that dispatches");
                    T.Check(seen[0].Avatar == "a1" && seen[0].Seq == 101 && seen[0].Events.Length == 1 && seen[0].Events[0].Type == "nod", "the nod");
                    c.DispatchCallbacks();
                    T.Eq(1, seen.Count, "not raised again");
                    // nobody dispatches: at most MaxQueuedEventFrames wait (the oldest go)
                    int n = FaceBridgeConnection.MaxQueuedEventFrames + 44;
                    for (int i = 0; i < n; i++) d.Publish(listen(200 + i));
                    T.Check(T.WaitFor(() => arrived(200 + n - 1), 5000), "the last of " + n + " frames");
                    seen.Clear();
                    c.DispatchCallbacks();
                    T.Eq(FaceBridgeConnection.MaxQueuedEventFrames, seen.Count, "kept while nobody dispatched");
                    T.Eq(200L + n - FaceBridgeConnection.MaxQueuedEventFrames, seen[0].Seq, "the oldest went");
                    T.Eq(200L + n - 1, seen[seen.Count - 1].Seq, "the newest kept");
                    c.Dispose(2000);
                }
            });

            T.Run("fake daemon: unknown blendshape names in the welcome schema -> one warning", () =>
            {
                using (var d = new FakeDaemon())
                {
                    var names = new List<string>(ArkitNames.All);
                    names[5] = "eyeSquintLeftV2";
                    names[6] = "somethingNew";
                    d.Handler = req => (string)req["type"] == "hello" ? new List<byte[]> { FakeDaemon.Welcome(req["id"], 1, names) } : null;
                    var c = new FaceBridgeConnection(Fast(d), new CapturingLog());
                    c.Start();
                    T.Check(T.WaitFor(() => c.IsReady, 5000), "ready");
                    var log = new CapturingLog();
                    var m = new TargetMapping(c.Welcome.Schema.BlendshapeNames, ArkitNames.All, null, log);
                    T.Eq(1, log.WarnCount, "warnings: " + log.All);
                    T.Eq(50, m.Count, "the 50 known ones are driven");
                    c.Dispose(2000);
                }
            });
        }
    }
}
