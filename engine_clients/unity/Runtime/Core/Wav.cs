using System;
using System.Text;

namespace FaceBridge.Core
{
    /// <summary>RIFF WAV reading (PCM 8/16/24/32-bit, IEEE float 32/64, WAVE_FORMAT_EXTENSIBLE)
    /// and writing (16-bit PCM): a clip for `speak`, samples for a stream.</summary>
    public static class Wav
    {
        public sealed class Audio
        {
            /// <summary>Interleaved samples, -1..1.</summary>
            public float[] Samples;
            public int Channels;
            public int Rate;
            public int Frames { get { return Samples.Length / Math.Max(1, Channels); } }
            public double DurationS { get { return (double)Frames / Rate; } }

            /// <summary>The channels averaged into one.</summary>
            public float[] Mono()
            {
                if (Channels == 1) return (float[])Samples.Clone();
                var m = new float[Frames];
                for (int i = 0; i < m.Length; i++)
                {
                    float s = 0;
                    for (int c = 0; c < Channels; c++) s += Samples[i * Channels + c];
                    m[i] = s / Channels;
                }
                return m;
            }
        }

        static int U16(byte[] b, int o) { return b[o] | (b[o + 1] << 8); }
        static int I32(byte[] b, int o) { return b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24); }

        /// <summary>Parses a WAV file's bytes. Throws FormatException with the reason.</summary>
        public static Audio Read(byte[] data)
        {
            if (data == null || data.Length < 12 || Encoding.ASCII.GetString(data, 0, 4) != "RIFF" || Encoding.ASCII.GetString(data, 8, 4) != "WAVE")
                throw new FormatException("not a RIFF/WAVE file");
            int pos = 12, format = 0, channels = 0, rate = 0, bits = 0;
            bool haveFmt = false;
            while (pos + 8 <= data.Length)
            {
                string id = Encoding.ASCII.GetString(data, pos, 4);
                long size = (uint)I32(data, pos + 4);
                int body = pos + 8;
                if (id == "fmt ")
                {
                    if (size < 16 || body + 16 > data.Length) throw new FormatException("fmt chunk too short");
                    format = U16(data, body);
                    channels = U16(data, body + 2);
                    rate = I32(data, body + 4);
                    bits = U16(data, body + 14);
                    if (format == 0xFFFE && size >= 40) format = U16(data, body + 24); // extensible: the sub-format's tag
                    haveFmt = true;
                }
                else if (id == "data")
                {
                    if (!haveFmt) throw new FormatException("data chunk before fmt");
                    long n = Math.Min(size, data.Length - body); // a streamed WAV may say 0 or too much
                    if (size == 0 || size == 0xFFFFFFFF) n = data.Length - body;
                    return Decode(data, body, (int)n, format, channels, rate, bits);
                }
                pos = body + (int)Math.Min(size + (size & 1), int.MaxValue - body);
            }
            throw new FormatException("no data chunk");
        }

        static Audio Decode(byte[] d, int off, int n, int format, int channels, int rate, int bits)
        {
            if (channels < 1 || rate < 1) throw new FormatException("bad channel count or rate");
            int bps = bits / 8;
            if (bps < 1) throw new FormatException("bad bits per sample");
            int count = n / bps;
            count -= count % channels;
            var s = new float[count];
            if (format == 1)
            {
                for (int i = 0; i < count; i++)
                {
                    int o = off + i * bps;
                    switch (bits)
                    {
                        case 8: s[i] = (d[o] - 128) / 128f; break;
                        case 16: s[i] = (short)(d[o] | (d[o + 1] << 8)) / 32768f; break;
                        case 24: s[i] = ((d[o] << 8 | d[o + 1] << 16 | d[o + 2] << 24) >> 8) / 8388608f; break;
                        case 32: s[i] = (float)(I32(d, o) / 2147483648.0); break;
                        default: throw new FormatException(bits + "-bit PCM is not supported");
                    }
                }
            }
            else if (format == 3 && bits == 32)
            {
                var tmp = new byte[4];
                for (int i = 0; i < count; i++)
                {
                    Buffer.BlockCopy(d, off + 4 * i, tmp, 0, 4);
                    if (!BitConverter.IsLittleEndian) Array.Reverse(tmp);
                    s[i] = BitConverter.ToSingle(tmp, 0);
                }
            }
            else if (format == 3 && bits == 64)
            {
                var tmp = new byte[8];
                for (int i = 0; i < count; i++)
                {
                    Buffer.BlockCopy(d, off + 8 * i, tmp, 0, 8);
                    if (!BitConverter.IsLittleEndian) Array.Reverse(tmp);
                    s[i] = (float)BitConverter.ToDouble(tmp, 0);
                }
            }
            else throw new FormatException("WAV format " + format + " (" + bits + "-bit) is not supported; use PCM or float");
            return new Audio { Samples = s, Channels = channels, Rate = rate };
        }

        /// <summary>Interleaved float samples -> a 16-bit PCM WAV file (what `speak` takes as `audio`).</summary>
        public static byte[] Encode16(float[] samples, int offset, int count, int channels, int rate)
        {
            if (channels < 1 || rate < 1) throw new ArgumentException("bad channel count or rate");
            int dataBytes = count * 2;
            var b = new byte[44 + dataBytes];
            Ascii(b, 0, "RIFF"); Put32(b, 4, 36 + dataBytes); Ascii(b, 8, "WAVE");
            Ascii(b, 12, "fmt "); Put32(b, 16, 16); Put16(b, 20, 1); Put16(b, 22, channels);
            Put32(b, 24, rate); Put32(b, 28, rate * channels * 2); Put16(b, 32, channels * 2); Put16(b, 34, 16);
            Ascii(b, 36, "data"); Put32(b, 40, dataBytes);
            for (int i = 0; i < count; i++)
            {
                float v = samples[offset + i];
                int q = (int)Math.Round((v < -1f ? -1f : v > 1f ? 1f : v) * 32767f);
                b[44 + 2 * i] = (byte)q;
                b[45 + 2 * i] = (byte)(q >> 8);
            }
            return b;
        }

        static void Ascii(byte[] b, int o, string s) { for (int i = 0; i < s.Length; i++) b[o + i] = (byte)s[i]; }
        static void Put16(byte[] b, int o, int v) { b[o] = (byte)v; b[o + 1] = (byte)(v >> 8); }
        static void Put32(byte[] b, int o, int v) { b[o] = (byte)v; b[o + 1] = (byte)(v >> 8); b[o + 2] = (byte)(v >> 16); b[o + 3] = (byte)(v >> 24); }
    }
}
