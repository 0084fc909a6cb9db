using System;
using System.IO;
using System.Text;

namespace FaceBridge.Core
{
    /// <summary>CurveZMQ settings for a daemon started with --curve-keys (docs/protocol.md, CURVE).
    /// Keys are Z85 text (40 characters), as in ZeroMQ certificate files.</summary>
    public sealed class CurveOptions
    {
        /// <summary>The daemon's public key (KEYS/server.key).</summary>
        public string ServerPublicKey;
        /// <summary>This client's key pair (KEYS/clients/client.key_secret holds both).</summary>
        public string ClientPublicKey;
        public string ClientSecretKey;

        public CurveOptions() { }

        public CurveOptions(string serverPublicKey, string clientPublicKey, string clientSecretKey)
        {
            ServerPublicKey = serverPublicKey; ClientPublicKey = clientPublicKey; ClientSecretKey = clientSecretKey;
        }

        public bool Enabled { get { return !string.IsNullOrEmpty(ServerPublicKey); } }

        /// <summary>null when usable, else what is wrong (one line).</summary>
        public string Validate()
        {
            if (!Enabled) return null;
            if (!Z85.IsKey(ServerPublicKey)) return "CURVE server key is not 40 characters of Z85 (copy public-key from KEYS/server.key)";
            if (!Z85.IsKey(ClientPublicKey)) return "CURVE client public key is not 40 characters of Z85 (public-key in clients/client.key_secret)";
            if (!Z85.IsKey(ClientSecretKey)) return "CURVE client secret key is not 40 characters of Z85 (secret-key in clients/client.key_secret)";
            return null;
        }

        /// <summary>Reads the files `facebridge keys --out DIR` writes: DIR/server.key and
        /// DIR/clients/client.key_secret.</summary>
        public static CurveOptions FromKeysFolder(string folder)
        {
            return FromFiles(Path.Combine(folder, "server.key"), Path.Combine(Path.Combine(folder, "clients"), "client.key_secret"));
        }

        public static CurveOptions FromFiles(string serverPublicFile, string clientSecretFile)
        {
            string server = File.ReadAllText(serverPublicFile), client = File.ReadAllText(clientSecretFile);
            return FromCertificateText(server, client);
        }

        public static CurveOptions FromCertificateText(string serverCertificate, string clientSecretCertificate)
        {
            var o = new CurveOptions(CertificateField(serverCertificate, "public-key"),
                                     CertificateField(clientSecretCertificate, "public-key"),
                                     CertificateField(clientSecretCertificate, "secret-key"));
            if (o.ServerPublicKey == null) throw new FormatException("the server certificate has no public-key");
            if (o.ClientSecretKey == null) throw new FormatException("the client certificate has no secret-key (pass the *.key_secret file)");
            return o;
        }

        /// <summary>A field of a ZeroMQ certificate (ZPL text): `    public-key = "…"`.</summary>
        public static string CertificateField(string text, string name)
        {
            foreach (string raw in text.Split('\n'))
            {
                string line = raw.Trim();
                if (!line.StartsWith(name)) continue;
                int eq = line.IndexOf('=');
                if (eq < 0 || line.Substring(0, eq).Trim() != name) continue;
                string v = line.Substring(eq + 1).Trim();
                if (v.Length >= 2 && (v[0] == '"' || v[0] == '\'') && v[v.Length - 1] == v[0]) v = v.Substring(1, v.Length - 2);
                return v;
            }
            return null;
        }
    }

    /// <summary>ZeroMQ's Z85 encoding (rfc.zeromq.org/spec/32).</summary>
    public static class Z85
    {
        const string Chars = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
        static readonly int[] Decoder = BuildDecoder();

        static int[] BuildDecoder()
        {
            var d = new int[128];
            for (int i = 0; i < d.Length; i++) d[i] = -1;
            for (int i = 0; i < Chars.Length; i++) d[Chars[i]] = i;
            return d;
        }

        public static bool IsKey(string s)
        {
            if (s == null || s.Length != 40) return false;
            return Decode(s) != null;
        }

        public static string Encode(byte[] data)
        {
            if (data == null || data.Length % 4 != 0) throw new ArgumentException("Z85 encodes multiples of 4 bytes");
            var sb = new StringBuilder(data.Length * 5 / 4);
            for (int i = 0; i < data.Length; i += 4)
            {
                uint v = ((uint)data[i] << 24) | ((uint)data[i + 1] << 16) | ((uint)data[i + 2] << 8) | data[i + 3];
                var c = new char[5];
                for (int k = 4; k >= 0; k--) { c[k] = Chars[(int)(v % 85)]; v /= 85; }
                sb.Append(c);
            }
            return sb.ToString();
        }

        /// <summary>The bytes, or null when <paramref name="s"/> is not valid Z85.</summary>
        public static byte[] Decode(string s)
        {
            if (s == null || s.Length % 5 != 0) return null;
            var r = new byte[s.Length / 5 * 4];
            for (int i = 0, o = 0; i < s.Length; i += 5, o += 4)
            {
                ulong v = 0;
                for (int k = 0; k < 5; k++)
                {
                    char ch = s[i + k];
                    int d = ch < 128 ? Decoder[ch] : -1;
                    if (d < 0) return null;
                    v = v * 85 + (ulong)d;
                }
                if (v > uint.MaxValue) return null;
                r[o] = (byte)(v >> 24); r[o + 1] = (byte)(v >> 16); r[o + 2] = (byte)(v >> 8); r[o + 3] = (byte)v;
            }
            return r;
        }
    }
}
