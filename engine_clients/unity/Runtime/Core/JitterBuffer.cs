using System;
using System.Collections.Generic;

namespace FaceBridge.Core
{
    /// <summary>Frames of one avatar keyed on (utterance, pts). The network thread adds; the game
    /// thread asks "the newest frame with pts ≤ the audio position" (docs/protocol.md, Clock).
    /// Both hold the lock for a few microseconds at most. Frames added are never modified.</summary>
    public sealed class JitterBuffer
    {
        readonly object gate = new object();
        readonly List<AnimFrame> frames = new List<AnimFrame>();
        AnimFrame latest;
        long received;

        /// <summary>At most this many frames are kept (the oldest go first).</summary>
        public int Capacity;
        /// <summary>Frames this far behind the sampled position are let go (seconds).</summary>
        public double KeepBehindS = 1.0;

        public JitterBuffer(int capacity = 1024)
        {
            Capacity = Math.Max(2, capacity);
        }

        public int Count { get { lock (gate) return frames.Count; } }
        public long Received { get { lock (gate) return received; } }

        /// <summary>The frame that arrived last (whatever its pts): for avatars without audio
        /// ("performing" ones) or a quick look.</summary>
        public AnimFrame Latest { get { lock (gate) return latest; } }

        /// <summary>The highest utterance number seen, or 0.</summary>
        public long LatestUtterance
        {
            get { lock (gate) return frames.Count > 0 ? frames[frames.Count - 1].Utterance : latest != null ? latest.Utterance : 0; }
        }

        static int Compare(AnimFrame a, long utt, double pts)
        {
            if (a.Utterance != utt) return a.Utterance < utt ? -1 : 1;
            return a.Pts < pts ? -1 : a.Pts > pts ? 1 : 0;
        }

        // first index whose key is > (utt, pts)
        int UpperBound(long utt, double pts)
        {
            int lo = 0, hi = frames.Count;
            while (lo < hi)
            {
                int mid = (lo + hi) >> 1;
                if (Compare(frames[mid], utt, pts) <= 0) lo = mid + 1;
                else hi = mid;
            }
            return lo;
        }

        public void Add(AnimFrame f)
        {
            if (f == null) return;
            lock (gate)
            {
                received++;
                latest = f;
                int n = frames.Count;
                if (n == 0 || Compare(frames[n - 1], f.Utterance, f.Pts) < 0) frames.Add(f);
                else
                {
                    int i = UpperBound(f.Utterance, f.Pts);
                    if (i > 0 && Compare(frames[i - 1], f.Utterance, f.Pts) == 0) frames[i - 1] = f; // the same frame again
                    else frames.Insert(i, f);
                }
                if (frames.Count > Capacity) frames.RemoveRange(0, frames.Count - Capacity);
            }
        }

        /// <summary>The newest frame of <paramref name="utterance"/> with pts ≤ <paramref name="position"/>
        /// (seconds of that utterance's audio). False when none has arrived yet. Frames well behind
        /// it, and older utterances, are let go.</summary>
        public bool TrySample(long utterance, double position, out AnimFrame frame)
        {
            frame = null;
            lock (gate)
            {
                int i = UpperBound(utterance, position) - 1;
                if (i < 0 || frames[i].Utterance != utterance) return false;
                frame = frames[i];
                // let go of what cannot be asked for again (unless the audio seeks back)
                int drop = UpperBound(utterance, position - KeepBehindS);
                int firstOfUtt = LowerBoundUtterance(utterance);
                int cut = Math.Max(firstOfUtt, Math.Min(drop, i));
                if (cut > 0) frames.RemoveRange(0, cut);
                return true;
            }
        }

        /// <summary>As <see cref="TrySample(long, double, out AnimFrame)"/> on the newest utterance.</summary>
        public bool TrySample(double position, out AnimFrame frame)
        {
            long u;
            lock (gate) u = frames.Count > 0 ? frames[frames.Count - 1].Utterance : 0;
            return TrySample(u, position, out frame);
        }

        int LowerBoundUtterance(long utt)
        {
            int lo = 0, hi = frames.Count;
            while (lo < hi)
            {
                int mid = (lo + hi) >> 1;
                if (frames[mid].Utterance < utt) lo = mid + 1;
                else hi = mid;
            }
            return lo;
        }

        /// <summary>True when the final frame of <paramref name="utterance"/> is in the buffer.</summary>
        public bool HasFinal(long utterance)
        {
            lock (gate)
            {
                for (int i = frames.Count - 1; i >= 0; i--)
                {
                    if (frames[i].Utterance < utterance) break;
                    if (frames[i].Utterance == utterance && frames[i].Final) return true;
                }
                return false;
            }
        }

        /// <summary>The highest pts received for <paramref name="utterance"/>, or -1: how far ahead of the audio the buffer is.</summary>
        public double BufferedUntil(long utterance)
        {
            lock (gate)
            {
                for (int i = frames.Count - 1; i >= 0; i--)
                    if (frames[i].Utterance == utterance) return frames[i].Pts;
                return -1;
            }
        }

        /// <summary>A copy of the frames held, oldest first (tools, tests).</summary>
        public List<AnimFrame> Snapshot()
        {
            lock (gate) return new List<AnimFrame>(frames);
        }

        public void Clear()
        {
            lock (gate)
            {
                frames.Clear();
                latest = null;
            }
        }
    }
}
