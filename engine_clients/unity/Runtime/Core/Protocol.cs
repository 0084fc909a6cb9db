// Control messages of facebridge protocol 1 (docs/protocol.md): request builders and
// reply parsing. Requests are msgpack maps: `type`, `id`, then the fields in the order the
// Python reference client sends them, so the bytes equal tests/golden/*.msgpack.
using System;
using System.Collections.Generic;
using System.Globalization;

namespace FaceBridge.Core
{
    public static class Protocol
    {
        /// <summary>The highest protocol version this client speaks (sent in hello).</summary>
        public const int Version = 1;
        public const string ClientName = "unity-client/0.1";

        public const int MaxImageBytes = 32 << 20;
        public const int MaxAudioBytes = 48 << 20;
        public const int MaxPcmBytes = 4 << 20;
        public const int MaxTextChars = 100000;
        public const int MaxNameChars = 64;
        public const int MaxEmotionChars = 32;
        public const int MaxClientChars = 128;
        /// <summary>Requests the daemon queues per avatar before it answers `busy`.</summary>
        public const int MaxQueuedPerAvatar = 16;
        public const int MaxVideoSide = 1024;

        public static readonly int[] Rates = { 8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000 };

        public static bool IsSupportedRate(int rate)
        {
            return Array.IndexOf(Rates, rate) >= 0;
        }
    }

    /// <summary>Builds request frames. Arguments are checked here with the daemon's limits, so
    /// a mistake is an ArgumentException at the call, not an error reply later.</summary>
    public static class Requests
    {
        static MsgPackWriter Begin(string type, long id, int fields, int capacity = 64)
        {
            if (id < 0) throw new ArgumentException("id must be 0..2^63-1");
            var w = new MsgPackWriter(capacity);
            w.WriteMapHeader(fields + 2);
            w.WriteString("type");
            w.WriteString(type);
            w.WriteString("id");
            w.WriteInt(id);
            return w;
        }

        static void CheckLen(string field, string v, int max)
        {
            if (v != null && v.Length > max)
                throw new ArgumentException(field + " is " + v.Length + " characters long; the limit is " + max);
        }

        static void CheckAvatar(string avatar)
        {
            if (string.IsNullOrEmpty(avatar)) throw new ArgumentException("avatar is required (the id from avatar_created)");
            CheckLen("avatar", avatar, Protocol.MaxNameChars);
        }

        static void CheckRate(int rate)
        {
            if (!Protocol.IsSupportedRate(rate))
                throw new ArgumentException("rate " + rate + " is not one of 8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000 (resample first)");
        }

        static int Count(params object[] values)
        {
            int n = 0;
            foreach (var v in values) if (v != null) n++;
            return n;
        }

        public static byte[] Hello(long id, int protocol = Protocol.Version, string client = Protocol.ClientName)
        {
            if (protocol < 1) throw new ArgumentException("protocol must be >= 1");
            CheckLen("client", client, Protocol.MaxClientChars);
            var w = Begin("hello", id, client == null ? 1 : 2);
            w.WriteString("protocol"); w.WriteInt(protocol);
            if (client != null) { w.WriteString("client"); w.WriteString(client); }
            return w.ToArray();
        }

        public static byte[] Ping(long id, long tNs)
        {
            if (tNs < 0) throw new ArgumentException("t_ns must be >= 0");
            var w = Begin("ping", id, 1);
            w.WriteString("t_ns"); w.WriteInt(tNs);
            return w.ToArray();
        }

        public static byte[] Stats(long id)
        {
            return Begin("stats", id, 0).ToArray();
        }

        /// <param name="render">null (the daemon's default, "none"), "none", "warp" or "gan".</param>
        /// <param name="videoSize">0: the daemon's default (512); else 64..1024.</param>
        public static byte[] CreateAvatar(long id, byte[] image, string name = null, string render = null, int videoSize = 0)
        {
            if (image == null || image.Length == 0) throw new ArgumentException("image is required: the bytes of a PNG/JPEG/WebP file");
            if (image.Length > Protocol.MaxImageBytes) throw new ArgumentException("image is " + image.Length + " bytes; the limit is 32 MiB");
            CheckLen("name", name, Protocol.MaxNameChars);
            if (name != null && name.Length == 0) name = null;
            if (render != null && render != "none" && render != "warp" && render != "gan")
                throw new ArgumentException("render must be none, warp or gan, got " + render);
            if (videoSize != 0 && (videoSize < 64 || videoSize > Protocol.MaxVideoSide))
                throw new ArgumentException("video_size must be 64..1024, got " + videoSize);
            var w = Begin("create_avatar", id, 1 + Count(name, render) + (videoSize != 0 ? 1 : 0), image.Length + 96);
            w.WriteString("image"); w.WriteBin(image);
            if (name != null) { w.WriteString("name"); w.WriteString(name); }
            if (render != null) { w.WriteString("render"); w.WriteString(render); }
            if (videoSize != 0) { w.WriteString("video_size"); w.WriteInt(videoSize); }
            return w.ToArray();
        }

        /// <summary>speak with a whole clip (a WAV/FLAC/OGG file's bytes).</summary>
        public static byte[] SpeakClip(long id, string avatar, byte[] audio, string text = null, string emotion = null)
        {
            CheckAvatar(avatar);
            if (audio == null || audio.Length == 0) throw new ArgumentException("audio is required: a WAV/FLAC/OGG file's bytes");
            if (audio.Length > Protocol.MaxAudioBytes) throw new ArgumentException("audio is " + audio.Length + " bytes; the limit is 48 MiB");
            CheckLen("text", text, Protocol.MaxTextChars);
            CheckLen("emotion", emotion, Protocol.MaxEmotionChars);
            var w = Begin("speak", id, 2 + Count(text, emotion), audio.Length + 128 + (text == null ? 0 : text.Length * 3));
            w.WriteString("avatar"); w.WriteString(avatar);
            w.WriteString("audio"); w.WriteBin(audio);
            if (text != null) { w.WriteString("text"); w.WriteString(text); }
            if (emotion != null) { w.WriteString("emotion"); w.WriteString(emotion); }
            return w.ToArray();
        }

        /// <summary>speak with one chunk of float32 mono samples (the streaming path).</summary>
        public static byte[] SpeakChunk(long id, string avatar, float[] samples, int offset, int count, int rate, bool final,
                                        string text = null, string emotion = null)
        {
            if (samples == null || offset < 0 || count < 0 || offset + count > samples.Length) throw new ArgumentException("bad sample range");
            if (count * 4 > Protocol.MaxPcmBytes) throw new ArgumentException("a pcm chunk holds at most 4 MiB (1M samples)");
            CheckAvatar(avatar); CheckRate(rate);
            CheckLen("text", text, Protocol.MaxTextChars);
            CheckLen("emotion", emotion, Protocol.MaxEmotionChars);
            var w = Begin("speak", id, 4 + Count(text, emotion), count * 4 + 128 + (text == null ? 0 : text.Length * 3));
            w.WriteString("avatar"); w.WriteString(avatar);
            w.WriteString("pcm"); w.WriteFloat32Bin(samples, offset, count);
            w.WriteString("rate"); w.WriteInt(rate);
            w.WriteString("final"); w.WriteBool(final);
            if (text != null) { w.WriteString("text"); w.WriteString(text); }
            if (emotion != null) { w.WriteString("emotion"); w.WriteString(emotion); }
            return w.ToArray();
        }

        /// <summary>speak with a chunk given as raw float32 little-endian bytes.</summary>
        public static byte[] SpeakChunkBytes(long id, string avatar, byte[] pcm, int rate, bool final,
                                             string text = null, string emotion = null)
        {
            CheckPcm(pcm); CheckAvatar(avatar); CheckRate(rate);
            CheckLen("text", text, Protocol.MaxTextChars);
            CheckLen("emotion", emotion, Protocol.MaxEmotionChars);
            var w = Begin("speak", id, 4 + Count(text, emotion), pcm.Length + 128);
            w.WriteString("avatar"); w.WriteString(avatar);
            w.WriteString("pcm"); w.WriteBin(pcm);
            w.WriteString("rate"); w.WriteInt(rate);
            w.WriteString("final"); w.WriteBool(final);
            if (text != null) { w.WriteString("text"); w.WriteString(text); }
            if (emotion != null) { w.WriteString("emotion"); w.WriteString(emotion); }
            return w.ToArray();
        }

        static void CheckPcm(byte[] pcm)
        {
            if (pcm == null) throw new ArgumentException("pcm is required");
            if (pcm.Length % 4 != 0) throw new ArgumentException("pcm must hold whole float32 samples (length % 4 == 0)");
            if (pcm.Length > Protocol.MaxPcmBytes) throw new ArgumentException("a pcm chunk holds at most 4 MiB");
        }

        /// <param name="final">null leaves the field out.</param>
        public static byte[] Listen(long id, string avatar, byte[] pcm, int rate, bool? final = null)
        {
            CheckPcm(pcm); CheckAvatar(avatar); CheckRate(rate);
            var w = Begin("listen", id, 3 + (final.HasValue ? 1 : 0), pcm.Length + 96);
            w.WriteString("avatar"); w.WriteString(avatar);
            w.WriteString("pcm"); w.WriteBin(pcm);
            w.WriteString("rate"); w.WriteInt(rate);
            if (final.HasValue) { w.WriteString("final"); w.WriteBool(final.Value); }
            return w.ToArray();
        }

        public static byte[] SetEmotion(long id, string avatar, string emotion)
        {
            CheckAvatar(avatar);
            if (string.IsNullOrEmpty(emotion)) throw new ArgumentException("emotion is required: LABEL[:INTENSITY]");
            CheckLen("emotion", emotion, Protocol.MaxEmotionChars);
            var w = Begin("set_emotion", id, 2);
            w.WriteString("avatar"); w.WriteString(avatar);
            w.WriteString("emotion"); w.WriteString(emotion);
            return w.ToArray();
        }

        /// <param name="remove">true also forgets the avatar (the field is left out when false).</param>
        public static byte[] Stop(long id, string avatar, bool remove = false)
        {
            CheckAvatar(avatar);
            var w = Begin("stop", id, remove ? 2 : 1);
            w.WriteString("avatar"); w.WriteString(avatar);
            if (remove) { w.WriteString("remove"); w.WriteBool(true); }
            return w.ToArray();
        }

        /// <summary>Float32 samples as the little-endian bytes of a pcm field.</summary>
        public static byte[] PcmBytes(float[] samples, int offset, int count)
        {
            var r = new byte[count * 4];
            if (BitConverter.IsLittleEndian)
            {
                Buffer.BlockCopy(samples, offset * 4, r, 0, r.Length);
                return r;
            }
            for (int i = 0; i < count; i++)
            {
                byte[] b = BitConverter.GetBytes(samples[offset + i]);
                r[4 * i] = b[3]; r[4 * i + 1] = b[2]; r[4 * i + 2] = b[1]; r[4 * i + 3] = b[0];
            }
            return r;
        }
    }

    /// <summary>A reply map from the daemon (welcome, pong, avatar_created, ok, stats, error).</summary>
    public sealed class Reply
    {
        public string Type;
        /// <summary>long, or string for string ids.</summary>
        public object Id;
        public Dictionary<string, object> Fields;

        public bool IsError { get { return Type == "error"; } }
        public string ErrorCode { get { return IsError ? GetString("code") : null; } }
        public string ErrorMessage { get { return IsError ? GetString("message") : null; } }

        public long IdAsLong
        {
            get { return Id is long ? (long)Id : -1; }
        }

        public bool Has(string key) { return Fields.ContainsKey(key) && Fields[key] != null; }

        public string GetString(string key, string fallback = null)
        {
            object v;
            return Fields.TryGetValue(key, out v) && v is string ? (string)v : fallback;
        }

        public long GetLong(string key, long fallback = 0)
        {
            object v;
            if (!Fields.TryGetValue(key, out v)) return fallback;
            if (v is long) return (long)v;
            if (v is double) return (long)(double)v;
            return fallback;
        }

        public double GetDouble(string key, double fallback = 0)
        {
            return Values.ToDouble(Fields.ContainsKey(key) ? Fields[key] : null, fallback);
        }

        public bool GetBool(string key, bool fallback = false)
        {
            object v;
            return Fields.TryGetValue(key, out v) && v is bool ? (bool)v : fallback;
        }

        public List<object> GetList(string key)
        {
            object v;
            return Fields.TryGetValue(key, out v) ? v as List<object> : null;
        }

        public Dictionary<string, object> GetMap(string key)
        {
            object v;
            return Fields.TryGetValue(key, out v) ? v as Dictionary<string, object> : null;
        }

        /// <summary>Parses one reply frame. Never throws: false with <paramref name="error"/>.</summary>
        public static bool TryParse(byte[] data, out Reply reply, out string error)
        {
            reply = null;
            error = null;
            if (data == null) { error = "no data"; return false; }
            object o;
            try { o = MsgPackReader.Unpack(data); }
            catch (MsgPackException e) { error = "not valid msgpack (" + e.Message + ")"; return false; }
            var map = o as Dictionary<string, object>;
            if (map == null) { error = "a reply must be a msgpack map"; return false; }
            object type, id;
            map.TryGetValue("type", out type);
            map.TryGetValue("id", out id);
            if (!(type is string)) { error = "a reply needs a string `type`"; return false; }
            if (!(id is long) && !(id is string)) { error = "a reply needs an integer or string `id`"; return false; }
            reply = new Reply { Type = (string)type, Id = id, Fields = map };
            return true;
        }

        public override string ToString()
        {
            return IsError ? "error " + ErrorCode + ": " + ErrorMessage : Type + " (id " + Id + ")";
        }
    }

    public static class Values
    {
        public static double ToDouble(object v, double fallback = 0)
        {
            if (v is double) return (double)v;
            if (v is long) return (long)v;
            if (v is ulong) return (ulong)v;
            return fallback;
        }

        public static string[] ToStringArray(object v)
        {
            var l = v as List<object>;
            if (l == null) return null;
            var r = new string[l.Count];
            for (int i = 0; i < l.Count; i++)
            {
                if (!(l[i] is string)) return null;
                r[i] = (string)l[i];
            }
            return r;
        }

        public static string Format(double d) { return d.ToString("R", CultureInfo.InvariantCulture); }
    }

    /// <summary>welcome.schema. Unknown keys are kept in <see cref="Raw"/> and otherwise ignored.</summary>
    public sealed class Schema
    {
        public string[] BlendshapeNames = ArkitNames.All;
        public int Landmarks = 478;
        public string[] HeadPose = { "pitch", "yaw", "roll", "tx", "ty", "tz" };
        public double Fps = 30.0;
        public double LookaheadS = 0.1;
        public string VideoEndpoint;
        public string VideoFormat = "rgb24";
        public Dictionary<string, object> Raw = new Dictionary<string, object>();

        public static Schema FromMap(Dictionary<string, object> m)
        {
            var s = new Schema();
            if (m == null) return s;
            s.Raw = m;
            object v;
            string[] names;
            if (m.TryGetValue("blendshape_names", out v) && (names = Values.ToStringArray(v)) != null) s.BlendshapeNames = names;
            if (m.TryGetValue("landmarks", out v) && v is long) s.Landmarks = (int)(long)v;
            if (m.TryGetValue("head_pose", out v) && (names = Values.ToStringArray(v)) != null) s.HeadPose = names;
            if (m.TryGetValue("fps", out v)) s.Fps = Values.ToDouble(v, 30.0);
            if (m.TryGetValue("lookahead_s", out v)) s.LookaheadS = Values.ToDouble(v, 0.1);
            var video = m.TryGetValue("video", out v) ? v as Dictionary<string, object> : null;
            if (video != null)
            {
                if (video.TryGetValue("endpoint", out v)) s.VideoEndpoint = v as string;
                if (video.TryGetValue("format", out v) && v is string) s.VideoFormat = (string)v;
            }
            return s;
        }
    }

    public sealed class Welcome
    {
        public int Protocol;
        public string Server;
        public Schema Schema;
        /// <summary>1 for the first welcome of a connection, +1 after each re-hello.</summary>
        public int Generation;

        public static Welcome FromReply(Reply r)
        {
            return new Welcome
            {
                Protocol = (int)r.GetLong("protocol", 0),
                Server = r.GetString("server", "?"),
                Schema = Schema.FromMap(r.GetMap("schema")),
            };
        }
    }
}
