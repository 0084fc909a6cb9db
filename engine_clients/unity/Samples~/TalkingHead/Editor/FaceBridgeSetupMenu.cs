using FaceBridge;
using UnityEditor;
using UnityEngine;

/// <summary>GameObject > FaceBridge > Talking Head: a FaceBridge client with an AudioSource, a
/// BlendshapeDriver on the selected object's SkinnedMeshRenderers, the sample's Space-to-speak
/// script, and a quad with a TextureDriver for the rendered video.</summary>
public static class FaceBridgeSetupMenu
{
    [MenuItem("GameObject/FaceBridge/Talking Head", false, 10)]
    static void CreateTalkingHead()
    {
        var selected = Selection.activeGameObject;
        var root = new GameObject("FaceBridge");
        var client = root.AddComponent<FaceBridgeClient>();
        client.audioSource = root.AddComponent<AudioSource>();
        client.render = RenderKind.Warp;
        client.videoSize = 256;

        var driver = root.AddComponent<BlendshapeDriver>();
        driver.client = client;
        if (selected != null)
            driver.renderers = selected.GetComponentsInChildren<SkinnedMeshRenderer>();

        var sample = root.AddComponent<TalkingHeadSample>();
        sample.client = client;

        var quad = GameObject.CreatePrimitive(PrimitiveType.Quad);
        quad.name = "FaceBridge video";
        quad.transform.SetParent(root.transform, false);
        quad.transform.localPosition = new Vector3(1.5f, 1.5f, 0f);
        var video = quad.AddComponent<TextureDriver>();
        video.client = client;
        video.targetRenderer = quad.GetComponent<Renderer>();

        Undo.RegisterCreatedObjectUndo(root, "Create FaceBridge Talking Head");
        Selection.activeGameObject = root;
        Debug.Log("FaceBridge: set Face Image (or Face Image Path) and the sample's clip on " + root.name +
                  ", start `facebridge serve`, press Play.");
    }
}
