// A small msgpack reader and writer, written by hand for the facebridge protocol.
// No reflection, no dynamic code, no UnityEngine: safe under IL2CPP and AOT.
//
// The writer produces the same bytes as Python's msgpack.packb(obj, use_bin_type=True):
// the smallest int encoding (unsigned forms for non-negative values), float64 for doubles,
// str8 for strings of 32..255 bytes, bin8/16/32 for byte arrays.
using System;
using System.Collections.Generic;
using System.Text;

namespace FaceBridge.Core
{
    /// <summary>Thrown by <see cref="MsgPackReader"/> on truncated or malformed input. The
    /// decoders catch it: callers of the Try* methods never see it.</summary>
    public sealed class MsgPackException : Exception
    {
        public MsgPackException(string message) : base(message) { }
    }

    public enum MsgPackType
    {
        Nil, Bool, Int, Float, Str, Bin, Array, Map, Ext, Invalid, End
    }

    public sealed class MsgPackWriter
    {
        byte[] buf;
        int len;

        public MsgPackWriter(int capacity = 256)
        {
            buf = new byte[Math.Max(16, capacity)];
        }

        public int Length { get { return len; } }

        public void Clear() { len = 0; }

        public byte[] ToArray()
        {
            var r = new byte[len];
            Buffer.BlockCopy(buf, 0, r, 0, len);
            return r;
        }

        void Ensure(int n)
        {
            if (len + n <= buf.Length) return;
            int cap = buf.Length * 2;
            while (cap < len + n) cap *= 2;
            var nb = new byte[cap];
            Buffer.BlockCopy(buf, 0, nb, 0, len);
            buf = nb;
        }

        void B(byte b) { Ensure(1); buf[len++] = b; }

        void BE16(int v) { Ensure(2); buf[len++] = (byte)(v >> 8); buf[len++] = (byte)v; }

        void BE32(uint v)
        {
            Ensure(4);
            buf[len++] = (byte)(v >> 24); buf[len++] = (byte)(v >> 16);
            buf[len++] = (byte)(v >> 8); buf[len++] = (byte)v;
        }

        void BE64(ulong v)
        {
            Ensure(8);
            for (int s = 56; s >= 0; s -= 8) buf[len++] = (byte)(v >> s);
        }

        public void WriteNil() { B(0xc0); }

        public void WriteBool(bool v) { B(v ? (byte)0xc3 : (byte)0xc2); }

        public void WriteInt(long v)
        {
            if (v >= 0) { WriteUInt((ulong)v); return; }
            if (v >= -32) B((byte)(0xe0 | (int)(v + 32)));
            else if (v >= sbyte.MinValue) { B(0xd0); B((byte)(sbyte)v); }
            else if (v >= short.MinValue) { B(0xd1); BE16((short)v); }
            else if (v >= int.MinValue) { B(0xd2); BE32((uint)(int)v); }
            else { B(0xd3); BE64((ulong)v); }
        }

        public void WriteUInt(ulong v)
        {
            if (v < 128) B((byte)v);
            else if (v <= byte.MaxValue) { B(0xcc); B((byte)v); }
            else if (v <= ushort.MaxValue) { B(0xcd); BE16((int)v); }
            else if (v <= uint.MaxValue) { B(0xce); BE32((uint)v); }
            else { B(0xcf); BE64(v); }
        }

        /// <summary>A double as float64 (what Python writes for a float).</summary>
        public void WriteDouble(double v)
        {
            B(0xcb);
            BE64((ulong)BitConverter.DoubleToInt64Bits(v));
        }

        public void WriteString(string s)
        {
            if (s == null) { WriteNil(); return; }
            int n = Encoding.UTF8.GetByteCount(s);
            if (n < 32) B((byte)(0xa0 | n));
            else if (n <= byte.MaxValue) { B(0xd9); B((byte)n); }
            else if (n <= ushort.MaxValue) { B(0xda); BE16(n); }
            else { B(0xdb); BE32((uint)n); }
            Ensure(n);
            len += Encoding.UTF8.GetBytes(s, 0, s.Length, buf, len);
        }

        public void WriteBin(byte[] data) { WriteBin(data, 0, data == null ? 0 : data.Length); }

        public void WriteBin(byte[] data, int offset, int count)
        {
            WriteBinHeader(count);
            if (count > 0)
            {
                Ensure(count);
                Buffer.BlockCopy(data, offset, buf, len, count);
                len += count;
            }
        }

        public void WriteBinHeader(int n)
        {
            if (n <= byte.MaxValue) { B(0xc4); B((byte)n); }
            else if (n <= ushort.MaxValue) { B(0xc5); BE16(n); }
            else { B(0xc6); BE32((uint)n); }
        }

        /// <summary>Float32 samples as little-endian bytes inside a bin (a `pcm` field).</summary>
        public void WriteFloat32Bin(float[] samples, int offset, int count)
        {
            WriteBinHeader(count * 4);
            Ensure(count * 4);
            if (BitConverter.IsLittleEndian)
            {
                Buffer.BlockCopy(samples, offset * 4, buf, len, count * 4);
                len += count * 4;
            }
            else
            {
                for (int i = 0; i < count; i++)
                {
                    byte[] b = BitConverter.GetBytes(samples[offset + i]);
                    buf[len++] = b[3]; buf[len++] = b[2]; buf[len++] = b[1]; buf[len++] = b[0];
                }
            }
        }

        public void WriteArrayHeader(int n)
        {
            if (n < 16) B((byte)(0x90 | n));
            else if (n <= ushort.MaxValue) { B(0xdc); BE16(n); }
            else { B(0xdd); BE32((uint)n); }
        }

        public void WriteMapHeader(int n)
        {
            if (n < 16) B((byte)(0x80 | n));
            else if (n <= ushort.MaxValue) { B(0xde); BE16(n); }
            else { B(0xdf); BE32((uint)n); }
        }

        /// <summary>A value of the generic tree (null, bool, integers, float/double, string,
        /// byte[], IList of values, IDictionary&lt;string, object&gt;). Tests and tools use it.</summary>
        public void WriteObject(object o)
        {
            if (o == null) WriteNil();
            else if (o is bool) WriteBool((bool)o);
            else if (o is int) WriteInt((int)o);
            else if (o is long) WriteInt((long)o);
            else if (o is ulong) WriteUInt((ulong)o);
            else if (o is double) WriteDouble((double)o);
            else if (o is float) WriteDouble((float)o);
            else if (o is string) WriteString((string)o);
            else if (o is byte[]) WriteBin((byte[])o);
            else if (o is IDictionary<string, object>)
            {
                var d = (IDictionary<string, object>)o;
                WriteMapHeader(d.Count);
                foreach (var kv in d) { WriteString(kv.Key); WriteObject(kv.Value); }
            }
            else if (o is IList<object>)
            {
                var l = (IList<object>)o;
                WriteArrayHeader(l.Count);
                for (int i = 0; i < l.Count; i++) WriteObject(l[i]);
            }
            else throw new ArgumentException("cannot write a " + o.GetType().Name + " as msgpack");
        }
    }

    /// <summary>Reads msgpack from a byte range. Every length is checked against the bytes that
    /// remain before anything is allocated, so a 10-byte header cannot announce a 4 GB array.</summary>
    public sealed class MsgPackReader
    {
        public const int MaxDepth = 32;
        byte[] buf;
        int pos, end, depth;

        public MsgPackReader() { }

        public MsgPackReader(byte[] data) { Reset(data, 0, data.Length); }

        public void Reset(byte[] data, int offset, int count)
        {
            if (data == null || offset < 0 || count < 0 || offset + count > data.Length)
                throw new ArgumentException("bad range");
            buf = data; pos = offset; end = offset + count; depth = 0;
        }

        public int Position { get { return pos; } }
        public bool AtEnd { get { return pos >= end; } }
        public byte[] Buffer { get { return buf; } }

        static MsgPackException Truncated() { return new MsgPackException("truncated msgpack"); }

        void Need(long n) { if (n < 0 || pos + n > end) throw Truncated(); }

        byte U8() { if (pos >= end) throw Truncated(); return buf[pos++]; }

        int U16() { Need(2); int v = (buf[pos] << 8) | buf[pos + 1]; pos += 2; return v; }

        uint U32()
        {
            Need(4);
            uint v = ((uint)buf[pos] << 24) | ((uint)buf[pos + 1] << 16) | ((uint)buf[pos + 2] << 8) | buf[pos + 3];
            pos += 4;
            return v;
        }

        ulong U64()
        {
            Need(8);
            ulong v = 0;
            for (int i = 0; i < 8; i++) v = (v << 8) | buf[pos + i];
            pos += 8;
            return v;
        }

        public MsgPackType PeekType()
        {
            if (pos >= end) return MsgPackType.End;
            byte b = buf[pos];
            if (b <= 0x7f || b >= 0xe0) return MsgPackType.Int;
            if (b <= 0x8f) return MsgPackType.Map;
            if (b <= 0x9f) return MsgPackType.Array;
            if (b <= 0xbf) return MsgPackType.Str;
            switch (b)
            {
                case 0xc0: return MsgPackType.Nil;
                case 0xc2: case 0xc3: return MsgPackType.Bool;
                case 0xc4: case 0xc5: case 0xc6: return MsgPackType.Bin;
                case 0xc7: case 0xc8: case 0xc9: case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
                    return MsgPackType.Ext;
                case 0xca: case 0xcb: return MsgPackType.Float;
                case 0xcc: case 0xcd: case 0xce: case 0xcf:
                case 0xd0: case 0xd1: case 0xd2: case 0xd3: return MsgPackType.Int;
                case 0xd9: case 0xda: case 0xdb: return MsgPackType.Str;
                case 0xdc: case 0xdd: return MsgPackType.Array;
                case 0xde: case 0xdf: return MsgPackType.Map;
                default: return MsgPackType.Invalid;
            }
        }

        public bool TryReadNil()
        {
            if (pos < end && buf[pos] == 0xc0) { pos++; return true; }
            return false;
        }

        public bool ReadBool()
        {
            byte b = U8();
            if (b == 0xc3) return true;
            if (b == 0xc2) return false;
            pos--;
            throw new MsgPackException("expected a bool, got " + PeekType());
        }

        /// <summary>Any msgpack integer as a long. uint64 values above long.MaxValue are refused.</summary>
        public long ReadInt64()
        {
            byte b = U8();
            if (b <= 0x7f) return b;
            if (b >= 0xe0) return (sbyte)b;
            switch (b)
            {
                case 0xcc: return U8();
                case 0xcd: return U16();
                case 0xce: return U32();
                case 0xcf:
                    {
                        ulong v = U64();
                        if (v > long.MaxValue) throw new MsgPackException("integer too large");
                        return (long)v;
                    }
                case 0xd0: return (sbyte)U8();
                case 0xd1: return (short)U16();
                case 0xd2: return (int)U32();
                case 0xd3: return (long)U64();
            }
            pos--;
            throw new MsgPackException("expected an integer, got " + PeekType());
        }

        /// <summary>A float32/float64, or an integer, as a double.</summary>
        public double ReadDouble()
        {
            if (pos >= end) throw Truncated();
            byte b = buf[pos];
            if (b == 0xcb) { pos++; return BitConverter.Int64BitsToDouble((long)U64()); }
            if (b == 0xca)
            {
                pos++;
                uint bits = U32();
                return BitConverter.ToSingle(BitConverter.GetBytes(bits), 0); // both in native order
            }
            return ReadInt64();
        }

        public int ReadMapHeader()
        {
            byte b = U8();
            long n;
            if (b >= 0x80 && b <= 0x8f) n = b & 0x0f;
            else if (b == 0xde) n = U16();
            else if (b == 0xdf) n = U32();
            else { pos--; throw new MsgPackException("expected a map, got " + PeekType()); }
            Need(2 * n); // each entry takes at least two bytes
            return (int)n;
        }

        public int ReadArrayHeader()
        {
            byte b = U8();
            long n;
            if (b >= 0x90 && b <= 0x9f) n = b & 0x0f;
            else if (b == 0xdc) n = U16();
            else if (b == 0xdd) n = U32();
            else { pos--; throw new MsgPackException("expected an array, got " + PeekType()); }
            Need(n); // each element takes at least one byte
            return (int)n;
        }

        /// <summary>The next str's UTF-8 bytes as (offset, count) into <see cref="Buffer"/>; no allocation.</summary>
        public void ReadStringSpan(out int offset, out int count)
        {
            byte b = U8();
            long n;
            if (b >= 0xa0 && b <= 0xbf) n = b & 0x1f;
            else if (b == 0xd9) n = U8();
            else if (b == 0xda) n = U16();
            else if (b == 0xdb) n = U32();
            else { pos--; throw new MsgPackException("expected a string, got " + PeekType()); }
            Need(n);
            offset = pos; count = (int)n;
            pos += (int)n;
        }

        static readonly UTF8Encoding StrictUtf8 = new UTF8Encoding(false, true);

        public string ReadString()
        {
            int off, n;
            ReadStringSpan(out off, out n);
            try { return StrictUtf8.GetString(buf, off, n); }
            catch (ArgumentException) { throw new MsgPackException("string is not valid UTF-8"); }
        }

        /// <summary>True when the next value is a str equal to the ASCII <paramref name="key"/>
        /// (consumed then); false leaves the position unchanged.</summary>
        public bool TryReadKey(byte[] key)
        {
            int save = pos;
            if (PeekType() != MsgPackType.Str) return false;
            int off, n;
            ReadStringSpan(out off, out n);
            if (n == key.Length)
            {
                int i = 0;
                while (i < n && buf[off + i] == key[i]) i++;
                if (i == n) return true;
            }
            pos = save;
            return false;
        }

        public void ReadBinSpan(out int offset, out int count)
        {
            byte b = U8();
            long n;
            if (b == 0xc4) n = U8();
            else if (b == 0xc5) n = U16();
            else if (b == 0xc6) n = U32();
            else { pos--; throw new MsgPackException("expected bin, got " + PeekType()); }
            Need(n);
            offset = pos; count = (int)n;
            pos += (int)n;
        }

        public byte[] ReadBin()
        {
            int off, n;
            ReadBinSpan(out off, out n);
            var r = new byte[n];
            System.Buffer.BlockCopy(buf, off, r, 0, n);
            return r;
        }

        /// <summary>Skips one value (with everything inside it).</summary>
        public void Skip()
        {
            MsgPackType t = PeekType();
            switch (t)
            {
                case MsgPackType.Nil: pos++; return;
                case MsgPackType.Bool: pos++; return;
                case MsgPackType.Int: ReadInt64Lenient(); return;
                case MsgPackType.Float: ReadDouble(); return;
                case MsgPackType.Str: { int o, n; ReadStringSpan(out o, out n); return; }
                case MsgPackType.Bin: { int o, n; ReadBinSpan(out o, out n); return; }
                case MsgPackType.Array:
                    {
                        int n = ReadArrayHeader();
                        Enter();
                        for (int i = 0; i < n; i++) Skip();
                        depth--;
                        return;
                    }
                case MsgPackType.Map:
                    {
                        int n = ReadMapHeader();
                        Enter();
                        for (int i = 0; i < 2 * n; i++) Skip();
                        depth--;
                        return;
                    }
                case MsgPackType.End: throw Truncated();
                default: throw new MsgPackException("unsupported msgpack type " + t);
            }
        }

        void ReadInt64Lenient()
        {
            if (buf[pos] == 0xcf) { pos++; U64(); return; }
            ReadInt64();
        }

        void Enter()
        {
            if (++depth > MaxDepth) throw new MsgPackException("msgpack nested too deep");
        }

        /// <summary>One value as a tree: null, bool, long (ulong above long.MaxValue), double,
        /// string, byte[], List&lt;object&gt;, Dictionary&lt;string, object&gt; (keys must be strings).</summary>
        public object ReadObject()
        {
            MsgPackType t = PeekType();
            switch (t)
            {
                case MsgPackType.Nil: pos++; return null;
                case MsgPackType.Bool: return ReadBool();
                case MsgPackType.Int:
                    if (buf[pos] == 0xcf)
                    {
                        pos++;
                        ulong v = U64();
                        if (v > long.MaxValue) return v;
                        return (long)v;
                    }
                    return ReadInt64();
                case MsgPackType.Float: return ReadDouble();
                case MsgPackType.Str: return ReadString();
                case MsgPackType.Bin: return ReadBin();
                case MsgPackType.Array:
                    {
                        int n = ReadArrayHeader();
                        Enter();
                        var l = new List<object>(n);
                        for (int i = 0; i < n; i++) l.Add(ReadObject());
                        depth--;
                        return l;
                    }
                case MsgPackType.Map:
                    {
                        int n = ReadMapHeader();
                        Enter();
                        var d = new Dictionary<string, object>(n);
                        for (int i = 0; i < n; i++)
                        {
                            if (PeekType() != MsgPackType.Str) throw new MsgPackException("map keys must be strings");
                            string k = ReadString();
                            d[k] = ReadObject();
                        }
                        depth--;
                        return d;
                    }
                case MsgPackType.End: throw Truncated();
                default: throw new MsgPackException("unsupported msgpack type " + t);
            }
        }

        /// <summary>A whole buffer holding exactly one value (trailing bytes are malformed).</summary>
        public static object Unpack(byte[] data)
        {
            var r = new MsgPackReader(data);
            object o = r.ReadObject();
            if (!r.AtEnd) throw new MsgPackException("extra bytes after the msgpack value");
            return o;
        }
    }
}
