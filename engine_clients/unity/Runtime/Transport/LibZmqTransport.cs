// ZeroMQ through P/Invoke to libzmq (4.x): no managed dependency, works under Mono, .NET
// and IL2CPP (static extern calls only, no delegates or reflection). The tests in Tests/Runner
// use this transport against a live daemon.
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using FaceBridge.Core;

namespace FaceBridge.Transport
{

    public sealed class LibZmqTransport : ITransport
    {
        // socket types and options from zmq.h
        internal const int ZMQ_PUB = 1, ZMQ_SUB = 2, ZMQ_DEALER = 5, ZMQ_ROUTER = 6;
        internal const int ZMQ_SUBSCRIBE = 6, ZMQ_UNSUBSCRIBE = 7, ZMQ_LINGER = 17, ZMQ_RECONNECT_IVL = 18,
            ZMQ_RECONNECT_IVL_MAX = 21, ZMQ_MAXMSGSIZE = 22, ZMQ_SNDHWM = 23, ZMQ_RCVHWM = 24, ZMQ_LAST_ENDPOINT = 32,
            ZMQ_IMMEDIATE = 39, ZMQ_CURVE_SERVER = 47, ZMQ_CURVE_PUBLICKEY = 48, ZMQ_CURVE_SECRETKEY = 49,
            ZMQ_CURVE_SERVERKEY = 50;
        internal const int ZMQ_DONTWAIT = 1, ZMQ_SNDMORE = 2, ZMQ_POLLIN = 1;

        IntPtr ctx;
        readonly List<LibZmqSocket> sockets = new List<LibZmqSocket>();
        readonly object gate = new object();

        public LibZmqTransport()
        {
            ctx = ZmqNative.zmq_ctx_new();
            if (ctx == IntPtr.Zero) throw new InvalidOperationException("zmq_ctx_new failed: " + LastError());
        }

        public string Name { get { return "libzmq " + Version + " (" + ZmqNative.LibraryName + ")"; } }

        public static string Version
        {
            get
            {
                int a, b, c;
                ZmqNative.zmq_version(out a, out b, out c);
                return a + "." + b + "." + c;
            }
        }

        /// <summary>True when this libzmq was built with CURVE (libsodium or tweetnacl).</summary>
        public static bool HasCurve
        {
            get
            {
                try { return ZmqNative.zmq_has(Encoding.ASCII.GetBytes("curve\0")) == 1; }
                catch (EntryPointNotFoundException) { return false; }
            }
        }

        /// <summary>A new CURVE key pair as Z85 text (tests, tools).</summary>
        public static void CurveKeyPair(out string publicKey, out string secretKey)
        {
            var p = new byte[41];
            var s = new byte[41];
            if (ZmqNative.zmq_curve_keypair(p, s) != 0) throw new InvalidOperationException("zmq_curve_keypair failed: " + LastError());
            publicKey = Encoding.ASCII.GetString(p, 0, 40);
            secretKey = Encoding.ASCII.GetString(s, 0, 40);
        }

        internal static string LastError()
        {
            int e = ZmqNative.zmq_errno();
            IntPtr m = ZmqNative.zmq_strerror(e);
            return (m == IntPtr.Zero ? "errno " + e : Marshal.PtrToStringAnsi(m)) + " (" + e + ")";
        }

        public ISocket CreateSocket(SocketKind kind, SocketOptions options)
        {
            lock (gate)
            {
                if (ctx == IntPtr.Zero) throw new ObjectDisposedException("LibZmqTransport");
                int type = kind == SocketKind.Dealer ? ZMQ_DEALER : kind == SocketKind.Sub ? ZMQ_SUB : kind == SocketKind.Router ? ZMQ_ROUTER : ZMQ_PUB;
                IntPtr h = ZmqNative.zmq_socket(ctx, type);
                if (h == IntPtr.Zero) throw new InvalidOperationException("zmq_socket failed: " + LastError());
                var s = new LibZmqSocket(this, h);
                sockets.Add(s);
                try { s.Configure(options ?? new SocketOptions()); }
                catch { s.Dispose(); throw; }
                return s;
            }
        }

        internal void Forget(LibZmqSocket s)
        {
            lock (gate) sockets.Remove(s);
        }

        [ThreadStatic] static IntPtr pollItems;
        [ThreadStatic] static int pollCapacity;

        static bool IsWindows
        {
            get { return Environment.OSVersion.Platform == PlatformID.Win32NT; }
        }

        public int Poll(ISocket[] socks, int count, bool[] readable, int timeoutMs)
        {
            // zmq_pollitem_t { void *socket; int fd (SOCKET on Windows); short events; short revents; }
            int fdSize = IsWindows ? IntPtr.Size : 4;
            int eventsOff = IntPtr.Size + fdSize;
            int itemSize = eventsOff + 4;
            if (itemSize % IntPtr.Size != 0) itemSize += IntPtr.Size - itemSize % IntPtr.Size;
            if (pollCapacity < count)
            {
                if (pollItems != IntPtr.Zero) Marshal.FreeHGlobal(pollItems);
                pollItems = Marshal.AllocHGlobal(itemSize * Math.Max(4, count));
                pollCapacity = Math.Max(4, count);
            }
            for (int i = 0; i < count; i++)
            {
                IntPtr item = new IntPtr(pollItems.ToInt64() + i * itemSize);
                for (int b = 0; b < itemSize; b++) Marshal.WriteByte(item, b, 0);
                Marshal.WriteIntPtr(item, ((LibZmqSocket)socks[i]).Handle);
                Marshal.WriteInt16(item, eventsOff, ZMQ_POLLIN);
            }
            int rc = ZmqNative.zmq_poll(pollItems, count, new IntPtr(timeoutMs));
            int n = 0;
            for (int i = 0; i < count; i++)
            {
                IntPtr item = new IntPtr(pollItems.ToInt64() + i * itemSize);
                readable[i] = rc > 0 && (Marshal.ReadInt16(item, eventsOff + 2) & ZMQ_POLLIN) != 0;
                if (readable[i]) n++;
            }
            return n;
        }

        public void Dispose()
        {
            IntPtr c;
            lock (gate)
            {
                foreach (var s in sockets.ToArray()) s.Dispose();
                c = ctx;
                ctx = IntPtr.Zero;
            }
            if (c != IntPtr.Zero) ZmqNative.zmq_ctx_term(c);
        }
    }

    public sealed class LibZmqSocket : ISocket
    {
        readonly LibZmqTransport owner;
        IntPtr handle;
        IntPtr msg; // a zmq_msg_t (64 bytes)

        internal LibZmqSocket(LibZmqTransport owner, IntPtr handle)
        {
            this.owner = owner;
            this.handle = handle;
            msg = Marshal.AllocHGlobal(64);
        }

        internal IntPtr Handle
        {
            get
            {
                if (handle == IntPtr.Zero) throw new ObjectDisposedException("LibZmqSocket");
                return handle;
            }
        }

        void SetInt(int option, int value)
        {
            if (ZmqNative.zmq_setsockopt(Handle, option, ref value, new UIntPtr(4)) != 0)
                throw new InvalidOperationException("zmq_setsockopt(" + option + ") failed: " + LibZmqTransport.LastError());
        }

        void SetBytes(int option, byte[] value)
        {
            if (ZmqNative.zmq_setsockopt(Handle, option, value, new UIntPtr((uint)value.Length)) != 0)
                throw new InvalidOperationException("zmq_setsockopt(" + option + ") failed: " + LibZmqTransport.LastError());
        }

        static byte[] Key(string z85, string what)
        {
            byte[] k = Z85.Decode(z85);
            if (k == null || k.Length != 32) throw new ArgumentException(what + " is not a 40-character Z85 key");
            return k;
        }

        internal void Configure(SocketOptions o)
        {
            SetInt(LibZmqTransport.ZMQ_LINGER, 0);
            SetInt(LibZmqTransport.ZMQ_RCVHWM, o.ReceiveHwm);
            SetInt(LibZmqTransport.ZMQ_SNDHWM, o.SendHwm);
            SetInt(LibZmqTransport.ZMQ_RECONNECT_IVL, o.ReconnectIvlMs);
            SetInt(LibZmqTransport.ZMQ_RECONNECT_IVL_MAX, o.ReconnectIvlMaxMs);
            if (o.Immediate) SetInt(LibZmqTransport.ZMQ_IMMEDIATE, 1);
            if (o.MaxMessageSize > 0)
            {
                long v = o.MaxMessageSize;
                if (ZmqNative.zmq_setsockopt(Handle, LibZmqTransport.ZMQ_MAXMSGSIZE, ref v, new UIntPtr(8)) != 0)
                    throw new InvalidOperationException("zmq_setsockopt(MAXMSGSIZE) failed: " + LibZmqTransport.LastError());
            }
            if (o.Curve != null && o.Curve.Enabled)
            {
                string bad = o.Curve.Validate();
                if (bad != null) throw new ArgumentException(bad);
                if (!LibZmqTransport.HasCurve) throw new InvalidOperationException("this libzmq has no CURVE support (build it with libsodium)");
                SetBytes(LibZmqTransport.ZMQ_CURVE_SERVERKEY, Key(o.Curve.ServerPublicKey, "the server key"));
                SetBytes(LibZmqTransport.ZMQ_CURVE_PUBLICKEY, Key(o.Curve.ClientPublicKey, "the client public key"));
                SetBytes(LibZmqTransport.ZMQ_CURVE_SECRETKEY, Key(o.Curve.ClientSecretKey, "the client secret key"));
            }
            if (!string.IsNullOrEmpty(o.CurveServerSecretKey))
            {
                SetInt(LibZmqTransport.ZMQ_CURVE_SERVER, 1);
                SetBytes(LibZmqTransport.ZMQ_CURVE_SECRETKEY, Key(o.CurveServerSecretKey, "the server secret key"));
            }
        }

        static byte[] CString(string s)
        {
            var b = Encoding.UTF8.GetBytes(s);
            var r = new byte[b.Length + 1];
            Buffer.BlockCopy(b, 0, r, 0, b.Length);
            return r;
        }

        public void Connect(string endpoint)
        {
            if (ZmqNative.zmq_connect(Handle, CString(endpoint)) != 0)
                throw new ArgumentException("cannot connect to " + endpoint + ": " + LibZmqTransport.LastError());
        }

        public string Bind(string endpoint)
        {
            if (ZmqNative.zmq_bind(Handle, CString(endpoint)) != 0)
                throw new ArgumentException("cannot bind " + endpoint + ": " + LibZmqTransport.LastError());
            var buf = new byte[256];
            var len = new UIntPtr((uint)buf.Length);
            if (ZmqNative.zmq_getsockopt(Handle, LibZmqTransport.ZMQ_LAST_ENDPOINT, buf, ref len) != 0) return endpoint;
            int n = (int)len.ToUInt32();
            while (n > 0 && buf[n - 1] == 0) n--;
            return Encoding.UTF8.GetString(buf, 0, n);
        }

        public void Subscribe(string prefix) { SetBytes(LibZmqTransport.ZMQ_SUBSCRIBE, Encoding.UTF8.GetBytes(prefix ?? "")); }

        public void Unsubscribe(string prefix) { SetBytes(LibZmqTransport.ZMQ_UNSUBSCRIBE, Encoding.UTF8.GetBytes(prefix ?? "")); }

        public bool TrySend(byte[] frame)
        {
            return ZmqNative.zmq_send(Handle, frame, new UIntPtr((uint)frame.Length), LibZmqTransport.ZMQ_DONTWAIT) >= 0;
        }

        public bool TrySendMultipart(IList<byte[]> parts)
        {
            for (int i = 0; i < parts.Count; i++)
            {
                int flags = LibZmqTransport.ZMQ_DONTWAIT | (i < parts.Count - 1 ? LibZmqTransport.ZMQ_SNDMORE : 0);
                if (ZmqNative.zmq_send(Handle, parts[i], new UIntPtr((uint)parts[i].Length), flags) < 0)
                    return false; // ZeroMQ sends multipart messages whole or not at all
            }
            return true;
        }

        public bool TryReceive(List<byte[]> parts)
        {
            parts.Clear();
            IntPtr h = Handle;
            while (true)
            {
                ZmqNative.zmq_msg_init(msg);
                int n = ZmqNative.zmq_msg_recv(msg, h, parts.Count == 0 ? LibZmqTransport.ZMQ_DONTWAIT : 0);
                if (n < 0)
                {
                    ZmqNative.zmq_msg_close(msg);
                    if (parts.Count == 0) return false;
                    // cannot happen: the parts of a message arrive together
                    parts.Clear();
                    return false;
                }
                var data = new byte[n];
                if (n > 0) Marshal.Copy(ZmqNative.zmq_msg_data(msg), data, 0, n);
                parts.Add(data);
                bool more = ZmqNative.zmq_msg_more(msg) != 0;
                ZmqNative.zmq_msg_close(msg);
                if (!more) return true;
            }
        }

        public void Dispose()
        {
            if (handle != IntPtr.Zero)
            {
                ZmqNative.zmq_close(handle);
                handle = IntPtr.Zero;
                owner.Forget(this);
            }
            if (msg != IntPtr.Zero)
            {
                Marshal.FreeHGlobal(msg);
                msg = IntPtr.Zero;
            }
        }
    }

    /// <summary>libzmq's C API, from whichever library name loads on this platform.</summary>
    public static class ZmqNative
    {
        static readonly bool so5 = ChooseLibrary();
        /// <summary>"libzmq.so.5" or "libzmq": the library the calls go to.</summary>
        public static string LibraryName { get { return so5 ? "libzmq.so.5" : "libzmq"; } }

        // Linux first tries libzmq.so.5 (what the distribution's runtime package installs), then
        // libzmq (a plug-in shipped with the game); elsewhere only libzmq.
        static bool ChooseLibrary()
        {
            if (Environment.OSVersion.Platform != PlatformID.Unix || System.IO.Directory.Exists("/System/Library/CoreServices"))
                return false;
            try
            {
                int a, b, c;
                So5.zmq_version(out a, out b, out c);
                return true;
            }
            catch (DllNotFoundException) { return false; }
            catch (EntryPointNotFoundException) { return false; }
        }

        public static IntPtr zmq_ctx_new() { if (so5) return So5.zmq_ctx_new(); else return Generic.zmq_ctx_new(); }
        public static int zmq_ctx_term(IntPtr context) { if (so5) return So5.zmq_ctx_term(context); else return Generic.zmq_ctx_term(context); }
        public static int zmq_ctx_shutdown(IntPtr context) { if (so5) return So5.zmq_ctx_shutdown(context); else return Generic.zmq_ctx_shutdown(context); }
        public static IntPtr zmq_socket(IntPtr context, int type) { if (so5) return So5.zmq_socket(context, type); else return Generic.zmq_socket(context, type); }
        public static int zmq_close(IntPtr socket) { if (so5) return So5.zmq_close(socket); else return Generic.zmq_close(socket); }
        public static int zmq_connect(IntPtr socket, byte[] endpoint) { if (so5) return So5.zmq_connect(socket, endpoint); else return Generic.zmq_connect(socket, endpoint); }
        public static int zmq_bind(IntPtr socket, byte[] endpoint) { if (so5) return So5.zmq_bind(socket, endpoint); else return Generic.zmq_bind(socket, endpoint); }
        public static int zmq_setsockopt(IntPtr socket, int option, byte[] value, UIntPtr length) { if (so5) return So5.zmq_setsockopt(socket, option, value, length); else return Generic.zmq_setsockopt(socket, option, value, length); }
        public static int zmq_setsockopt(IntPtr socket, int option, ref int value, UIntPtr length) { if (so5) return So5.zmq_setsockopt(socket, option, ref value, length); else return Generic.zmq_setsockopt(socket, option, ref value, length); }
        public static int zmq_setsockopt(IntPtr socket, int option, ref long value, UIntPtr length) { if (so5) return So5.zmq_setsockopt(socket, option, ref value, length); else return Generic.zmq_setsockopt(socket, option, ref value, length); }
        public static int zmq_getsockopt(IntPtr socket, int option, byte[] value, ref UIntPtr length) { if (so5) return So5.zmq_getsockopt(socket, option, value, ref length); else return Generic.zmq_getsockopt(socket, option, value, ref length); }
        public static int zmq_send(IntPtr socket, byte[] buffer, UIntPtr length, int flags) { if (so5) return So5.zmq_send(socket, buffer, length, flags); else return Generic.zmq_send(socket, buffer, length, flags); }
        public static int zmq_msg_init(IntPtr msg) { if (so5) return So5.zmq_msg_init(msg); else return Generic.zmq_msg_init(msg); }
        public static int zmq_msg_recv(IntPtr msg, IntPtr socket, int flags) { if (so5) return So5.zmq_msg_recv(msg, socket, flags); else return Generic.zmq_msg_recv(msg, socket, flags); }
        public static IntPtr zmq_msg_data(IntPtr msg) { if (so5) return So5.zmq_msg_data(msg); else return Generic.zmq_msg_data(msg); }
        public static UIntPtr zmq_msg_size(IntPtr msg) { if (so5) return So5.zmq_msg_size(msg); else return Generic.zmq_msg_size(msg); }
        public static int zmq_msg_more(IntPtr msg) { if (so5) return So5.zmq_msg_more(msg); else return Generic.zmq_msg_more(msg); }
        public static int zmq_msg_close(IntPtr msg) { if (so5) return So5.zmq_msg_close(msg); else return Generic.zmq_msg_close(msg); }
        public static int zmq_poll(IntPtr items, int count, IntPtr timeout) { if (so5) return So5.zmq_poll(items, count, timeout); else return Generic.zmq_poll(items, count, timeout); }
        public static int zmq_errno() { if (so5) return So5.zmq_errno(); else return Generic.zmq_errno(); }
        public static IntPtr zmq_strerror(int errnum) { if (so5) return So5.zmq_strerror(errnum); else return Generic.zmq_strerror(errnum); }
        public static void zmq_version(out int major, out int minor, out int patch) { if (so5) So5.zmq_version(out major, out minor, out patch); else Generic.zmq_version(out major, out minor, out patch); }
        public static int zmq_has(byte[] capability) { if (so5) return So5.zmq_has(capability); else return Generic.zmq_has(capability); }
        public static int zmq_curve_keypair(byte[] z85Public, byte[] z85Secret) { if (so5) return So5.zmq_curve_keypair(z85Public, z85Secret); else return Generic.zmq_curve_keypair(z85Public, z85Secret); }
    }

    // Linux: the runtime package (libzmq5) installs only libzmq.so.5, not libzmq.so.
    static class So5
    {
        const string L = "libzmq.so.5";
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern IntPtr zmq_ctx_new();
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_ctx_term(IntPtr context);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_ctx_shutdown(IntPtr context);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern IntPtr zmq_socket(IntPtr context, int type);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_close(IntPtr socket);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_connect(IntPtr socket, byte[] endpoint);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_bind(IntPtr socket, byte[] endpoint);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_setsockopt(IntPtr socket, int option, byte[] value, UIntPtr length);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_setsockopt(IntPtr socket, int option, ref int value, UIntPtr length);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_setsockopt(IntPtr socket, int option, ref long value, UIntPtr length);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_getsockopt(IntPtr socket, int option, byte[] value, ref UIntPtr length);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_send(IntPtr socket, byte[] buffer, UIntPtr length, int flags);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_msg_init(IntPtr msg);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_msg_recv(IntPtr msg, IntPtr socket, int flags);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern IntPtr zmq_msg_data(IntPtr msg);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern UIntPtr zmq_msg_size(IntPtr msg);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_msg_more(IntPtr msg);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_msg_close(IntPtr msg);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_poll(IntPtr items, int count, IntPtr timeout);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_errno();
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern IntPtr zmq_strerror(int errnum);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern void zmq_version(out int major, out int minor, out int patch);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_has(byte[] capability);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_curve_keypair(byte[] z85Public, byte[] z85Secret);
    }

    // Windows (libzmq.dll), macOS (libzmq.dylib), Android/Linux plug-ins named libzmq.so, iOS (see README).
    static class Generic
    {
#if UNITY_IOS && !UNITY_EDITOR
        const string L = "__Internal"; // iOS links libzmq statically into the player
#else
        const string L = "libzmq";
#endif
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern IntPtr zmq_ctx_new();
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_ctx_term(IntPtr context);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_ctx_shutdown(IntPtr context);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern IntPtr zmq_socket(IntPtr context, int type);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_close(IntPtr socket);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_connect(IntPtr socket, byte[] endpoint);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_bind(IntPtr socket, byte[] endpoint);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_setsockopt(IntPtr socket, int option, byte[] value, UIntPtr length);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_setsockopt(IntPtr socket, int option, ref int value, UIntPtr length);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_setsockopt(IntPtr socket, int option, ref long value, UIntPtr length);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_getsockopt(IntPtr socket, int option, byte[] value, ref UIntPtr length);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_send(IntPtr socket, byte[] buffer, UIntPtr length, int flags);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_msg_init(IntPtr msg);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_msg_recv(IntPtr msg, IntPtr socket, int flags);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern IntPtr zmq_msg_data(IntPtr msg);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern UIntPtr zmq_msg_size(IntPtr msg);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_msg_more(IntPtr msg);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_msg_close(IntPtr msg);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_poll(IntPtr items, int count, IntPtr timeout);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_errno();
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern IntPtr zmq_strerror(int errnum);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern void zmq_version(out int major, out int minor, out int patch);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_has(byte[] capability);
        [DllImport(L, CallingConvention = CallingConvention.Cdecl)] public static extern int zmq_curve_keypair(byte[] z85Public, byte[] z85Secret);
    }
}
