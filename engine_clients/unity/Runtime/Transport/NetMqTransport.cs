// A minimal adapter for NetMQ (pure C# ZeroMQ, https://github.com/zeromq/netmq, 4.x).
// Compiled only with the scripting define FACEBRIDGE_NETMQ, after adding NetMQ (and its
// dependencies AsyncIO and NaCl.Net) to the project, e.g. from NuGet into Assets/Plugins.
// NOT compiled or tested in this repository (NetMQ cannot be installed here): the tests use
// LibZmqTransport. See the README, "Transports".
#if FACEBRIDGE_NETMQ
using System;
using System.Collections.Generic;
using System.Threading;
using FaceBridge.Core;
using NetMQ;
using NetMQ.Sockets;

namespace FaceBridge.Transport
{
    public sealed class NetMqTransport : ITransport
    {
        public string Name { get { return "NetMQ"; } }

        public ISocket CreateSocket(SocketKind kind, SocketOptions options)
        {
            NetMQSocket s;
            switch (kind)
            {
                case SocketKind.Dealer: s = new DealerSocket(); break;
                case SocketKind.Sub: s = new SubscriberSocket(); break;
                case SocketKind.Router: s = new RouterSocket(); break;
                default: s = new PublisherSocket(); break;
            }
            var o = options ?? new SocketOptions();
            s.Options.Linger = TimeSpan.Zero;
            s.Options.ReceiveHighWatermark = o.ReceiveHwm;
            s.Options.SendHighWatermark = o.SendHwm;
            s.Options.ReconnectInterval = TimeSpan.FromMilliseconds(o.ReconnectIvlMs);
            s.Options.ReconnectIntervalMax = TimeSpan.FromMilliseconds(o.ReconnectIvlMaxMs);
            if (o.Immediate) s.Options.DelayAttachOnConnect = true; // ZMQ_IMMEDIATE
            if (o.MaxMessageSize > 0) s.Options.MaxMsgSize = (int)Math.Min(o.MaxMessageSize, int.MaxValue);
            if (o.Curve != null && o.Curve.Enabled)
            {
                string bad = o.Curve.Validate();
                if (bad != null) throw new ArgumentException(bad);
                s.Options.CurveServerKey = Z85.Decode(o.Curve.ServerPublicKey);
                s.Options.CurveCertificate = new NetMQCertificate(Z85.Decode(o.Curve.ClientSecretKey), Z85.Decode(o.Curve.ClientPublicKey));
            }
            if (!string.IsNullOrEmpty(o.CurveServerSecretKey))
                throw new NotSupportedException("a CURVE server socket is for tests; use LibZmqTransport");
            return new NetMqSocket(s);
        }

        public int Poll(ISocket[] sockets, int count, bool[] readable, int timeoutMs)
        {
            // NetMQ has no zmq_poll over plain sockets; HasIn is cheap: check, then nap 1 ms.
            long end = Environment.TickCount + timeoutMs;
            while (true)
            {
                int n = 0;
                for (int i = 0; i < count; i++)
                {
                    readable[i] = ((NetMqSocket)sockets[i]).Socket.HasIn;
                    if (readable[i]) n++;
                }
                if (n > 0 || Environment.TickCount >= end) return n;
                Thread.Sleep(1);
            }
        }

        public void Dispose()
        {
            NetMQConfig.Cleanup(false);
        }
    }

    public sealed class NetMqSocket : ISocket
    {
        internal readonly NetMQSocket Socket;

        internal NetMqSocket(NetMQSocket s) { Socket = s; }

        public void Connect(string endpoint) { Socket.Connect(endpoint); }

        public string Bind(string endpoint)
        {
            Socket.Bind(endpoint);
            return Socket.Options.LastEndpoint;
        }

        public void Subscribe(string prefix) { ((SubscriberSocket)Socket).Subscribe(prefix ?? ""); }

        public void Unsubscribe(string prefix) { ((SubscriberSocket)Socket).Unsubscribe(prefix ?? ""); }

        public bool TrySend(byte[] frame) { return Socket.TrySendFrame(TimeSpan.Zero, frame); }

        public bool TrySendMultipart(IList<byte[]> parts)
        {
            var m = new NetMQMessage();
            foreach (var p in parts) m.Append(p);
            return Socket.TrySendMultipartMessage(TimeSpan.Zero, m);
        }

        public bool TryReceive(List<byte[]> parts)
        {
            parts.Clear();
            List<byte[]> got = null;
            if (!Socket.TryReceiveMultipartBytes(TimeSpan.Zero, ref got)) return false;
            parts.AddRange(got);
            return true;
        }

        public void Dispose() { Socket.Dispose(); }
    }
}
#endif
