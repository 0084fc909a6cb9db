// Tests without a daemon: malformed frames, mapping, jitter buffer, clock, Z85/CURVE files,
// WAV, request validation, the sample mapping files.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Text;
using FaceBridge.Core;

namespace FaceBridge.Tests
{
    public static class OfflineTests
    {
        static List<byte[]> Copy(List<byte[]> parts)
        {
            var r = new List<byte[]>();
            foreach (var p in parts) r.Add((byte[])p.Clone());
            return r;
        }

        static byte[] Pack(object o)
        {
            var w = new MsgPackWriter();
            w.WriteObject(o);
            return w.ToArray();
        }

        static byte[] Cut(byte[] b, int n)
        {
            var r = new byte[n];
            Buffer.BlockCopy(b, 0, r, 0, n);
            return r;
        }

        public static void Run(Args args)
        {
            string golden = args.Golden;
            var anim = GoldenTests.ReadParts(Path.Combine(golden, "frame_anim.msgpack"));
            var perf = GoldenTests.ReadParts(Path.Combine(golden, "frame_performing.msgpack"));
            var video = GoldenTests.ReadParts(Path.Combine(golden, "frame_video.msgpack"));
            var listening = GoldenTests.ReadParts(Path.Combine(golden, "frame_listening.msgpack"));

            T.Run("decoder: truncated and malformed frames are dropped and counted, never thrown", () =>
            {
                var dec = new FrameDecoder();
                var into = new AnimFrame();
                int bad = 0;
                Action<List<byte[]>, string> expectBad = (parts, what) =>
                {
                    bool ok;
                    try { ok = dec.TryDecodeAnim(parts, into); }
                    catch (Exception e) { throw new CheckFailed(what + ": threw " + e.GetType().Name + ": " + e.Message); }
                    T.Check(!ok, what + ": decoded");
                    bad++;
                    T.Eq((long)bad, dec.Dropped, what + ": dropped count");
                };
                // every truncation of the header, of each blob, of the topic
                for (int n = 0; n < anim[1].Length; n++)
                {
                    var p = Copy(anim); p[1] = Cut(anim[1], n); expectBad(p, "header cut at " + n);
                }
                for (int b = 2; b < anim.Count; b++)
                    foreach (int n in new[] { 0, 1, anim[b].Length - 1 })
                    {
                        var p = Copy(anim); p[b] = Cut(anim[b], n); expectBad(p, "blob " + b + " cut at " + n);
                    }
                for (int n = 0; n <= 5; n++)
                {
                    var p = Copy(anim); p[0] = Cut(anim[0], n); expectBad(p, "topic cut at " + n);
                }
                // wrong part counts
                expectBad(null, "null");
                expectBad(new List<byte[]>(), "no parts");
                expectBad(anim.GetRange(0, 3), "a missing blob");
                var extra = Copy(anim); extra.Add(new byte[24]); expectBad(extra, "an extra blob");
                var six = Copy(perf); six.Add(new byte[4]); expectBad(six, "6 parts");
                var wrongTopic = Copy(anim); wrongTopic[0] = Encoding.ASCII.GetBytes("video.a1"); expectBad(wrongTopic, "video topic");
                var badUtf8 = Copy(anim); badUtf8[0] = new byte[] { 0x61, 0x6e, 0x69, 0x6d, 0x2e, 0xff, 0xfe }; expectBad(badUtf8, "non-UTF-8 avatar");
                // hostile headers
                Func<byte[], List<byte[]>> withHeader = hdr => { var p = Copy(anim); p[1] = hdr; return p; };
                expectBad(withHeader(Pack(new List<object> { 1L, 2L })), "header is an array");
                expectBad(withHeader(new byte[] { 0xdf, 0x7f, 0xff, 0xff, 0xff }), "a map announcing 2^31 entries");
                expectBad(withHeader(new byte[] { 0x81, 0xa5, 0x62, 0x6c, 0x6f, 0x62, 0x73, 0xdd, 0xff, 0xff, 0xff, 0xff }), "blobs announcing 4G names");
                var deep = new List<byte>();
                deep.Add(0x81); deep.AddRange(new byte[] { 0xa1, 0x78 });
                for (int i = 0; i < 200; i++) deep.Add(0x91);
                deep.Add(0x00);
                expectBad(withHeader(deep.ToArray()), "nesting 200 deep");
                expectBad(withHeader(new byte[] { 0x81, 0x01, 0x01 }), "an integer key");
                expectBad(withHeader(new byte[] { 0xc1 }), "the never-used byte 0xc1");
                var h = (Dictionary<string, object>)MsgPackReader.Unpack(anim[1]);
                Action<string, object, string> mutate = (key, value, what) =>
                {
                    var m = new Dictionary<string, object>(h);
                    if (value == null) m.Remove(key); else m[key] = value;
                    expectBad(withHeader(Pack(m)), what);
                };
                mutate("seq", "seven", "seq as a string");
                mutate("seq", null, "no seq");
                mutate("pts", null, "no pts");
                mutate("pts", double.NaN, "pts NaN");
                mutate("final", 1L, "final: 1");
                mutate("blobs", new List<object> { "blendshapes" }, "one blob name for two blobs");
                mutate("blobs", new List<object> { "blendshapes", "blendshapes" }, "a blob named twice");
                mutate("blobs", new List<object> { "blendshapes", "tail" }, "an unknown blob");
                mutate("blobs", "blendshapes", "blobs as a string");
                var trailing = new List<byte>(anim[1]); trailing.Add(0xc0);
                expectBad(withHeader(trailing.ToArray()), "bytes after the header");
                // the decoder still works, and a header with a key it does not know is fine
                T.Check(dec.TryDecodeAnim(anim, into), "valid frame after the bad ones: " + dec.LastError);
                var more = new Dictionary<string, object>(h); more["future_key"] = new Dictionary<string, object> { { "x", 1L } };
                T.Check(dec.TryDecodeAnim(withHeader(Pack(more)), into), "unknown header key: " + dec.LastError);
                T.Eq(7L, into.Seq, "seq");
                T.Eq((long)bad, dec.Dropped, "dropped");
            });

            T.Run("decoder: header.events (listening reactions): malformed ones refused; nil, missing numbers, new fields as in bridge/protocol/codec.py", () =>
            {
                var dec = new FrameDecoder();
                var into = new AnimFrame();
                var h = (Dictionary<string, object>)MsgPackReader.Unpack(listening[1]);
                Func<object, List<byte[]>> withEvents = events =>
                {
                    var m = new Dictionary<string, object>(h);
                    m["events"] = events;
                    var p = Copy(listening);
                    p[1] = Pack(m);
                    return p;
                };
                Func<object, object, object, object, Dictionary<string, object>> ev = (type, t, d, st) =>
                    new Dictionary<string, object> { { "type", type }, { "t", t }, { "duration_s", d }, { "strength", st } };
                var nod = ev("nod", 0.4, 0.55, 0.6);
                var many = new List<object>();
                for (int i = 0; i < 65; i++) many.Add(nod);
                var bad = new List<KeyValuePair<string, object>>
                {
                    new KeyValuePair<string, object>("events a map", nod),
                    new KeyValuePair<string, object>("events a string", "nod"),
                    new KeyValuePair<string, object>("events an int", 1L),
                    new KeyValuePair<string, object>("events a bool", true),
                    new KeyValuePair<string, object>("65 events", many),
                    new KeyValuePair<string, object>("an event a string", new List<object> { nod, "nod" }),
                    new KeyValuePair<string, object>("an event an array", new List<object> { new List<object> { "nod" } }),
                    new KeyValuePair<string, object>("an event nil", new List<object> { null }),
                    new KeyValuePair<string, object>("an event without type", new List<object> { new Dictionary<string, object> { { "t", 0.4 } } }),
                    new KeyValuePair<string, object>("an event type an int", new List<object> { ev(1L, 0.4, 0.5, 0.5) }),
                    new KeyValuePair<string, object>("an event type nil", new List<object> { ev(null, 0.4, 0.5, 0.5) }),
                    new KeyValuePair<string, object>("an event type bytes", new List<object> { ev(new byte[] { 0x6e }, 0.4, 0.5, 0.5) }),
                    new KeyValuePair<string, object>("an event t a string", new List<object> { ev("nod", "0.4", 0.5, 0.5) }),
                    new KeyValuePair<string, object>("an event duration_s a bool", new List<object> { ev("nod", 0.4, true, 0.5) }),
                    new KeyValuePair<string, object>("an event strength nil", new List<object> { ev("nod", 0.4, 0.5, null) }),
                    new KeyValuePair<string, object>("an event strength a list", new List<object> { ev("nod", 0.4, 0.5, new List<object> { 0.5 }) }),
                    new KeyValuePair<string, object>("an event t NaN", new List<object> { ev("nod", double.NaN, 0.5, 0.5) }),
                    new KeyValuePair<string, object>("an event duration_s infinite", new List<object> { ev("nod", 0.4, double.PositiveInfinity, 0.5) }),
                };
                int dropped = 0;
                foreach (var b in bad)
                {
                    bool ok;
                    try { ok = dec.TryDecodeAnim(withEvents(b.Value), into); }
                    catch (Exception e) { throw new CheckFailed(b.Key + ": threw " + e.GetType().Name + ": " + e.Message); }
                    T.Check(!ok, "accepted: " + b.Key);
                    T.Eq((long)++dropped, dec.Dropped, b.Key + ": dropped count");
                    T.Check(dec.LastError != null && dec.LastError.Contains("events"), b.Key + ": the reason names events: " + dec.LastError);
                }
                // events written by hand (an integer key, a float32): the header without events,
                // one more entry announced, then "events" and these bytes
                Func<byte[], List<byte[]>> withRawEvents = raw =>
                {
                    var m = new Dictionary<string, object>(h);
                    m.Remove("events");
                    byte[] head = Pack(m);
                    T.Check(head[0] >= 0x80 && head[0] < 0x8f, "the listening header is a small fixmap");
                    head[0]++;
                    var all = new List<byte>(head);
                    all.AddRange(Pack("events"));
                    all.AddRange(raw);
                    var p = Copy(listening);
                    p[1] = all.ToArray();
                    return p;
                };
                var typeNod = new List<byte> { 0x91, 0x82 };
                typeNod.AddRange(Pack("type")); typeNod.AddRange(Pack("nod"));
                var intKey = new List<byte>(typeNod) { 0x01, 0x02 };
                T.Check(!dec.TryDecodeAnim(withRawEvents(intKey.ToArray()), into), "accepted: an event key not a string");
                dropped++;
                T.Check(!dec.TryDecodeAnim(withRawEvents(new byte[] { 0xdd, 0xff, 0xff, 0xff, 0xff }), into), "accepted: 4G events announced");
                dropped++;
                var f32 = new List<byte>(typeNod);
                f32.AddRange(Pack("strength"));
                f32.AddRange(new byte[] { 0xca, 0x3f, 0x00, 0x00, 0x00 }); // float32 0.5
                T.Check(dec.TryDecodeAnim(withRawEvents(f32.ToArray()), into), "float32: " + dec.LastError);
                T.Eq(0.5, into.Events[0].Strength, "float32 strength");
                T.Check(dec.TryDecodeAnim(withEvents(new List<object>()), into), "an empty list: " + dec.LastError);
                T.Eq(0, into.Events.Length, "no events: an empty list");
                T.Check(into.Events == ListeningEvent.None && !into.HasEvents, "the shared empty list");
                T.Check(dec.TryDecodeAnim(withEvents(null), into), "events nil: " + dec.LastError);
                T.Eq(null, into.Events, "events nil: as if absent");
                var max = new List<object>();
                for (int i = 0; i < FrameDecoder.MaxEvents; i++) max.Add(ev("blink", i / 30.0, 0.25, 1.0));
                T.Check(dec.TryDecodeAnim(withEvents(max), into), "64 events: " + dec.LastError);
                T.Eq(64, into.Events.Length, "64 events");
                T.Near(63 / 30.0, into.Events[63].T, 0, "the last one's t");
                T.Check(dec.TryDecodeAnim(withEvents(new List<object> { ev("inhale", 3L, 1L, -1L) }), into), "integers: " + dec.LastError);
                T.Check(into.Events[0].Type == "inhale" && into.Events[0].T == 3.0 && into.Events[0].DurationS == 1.0 && into.Events[0].Strength == -1.0, "integer numbers are numbers");
                var extra = new Dictionary<string, object>(nod);
                extra["new_field"] = new Dictionary<string, object> { { "x", new List<object> { 1L } } };
                T.Check(dec.TryDecodeAnim(withEvents(new List<object> { extra, ev("wink", 0.5, 0.2, 1.0) }), into), "new fields and types: " + dec.LastError);
                T.Check(into.Events.Length == 2 && into.Events[0].T == 0.4 && into.Events[1].Type == "wink", "new event fields and types are kept/ignored");
                T.Check(dec.TryDecodeAnim(withEvents(new List<object> { new Dictionary<string, object> { { "type", "blink" } } }), into), "no numbers: " + dec.LastError);
                T.Check(into.Events[0].T == 0 && into.Events[0].DurationS == 0 && into.Events[0].Strength == 0, "missing numbers are 0, as in bridge/protocol/codec.py");
                // a speaking frame with the field (not sent today) is still decoded
                var ha = (Dictionary<string, object>)MsgPackReader.Unpack(anim[1]);
                ha["events"] = new List<object> { nod };
                var pa = Copy(anim);
                pa[1] = Pack(ha);
                T.Check(dec.TryDecodeAnim(pa, into) && into.Events.Length == 1, "events on a speaking frame: " + dec.LastError);
                T.Eq((long)dropped, dec.Dropped, "dropped");
                // every truncation of the listening header is dropped, never thrown
                for (int n = 0; n < listening[1].Length; n++)
                {
                    var p = Copy(listening); p[1] = Cut(listening[1], n);
                    try { T.Check(!dec.TryDecodeAnim(p, into), "header cut at " + n + " decoded"); }
                    catch (CheckFailed) { throw; }
                    catch (Exception e) { throw new CheckFailed("header cut at " + n + ": threw " + e.GetType().Name); }
                }
            });

            T.Run("decoder: 20,000 random corruptions never throw", () =>
            {
                var dec = new FrameDecoder();
                var rng = new Random(13);
                var into = new AnimFrame();
                int ok = 0, dropped = 0;
                for (int k = 0; k < 20000; k++)
                {
                    var p = Copy(k % 3 == 0 ? anim : k % 3 == 1 ? perf : listening);
                    int part = rng.Next(3) == 0 ? 0 : 1;
                    int flips = 1 + rng.Next(4);
                    for (int f = 0; f < flips; f++) p[part][rng.Next(p[part].Length)] = (byte)rng.Next(256);
                    if (rng.Next(4) == 0) p[part] = Cut(p[part], rng.Next(p[part].Length));
                    try
                    {
                        if (dec.TryDecodeAnim(p, into))
                        {
                            ok++;
                            if (into.Events != null && into.Events.Length > FrameDecoder.MaxEvents) throw new CheckFailed("corruption " + k + ": " + into.Events.Length + " events accepted");
                            if (into.Events != null) foreach (var e in into.Events) if (e == null || e.Type == null) throw new CheckFailed("corruption " + k + ": an event without type");
                        }
                        else dropped++;
                    }
                    catch (Exception e) { throw new CheckFailed("corruption " + k + " threw " + e.GetType().Name + ": " + e.Message); }
                }
                T.Eq((long)dropped, dec.Dropped, "dropped count");
                T.Check(dropped > 5000, "only " + dropped + " dropped");
                T.Out("  (" + ok + " still decodable, " + dropped + " dropped)");
            });

            T.Run("decoder: malformed video frames are dropped and counted", () =>
            {
                var dec = new FrameDecoder();
                VideoFrame v;
                int bad = 0;
                Action<List<byte[]>, string> expectBad = (parts, what) =>
                {
                    T.Check(!dec.TryDecodeVideo(parts, out v), what + ": decoded");
                    bad++;
                    T.Eq((long)bad, dec.Dropped, what);
                };
                var h = (Dictionary<string, object>)MsgPackReader.Unpack(video[1]);
                Action<string, object, string> mutate = (key, value, what) =>
                {
                    var m = new Dictionary<string, object>(h); m[key] = value;
                    var p = Copy(video); p[1] = Pack(m); expectBad(p, what);
                };
                mutate("width", 0L, "width 0");
                mutate("width", 5000L, "width 5000");
                mutate("height", 3L, "height 3 for 2 rows of pixels");
                mutate("format", "bgr24", "bgr24");
                var p2 = Copy(video); p2[2] = Cut(video[2], 17); expectBad(p2, "a pixel short");
                expectBad(video.GetRange(0, 2), "no pixels");
                var p3 = Copy(video); p3[0] = Encoding.ASCII.GetBytes("anim.a2"); expectBad(p3, "anim topic");
                for (int n = 0; n < video[1].Length; n++)
                {
                    var p = Copy(video); p[1] = Cut(video[1], n); expectBad(p, "header cut at " + n);
                }
                T.Check(dec.TryDecodeVideo(video, out v), "valid after bad: " + dec.LastError);
            });

            T.Run("mapping: by name; unknown schema names ignored with ONE warning", () =>
            {
                var names = (string[])ArkitNames.All.Clone();
                Array.Reverse(names); // another order: positions mean nothing
                names[3] = "tongueCurl";
                names[10] = "mouthTwistX";
                var log = new CapturingLog();
                var mesh = new List<string> { "Body", "blendShape1.jawOpen", "EyeBlink_Left", "mouthSmileRight", "browInnerUp" };
                var m = new TargetMapping(names, mesh, MappingTable.Identity(), log);
                T.Eq(1, log.WarnCount, "warnings (" + log.All + ")");
                T.Check(log.Warnings[0].Contains("tongueCurl") && log.Warnings[0].Contains("mouthTwistX"), "the warning names them: " + log.Warnings[0]);
                T.Eq(4, m.Count, "driven targets");
                var wire = new float[names.Length];
                for (int i = 0; i < names.Length; i++) wire[i] = ArkitNames.IndexOf(names[i]) >= 0 ? (ArkitNames.IndexOf(names[i]) + 1) / 100f : 0.99f;
                var vals = new float[m.Count];
                m.Apply(wire, vals);
                var byTarget = new Dictionary<string, float>();
                for (int s = 0; s < m.Count; s++) byTarget[m.TargetName[s]] = vals[s];
                T.Near((ArkitNames.IndexOf("jawOpen") + 1) / 100.0, byTarget["blendShape1.jawOpen"], 1e-6, "jawOpen");
                T.Near((ArkitNames.IndexOf("eyeBlinkLeft") + 1) / 100.0, byTarget["EyeBlink_Left"], 1e-6, "eyeBlinkLeft");
                T.Near((ArkitNames.IndexOf("browInnerUp") + 1) / 100.0, byTarget["browInnerUp"], 1e-6, "browInnerUp");
                T.Eq(1, mesh.IndexOf(m.TargetName[0]) >= 0 ? 1 : 0, "target index");
                T.Eq(mesh.IndexOf("blendShape1.jawOpen"), m.TargetIndex[Array.IndexOf(m.TargetName, "blendShape1.jawOpen")], "mesh index");
                // schema → canonical order
                var arkit = new float[52];
                m.Schema.ToArkit(wire, arkit);
                T.Near((ArkitNames.IndexOf("cheekPuff") + 1) / 100.0, arkit[ArkitNames.IndexOf("cheekPuff")], 1e-6, "canonical order");
                // the canonical schema: no warning
                var log2 = new CapturingLog();
                new TargetMapping(ArkitNames.All, ArkitNames.All, null, log2);
                T.Eq(0, log2.WarnCount, "warnings for the canonical schema");
            });

            T.Run("mapping: weighted entries, clamping, missing targets warned once", () =>
            {
                var table = new MappingTable { Name = "t", PassThrough = false };
                table.Entries.Add(new MappingEntry("mouthSmileLeft", "Joy", 0.8333f));
                table.Entries.Add(new MappingEntry("mouthSmileRight", "Joy", 0.8333f));
                table.Entries.Add(new MappingEntry("jawOpen", "A", 2f));
                table.Entries.Add(new MappingEntry("jawOpen", "Nope", 1f));
                table.Entries.Add(new MappingEntry("jawOpenn", "A", 1f));
                var log = new CapturingLog();
                var m = new TargetMapping(ArkitNames.All, new[] { "A", "Joy" }, table, log);
                T.Eq(2, log.WarnCount, "a warning for the typo and one for the missing target (" + log.All + ")");
                var w = new float[52];
                w[ArkitNames.IndexOf("mouthSmileLeft")] = 0.6f;
                w[ArkitNames.IndexOf("mouthSmileRight")] = 0.6f;
                w[ArkitNames.IndexOf("jawOpen")] = 0.7f;
                var v = new float[m.Count];
                m.Apply(w, v);
                T.Near(1.0, v[Array.IndexOf(m.TargetName, "A")], 1e-6, "A clamped to 1");
                T.Near(0.99996, v[Array.IndexOf(m.TargetName, "Joy")], 1e-4, "Joy = smile / 0.6");
            });

            T.Run("sample mapping files load and drive their presets", () =>
            {
                string pkg = args.PackageDir ?? Path.Combine(Path.GetDirectoryName(typeof(OfflineTests).Assembly.Location) ?? ".", "..");
                string dir = Path.Combine(pkg, Path.Combine("Samples~", "Mappings"));
                if (!Directory.Exists(dir)) throw new SkipTest("no " + dir + " (pass --package)");
                var files = Directory.GetFiles(dir, "*.json");
                T.Check(files.Length >= 4, "mapping files: " + files.Length);
                foreach (var f in files)
                {
                    var table = MappingTable.FromJson(File.ReadAllText(f));
                    T.Check(table.BadSources().Count == 0, Path.GetFileName(f) + ": not ARKit names: " + string.Join(", ", table.BadSources().ToArray()));
                    var targets = new List<string>();
                    foreach (var e in table.Entries) if (!targets.Contains(e.Target)) targets.Add(e.Target);
                    if (table.PassThrough) targets.AddRange(ArkitNames.All);
                    var log = new CapturingLog();
                    var m = new TargetMapping(ArkitNames.All, targets, table, log);
                    T.Eq(0, log.WarnCount, Path.GetFileName(f) + " warnings: " + log.All);
                    T.Check(m.Count > 0, Path.GetFileName(f) + " drives nothing");
                    var w = new float[52];
                    w[ArkitNames.IndexOf("jawOpen")] = 1f;
                    var v = new float[m.Count];
                    m.Apply(w, v);
                    float best = 0;
                    foreach (var x in v) best = Math.Max(best, x);
                    T.Check(best > 0.5f, Path.GetFileName(f) + ": jawOpen moves nothing");
                }
            });

            T.Run("jitter buffer: newest frame with pts <= audio position", () =>
            {
                var b = new JitterBuffer(64);
                Func<long, int, AnimFrame> fr = (u, i) => new AnimFrame { Avatar = "x", Utterance = u, Seq = i, Pts = i / 30.0 };
                AnimFrame got;
                T.Check(!b.TrySample(1, 0.5, out got), "empty");
                foreach (int i in new[] { 0, 2, 1, 4, 3, 5, 3 }) b.Add(fr(1, i)); // out of order, one twice
                T.Eq(6, b.Count, "count (duplicate replaced)");
                T.Check(!b.TrySample(1, -0.01, out got), "before the first frame");
                T.Check(b.TrySample(1, 0.0, out got) && got.Seq == 0, "at 0");
                T.Check(b.TrySample(1, 2.5 / 30, out got) && got.Seq == 2, "between 2 and 3: " + (got == null ? "none" : got.Seq.ToString()));
                T.Check(b.TrySample(1, 4 / 30.0, out got) && got.Seq == 4, "exactly on 4");
                T.Check(b.TrySample(1, 10.0, out got) && got.Seq == 5, "past the end: the last");
                T.Check(!b.TrySample(2, 0.1, out got), "an utterance not yet here");
                b.Add(fr(2, 0)); b.Add(fr(2, 1));
                T.Check(b.TrySample(0.04, out got) && got.Utterance == 2 && got.Seq == 1, "newest utterance");
                T.Check(b.Snapshot()[0].Utterance == 2, "older utterances let go after sampling a newer one");
                var c = new JitterBuffer(10);
                for (int i = 0; i < 25; i++) c.Add(fr(1, i));
                T.Eq(10, c.Count, "capacity");
                T.Check(c.TrySample(1, 100, out got) && got.Seq == 24, "kept the newest");
                var d = new JitterBuffer(1000);
                for (int i = 0; i < 300; i++) d.Add(fr(1, i));
                T.Check(d.TrySample(1, 5.0, out got) && got.Seq == 150, "5 s");
                T.Check(d.Count <= 300 - 150 + 31, "frames more than 1 s behind let go: " + d.Count);
                T.Check(d.TrySample(1, 4.5, out got) && got.Seq == 135, "a small seek back still works");
            });

            T.Run("jitter buffer: a sample takes microseconds while another thread adds", () =>
            {
                var b = new JitterBuffer(1024);
                bool stop = false;
                var writer = new System.Threading.Thread(() =>
                {
                    int i = 0;
                    while (!stop) { b.Add(new AnimFrame { Utterance = 1, Seq = i, Pts = i / 30.0 }); i++; if (i % 64 == 0) System.Threading.Thread.Sleep(0); }
                });
                writer.Start();
                var sw = new Stopwatch();
                double worst = 0;
                AnimFrame got;
                for (int k = 0; k < 20000; k++)
                {
                    sw.Restart();
                    b.TrySample(1, k / 30.0, out got);
                    worst = Math.Max(worst, sw.Elapsed.TotalMilliseconds);
                }
                stop = true;
                writer.Join();
                T.Out("  (worst TrySample " + worst.ToString("0.000") + " ms)");
            });

            T.Run("clock offset from ping/pong", () =>
            {
                var c = new ClockSync(8);
                T.Eq(0L, c.OffsetNs, "no sample");
                long off = 5000000000L;
                c.AddSample(1000, 1500 + off, 2000);          // rtt 1000, offset exact
                c.AddSample(10000, 10100 + off + 300, 13000); // rtt 3000, skewed by queueing
                T.Eq(off, c.OffsetNs, "offset from the smallest round trip");
                T.Eq(1000L, c.BestRttNs, "best rtt");
                T.Eq(3000L, c.LastRttNs, "last rtt");
                T.Eq(1500L, c.ToClientNs(1500 + off), "daemon time on our clock");
                long now = ClientClock.NowNs(), later = ClientClock.NowNs();
                T.Check(later >= now, "monotonic");
                T.Check(Math.Abs(now / 1e9 - (DateTime.UtcNow - new DateTime(1970, 1, 1)).TotalSeconds) < 1, "epoch");
            });

            T.Run("Z85 and CURVE certificate files", () =>
            {
                var bytes = new byte[] { 0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B };
                T.Eq("HelloWorld", Z85.Encode(bytes), "spec vector");
                T.Eq(GoldenTests.Hex(bytes), GoldenTests.Hex(Z85.Decode("HelloWorld")), "decode");
                T.Check(Z85.Decode("Hello Worl") == null, "a space is not Z85");
                string cert = "#   ****  Generated by pyzmq  ****\n#   ZeroMQ CURVE **Secret** Certificate\n\nmetadata\ncurve\n" +
                              "    public-key = \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\"\n    secret-key = \"JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6\"\n";
                string server = "metadata\ncurve\n    public-key = \"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID\"\n";
                var o = CurveOptions.FromCertificateText(server, cert);
                T.Eq("Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID", o.ServerPublicKey, "server key");
                T.Eq("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", o.ClientPublicKey, "client public");
                T.Eq("JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6", o.ClientSecretKey, "client secret");
                T.Check(o.Validate() == null, "valid: " + o.Validate());
                T.Check(new CurveOptions("short", o.ClientPublicKey, o.ClientSecretKey).Validate().Contains("server key"), "bad server key named");
                bool threw = false;
                try { CurveOptions.FromCertificateText(server, server); } catch (FormatException) { threw = true; }
                T.Check(threw, "a public certificate as the client's secret one is refused");
            });

            T.Run("WAV: samples/hello.wav parsed by hand; 16-bit encode round trip", () =>
            {
                if (args.Samples == null) throw new SkipTest("no --samples");
                var a = Wav.Read(File.ReadAllBytes(Path.Combine(args.Samples, "hello.wav")));
                T.Eq(1, a.Channels, "channels");
                T.Eq(22050, a.Rate, "rate");
                T.Near(5.13, a.DurationS, 0.02, "duration");
                float peak = 0;
                foreach (var s in a.Samples) peak = Math.Max(peak, Math.Abs(s));
                T.Check(peak > 0.1f && peak <= 1f, "peak " + peak);
                var enc = Wav.Encode16(a.Samples, 0, a.Samples.Length, 1, a.Rate);
                var b = Wav.Read(enc);
                T.Eq(a.Samples.Length, b.Samples.Length, "length");
                for (int i = 0; i < a.Samples.Length; i += 97) T.Near(a.Samples[i], b.Samples[i], 1.0 / 32767 + 1e-6, "sample " + i);
                var stereo = Wav.Read(Wav.Encode16(new[] { 0.5f, -0.5f, 0.25f, 0.25f }, 0, 4, 2, 16000));
                T.Eq(2, stereo.Frames, "stereo frames");
                T.Near(0.0, stereo.Mono()[0], 1e-4, "downmix");
                bool threw = false;
                try { Wav.Read(Encoding.ASCII.GetBytes("RIFF....WAVE")); } catch (FormatException) { threw = true; }
                T.Check(threw, "a WAV without chunks is refused");
            });

            T.Run("requests: bad arguments fail the request at once (no exception, no network)", () =>
            {
                var c = new FaceBridgeConnection(new ClientOptions(), new CapturingLog());
                var r1 = c.SpeakChunk("a1", new float[10], 0, 10, 12345, false);
                T.Check(r1.Status == RequestStatus.Failed && r1.ErrorCode == Request.BadArgument && r1.ErrorMessage.Contains("12345"), "rate: " + r1);
                var r2 = c.CreateAvatar(new byte[0]);
                T.Check(r2.Status == RequestStatus.Failed, "empty image: " + r2);
                var r3 = c.CreateAvatar(new byte[3], render: "cartoon");
                T.Check(r3.Status == RequestStatus.Failed && r3.ErrorMessage.Contains("render"), "render: " + r3);
                var r4 = c.SetEmotion("", "joy");
                T.Check(r4.Status == RequestStatus.Failed, "no avatar: " + r4);
                var r5 = c.Speak("a1", new byte[10], text: new string('x', 100001));
                T.Check(r5.Status == RequestStatus.Failed && r5.ErrorMessage.Contains("100000"), "text: " + r5);
                bool called = false;
                c.CreateAvatar(null, callback: r => called = true);
                T.Eq(1, c.DispatchCallbacks(), "the callback queued");
                T.Check(called, "callback ran");
                T.Eq(ConnectionState.Stopped, c.State, "never started");
            });

            T.Run("head pose: degrees -> Unity quaternion (VMC convention)", () =>
            {
                var q = new float[4];
                HeadPoseMath.ToUnityQuaternion(0, 90, 0, q);
                T.Near(0, q[0], 1e-6, "x"); T.Near(-Math.Sqrt(0.5), q[1], 1e-6, "y"); T.Near(0, q[2], 1e-6, "z"); T.Near(Math.Sqrt(0.5), q[3], 1e-6, "w");
                HeadPoseMath.ToUnityQuaternion(30, 0, 0, q);
                T.Near(-Math.Sin(Math.PI / 12), q[0], 1e-6, "pitch up = negative x turn");
                HeadPoseMath.ToUnityQuaternion(0, 0, 0, q);
                T.Near(1, q[3], 1e-7, "identity");
            });

            T.Run("video endpoint: the welcome's port on the control host", () =>
            {
                T.Eq("tcp://192.168.1.5:5557", FaceBridgeConnection.VideoEndpointFor("tcp://192.168.1.5:5555", "tcp://0.0.0.0:5557"), "LAN");
                T.Eq("tcp://127.0.0.1:41000", FaceBridgeConnection.VideoEndpointFor("tcp://127.0.0.1:40999", "tcp://127.0.0.1:41000"), "loopback");
            });
        }
    }
}
