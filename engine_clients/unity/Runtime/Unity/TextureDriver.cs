using System;
using FaceBridge.Core;
using UnityEngine;
using UnityEngine.Events;

namespace FaceBridge
{
    [Serializable]
    public class TextureEvent : UnityEvent<Texture> { }

    /// <summary>Shows the daemon's rendered frames (avatars created with render warp/gan): the
    /// newest frame goes into a Texture2D (RGB24, rows already flipped for Unity on the network
    /// thread), set on a Renderer's material and/or passed to On Texture (e.g. RawImage.texture).</summary>
    [AddComponentMenu("FaceBridge/Texture Driver")]
    public class TextureDriver : MonoBehaviour
    {
        public FaceBridgeClient client;
        [Tooltip("Optional: its material gets the texture.")]
        public Renderer targetRenderer;
        public string textureProperty = "_MainTex";
        [Tooltip("Called when the texture is (re)created: hook a RawImage's texture here.")]
        public TextureEvent onTexture = new TextureEvent();

        public Texture2D Texture { get; private set; }
        /// <summary>The frame shown last (its pts pairs it with a motion frame).</summary>
        public VideoFrame Frame { get; private set; }

        void Update()
        {
            if (client == null || client.Connection == null || client.AvatarId == null) return;
            VideoFrame v;
            if (!client.Connection.TryTakeVideo(client.AvatarId, out v)) return;
            if (Texture == null || Texture.width != v.Width || Texture.height != v.Height)
            {
                if (Texture != null) Destroy(Texture);
                Texture = new Texture2D(v.Width, v.Height, TextureFormat.RGB24, false) { wrapMode = TextureWrapMode.Clamp, name = "facebridge " + v.Avatar };
                if (targetRenderer != null)
                {
                    targetRenderer.material.SetTexture(textureProperty, Texture);
                    // rows arrive top to bottom unless the client flipped them (VideoBottomUp)
                    targetRenderer.material.SetTextureScale(textureProperty, new Vector2(1f, v.BottomUp ? 1f : -1f));
                    targetRenderer.material.SetTextureOffset(textureProperty, new Vector2(0f, v.BottomUp ? 0f : 1f));
                }
                onTexture.Invoke(Texture);
            }
            Texture.LoadRawTextureData(v.Pixels);
            Texture.Apply(false);
            Frame = v;
        }

        void OnDestroy()
        {
            if (Texture != null) Destroy(Texture);
        }
    }
}
