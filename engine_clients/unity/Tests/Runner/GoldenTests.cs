// tests/golden: every file decodes to its JSON; every request the client builds encodes to
// its golden bytes, byte for byte (Python msgpack.packb(use_bin_type=True) layout).
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using FaceBridge.Core;

namespace FaceBridge.Tests
{
    public static class GoldenTests
    {
        public static readonly byte[] Png = { 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a };

        /// <summary>golden.py's PCM: np.sin(np.arange(8) / 3).astype("&lt;f4").</summary>
        public static float[] GoldenPcm()
        {
            var x = new float[8];
            for (int i = 0; i < 8; i++) x[i] = (float)Math.Sin(i / 3.0);
            return x;
        }

        /// <summary>A multipart golden file: parts, each prefixed by its length (uint32 LE).</summary>
        public static List<byte[]> ReadParts(string path)
        {
            byte[] d = File.ReadAllBytes(path);
            var parts = new List<byte[]>();
            int i = 0;
            while (i < d.Length)
            {
                if (i + 4 > d.Length) throw new FormatException("truncated part length in " + path);
                int n = d[i] | (d[i + 1] << 8) | (d[i + 2] << 16) | (d[i + 3] << 24);
                if (n < 0 || i + 4 + n > d.Length) throw new FormatException("truncated part in " + path);
                var p = new byte[n];
                Buffer.BlockCopy(d, i + 4, p, 0, n);
                parts.Add(p);
                i += 4 + n;
            }
            return parts;
        }

        public static string Hex(byte[] b)
        {
            var sb = new StringBuilder(b.Length * 2);
            foreach (byte x in b) sb.Append(x.ToString("x2"));
            return sb.ToString();
        }

        public static byte[] Unhex(string s)
        {
            var b = new byte[s.Length / 2];
            for (int i = 0; i < b.Length; i++) b[i] = byte.Parse(s.Substring(2 * i, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            return b;
        }

        /// <summary>Compares a decoded msgpack tree with golden.py's JSON rendering of it (bin as
        /// {"$bytes": hex}; floats within 1e-6). Returns null when equal, else where they differ.</summary>
        public static string Diff(object json, object got, string path)
        {
            var jd = json as Dictionary<string, object>;
            if (jd != null && jd.Count == 1 && jd.ContainsKey("$bytes"))
            {
                var b = got as byte[];
                if (b == null) return path + ": expected bytes, got " + T.Show(got);
                return Hex(b) == (string)jd["$bytes"] ? null : path + ": bytes differ (" + Hex(b) + ")";
            }
            if (jd != null)
            {
                var gd = got as Dictionary<string, object>;
                if (gd == null) return path + ": expected a map, got " + T.Show(got);
                if (gd.Count != jd.Count) return path + ": " + gd.Count + " keys, expected " + jd.Count;
                foreach (var kv in jd)
                {
                    object g;
                    if (!gd.TryGetValue(kv.Key, out g)) return path + "." + kv.Key + ": missing";
                    string d = Diff(kv.Value, g, path + "." + kv.Key);
                    if (d != null) return d;
                }
                return null;
            }
            var jl = json as List<object>;
            if (jl != null)
            {
                IList<object> gl = got as List<object>;
                if (gl == null && got is float[]) gl = Array.ConvertAll((float[])got, f => (object)(double)f);
                if (gl == null && got is byte[]) gl = Array.ConvertAll((byte[])got, x => (object)(long)x);
                if (gl == null) return path + ": expected a list, got " + T.Show(got);
                if (gl.Count != jl.Count) return path + ": " + gl.Count + " items, expected " + jl.Count;
                for (int i = 0; i < jl.Count; i++)
                {
                    string d = Diff(jl[i], gl[i], path + "[" + i + "]");
                    if (d != null) return d;
                }
                return null;
            }
            if (json is double || (json is long && got is double))
            {
                if (!(got is double) && !(got is long)) return path + ": expected a number, got " + T.Show(got);
                // 1e-6, or 4 float32 ulps: golden.py renders float32 blobs with numpy's
                // float32 .round(6), which multiplies by 1e6 in float32 (268.75 becomes
                // 268.7500305 in frame_performing.json's landmarks).
                double a = Values.ToDouble(json), b = Values.ToDouble(got);
                return Math.Abs(a - b) <= Math.Max(1e-6, 2.4e-7 * Math.Abs(a)) ? null : path + ": " + b.ToString("R") + " != " + a.ToString("R");
            }
            if (json is long)
            {
                if (!(got is long)) return path + ": expected an integer, got " + T.Show(got);
                return (long)json == (long)got ? null : path + ": " + got + " != " + json;
            }
            return Equals(json, got) ? null : path + ": " + T.Show(got) + " != " + T.Show(json);
        }

        public static void Run(Args args)
        {
            string dir = args.Golden;
            var names = new List<string>();
            foreach (var f in Directory.GetFiles(dir, "*.json")) names.Add(Path.GetFileNameWithoutExtension(f));
            names.Sort(StringComparer.Ordinal);
            T.Run("golden: the folder holds the expected messages", () =>
            {
                T.Check(names.Count >= 18, "only " + names.Count + " golden files in " + dir);
                foreach (var n in new[] { "hello", "welcome", "frame_anim", "frame_listening", "frame_video", "speak_chunk", "listen", "error" })
                    T.Check(names.Contains(n), "no golden " + n);
            });
            foreach (var name in names)
            {
                string n = name;
                T.Run("golden decode: " + n, () => DecodeOne(dir, n));
            }
            T.Run("golden decode: frame_listening carries exactly one event, a nod {2.2, 0.55, 0.6}", () =>
            {
                var dec = new FrameDecoder();
                var f = dec.DecodeAnim(ReadParts(Path.Combine(dir, "frame_listening.msgpack")));
                T.Check(f != null, "decode: " + dec.LastError);
                T.Eq("listening", f.Mode, "mode");
                T.Check(f.Events != null && f.Events.Length == 1 && f.HasEvents, "one event");
                var e = f.Events[0];
                T.Eq("nod", e.Type, "type");
                T.Eq(2.2, e.T, "t");
                T.Eq(0.55, e.DurationS, "duration_s");
                T.Eq(0.6, e.Strength, "strength");
                T.Eq(null, f.Landmarks, "no landmarks blob");
                var copy = f.Clone();
                T.Check(copy.Events != f.Events && copy.Events.Length == 1 && copy.Events[0] == e, "Clone copies the list");
                // decoded into the same frame, a frame without the field has none
                T.Check(dec.TryDecodeAnim(ReadParts(Path.Combine(dir, "frame_anim.msgpack")), f), "frame_anim: " + dec.LastError);
                T.Eq(null, f.Events, "frame_anim (speaking) has no events");
            });

            // requests built by the client == golden bytes
            var pcm = GoldenPcm();
            var built = new Dictionary<string, byte[]>
            {
                { "hello", Requests.Hello(1, 1, "unity-client/0.1") },
                { "ping", Requests.Ping(2, 123456789) },
                { "create_avatar", Requests.CreateAvatar(3, Png, "a1") },
                { "speak_clip", Requests.SpeakClip(4, "a1", Encoding.ASCII.GetBytes("RIFF....WAVE"), "[joy] Hello there.") },
                { "speak_chunk", Requests.SpeakChunk(5, "a1", pcm, 0, pcm.Length, 16000, false) },
                { "listen", Requests.Listen(6, "a1", Requests.PcmBytes(pcm, 0, pcm.Length), 16000) },
                { "set_emotion", Requests.SetEmotion(7, "a1", "sadness:0.5") },
                { "stop", Requests.Stop(8, "a1") },
                { "create_avatar_video", Requests.CreateAvatar(10, Png, "a2", "warp", 256) },
            };
            foreach (var kv in built)
            {
                var k = kv;
                T.Run("golden encode: " + k.Key + " byte for byte", () =>
                {
                    byte[] want = File.ReadAllBytes(Path.Combine(dir, k.Key + ".msgpack"));
                    T.Check(Hex(want) == Hex(k.Value), "built " + Hex(k.Value) + "\n   golden " + Hex(want));
                });
            }
            T.Run("golden encode: speak_chunk from raw pcm bytes equals the float path", () =>
            {
                var j = (Dictionary<string, object>)Json.Parse(File.ReadAllText(Path.Combine(dir, "speak_chunk.json")));
                byte[] raw = Unhex((string)((Dictionary<string, object>)j["pcm"])["$bytes"]);
                T.Eq(Hex(File.ReadAllBytes(Path.Combine(dir, "speak_chunk.msgpack"))), Hex(Requests.SpeakChunkBytes(5, "a1", raw, 16000, false)), "bytes");
            });
            T.Run("golden encode: every control message re-encodes to its bytes (writer = Python's packb)", () =>
            {
                int n = 0;
                foreach (var name in names)
                {
                    if (name.StartsWith("frame_")) continue;
                    byte[] want = File.ReadAllBytes(Path.Combine(dir, name + ".msgpack"));
                    var w = new MsgPackWriter();
                    w.WriteObject(MsgPackReader.Unpack(want));
                    T.Check(Hex(w.ToArray()) == Hex(want), name + ": re-encoded bytes differ");
                    n++;
                }
                T.Check(n >= 15, "only " + n + " control messages");
            });
        }

        static void DecodeOne(string dir, string name)
        {
            object json = Json.Parse(File.ReadAllText(Path.Combine(dir, name + ".json")));
            var jd = (Dictionary<string, object>)json;
            string path = Path.Combine(dir, name + ".msgpack");
            if (!jd.ContainsKey("topic"))
            {
                byte[] data = File.ReadAllBytes(path);
                object tree = MsgPackReader.Unpack(data);
                string d = Diff(json, tree, name);
                T.Check(d == null, d);
                Reply r;
                string err;
                T.Check(Reply.TryParse(data, out r, out err), "Reply.TryParse: " + err);
                T.Eq(jd["type"], r.Type, "type");
                T.Eq(jd["id"], r.Id, "id");
                if (r.Type == "welcome")
                {
                    var w = Welcome.FromReply(r);
                    T.Eq(1, w.Protocol, "protocol");
                    T.Eq(52, w.Schema.BlendshapeNames.Length, "names");
                    T.Eq(string.Join(",", ArkitNames.All), string.Join(",", w.Schema.BlendshapeNames), "canonical order");
                    T.Eq("tcp://127.0.0.1:5557", w.Schema.VideoEndpoint, "video endpoint");
                    T.Near(30.0, w.Schema.Fps, 0, "fps");
                }
                if (r.Type == "error")
                {
                    T.Eq("unknown_avatar", r.ErrorCode, "code");
                    T.Check(r.ErrorMessage.Contains("zz"), "message");
                }
                if (r.Type == "ok") T.Near(5.12, r.GetDouble("duration_s"), 1e-12, "duration_s");
                return;
            }
            var parts = ReadParts(path);
            var header = (Dictionary<string, object>)jd["header"];
            var blobs = (List<object>)jd["blobs"];
            T.Eq(jd["topic"], Encoding.ASCII.GetString(parts[0]), "topic");
            T.Eq(blobs.Count + 2, parts.Count, "parts");
            string hd = Diff(header, MsgPackReader.Unpack(parts[1]), name + ".header");
            T.Check(hd == null, hd);
            var dec = new FrameDecoder();
            if (((string)jd["topic"]).StartsWith("video."))
            {
                VideoFrame v;
                T.Check(dec.TryDecodeVideo(parts, out v), "video decode: " + dec.LastError);
                T.Eq((long)header["width"], (long)v.Width, "width");
                T.Eq((long)header["height"], (long)v.Height, "height");
                T.Eq((long)header["seq"], v.Seq, "seq");
                T.Near((double)header["pts"], v.Pts, 0, "pts");
                T.Eq("a2", v.Avatar, "avatar");
                string d = Diff(blobs[0], v.Pixels, name + ".pixels");
                T.Check(d == null, d);
                // rows flipped for Texture2D
                VideoFrame f;
                T.Check(dec.TryDecodeVideo(parts, out f, true), "flipped decode");
                int row = v.Width * 3;
                for (int y = 0; y < v.Height; y++)
                    for (int x = 0; x < row; x++)
                        T.Eq(v.Pixels[y * row + x], f.Pixels[(v.Height - 1 - y) * row + x], "flipped pixel");
                return;
            }
            var frame = new AnimFrame();
            T.Check(dec.TryDecodeAnim(parts, frame), "anim decode: " + dec.LastError);
            T.Eq((long)header["seq"], frame.Seq, "seq");
            T.Near(Values.ToDouble(header["pts"]), frame.Pts, 0, "pts");
            T.Eq((long)header["t_ns"], frame.TNs, "t_ns");
            T.Eq(header["mode"], frame.Mode, "mode");
            T.Eq((long)header["utterance"], frame.Utterance, "utterance");
            T.Eq(header["emotion"], frame.Emotion, "emotion");
            T.Eq(header["final"], frame.Final, "final");
            T.Eq(jd["topic"], "anim." + frame.Avatar, "avatar");
            var names = (List<object>)header["blobs"];
            for (int i = 0; i < names.Count; i++)
            {
                float[] got = (string)names[i] == "blendshapes" ? frame.Blendshapes : (string)names[i] == "head_pose" ? frame.HeadPose : frame.Landmarks;
                T.Check(got != null, "blob " + names[i] + " missing");
                string d = Diff(blobs[i], got, name + "." + names[i]);
                T.Check(d == null, d);
            }
            T.Check(names.Contains("landmarks") == (frame.Landmarks != null), "landmarks presence");
            if (header.ContainsKey("events"))
            {
                T.Check(frame.Events != null, "events missing");
                var got = new List<object>();
                foreach (var e in frame.Events)
                    got.Add(new Dictionary<string, object> { { "type", e.Type }, { "t", e.T }, { "duration_s", e.DurationS }, { "strength", e.Strength } });
                string d = Diff(header["events"], got, name + ".events");
                T.Check(d == null, d);
            }
            else T.Check(frame.Events == null, "events without the header field");
        }
    }
}
