using System;
using System.Collections.Generic;
using FaceBridge.Core;

namespace FaceBridge.Transport
{
    public enum SocketKind
    {
        /// <summary>control: requests and replies (the daemon's ROUTER)</summary>
        Dealer,
        /// <summary>data and video frames (the daemon's PUB sockets)</summary>
        Sub,
        /// <summary>tests and tools only (a stand-in daemon)</summary>
        Router,
        Pub,
    }

    public sealed class SocketOptions
    {
        public int ReceiveHwm = 1000;
        public int SendHwm = 1000;
        /// <summary>Queue messages only on completed connections (ZMQ_IMMEDIATE): a send while
        /// the daemon is absent fails at once instead of waiting in a queue.</summary>
        public bool Immediate;
        /// <summary>ZeroMQ's own reconnect backoff: first retry, and the cap it doubles up to.</summary>
        public int ReconnectIvlMs = 100;
        public int ReconnectIvlMaxMs = 2000;
        /// <summary>Larger incoming messages drop the connection (-1: no limit).</summary>
        public long MaxMessageSize = -1;
        /// <summary>Makes the socket a CURVE client of this server.</summary>
        public CurveOptions Curve;
        /// <summary>Tests only: makes the socket a CURVE server with this Z85 secret key.</summary>
        public string CurveServerSecretKey;
    }

    /// <summary>One ZeroMQ socket. Not thread-safe: the network thread owns it.</summary>
    public interface ISocket : IDisposable
    {
        void Connect(string endpoint);
        /// <summary>Binds; returns the endpoint actually bound (tcp://127.0.0.1:* gets a port).</summary>
        string Bind(string endpoint);
        void Subscribe(string prefix);
        void Unsubscribe(string prefix);
        /// <summary>Sends one single-frame message without waiting; false when it cannot go now.</summary>
        bool TrySend(byte[] frame);
        /// <summary>Sends a multipart message without waiting; false when it cannot go now.</summary>
        bool TrySendMultipart(IList<byte[]> parts);
        /// <summary>Receives one waiting multipart message into <paramref name="parts"/> (cleared
        /// first) without waiting; false when none is waiting.</summary>
        bool TryReceive(List<byte[]> parts);
    }

    /// <summary>The ZeroMQ binding the client uses: <see cref="LibZmqTransport"/> (P/Invoke to
    /// libzmq) or NetMqTransport (NetMQ, with FACEBRIDGE_NETMQ defined).</summary>
    public interface ITransport : IDisposable
    {
        string Name { get; }
        ISocket CreateSocket(SocketKind kind, SocketOptions options);
        /// <summary>Waits up to <paramref name="timeoutMs"/> until one of the first
        /// <paramref name="count"/> sockets has a message; sets <paramref name="readable"/>;
        /// returns how many have one (0: timeout).</summary>
        int Poll(ISocket[] sockets, int count, bool[] readable, int timeoutMs);
    }
}
