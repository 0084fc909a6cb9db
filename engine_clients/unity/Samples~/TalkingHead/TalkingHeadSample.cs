using FaceBridge;
using UnityEngine;

/// <summary>The sample's runtime script: press Space to speak the clip; the state of the
/// connection is shown in the corner. Put it next to a FaceBridgeClient (the menu
/// GameObject > FaceBridge > Talking Head builds the whole set-up).</summary>
public class TalkingHeadSample : MonoBehaviour
{
    public FaceBridgeClient client;
    public AudioClip clip;
    [TextArea] public string transcript = "";
    public string emotion = "";
    public KeyCode speakKey = KeyCode.Space;
    public bool speakWhenReady = true;

    bool spoken;

    void Update()
    {
        if (client == null || !client.IsAvatarReady || clip == null) return;
        if ((speakWhenReady && !spoken) || Input.GetKeyDown(speakKey))
        {
            spoken = true;
            client.Speak(clip, string.IsNullOrEmpty(transcript) ? null : transcript, string.IsNullOrEmpty(emotion) ? null : emotion);
        }
    }

    void OnGUI()
    {
        if (client == null || client.Connection == null) return;
        var c = client.Connection;
        string line = "facebridge: " + c.State + (c.LastError != null ? " (" + c.LastError + ")" : "") +
                      "  avatar " + (client.AvatarId ?? "-") + "  utterance " + client.CurrentUtterance +
                      "  frames " + c.FramesReceived + "  rtt " + (c.Clock.BestRttNs / 1e6).ToString("0.0") + " ms";
        GUI.Label(new Rect(10, 10, 1200, 24), line);
    }
}
