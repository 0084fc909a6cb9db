using System;
using System.Diagnostics;

namespace FaceBridge.Core
{
    /// <summary>This client's clock in ns since the Unix epoch: a wall-clock anchor taken once,
    /// advanced by a monotonic Stopwatch (so it never jumps back).</summary>
    public static class ClientClock
    {
        static readonly long anchorNs = (DateTime.UtcNow.Ticks - new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks) * 100;
        static readonly Stopwatch watch = Stopwatch.StartNew();

        public static long NowNs()
        {
            return anchorNs + (long)(watch.ElapsedTicks * (1e9 / Stopwatch.Frequency));
        }
    }

    /// <summary>The offset between the daemon's clock (pong.t_ns, frames' t_ns) and ours, from
    /// ping/pong round trips: offset = t_server − (t_sent + t_received) / 2, taken from the
    /// round trip with the smallest RTT among the last few (the least queueing).</summary>
    public sealed class ClockSync
    {
        readonly long[] rtt, offset;
        int n, next;
        readonly object gate = new object();

        public ClockSync(int window = 16)
        {
            rtt = new long[window];
            offset = new long[window];
        }

        public int Samples { get { lock (gate) return n; } }

        public void AddSample(long sentNs, long serverNs, long receivedNs)
        {
            if (receivedNs < sentNs) return;
            lock (gate)
            {
                rtt[next] = receivedNs - sentNs;
                offset[next] = serverNs - (sentNs + (receivedNs - sentNs) / 2);
                next = (next + 1) % rtt.Length;
                if (n < rtt.Length) n++;
            }
        }

        int Best()
        {
            int best = -1;
            for (int i = 0; i < n; i++) if (best < 0 || rtt[i] < rtt[best]) best = i;
            return best;
        }

        /// <summary>daemon clock − client clock (ns); 0 before the first pong.</summary>
        public long OffsetNs { get { lock (gate) { int b = Best(); return b < 0 ? 0 : offset[b]; } } }

        /// <summary>The smallest round trip in the window (ns), or -1.</summary>
        public long BestRttNs { get { lock (gate) { int b = Best(); return b < 0 ? -1 : rtt[b]; } } }

        /// <summary>The most recent round trip (ns), or -1.</summary>
        public long LastRttNs { get { lock (gate) return n == 0 ? -1 : rtt[(next + rtt.Length - 1) % rtt.Length]; } }

        /// <summary>A daemon timestamp on our clock.</summary>
        public long ToClientNs(long daemonNs) { return daemonNs - OffsetNs; }

        /// <summary>How long ago (ms) the daemon published a frame it stamped <paramref name="daemonNs"/>,
        /// seen at our time <paramref name="clientNs"/>.</summary>
        public double AgeMs(long daemonNs, long clientNs) { return (clientNs - ToClientNs(daemonNs)) / 1e6; }
    }
}
