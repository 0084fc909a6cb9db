// Name-based blendshape mapping. The daemon's frames carry the 52 weights in the order of
// welcome.schema.blendshape_names; a client maps them by name, never by position alone.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace FaceBridge.Core
{
    public static class ArkitNames
    {
        /// <summary>The 52 ARKit blendshapes in the daemon's canonical order.</summary>
        public static readonly string[] All =
        {
            "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft", "eyeSquintLeft",
            "eyeWideLeft", "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
            "eyeSquintRight", "eyeWideRight", "jawForward", "jawLeft", "jawRight", "jawOpen", "mouthClose",
            "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight", "mouthSmileLeft", "mouthSmileRight",
            "mouthFrownLeft", "mouthFrownRight", "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft",
            "mouthStretchRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
            "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
            "mouthUpperUpRight", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft",
            "browOuterUpRight", "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft",
            "noseSneerRight", "tongueOut",
        };

        public const int Count = 52;

        static readonly Dictionary<string, int> index = BuildIndex();

        static Dictionary<string, int> BuildIndex()
        {
            var d = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < All.Length; i++) d[All[i]] = i;
            return d;
        }

        public static int IndexOf(string name)
        {
            int k;
            return name != null && index.TryGetValue(name, out k) ? k : -1;
        }
    }

    /// <summary>Schema order -> the client's canonical ARKit order. Names the client does not
    /// know are ignored, with one warning per schema.</summary>
    public sealed class SchemaMapping
    {
        /// <summary>For each schema position, its ARKit index, or -1.</summary>
        public readonly int[] ArkitIndex;
        public readonly string[] Unknown;

        public SchemaMapping(string[] schemaNames, ILog log)
        {
            ArkitIndex = new int[schemaNames.Length];
            var unknown = new List<string>();
            var seen = new bool[ArkitNames.Count];
            for (int i = 0; i < schemaNames.Length; i++)
            {
                int k = ArkitNames.IndexOf(schemaNames[i]);
                if (k >= 0 && seen[k]) k = -1; // a duplicate name: the first one wins
                if (k < 0) unknown.Add(schemaNames[i] ?? "(null)");
                else seen[k] = true;
                ArkitIndex[i] = k;
            }
            Unknown = unknown.ToArray();
            if (Unknown.Length > 0 && log != null)
                log.Warn(Unknown.Length + " blendshape name(s) in the daemon's schema are not ARKit names this client knows and are ignored: "
                         + string.Join(", ", Unknown) + " (a newer daemon? update the Unity package)");
        }

        /// <summary>Wire-order weights -> 52 weights in <see cref="ArkitNames.All"/> order (unknown ones dropped).</summary>
        public void ToArkit(float[] wire, float[] arkit)
        {
            Array.Clear(arkit, 0, arkit.Length);
            int n = Math.Min(wire.Length, ArkitIndex.Length);
            for (int i = 0; i < n; i++)
            {
                int k = ArkitIndex[i];
                if (k >= 0) arkit[k] = wire[i];
            }
        }
    }

    /// <summary>One rule of a mapping table: target += weight × source.</summary>
    public struct MappingEntry
    {
        public string Source; // an ARKit name
        public string Target; // a blendshape on the mesh (or a VRM preset for a proxy)
        public float Weight;

        public MappingEntry(string source, string target, float weight = 1f)
        {
            Source = source; Target = target; Weight = weight;
        }
    }

    /// <summary>How ARKit names become a model's blendshapes. With <see cref="PassThrough"/>
    /// every ARKit name also drives a target of the same name (ignoring case, and FBX prefixes
    /// such as "blendShape1."). Entries add weighted sums; a target with entries is driven by
    /// them only. Values are clamped to 0..1 (the driver multiplies by 100 for Unity).</summary>
    public sealed class MappingTable
    {
        public string Name = "ARKit names";
        public bool PassThrough = true;
        public List<MappingEntry> Entries = new List<MappingEntry>();

        public static MappingTable Identity() { return new MappingTable(); }

        /// <summary>{"name", "passthrough": bool, "entries": [{"source", "target", "weight"}]}.
        /// Throws FormatException with the reason.</summary>
        public static MappingTable FromJson(string json)
        {
            var root = Json.Parse(json) as Dictionary<string, object>;
            if (root == null) throw new FormatException("a mapping is a JSON object");
            var t = new MappingTable();
            object v;
            if (root.TryGetValue("name", out v) && v is string) t.Name = (string)v;
            t.PassThrough = root.TryGetValue("passthrough", out v) && v is bool && (bool)v;
            if (root.TryGetValue("entries", out v))
            {
                var list = v as List<object>;
                if (list == null) throw new FormatException("entries must be a list");
                for (int i = 0; i < list.Count; i++)
                {
                    var e = list[i] as Dictionary<string, object>;
                    if (e == null) throw new FormatException("entry " + i + " is not an object");
                    object s, tg, w;
                    e.TryGetValue("source", out s);
                    e.TryGetValue("target", out tg);
                    if (!(s is string) || !(tg is string)) throw new FormatException("entry " + i + " needs source and target strings");
                    float weight = e.TryGetValue("weight", out w) ? (float)Values.ToDouble(w, 1.0) : 1f;
                    t.Entries.Add(new MappingEntry((string)s, (string)tg, weight));
                }
            }
            return t;
        }

        /// <summary>The ARKit names in entries that are not ARKit names (typos).</summary>
        public List<string> BadSources()
        {
            var r = new List<string>();
            foreach (var e in Entries) if (ArkitNames.IndexOf(e.Source) < 0) r.Add(e.Source);
            return r;
        }
    }

    /// <summary>A mapping built for one schema and one model: schema weights -> target values.</summary>
    public sealed class TargetMapping
    {
        /// <summary>The target (e.g. SkinnedMeshRenderer blendshape) index of each output slot.</summary>
        public readonly int[] TargetIndex;
        public readonly string[] TargetName;
        // per slot: the inputs (schema positions) and their weights
        readonly int[][] inputs;
        readonly float[][] weights;
        public readonly List<string> Unmatched = new List<string>();
        public readonly SchemaMapping Schema;

        public int Count { get { return TargetIndex.Length; } }

        /// <param name="schemaNames">welcome.schema.blendshape_names</param>
        /// <param name="targetNames">the model's blendshape names (index = position)</param>
        public TargetMapping(string[] schemaNames, IList<string> targetNames, MappingTable table, ILog log)
        {
            if (table == null) table = MappingTable.Identity();
            Schema = new SchemaMapping(schemaNames, log);
            var schemaPos = new int[ArkitNames.Count];
            for (int i = 0; i < schemaPos.Length; i++) schemaPos[i] = -1;
            for (int i = 0; i < Schema.ArkitIndex.Length; i++) if (Schema.ArkitIndex[i] >= 0) schemaPos[Schema.ArkitIndex[i]] = i;

            // target name lookups: exact, then normalised (case, FBX "mesh." prefixes, '_' '-' ' ')
            var exact = new Dictionary<string, int>(StringComparer.Ordinal);
            var loose = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < targetNames.Count; i++)
            {
                string n = targetNames[i];
                if (n == null) continue;
                if (!exact.ContainsKey(n)) exact[n] = i;
                string k = Normalise(n);
                if (!loose.ContainsKey(k)) loose[k] = i;
            }

            var slots = new Dictionary<int, List<KeyValuePair<int, float>>>();
            var order = new List<int>();
            var driven = new HashSet<int>();
            var badSources = new List<string>();
            var missingTargets = new List<string>();
            foreach (var e in table.Entries)
            {
                int a = ArkitNames.IndexOf(e.Source);
                if (a < 0) { badSources.Add(e.Source); continue; }
                int t = Find(e.Target, exact, loose);
                if (t < 0) { if (!missingTargets.Contains(e.Target)) missingTargets.Add(e.Target); continue; }
                driven.Add(t);
                if (schemaPos[a] < 0) continue; // the daemon does not send this one
                Add(slots, order, t, schemaPos[a], e.Weight);
            }
            if (table.PassThrough)
            {
                for (int a = 0; a < ArkitNames.Count; a++)
                {
                    int t = Find(ArkitNames.All[a], exact, loose);
                    if (t < 0) { Unmatched.Add(ArkitNames.All[a]); continue; }
                    if (driven.Contains(t) || schemaPos[a] < 0) continue;
                    Add(slots, order, t, schemaPos[a], 1f);
                }
            }
            TargetIndex = order.ToArray();
            TargetName = new string[order.Count];
            inputs = new int[order.Count][];
            weights = new float[order.Count][];
            for (int s = 0; s < order.Count; s++)
            {
                var l = slots[order[s]];
                TargetName[s] = targetNames[order[s]];
                inputs[s] = new int[l.Count];
                weights[s] = new float[l.Count];
                for (int j = 0; j < l.Count; j++) { inputs[s][j] = l[j].Key; weights[s][j] = l[j].Value; }
            }
            if (log != null)
            {
                if (badSources.Count > 0)
                    log.Warn("mapping '" + table.Name + "': sources that are not ARKit names are ignored: " + string.Join(", ", badSources.ToArray()));
                if (missingTargets.Count > 0)
                    log.Warn("mapping '" + table.Name + "': the model has no blendshape named " + string.Join(", ", missingTargets.ToArray()));
                if (order.Count == 0)
                    log.Warn("mapping '" + table.Name + "': no blendshape of the model is driven (check the mapping and the mesh's blendshape names)");
            }
        }

        static void Add(Dictionary<int, List<KeyValuePair<int, float>>> slots, List<int> order, int target, int input, float w)
        {
            List<KeyValuePair<int, float>> l;
            if (!slots.TryGetValue(target, out l)) { l = new List<KeyValuePair<int, float>>(); slots[target] = l; order.Add(target); }
            l.Add(new KeyValuePair<int, float>(input, w));
        }

        static int Find(string name, Dictionary<string, int> exact, Dictionary<string, int> loose)
        {
            int i;
            if (exact.TryGetValue(name, out i)) return i;
            if (loose.TryGetValue(Normalise(name), out i)) return i;
            return -1;
        }

        /// <summary>"blendShape1.EyeBlink_Left" -> "eyeblinkleft".</summary>
        public static string Normalise(string name)
        {
            int dot = name.LastIndexOf('.');
            if (dot >= 0 && dot < name.Length - 1) name = name.Substring(dot + 1);
            var sb = new StringBuilder(name.Length);
            foreach (char c in name)
                if (c != '_' && c != '-' && c != ' ') sb.Append(char.ToLowerInvariant(c));
            return sb.ToString();
        }

        /// <summary>Wire-order weights -> one value per slot, clamped to 0..1.</summary>
        public void Apply(float[] wire, float[] slotValues)
        {
            for (int s = 0; s < inputs.Length; s++)
            {
                float v = 0f;
                int[] inp = inputs[s];
                float[] w = weights[s];
                for (int j = 0; j < inp.Length; j++)
                    if (inp[j] < wire.Length) v += w[j] * wire[inp[j]];
                slotValues[s] = v < 0f ? 0f : v > 1f ? 1f : v;
            }
        }
    }

    public static class HeadPoseMath
    {
        /// <summary>pitch, yaw, roll in degrees (pitch &gt; 0 looks up, yaw &gt; 0 turns to the
        /// subject's left, roll &gt; 0 tilts to its left) -> a Head bone's local rotation in
        /// Unity's axes (x right, y up, z forward, a model facing +z) as x, y, z, w. The same
        /// convention as the daemon's VMC output (bridge/outputs/vmc.py).</summary>
        public static void ToUnityQuaternion(float pitchDeg, float yawDeg, float rollDeg, float[] xyzw)
        {
            double d = Math.PI / 180.0;
            double[] qx = Axis(1, 0, 0, -pitchDeg * d), qy = Axis(0, 1, 0, -yawDeg * d), qz = Axis(0, 0, 1, rollDeg * d);
            double[] q = Mul(Mul(qy, qx), qz);
            for (int i = 0; i < 4; i++) xyzw[i] = (float)q[i];
        }

        static double[] Axis(double x, double y, double z, double angle)
        {
            double s = Math.Sin(angle / 2);
            return new[] { x * s, y * s, z * s, Math.Cos(angle / 2) };
        }

        static double[] Mul(double[] a, double[] b)
        {
            return new[]
            {
                a[3] * b[0] + a[0] * b[3] + a[1] * b[2] - a[2] * b[1],
                a[3] * b[1] - a[0] * b[2] + a[1] * b[3] + a[2] * b[0],
                a[3] * b[2] + a[0] * b[1] - a[1] * b[0] + a[2] * b[3],
                a[3] * b[3] - a[0] * b[0] - a[1] * b[1] - a[2] * b[2],
            };
        }
    }
}
