// Unity glue: thin on purpose. Everything that can be tested without Unity is in Runtime/Core.
using System;
using System.IO;
using FaceBridge.Core;
using UnityEngine;

namespace FaceBridge
{
    public enum RenderKind
    {
        None,
        /// <summary>the daemon's warp renderer (fast, CPU)</summary>
        Warp,
        /// <summary>the trained generator</summary>
        Gan,
    }

    /// <summary>What the face follows.</summary>
    public enum PlaybackKind
    {
        /// <summary>the newest frame that arrived (no audio: a "performing" avatar, a listening one, or idle)</summary>
        Latest,
        /// <summary>a clip given to Speak, played by the AudioSource: frames at its playback position</summary>
        Clip,
        /// <summary>a stream (BeginStream): frames at the position StreamPosition reports</summary>
        Stream,
    }

    /// <summary>Connects to a `facebridge serve` daemon, creates the avatar from a face image and
    /// keeps its frames. Speak(clip) sends the clip, and on the daemon's `ok` plays it on the
    /// AudioSource: the face (BlendshapeDriver, TextureDriver) follows the audio's position.
    /// BeginListening sends the user's voice instead: the avatar listens and reacts
    /// (OnListeningEvent). Networking runs on a background thread; nothing here waits on it.</summary>
    [DisallowMultipleComponent]
    [AddComponentMenu("FaceBridge/FaceBridge Client")]
    public class FaceBridgeClient : MonoBehaviour
    {
        [Header("Daemon (facebridge serve)")]
        public string controlEndpoint = "tcp://127.0.0.1:5555";
        public string dataEndpoint = "tcp://127.0.0.1:5556";
        [Tooltip("Empty: the video port the daemon announces, on the control endpoint's host.")]
        public string videoEndpoint = "";

        [Header("Avatar")]
        [Tooltip("The face image (Texture2D with Read/Write enabled, or set Face Image Path).")]
        public Texture2D faceImage;
        [Tooltip("An image file (PNG/JPEG/WebP): absolute, or relative to StreamingAssets. Used before Face Image.")]
        public string faceImagePath = "";
        [Tooltip("The avatar id to ask for (empty: the daemon assigns one).")]
        public string avatarName = "";
        [Tooltip("Also receive rendered frames (for a TextureDriver).")]
        public RenderKind render = RenderKind.None;
        [Range(64, 1024)] public int videoSize = 512;
        public bool createOnStart = true;

        [Header("Audio")]
        [Tooltip("Plays the clips given to Speak; the face follows its position.")]
        public AudioSource audioSource;

        [Header("CURVE (daemon started with --curve-keys)")]
        [Tooltip("The folder from `facebridge keys --out DIR` (server.key, clients/client.key_secret). Or paste the keys below.")]
        public string curveKeysFolder = "";
        public string serverPublicKey = "";
        public string clientPublicKey = "";
        public string clientSecretKey = "";

        [Header("Advanced")]
        public bool logInfo = false;
        [Tooltip("Seconds the stream's audio output lags the samples pushed (BeginStream without a position source).")]
        public float streamLatency = 0.1f;

        public FaceBridgeConnection Connection { get; private set; }
        /// <summary>The avatar's id once created (also while it is re-created after a daemon restart).</summary>
        public string AvatarId { get; private set; }
        public bool IsAvatarReady { get { return Connection != null && AvatarId != null && Connection.IsAvatarReady(AvatarId); } }
        public PlaybackKind Playback { get; private set; }
        /// <summary>The utterance the face follows (from the speak's `ok`), or 0.</summary>
        public long CurrentUtterance { get; private set; }
        /// <summary>For streams: the playback position (s) of the streamed audio, if you play it yourself.</summary>
        public Func<double> StreamPosition;

        public event Action<string> AvatarCreated;
        public event Action<long> UtteranceStarted;
        /// <summary>A reaction of the listening avatar (nod, brow_raise, smile, concern, frown, blink,
        /// gaze_shift, inhale…) whose frame arrived: raised in Update, on the main thread, once per
        /// event. Its T is on the listening turn's pts clock (seconds of the user's audio).</summary>
        public event Action<ListeningEvent> OnListeningEvent;

        PcmStreamer streamer;
        double streamStart, clipStart;
        AudioClip playing;

        void OnEnable()
        {
            CurveOptions curve;
            try { curve = Curve(); }
            catch (Exception e)
            {
                Debug.LogError("[FaceBridge] cannot read the CURVE keys (" + e.Message + "): check Curve Keys Folder", this);
                return;
            }
            var options = new ClientOptions
            {
                ControlEndpoint = controlEndpoint,
                DataEndpoint = dataEndpoint,
                VideoEndpoint = string.IsNullOrEmpty(videoEndpoint) ? null : videoEndpoint,
                VideoBottomUp = true, // Texture2D rows start at the bottom
                Curve = curve,
            };
            Connection = new FaceBridgeConnection(options, new UnityLog(name, logInfo));
            Connection.ListeningEventsReceived += RaiseListeningEvents; // run by DispatchCallbacks in Update
            Connection.Start();
            if (createOnStart) CreateAvatar();
        }

        void OnDisable()
        {
            if (Connection != null) Connection.Dispose(); // returns at once; the thread closes the sockets
            Connection = null;
            AvatarId = null;
        }

        void Update()
        {
            if (Connection != null) Connection.DispatchCallbacks();
        }

        void RaiseListeningEvents(AnimFrame frame)
        {
            var handler = OnListeningEvent;
            if (handler == null || frame.Avatar != AvatarId || frame.Events == null) return;
            foreach (var e in frame.Events) handler(e);
        }

        CurveOptions Curve()
        {
            if (!string.IsNullOrEmpty(curveKeysFolder)) return CurveOptions.FromKeysFolder(curveKeysFolder);
            if (string.IsNullOrEmpty(serverPublicKey)) return null;
            return new CurveOptions(serverPublicKey.Trim(), clientPublicKey.Trim(), clientSecretKey.Trim());
        }

        byte[] ImageBytes()
        {
            if (!string.IsNullOrEmpty(faceImagePath))
            {
                string path = Path.IsPathRooted(faceImagePath) ? faceImagePath : Path.Combine(Application.streamingAssetsPath, faceImagePath);
                return File.ReadAllBytes(path);
            }
            if (faceImage != null) return faceImage.EncodeToPNG(); // needs Read/Write enabled on the texture
            return null;
        }

        /// <summary>Creates the avatar (createOnStart does it in OnEnable).</summary>
        public Request CreateAvatar()
        {
            byte[] image;
            try { image = ImageBytes(); }
            catch (Exception e)
            {
                Debug.LogError("[FaceBridge] cannot read the face image: " + e.Message, this);
                return null;
            }
            if (image == null)
            {
                Debug.LogError("[FaceBridge] set Face Image (Read/Write enabled) or Face Image Path", this);
                return null;
            }
            string r = render == RenderKind.None ? null : render == RenderKind.Warp ? "warp" : "gan";
            return Connection.CreateAvatar(image, string.IsNullOrEmpty(avatarName) ? null : avatarName, r,
                                           render == RenderKind.None ? 0 : videoSize, req =>
            {
                if (!req.Succeeded)
                {
                    Debug.LogError("[FaceBridge] create_avatar failed: " + req.ErrorCode + ": " + req.ErrorMessage, this);
                    return;
                }
                AvatarId = req.Reply.GetString("avatar");
                Connection.Subscribe(AvatarId, render != RenderKind.None);
                if (AvatarCreated != null) AvatarCreated(AvatarId);
            });
        }

        /// <summary>Speaks a clip: sends it (as a WAV), and when the daemon answers `ok` plays it
        /// on the AudioSource; the face follows the clip's position.</summary>
        public Request Speak(AudioClip clip, string text = null, string emotion = null)
        {
            if (!Check() || clip == null) return null;
            var samples = new float[clip.samples * clip.channels];
            clip.GetData(samples, 0);
            return Connection.SpeakSamples(AvatarId, samples, clip.channels, clip.frequency, text, emotion, r =>
            {
                if (!r.Succeeded)
                {
                    Debug.LogWarning("[FaceBridge] speak failed: " + r.ErrorCode + ": " + r.ErrorMessage, this);
                    return;
                }
                CurrentUtterance = r.Reply.GetLong("utterance");
                Playback = PlaybackKind.Clip;
                playing = clip;
                clipStart = Time.realtimeSinceStartupAsDouble;
                if (audioSource != null)
                {
                    audioSource.clip = clip;
                    audioSource.Play(); // pts 0 = the clip's first sample, from now
                }
                if (UtteranceStarted != null) UtteranceStarted(CurrentUtterance);
            });
        }

        /// <summary>Starts streaming an utterance (microphone, TTS): push samples into the returned
        /// streamer as they come (any thread), then call End() on it.</summary>
        public PcmStreamer BeginStream(int rate, string text = null, string emotion = null)
        {
            if (!Check()) return null;
            streamer = new PcmStreamer(Connection, AvatarId, rate, 20, text, emotion);
            Playback = PlaybackKind.Stream;
            CurrentUtterance = 0; // known from the first chunk's reply
            streamStart = Time.realtimeSinceStartupAsDouble;
            return streamer;
        }

        /// <summary>Starts a listening turn: push the user's voice (a microphone) into the returned
        /// streamer as it is captured (any thread), then End() it when the user's turn ends. The
        /// avatar listens and reacts: the face shows the newest frame as it arrives, and
        /// OnListeningEvent reports its reactions. A later Speak hands the turn over to the avatar.</summary>
        public PcmStreamer BeginListening(int rate)
        {
            if (!Check()) return null;
            Playback = PlaybackKind.Latest; // listening frames are due as they arrive
            CurrentUtterance = 0;
            return PcmStreamer.ForListening(Connection, AvatarId, rate);
        }

        bool Check()
        {
            if (Connection == null || AvatarId == null)
            {
                Debug.LogWarning("[FaceBridge] the avatar is not created yet (wait for AvatarCreated)", this);
                return false;
            }
            return true;
        }

        /// <summary>Seconds into the current utterance's audio.</summary>
        public double PlaybackPosition
        {
            get
            {
                if (Playback == PlaybackKind.Clip)
                {
                    if (audioSource == null) return Time.realtimeSinceStartupAsDouble - clipStart; // no audio: the wall clock
                    if (audioSource.clip == playing && playing != null)
                        return audioSource.isPlaying ? audioSource.timeSamples / (double)playing.frequency : double.MaxValue;
                    return double.MaxValue; // finished or replaced: hold the last frame
                }
                if (Playback == PlaybackKind.Stream)
                {
                    if (StreamPosition != null) return StreamPosition();
                    return Time.realtimeSinceStartupAsDouble - streamStart - streamLatency;
                }
                return double.MaxValue;
            }
        }

        /// <summary>The frame to show now: at the audio's position for a clip or stream (the newest
        /// with pts ≤ position), else the newest that arrived. False until one has.</summary>
        public bool TryGetFrame(out AnimFrame frame)
        {
            frame = null;
            if (Connection == null || AvatarId == null) return false;
            var buffer = Connection.Buffer(AvatarId);
            if (Playback == PlaybackKind.Stream && CurrentUtterance == 0 && streamer != null) CurrentUtterance = streamer.Utterance;
            if (Playback != PlaybackKind.Latest && CurrentUtterance > 0)
            {
                if (buffer.TrySample(CurrentUtterance, PlaybackPosition, out frame)) return true;
                return false; // the utterance's first frame is not due yet: keep the face as it is
            }
            frame = buffer.Latest;
            return frame != null;
        }

        /// <summary>Stops the avatar's utterance (frames not yet sent are cancelled) and the audio.</summary>
        public Request StopSpeaking()
        {
            if (audioSource != null) audioSource.Stop();
            Playback = PlaybackKind.Latest;
            return Check() ? Connection.StopAvatar(AvatarId) : null;
        }

        public Request SetEmotion(string emotion)
        {
            return Check() ? Connection.SetEmotion(AvatarId, emotion) : null;
        }
    }

    /// <summary>The client's messages in the Unity console. Called from the network thread
    /// too: Debug.Log is thread-safe, a context object is not passed.</summary>
    public sealed class UnityLog : ILog
    {
        readonly string prefix;
        readonly bool info;

        public UnityLog(string name, bool info)
        {
            prefix = "[FaceBridge " + name + "] ";
            this.info = info;
        }

        public void Info(string message) { if (info) Debug.Log(prefix + message); }
        public void Warn(string message) { Debug.LogWarning(prefix + message); }
        public void Error(string message) { Debug.LogError(prefix + message); }
    }
}
