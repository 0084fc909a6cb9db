using System;
using System.Threading;

namespace FaceBridge.Core
{
    public enum RequestStatus
    {
        /// <summary>waiting to be sent (not connected yet, or the avatar has 12+ requests waiting)</summary>
        Queued,
        /// <summary>sent; waiting for the reply</summary>
        Sent,
        /// <summary>the reply came (see <see cref="Request.Reply"/>)</summary>
        Done,
        /// <summary>an error reply, a timeout, or the connection was lost (see <see cref="Request.ErrorCode"/>)</summary>
        Failed,
    }

    /// <summary>A request's handle. The game thread polls it (or passes a callback that
    /// <see cref="FaceBridgeConnection.DispatchCallbacks"/> runs); it never blocks on it.</summary>
    public sealed class Request
    {
        // Error codes the client itself reports (the daemon's are in docs/protocol.md).
        public const string Timeout = "timeout";
        public const string Disconnected = "disconnected";
        public const string Closed = "closed";
        public const string BadArgument = "bad_argument";

        public readonly string Type;
        public readonly string Avatar;
        /// <summary>The id of the last send (a request re-sent after a re-hello gets a new one).</summary>
        public long Id { get; internal set; }

        volatile RequestStatus status = RequestStatus.Queued;
        public RequestStatus Status { get { return status; } }
        public Reply Reply { get; private set; }
        public string ErrorCode { get; private set; }
        public string ErrorMessage { get; private set; }

        public bool IsDone { get { var s = status; return s == RequestStatus.Done || s == RequestStatus.Failed; } }
        public bool Succeeded { get { return status == RequestStatus.Done; } }

        internal readonly Func<long, byte[]> Build;
        internal readonly Action<Request> Callback;
        internal bool Internal;
        internal long QueuedMs, SentMs, DeadlineMs;
        internal long SentAtNs;
        /// <summary>This client's clock (ns, Unix epoch) when the reply arrived: the start of an
        /// utterance's audio clock for a speak's `ok`.</summary>
        public long CompletedNs { get; private set; }
        /// <summary>The connection's own follow-up, on the network thread, before the request
        /// completes (so a waiter sees its effects).</summary>
        internal Action<Request, Reply> OnReply;

        internal Request(string type, string avatar, Func<long, byte[]> build, Action<Request> callback)
        {
            Type = type;
            Avatar = avatar;
            Build = build;
            Callback = callback;
        }

        internal void MarkSent(long id, long nowMs)
        {
            Id = id;
            SentMs = nowMs;
            status = RequestStatus.Sent;
        }

        internal void MarkQueued() { status = RequestStatus.Queued; }

        internal void Complete(Reply reply)
        {
            lock (this)
            {
                CompletedNs = ClientClock.NowNs();
                Reply = reply;
                if (reply.IsError)
                {
                    ErrorCode = reply.ErrorCode ?? "error";
                    ErrorMessage = reply.ErrorMessage ?? "";
                    status = RequestStatus.Failed;
                }
                else status = RequestStatus.Done;
                Monitor.PulseAll(this);
            }
        }

        internal void Fail(string code, string message)
        {
            lock (this)
            {
                if (IsDone) return;
                CompletedNs = ClientClock.NowNs();
                ErrorCode = code;
                ErrorMessage = message;
                status = RequestStatus.Failed;
                Monitor.PulseAll(this);
            }
        }

        /// <summary>Blocks until the request is done or <paramref name="timeoutMs"/> passes. For tools
        /// and tests: never call it on the game thread.</summary>
        public bool Wait(int timeoutMs)
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            lock (this)
            {
                while (!IsDone)
                {
                    long left = timeoutMs - watch.ElapsedMilliseconds;
                    if (left <= 0) return false;
                    Monitor.Wait(this, (int)Math.Min(left, 100));
                }
            }
            return true;
        }

        public override string ToString()
        {
            string s = Type + (Avatar != null ? " " + Avatar : "") + " [" + status + "]";
            if (status == RequestStatus.Failed) s += " " + ErrorCode + ": " + ErrorMessage;
            return s;
        }
    }
}
