// The test runner: a console program compiled with mono's mcs together with Runtime/Core and
// Runtime/Transport (no UnityEngine). tests/test_unity_client.py builds and runs it against a
// live `facebridge serve`; it can also be run by hand (see the README, "Tests").
//
//   mono runner.exe --golden tests/golden --samples samples [--control EP --data EP --video EP]
//        [--clip-out F --stream-out F] [--handshake] [--curve-control EP --curve-data EP --curve-keys DIR]
//        [--bench N] [--only offline|bench]
//
// Prints "ok - NAME" / "FAIL - NAME: why" per test, then "N passed, M failed"; exits 1 on any
// failure. With --handshake it asks the wrapper to stop and start the daemon: it prints
// "@@STOP_DAEMON" (or "@@START_DAEMON") and waits for a line ("stopped" / "started") on stdin.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Threading;
using FaceBridge.Core;

namespace FaceBridge.Tests
{
    public sealed class CheckFailed : Exception
    {
        public CheckFailed(string m) : base(m) { }
    }

    public sealed class SkipTest : Exception
    {
        public SkipTest(string m) : base(m) { }
    }

    public static class T
    {
        public static int Passed, Failed, Skipped;
        public static readonly List<string> Failures = new List<string>();

        public static void Run(string name, Action body)
        {
            var sw = Stopwatch.StartNew();
            try
            {
                body();
                Passed++;
                Out("ok - " + name + " (" + sw.ElapsedMilliseconds + " ms)");
            }
            catch (SkipTest e)
            {
                Skipped++;
                Out("skip - " + name + ": " + e.Message);
            }
            catch (Exception e)
            {
                Failed++;
                string why = e is CheckFailed ? e.Message : e.GetType().Name + ": " + e.Message + "\n" + e.StackTrace;
                Failures.Add(name + ": " + why);
                Out("FAIL - " + name + ": " + why);
            }
        }

        public static void Out(string line)
        {
            lock (Console.Out)
            {
                Console.Out.WriteLine(line);
                Console.Out.Flush();
            }
        }

        public static void Check(bool ok, string what)
        {
            if (!ok) throw new CheckFailed(what);
        }

        public static void Eq(object expected, object actual, string what)
        {
            if (!Equals(expected, actual)) throw new CheckFailed(what + ": expected " + Show(expected) + ", got " + Show(actual));
        }

        public static void Near(double expected, double actual, double tol, string what)
        {
            if (!(Math.Abs(expected - actual) <= tol)) throw new CheckFailed(what + ": expected " + expected.ToString("R") + " ± " + tol + ", got " + actual.ToString("R"));
        }

        public static string Show(object o)
        {
            if (o == null) return "null";
            if (o is string) return "\"" + o + "\"";
            if (o is byte[]) return "bytes[" + ((byte[])o).Length + "]";
            if (o is double) return ((double)o).ToString("R", CultureInfo.InvariantCulture);
            return o.ToString();
        }

        /// <summary>Waits (polling) until cond holds or the timeout passes.</summary>
        public static bool WaitFor(Func<bool> cond, int timeoutMs, int stepMs = 5)
        {
            var sw = Stopwatch.StartNew();
            while (!cond())
            {
                if (sw.ElapsedMilliseconds > timeoutMs) return false;
                Thread.Sleep(stepMs);
            }
            return true;
        }
    }

    /// <summary>A log that keeps what it was told (tests count warnings).</summary>
    public sealed class CapturingLog : ILog
    {
        public readonly List<string> Infos = new List<string>(), Warnings = new List<string>(), Errors = new List<string>();
        public bool Echo;

        public void Info(string m) { lock (this) Infos.Add(m); if (Echo) T.Out("  [info] " + m); }
        public void Warn(string m) { lock (this) Warnings.Add(m); if (Echo) T.Out("  [warn] " + m); }
        public void Error(string m) { lock (this) Errors.Add(m); if (Echo) T.Out("  [error] " + m); }

        public int WarnCount { get { lock (this) return Warnings.Count; } }
        public int ErrorCount { get { lock (this) return Errors.Count; } }
        public string All { get { lock (this) return string.Join(" | ", Warnings.ToArray()) + " || " + string.Join(" | ", Errors.ToArray()); } }
    }

    public sealed class Args
    {
        public string Golden, Samples, Control, Data, Video, ClipOut, StreamOut, CurveControl, CurveData, CurveKeys, Only, PackageDir;
        public bool Handshake;
        public int BenchIterations = 200000;

        public static Args Parse(string[] argv)
        {
            var a = new Args();
            for (int i = 0; i < argv.Length; i++)
            {
                string k = argv[i];
                Func<string> v = () =>
                {
                    if (i + 1 >= argv.Length) throw new ArgumentException(k + " needs a value");
                    return argv[++i];
                };
                switch (k)
                {
                    case "--golden": a.Golden = v(); break;
                    case "--samples": a.Samples = v(); break;
                    case "--package": a.PackageDir = v(); break;
                    case "--control": a.Control = v(); break;
                    case "--data": a.Data = v(); break;
                    case "--video": a.Video = v(); break;
                    case "--clip-out": a.ClipOut = v(); break;
                    case "--stream-out": a.StreamOut = v(); break;
                    case "--curve-control": a.CurveControl = v(); break;
                    case "--curve-data": a.CurveData = v(); break;
                    case "--curve-keys": a.CurveKeys = v(); break;
                    case "--bench": a.BenchIterations = int.Parse(v(), CultureInfo.InvariantCulture); break;
                    case "--only": a.Only = v(); break;
                    case "--handshake": a.Handshake = true; break;
                    default: throw new ArgumentException("unknown argument " + k);
                }
            }
            if (a.Golden == null) throw new ArgumentException("--golden DIR is required");
            return a;
        }
    }

    public static class Program
    {
        public static int Main(string[] argv)
        {
            Args args;
            try { args = Args.Parse(argv); }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine("runner: " + e.Message);
                return 2;
            }
            var total = Stopwatch.StartNew();
            T.Out("facebridge Unity client tests (runtime " + Environment.Version + ")");
            if (args.Only == "bench")
            {
                Bench.Run(args);
                return 0;
            }
            GoldenTests.Run(args);
            OfflineTests.Run(args);
            if (args.Only != "offline")
            {
                FakeDaemonTests.Run(args);
                if (args.Control != null) LiveTests.Run(args);
                else T.Out("skip - live tests: no --control/--data given");
                Bench.Run(args);
            }
            T.Out(T.Passed + " passed, " + T.Failed + " failed" + (T.Skipped > 0 ? ", " + T.Skipped + " skipped" : "") +
                  " in " + (total.ElapsedMilliseconds / 1000.0).ToString("0.0", CultureInfo.InvariantCulture) + " s");
            foreach (var f in T.Failures) Console.Error.WriteLine("FAILED: " + f);
            return T.Failed == 0 ? 0 : 1;
        }
    }
}
