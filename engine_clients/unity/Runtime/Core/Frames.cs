// Data and video frames (docs/protocol.md "Data frames", "Video frames"):
//   [topic "anim.<avatar>", header map, blendshapes, head_pose, (landmarks)]
//   (listening frames' headers also carry `events`: the reactions that start in the frame)
//   [topic "video.<avatar>", header map, pixels]
// A truncated or malformed message is dropped and counted, never thrown.
using System;
using System.Collections.Generic;
using System.Text;

namespace FaceBridge.Core
{
    /// <summary>A reaction of a listening avatar (header `events` of a frame with mode
    /// "listening"): nod, brow_raise, smile, concern, frown, blink, gaze_shift, inhale (new types
    /// may come: ignore the ones you do not know). Immutable.</summary>
    public sealed class ListeningEvent
    {
        /// <summary>An empty list: a listening frame in which no reaction starts.</summary>
        public static readonly ListeningEvent[] None = new ListeningEvent[0];

        public readonly string Type;
        /// <summary>When it starts, in seconds on the frame's `pts` clock (the user's audio).</summary>
        public readonly double T;
        public readonly double DurationS;
        public readonly double Strength;

        public ListeningEvent(string type, double t, double durationS, double strength)
        {
            Type = type;
            T = t;
            DurationS = durationS;
            Strength = strength;
        }

        public override string ToString()
        {
            return Type + " at " + T.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) + " s (" +
                   DurationS.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) + " s, strength " +
                   Strength.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) + ")";
        }
    }

    public sealed class AnimFrame
    {
        public string Avatar;
        public long Seq;
        /// <summary>Seconds on the utterance's audio timeline.</summary>
        public double Pts;
        /// <summary>The daemon's clock when it published the frame (ns, Unix epoch).</summary>
        public long TNs;
        public string Mode;
        public long Utterance;
        public string Emotion;
        public bool Final;
        /// <summary>Weights 0..1 in welcome.schema.blendshape_names order (map them by name).</summary>
        public float[] Blendshapes;
        /// <summary>pitch, yaw, roll (degrees), tx, ty, tz (cm).</summary>
        public float[] HeadPose = new float[6];
        /// <summary>478 × 3 (x, y in image pixels; z), or null when the frame has none.</summary>
        public float[] Landmarks;
        /// <summary>Listening frames: the reactions that start in this frame (usually
        /// <see cref="ListeningEvent.None"/>, empty). Null when the header has no `events` (other modes).</summary>
        public ListeningEvent[] Events;
        /// <summary>This client's clock when the frame arrived (ns, Unix epoch).</summary>
        public long ReceivedNs;

        /// <summary>True when at least one reaction starts in this frame.</summary>
        public bool HasEvents { get { return Events != null && Events.Length > 0; } }

        public AnimFrame(int blendshapes = ArkitNames.Count)
        {
            Blendshapes = new float[blendshapes];
        }

        public AnimFrame Clone()
        {
            var f = (AnimFrame)MemberwiseClone();
            f.Blendshapes = (float[])Blendshapes.Clone();
            f.HeadPose = (float[])HeadPose.Clone();
            if (Landmarks != null) f.Landmarks = (float[])Landmarks.Clone();
            if (Events != null && Events.Length > 0) f.Events = (ListeningEvent[])Events.Clone(); // the events themselves are immutable
            return f;
        }
    }

    public sealed class VideoFrame
    {
        public string Avatar;
        public long Seq;
        public double Pts;
        public long TNs;
        public long Utterance;
        public int Width, Height;
        public string Format;
        public bool Final;
        /// <summary>width × height × 3 bytes, RGB. Rows top to bottom as sent, or bottom to top
        /// when <see cref="BottomUp"/> (ready for Texture2D.LoadRawTextureData).</summary>
        public byte[] Pixels;
        public bool BottomUp;
        public long ReceivedNs;
    }

    /// <summary>Decodes data and video messages. One instance per thread (it reuses buffers).</summary>
    public sealed class FrameDecoder
    {
        public const int HeadPoseCount = 6;
        public const int LandmarkFloats = 478 * 3;
        public const int MaxHeaderBytes = 64 * 1024;
        /// <summary>header.events holds at most this many events (docs/protocol.md).</summary>
        public const int MaxEvents = 64;

        /// <summary>Blendshapes per frame: the length of the schema's name list (52 in protocol 1).</summary>
        public int BlendshapeCount = ArkitNames.Count;
        public long Decoded, Dropped;
        public string LastError;

        readonly MsgPackReader reader = new MsgPackReader();
        readonly StringCache strings = new StringCache();

        static readonly byte[] KSeq = Ascii("seq"), KPts = Ascii("pts"), KTNs = Ascii("t_ns"), KMode = Ascii("mode"),
            KUtt = Ascii("utterance"), KEmotion = Ascii("emotion"), KFinal = Ascii("final"), KBlobs = Ascii("blobs"),
            KWidth = Ascii("width"), KHeight = Ascii("height"), KFormat = Ascii("format"),
            KEvents = Ascii("events"), KType = Ascii("type"), KT = Ascii("t"), KDuration = Ascii("duration_s"), KStrength = Ascii("strength"),
            BBlend = Ascii("blendshapes"), BHead = Ascii("head_pose"), BLand = Ascii("landmarks"),
            TAnim = Ascii("anim."), TVideo = Ascii("video.");

        static byte[] Ascii(string s) { return Encoding.ASCII.GetBytes(s); }

        bool Fail(string why)
        {
            Dropped++;
            LastError = why;
            return false;
        }

        /// <summary>"anim" for anim.*, "video" for video.*, else null.</summary>
        public static string KindOf(byte[] topic)
        {
            if (StartsWith(topic, TAnim)) return "anim";
            if (StartsWith(topic, TVideo)) return "video";
            return null;
        }

        static bool StartsWith(byte[] b, byte[] prefix)
        {
            if (b == null || b.Length < prefix.Length) return false;
            for (int i = 0; i < prefix.Length; i++) if (b[i] != prefix[i]) return false;
            return true;
        }

        string Avatar(byte[] topic, byte[] prefix)
        {
            if (!StartsWith(topic, prefix) || topic.Length == prefix.Length || topic.Length > prefix.Length + 256) return null;
            try { return strings.Get(topic, prefix.Length, topic.Length - prefix.Length); }
            catch (MsgPackException) { return null; }
        }

        /// <summary>Decodes an anim message into <paramref name="into"/> (its arrays are reused).
        /// False (and <see cref="Dropped"/> +1, <see cref="LastError"/>) when it is malformed.</summary>
        public bool TryDecodeAnim(IList<byte[]> parts, AnimFrame into)
        {
            if (parts == null || parts.Count < 4 || parts.Count > 5)
                return Fail("an anim frame has a topic, a header and 2-3 blobs; got " + (parts == null ? 0 : parts.Count) + " parts");
            string avatar = Avatar(parts[0], TAnim);
            if (avatar == null) return Fail("topic is not anim.<avatar>");
            byte[] header = parts[1];
            if (header == null || header.Length > MaxHeaderBytes) return Fail("header missing or too large");
            bool hasSeq = false, hasPts = false, hasT = false, hasUtt = false, hasBlobs = false;
            // blob order: 0 blendshapes, 1 head_pose, 2 landmarks
            int nBlobs = 0;
            int b0 = -1, b1 = -1, b2 = -1;
            string mode = "", emotion = "";
            bool final = false;
            long seq = 0, tns = 0, utt = 0;
            double pts = 0;
            ListeningEvent[] events = null;
            try
            {
                reader.Reset(header, 0, header.Length);
                int n = reader.ReadMapHeader();
                for (int i = 0; i < n; i++)
                {
                    if (reader.TryReadKey(KSeq)) { seq = reader.ReadInt64(); hasSeq = true; }
                    else if (reader.TryReadKey(KPts)) { pts = reader.ReadDouble(); hasPts = true; }
                    else if (reader.TryReadKey(KTNs)) { tns = reader.ReadInt64(); hasT = true; }
                    else if (reader.TryReadKey(KMode)) mode = ReadStr();
                    else if (reader.TryReadKey(KUtt)) { utt = reader.ReadInt64(); hasUtt = true; }
                    else if (reader.TryReadKey(KEmotion)) emotion = reader.TryReadNil() ? "" : ReadStr();
                    else if (reader.TryReadKey(KFinal)) final = reader.ReadBool();
                    else if (reader.TryReadKey(KEvents))
                    {
                        string why = ReadEvents(out events);
                        if (why != null) return Fail(why);
                    }
                    else if (reader.TryReadKey(KBlobs))
                    {
                        nBlobs = reader.ReadArrayHeader();
                        if (nBlobs < 2 || nBlobs > 3) return Fail("header.blobs names " + nBlobs + " blobs; expected 2-3");
                        for (int k = 0; k < nBlobs; k++)
                        {
                            int slot;
                            if (reader.TryReadKey(BBlend)) slot = 0;
                            else if (reader.TryReadKey(BHead)) slot = 1;
                            else if (reader.TryReadKey(BLand)) slot = 2;
                            else return Fail("header.blobs holds an unknown blob name");
                            if (slot == 0) { if (b0 >= 0) return Fail("blob named twice"); b0 = k; }
                            else if (slot == 1) { if (b1 >= 0) return Fail("blob named twice"); b1 = k; }
                            else { if (b2 >= 0) return Fail("blob named twice"); b2 = k; }
                        }
                        hasBlobs = true;
                    }
                    else
                    {
                        if (reader.PeekType() != MsgPackType.Str) return Fail("header keys must be strings");
                        reader.Skip(); // a key this client does not know
                        reader.Skip(); // and its value
                    }
                }
                if (!reader.AtEnd) return Fail("extra bytes after the header map");
            }
            catch (MsgPackException e)
            {
                return Fail("header: " + e.Message);
            }
            if (!(hasSeq && hasPts && hasT && hasUtt && hasBlobs)) return Fail("header lacks seq, pts, t_ns, utterance or blobs");
            if (double.IsNaN(pts) || double.IsInfinity(pts)) return Fail("pts is not finite");
            if (nBlobs != parts.Count - 2) return Fail("header.blobs names " + nBlobs + " blobs but " + (parts.Count - 2) + " follow");
            if (b0 < 0 || b1 < 0) return Fail("a frame needs blendshapes and head_pose");
            byte[] pb = parts[2 + b0], ph = parts[2 + b1], pl = b2 >= 0 ? parts[2 + b2] : null;
            if (pb == null || pb.Length != BlendshapeCount * 4) return Fail("blendshapes blob has " + (pb == null ? 0 : pb.Length) + " bytes, expected " + BlendshapeCount * 4);
            if (ph == null || ph.Length != HeadPoseCount * 4) return Fail("head_pose blob has the wrong size");
            if (b2 >= 0 && (pl == null || pl.Length != LandmarkFloats * 4)) return Fail("landmarks blob has the wrong size");

            into.Avatar = avatar;
            into.Seq = seq; into.Pts = pts; into.TNs = tns; into.Utterance = utt;
            into.Mode = mode; into.Emotion = emotion; into.Final = final;
            if (into.Blendshapes == null || into.Blendshapes.Length != BlendshapeCount) into.Blendshapes = new float[BlendshapeCount];
            if (into.HeadPose == null || into.HeadPose.Length != HeadPoseCount) into.HeadPose = new float[HeadPoseCount];
            Floats(pb, into.Blendshapes);
            Floats(ph, into.HeadPose);
            if (pl != null)
            {
                if (into.Landmarks == null || into.Landmarks.Length != LandmarkFloats) into.Landmarks = new float[LandmarkFloats];
                Floats(pl, into.Landmarks);
            }
            else into.Landmarks = null;
            into.Events = events;
            Decoded++;
            return true;
        }

        /// <summary>header.events: a list of at most <see cref="MaxEvents"/> maps {type: str, t,
        /// duration_s, strength: numbers}. As bridge/protocol/codec.py (and the Unreal client): nil
        /// is no field, a missing number is 0, other keys of an event are ignored (new optional
        /// fields), new types are kept; anything else makes the frame malformed. Returns why, or null.</summary>
        string ReadEvents(out ListeningEvent[] events)
        {
            events = null;
            if (reader.TryReadNil()) return null;
            if (reader.PeekType() != MsgPackType.Array) return "header.events is not a list (" + reader.PeekType() + ")";
            int n = reader.ReadArrayHeader();
            if (n > MaxEvents) return "header.events holds " + n + " events; at most " + MaxEvents;
            if (n == 0)
            {
                events = ListeningEvent.None;
                return null;
            }
            var list = new ListeningEvent[n];
            for (int k = 0; k < n; k++)
            {
                if (reader.PeekType() != MsgPackType.Map) return "header.events[" + k + "] is not a map (" + reader.PeekType() + ")";
                int m = reader.ReadMapHeader();
                string type = null;
                double t = 0, duration = 0, strength = 0;
                for (int j = 0; j < m; j++)
                {
                    if (reader.TryReadKey(KType))
                    {
                        if (reader.PeekType() != MsgPackType.Str) return "header.events[" + k + "].type is not a string";
                        type = ReadStr();
                    }
                    else if (reader.TryReadKey(KT)) { if (!ReadNumber(out t)) return "header.events[" + k + "].t is not a finite number"; }
                    else if (reader.TryReadKey(KDuration)) { if (!ReadNumber(out duration)) return "header.events[" + k + "].duration_s is not a finite number"; }
                    else if (reader.TryReadKey(KStrength)) { if (!ReadNumber(out strength)) return "header.events[" + k + "].strength is not a finite number"; }
                    else
                    {
                        if (reader.PeekType() != MsgPackType.Str) return "header.events[" + k + "] keys must be strings";
                        reader.Skip(); // a field this client does not know
                        reader.Skip();
                    }
                }
                if (type == null) return "header.events[" + k + "] has no type";
                list[k] = new ListeningEvent(type, t, duration, strength);
            }
            events = list;
            return null;
        }

        /// <summary>An integer or a float (not a bool, nil or string), finite.</summary>
        bool ReadNumber(out double v)
        {
            v = 0;
            var type = reader.PeekType();
            if (type != MsgPackType.Int && type != MsgPackType.Float) return false;
            v = reader.ReadDouble();
            return !double.IsNaN(v) && !double.IsInfinity(v);
        }

        /// <summary>A new frame, or null when the message is malformed (counted).</summary>
        public AnimFrame DecodeAnim(IList<byte[]> parts)
        {
            var f = new AnimFrame(BlendshapeCount);
            return TryDecodeAnim(parts, f) ? f : null;
        }

        string ReadStr()
        {
            int off, n;
            reader.ReadStringSpan(out off, out n);
            return strings.Get(reader.Buffer, off, n);
        }

        /// <summary>Little-endian float32 bytes -> floats.</summary>
        public static void Floats(byte[] src, float[] dst)
        {
            int n = Math.Min(src.Length / 4, dst.Length);
            if (BitConverter.IsLittleEndian)
            {
                Buffer.BlockCopy(src, 0, dst, 0, n * 4);
                return;
            }
            var tmp = new byte[4];
            for (int i = 0; i < n; i++)
            {
                tmp[0] = src[4 * i + 3]; tmp[1] = src[4 * i + 2]; tmp[2] = src[4 * i + 1]; tmp[3] = src[4 * i];
                dst[i] = BitConverter.ToSingle(tmp, 0);
            }
        }

        /// <summary>Decodes a video message. With <paramref name="bottomUp"/> the rows are
        /// flipped (OpenGL-style textures, Unity's LoadRawTextureData) into a new buffer, or into
        /// <paramref name="reuse"/> when it has the right size.</summary>
        public bool TryDecodeVideo(IList<byte[]> parts, out VideoFrame frame, bool bottomUp = false, byte[] reuse = null)
        {
            frame = null;
            if (parts == null || parts.Count != 3) return Fail("a video frame has a topic, a header and 1 blob; got " + (parts == null ? 0 : parts.Count) + " parts");
            string avatar = Avatar(parts[0], TVideo);
            if (avatar == null) return Fail("topic is not video.<avatar>");
            byte[] header = parts[1];
            if (header == null || header.Length > MaxHeaderBytes) return Fail("header missing or too large");
            long seq = 0, tns = 0, utt = 0, w = -1, h = -1;
            double pts = 0;
            string format = null;
            bool final = false, hasSeq = false, hasPts = false;
            try
            {
                reader.Reset(header, 0, header.Length);
                int n = reader.ReadMapHeader();
                for (int i = 0; i < n; i++)
                {
                    if (reader.TryReadKey(KSeq)) { seq = reader.ReadInt64(); hasSeq = true; }
                    else if (reader.TryReadKey(KPts)) { pts = reader.ReadDouble(); hasPts = true; }
                    else if (reader.TryReadKey(KTNs)) tns = reader.ReadInt64();
                    else if (reader.TryReadKey(KUtt)) utt = reader.ReadInt64();
                    else if (reader.TryReadKey(KWidth)) w = reader.ReadInt64();
                    else if (reader.TryReadKey(KHeight)) h = reader.ReadInt64();
                    else if (reader.TryReadKey(KFormat)) format = ReadStr();
                    else if (reader.TryReadKey(KFinal)) final = reader.ReadBool();
                    else
                    {
                        if (reader.PeekType() != MsgPackType.Str) return Fail("header keys must be strings");
                        reader.Skip();
                        reader.Skip();
                    }
                }
                if (!reader.AtEnd) return Fail("extra bytes after the header map");
            }
            catch (MsgPackException e)
            {
                return Fail("video header: " + e.Message);
            }
            if (!hasSeq || !hasPts) return Fail("video header lacks seq or pts");
            if (format != "rgb24") return Fail("video format " + (format ?? "(none)") + " is not rgb24");
            if (w <= 0 || h <= 0 || w > Protocol.MaxVideoSide || h > Protocol.MaxVideoSide) return Fail("video size " + w + "x" + h + " is out of range");
            byte[] px = parts[2];
            int bytes = (int)(w * h * 3);
            if (px == null || px.Length != bytes) return Fail("video pixels: " + (px == null ? 0 : px.Length) + " bytes for " + w + "x" + h + " rgb24");
            byte[] pixels = px;
            if (bottomUp)
            {
                pixels = reuse != null && reuse.Length == bytes ? reuse : new byte[bytes];
                FlipRows(px, (int)w, (int)h, pixels);
            }
            frame = new VideoFrame
            {
                Avatar = avatar, Seq = seq, Pts = pts, TNs = tns, Utterance = utt, Width = (int)w, Height = (int)h,
                Format = format, Final = final, Pixels = pixels, BottomUp = bottomUp,
            };
            Decoded++;
            return true;
        }

        /// <summary>RGB24 rows top-to-bottom -> bottom-to-top (src and dst must differ).</summary>
        public static void FlipRows(byte[] src, int width, int height, byte[] dst)
        {
            int row = width * 3;
            for (int y = 0; y < height; y++)
                Buffer.BlockCopy(src, y * row, dst, (height - 1 - y) * row, row);
        }
    }

    /// <summary>Reuses strings for byte sequences seen before (avatar ids, modes, emotions), so a
    /// frame's header allocates nothing in the steady state.</summary>
    sealed class StringCache
    {
        const int Size = 64;
        readonly byte[][] keys = new byte[Size][];
        readonly string[] values = new string[Size];
        int next;
        static readonly UTF8Encoding Utf8 = new UTF8Encoding(false, true);

        public string Get(byte[] buf, int off, int n)
        {
            for (int i = 0; i < Size; i++)
            {
                byte[] k = keys[i];
                if (k == null || k.Length != n) continue;
                int j = 0;
                while (j < n && k[j] == buf[off + j]) j++;
                if (j == n) return values[i];
            }
            string s;
            try { s = Utf8.GetString(buf, off, n); }
            catch (ArgumentException) { throw new MsgPackException("string is not valid UTF-8"); }
            if (n <= 128)
            {
                var key = new byte[n];
                Buffer.BlockCopy(buf, off, key, 0, n);
                keys[next] = key;
                values[next] = s;
                next = (next + 1) % Size;
            }
            return s;
        }
    }
}
