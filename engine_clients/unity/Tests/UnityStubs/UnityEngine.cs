// UnityEngine stand-ins: ONLY for type-checking Runtime/Unity and the samples with mono's mcs
// (tests/test_unity_client.py). Signatures follow Unity 2021.3's API for the members the glue
// uses; bodies do nothing useful. Unity never compiles this folder (its asmdef has a define
// constraint nobody sets).
#pragma warning disable 67, 169, 414, 649
using System;

namespace UnityEngine
{
    public class Object
    {
        public string name { get; set; }
        public static void Destroy(Object obj) { }
        public static void DestroyImmediate(Object obj) { }
        public static implicit operator bool(Object o) { return !ReferenceEquals(o, null); }
    }

    public class Component : Object
    {
        public Transform transform { get { return null; } }
        public GameObject gameObject { get { return null; } }
        public T GetComponent<T>() { return default(T); }
        public T[] GetComponentsInChildren<T>() { return new T[0]; }
    }

    public class Behaviour : Component
    {
        public bool enabled { get; set; }
    }

    public class MonoBehaviour : Behaviour { }

    public class ScriptableObject : Object { }

    public enum PrimitiveType { Sphere, Capsule, Cylinder, Cube, Plane, Quad }

    public sealed class GameObject : Object
    {
        public GameObject(string name) { this.name = name; }
        public Transform transform { get { return null; } }
        public T AddComponent<T>() where T : Component { return default(T); }
        public T GetComponent<T>() { return default(T); }
        public T[] GetComponentsInChildren<T>() { return new T[0]; }
        public static GameObject CreatePrimitive(PrimitiveType type) { return new GameObject(type.ToString()); }
    }

    public class Transform : Component
    {
        public Quaternion localRotation { get; set; }
        public Vector3 localPosition { get; set; }
        public void SetParent(Transform parent, bool worldPositionStays) { }
    }

    public struct Vector2
    {
        public float x, y;
        public Vector2(float x, float y) { this.x = x; this.y = y; }
    }

    public struct Vector3
    {
        public float x, y, z;
        public Vector3(float x, float y, float z) { this.x = x; this.y = y; this.z = z; }
    }

    public struct Quaternion
    {
        public float x, y, z, w;
        public Quaternion(float x, float y, float z, float w) { this.x = x; this.y = y; this.z = z; this.w = w; }
        public static Quaternion identity { get { return new Quaternion(0, 0, 0, 1); } }
        public static Quaternion operator *(Quaternion a, Quaternion b) { return a; }
        public static Quaternion Slerp(Quaternion a, Quaternion b, float t) { return a; }
    }

    public struct Rect
    {
        public Rect(float x, float y, float width, float height) { }
    }

    public static class Mathf
    {
        public static float Lerp(float a, float b, float t) { return a + (b - a) * t; }
        public static float Clamp01(float v) { return v < 0 ? 0 : v > 1 ? 1 : v; }
    }

    public class Mesh : Object
    {
        public int blendShapeCount { get { return 0; } }
        public string GetBlendShapeName(int shapeIndex) { return ""; }
    }

    public class Renderer : Component
    {
        public Material material { get; set; }
        public Material sharedMaterial { get; set; }
    }

    public class SkinnedMeshRenderer : Renderer
    {
        public Mesh sharedMesh { get; set; }
        public float GetBlendShapeWeight(int index) { return 0; }
        public void SetBlendShapeWeight(int index, float value) { }
    }

    public class Material : Object
    {
        public void SetTexture(string name, Texture value) { }
        public void SetTextureScale(string name, Vector2 value) { }
        public void SetTextureOffset(string name, Vector2 value) { }
    }

    public enum TextureWrapMode { Repeat, Clamp, Mirror, MirrorOnce }
    public enum TextureFormat { Alpha8 = 1, RGB24 = 3, RGBA32 = 4 }

    public class Texture : Object
    {
        public virtual int width { get; set; }
        public virtual int height { get; set; }
        public TextureWrapMode wrapMode { get; set; }
    }

    public sealed class Texture2D : Texture
    {
        public Texture2D(int width, int height, TextureFormat textureFormat, bool mipChain) { }
        public void LoadRawTextureData(byte[] data) { }
        public void Apply(bool updateMipmaps) { }
    }

    public static class ImageConversion
    {
        public static byte[] EncodeToPNG(this Texture2D tex) { return new byte[0]; }
    }

    public class TextAsset : Object
    {
        public string text { get { return ""; } }
    }

    public sealed class AudioClip : Object
    {
        public int samples { get { return 0; } }
        public int channels { get { return 1; } }
        public int frequency { get { return 48000; } }
        public float length { get { return 0; } }
        public bool GetData(float[] data, int offsetSamples) { return true; }
    }

    public sealed class AudioSource : Behaviour
    {
        public AudioClip clip { get; set; }
        public bool isPlaying { get { return false; } }
        public int timeSamples { get; set; }
        public float time { get; set; }
        public void Play() { }
        public void Stop() { }
    }

    public sealed class Microphone
    {
        public static AudioClip Start(string deviceName, bool loop, int lengthSec, int frequency) { return null; }
        public static void End(string deviceName) { }
        public static int GetPosition(string deviceName) { return 0; }
    }

    public sealed class Debug
    {
        public static void Log(object message) { }
        public static void Log(object message, Object context) { }
        public static void LogWarning(object message) { }
        public static void LogWarning(object message, Object context) { }
        public static void LogError(object message) { }
        public static void LogError(object message, Object context) { }
    }

    public sealed class Application
    {
        public static string streamingAssetsPath { get { return ""; } }
    }

    public sealed class Time
    {
        public static double realtimeSinceStartupAsDouble { get { return 0; } }
        public static float time { get { return 0; } }
    }

    public enum KeyCode { None = 0, Space = 32, Return = 13 }

    public sealed class Input
    {
        public static bool GetKeyDown(KeyCode key) { return false; }
    }

    public class GUI
    {
        public static void Label(Rect position, string text) { }
    }

    [AttributeUsage(AttributeTargets.Field)]
    public class PropertyAttribute : Attribute { }

    public sealed class HeaderAttribute : PropertyAttribute
    {
        public HeaderAttribute(string header) { }
    }

    public sealed class TooltipAttribute : PropertyAttribute
    {
        public TooltipAttribute(string tooltip) { }
    }

    public sealed class RangeAttribute : PropertyAttribute
    {
        public RangeAttribute(float min, float max) { }
    }

    public sealed class TextAreaAttribute : PropertyAttribute { }

    [AttributeUsage(AttributeTargets.Field)]
    public sealed class SerializeField : Attribute { }

    [AttributeUsage(AttributeTargets.Class)]
    public sealed class AddComponentMenu : Attribute
    {
        public AddComponentMenu(string menuName) { }
    }

    [AttributeUsage(AttributeTargets.Class)]
    public sealed class DisallowMultipleComponent : Attribute { }

    [AttributeUsage(AttributeTargets.Class)]
    public sealed class CreateAssetMenuAttribute : Attribute
    {
        public string menuName { get; set; }
        public string fileName { get; set; }
        public int order { get; set; }
    }
}

namespace UnityEngine.Events
{
    public class UnityEvent<T0>
    {
        public void Invoke(T0 arg0) { }
        public void AddListener(Action<T0> call) { }
    }
}
