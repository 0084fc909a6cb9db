using System;

namespace FaceBridge.Core
{
    /// <summary>Where the client's messages go. The Unity glue sends them to Debug.Log*; it
    /// may be called from the network thread (Unity's Debug.Log is thread-safe).</summary>
    public interface ILog
    {
        void Info(string message);
        void Warn(string message);
        void Error(string message);
    }

    public sealed class ConsoleLog : ILog
    {
        public bool Quiet;
        public void Info(string message) { if (!Quiet) Console.Error.WriteLine("[facebridge] " + message); }
        public void Warn(string message) { Console.Error.WriteLine("[facebridge] warning: " + message); }
        public void Error(string message) { Console.Error.WriteLine("[facebridge] error: " + message); }
    }

    public sealed class NullLog : ILog
    {
        public static readonly NullLog Instance = new NullLog();
        public void Info(string message) { }
        public void Warn(string message) { }
        public void Error(string message) { }
    }
}
