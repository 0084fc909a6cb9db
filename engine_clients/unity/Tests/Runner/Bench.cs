// Decode benchmark: µs per decode of tests/golden/frame_anim.msgpack (topic, header, 52
// blendshapes, 6 head pose floats), decoded into a reused frame as the network thread does.
// Prints `decode_us=<x>` (bench/clients.py collects it).
//
//   mono runner.exe --golden tests/golden --only bench [--bench 200000]
using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using FaceBridge.Core;

namespace FaceBridge.Tests
{
    public static class Bench
    {
        public static void Run(Args args)
        {
            var parts = GoldenTests.ReadParts(Path.Combine(args.Golden, "frame_anim.msgpack"));
            var perf = GoldenTests.ReadParts(Path.Combine(args.Golden, "frame_performing.msgpack"));
            var dec = new FrameDecoder();
            var frame = new AnimFrame();
            int n = Math.Max(1000, args.BenchIterations);
            for (int i = 0; i < Math.Min(n, 20000); i++) dec.TryDecodeAnim(parts, frame); // JIT, caches
            double best = double.MaxValue;
            long gc0 = GC.CollectionCount(0);
            for (int round = 0; round < 5; round++)
            {
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < n / 5; i++)
                    if (!dec.TryDecodeAnim(parts, frame)) throw new InvalidOperationException(dec.LastError);
                best = Math.Min(best, sw.Elapsed.TotalMilliseconds * 1000.0 / (n / 5));
            }
            long gcs = GC.CollectionCount(0) - gc0;
            var sw2 = Stopwatch.StartNew();
            int m = Math.Max(100, n / 20);
            for (int i = 0; i < m; i++) dec.TryDecodeAnim(perf, frame);
            double withLandmarks = sw2.Elapsed.TotalMilliseconds * 1000.0 / m;
            T.Out("decode_us=" + best.ToString("0.000", CultureInfo.InvariantCulture));
            T.Out("  (frame_anim: best of 5 rounds of " + n / 5 + "; " + gcs + " gen-0 collections during them; " +
                  "frame_performing with 478 landmarks: " + withLandmarks.ToString("0.000", CultureInfo.InvariantCulture) + " us)");
        }
    }
}
