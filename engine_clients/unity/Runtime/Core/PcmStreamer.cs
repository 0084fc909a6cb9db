using System;

namespace FaceBridge.Core
{
    /// <summary>Streams one utterance of live audio (a microphone, a TTS voice) as `speak` pcm
    /// chunks of <see cref="ChunkMs"/>: push samples as they come (any thread, the audio thread
    /// included: Push only copies and enqueues), then End(). Frames' pts count from the first
    /// sample pushed. Made with <see cref="ForListening"/>, it sends the user's voice as `listen`
    /// chunks instead (one listening turn: the avatar reacts; End() ends the user's turn).</summary>
    public sealed class PcmStreamer
    {
        readonly FaceBridgeConnection connection;
        public readonly string Avatar;
        public readonly int Rate;
        public readonly int ChunkMs;
        readonly int chunk;
        readonly float[] pending;
        int count;
        string text, emotion;
        bool ended;
        /// <summary>True: `listen` chunks (the user's voice), false: `speak` chunks.</summary>
        public readonly bool IsListening;
        long samplesPushed;
        volatile Request firstReply;

        /// <param name="rate">one of the protocol's rates (Protocol.Rates): resample before if needed.</param>
        public PcmStreamer(FaceBridgeConnection connection, string avatar, int rate, int chunkMs = 20, string text = null, string emotion = null)
        {
            if (!Protocol.IsSupportedRate(rate)) throw new ArgumentException("rate " + rate + " is not one of " + string.Join(", ", Array.ConvertAll(Protocol.Rates, r => r.ToString())));
            if (chunkMs < 5 || chunkMs > 1000) throw new ArgumentException("chunkMs must be 5..1000");
            this.connection = connection;
            Avatar = avatar;
            Rate = rate;
            ChunkMs = chunkMs;
            chunk = Math.Max(1, rate * chunkMs / 1000);
            pending = new float[chunk];
            this.text = text;
            this.emotion = emotion;
        }

        PcmStreamer(FaceBridgeConnection connection, string avatar, int rate, int chunkMs, bool listening)
            : this(connection, avatar, rate, chunkMs)
        {
            IsListening = listening;
        }

        /// <summary>A stream of the user's voice (a microphone) as `listen` chunks: the avatar listens
        /// and reacts (frames with mode "listening" and <see cref="AnimFrame.Events"/>).</summary>
        public static PcmStreamer ForListening(FaceBridgeConnection connection, string avatar, int rate, int chunkMs = 20)
        {
            return new PcmStreamer(connection, avatar, rate, chunkMs, true);
        }

        /// <summary>Samples pushed so far (mono): the stream's length in samples.</summary>
        public long SamplesPushed { get { lock (pending) return samplesPushed; } }

        /// <summary>The utterance number (from the first chunk's reply), or 0 before it.</summary>
        public long Utterance
        {
            get
            {
                var r = firstReply;
                return r != null && r.Succeeded ? r.Reply.GetLong("utterance", 0) : 0;
            }
        }

        /// <summary>Adds interleaved samples (channels are averaged to mono).</summary>
        public void Push(float[] samples, int offset, int frames, int channels = 1)
        {
            if (samples == null || frames <= 0) return;
            if (channels < 1) channels = 1;
            if (offset < 0 || offset + frames * channels > samples.Length) throw new ArgumentException("bad sample range");
            lock (pending)
            {
                if (ended) throw new InvalidOperationException("the stream has ended; make a new PcmStreamer");
                for (int i = 0; i < frames; i++)
                {
                    float v;
                    if (channels == 1) v = samples[offset + i];
                    else
                    {
                        v = 0;
                        for (int c = 0; c < channels; c++) v += samples[offset + i * channels + c];
                        v /= channels;
                    }
                    pending[count++] = v;
                    samplesPushed++;
                    if (count == chunk) Flush(false);
                }
            }
        }

        Request Send(bool final)
        {
            return IsListening ? connection.Listen(Avatar, pending, 0, count, Rate, final)
                               : connection.SpeakChunk(Avatar, pending, 0, count, Rate, final, text, emotion);
        }

        void Flush(bool final)
        {
            var r = Send(final);
            if (firstReply == null) firstReply = r;
            text = null;
            emotion = null;
            count = 0;
        }

        /// <summary>Sends what is left as the final chunk (possibly empty) and returns its request:
        /// for speak, its reply gives the utterance's `frames` and `duration_s`.</summary>
        public Request End()
        {
            lock (pending)
            {
                if (ended) throw new InvalidOperationException("the stream has already ended");
                ended = true;
                var r = Send(true);
                if (firstReply == null) firstReply = r;
                count = 0;
                return r;
            }
        }
    }
}
