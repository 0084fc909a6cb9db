using FaceBridge.Core;
using UnityEngine;

namespace FaceBridge
{
    /// <summary>Optional: streams a microphone to the avatar as 20 ms pcm chunks (the daemon's
    /// streaming path, ~45 ms from sound to frame). The face shows the newest frames. With
    /// Listen, the microphone is the user's voice (`listen`): the avatar listens and reacts
    /// (FaceBridgeClient.OnListeningEvent) instead of mouthing it.</summary>
    [AddComponentMenu("FaceBridge/Microphone Streamer")]
    public class MicrophoneStreamer : MonoBehaviour
    {
        public FaceBridgeClient client;
        [Tooltip("Empty: the default microphone.")]
        public string device = "";
        [Tooltip("One of 8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000.")]
        public int sampleRate = 16000;
        public bool streamWhenReady = false;
        [Tooltip("Send the microphone as the user's voice (listen: the avatar nods, raises its brows...) instead of speak (the avatar mouths it).")]
        public bool listen = false;

        AudioClip mic;
        int readPos;
        PcmStreamer streamer;

        public bool IsStreaming { get { return streamer != null; } }

        string Device { get { return string.IsNullOrEmpty(device) ? null : device; } }

        public void Begin()
        {
            if (streamer != null || client == null) return;
            mic = Microphone.Start(Device, true, 2, sampleRate);
            readPos = 0;
            if (listen)
            {
                streamer = client.BeginListening(sampleRate); // End() ends the user's turn
                return;
            }
            streamer = client.BeginStream(sampleRate);
            client.StreamPosition = () => streamer == null ? double.MaxValue : streamer.SamplesPushed / (double)sampleRate;
        }

        public void End()
        {
            if (streamer == null) return;
            Read();
            streamer.End();
            streamer = null;
            Microphone.End(Device);
        }

        void Update()
        {
            if (streamer == null && streamWhenReady && client != null && client.IsAvatarReady) Begin();
            if (streamer != null) Read();
        }

        void Read()
        {
            if (mic == null) return;
            int pos = Microphone.GetPosition(Device);
            int n = pos - readPos;
            if (n < 0) n += mic.samples;
            if (n <= 0) return;
            var data = new float[n * mic.channels];
            if (readPos + n <= mic.samples) mic.GetData(data, readPos);
            else
            {
                var first = new float[(mic.samples - readPos) * mic.channels];
                var second = new float[(n - (mic.samples - readPos)) * mic.channels];
                mic.GetData(first, readPos);
                mic.GetData(second, 0);
                first.CopyTo(data, 0);
                second.CopyTo(data, first.Length);
            }
            streamer.Push(data, 0, n, mic.channels);
            readPos = pos;
        }

        void OnDisable()
        {
            End();
        }
    }
}
