using System.Collections.Generic;
using FaceBridge.Core;
using UnityEngine;

namespace FaceBridge
{
    /// <summary>Drives SkinnedMeshRenderer blendshapes (weights × 100) and optionally a head bone
    /// from the client's frame for the current audio position. Blendshapes are mapped by name
    /// from welcome.schema (rebuilt after a re-hello).</summary>
    [AddComponentMenu("FaceBridge/Blendshape Driver")]
    public class BlendshapeDriver : MonoBehaviour
    {
        public FaceBridgeClient client;
        [Tooltip("The face; add teeth/tongue/eyelash meshes that carry blendshapes too.")]
        public SkinnedMeshRenderer[] renderers = new SkinnedMeshRenderer[0];
        [Tooltip("Optional: a mapping (ARKit to VRoid, VRM presets...). None: ARKit names on the mesh.")]
        public BlendshapeMappingAsset mapping;
        [Tooltip("Optional: a mapping JSON file (Samples~/Mappings), when there is no mapping asset.")]
        public TextAsset mappingJson;
        [Tooltip("Unity blendshape weights run 0..100.")]
        public float weightScale = 100f;
        [Range(0f, 0.95f)] [Tooltip("0: exact frames; higher: smoother, later.")]
        public float smoothing = 0f;
        [Tooltip("Optional: rotated by the frame's head pose (pitch, yaw, roll), on top of its rest pose.")]
        public Transform headBone;
        [Range(0f, 1f)] public float headRotationAmount = 1f;

        TargetMapping[] maps;
        float[][] values;
        int generation = -1;
        Quaternion headRest;
        readonly float[] q = new float[4];

        void Start()
        {
            if (headBone != null) headRest = headBone.localRotation;
        }

        void Build(Welcome w)
        {
            generation = w.Generation;
            var log = new UnityLog(name, false);
            MappingTable table;
            try { table = mapping != null ? mapping.ToTable() : mappingJson != null ? MappingTable.FromJson(mappingJson.text) : MappingTable.Identity(); }
            catch (System.FormatException e)
            {
                log.Error("the mapping cannot be read (" + e.Message + "); using ARKit names");
                table = MappingTable.Identity();
            }
            maps = new TargetMapping[renderers.Length];
            values = new float[renderers.Length][];
            for (int r = 0; r < renderers.Length; r++)
            {
                var smr = renderers[r];
                var names = new List<string>();
                if (smr != null && smr.sharedMesh != null)
                    for (int i = 0; i < smr.sharedMesh.blendShapeCount; i++) names.Add(smr.sharedMesh.GetBlendShapeName(i));
                maps[r] = new TargetMapping(w.Schema.BlendshapeNames, names, table, r == 0 ? log : null);
                values[r] = new float[maps[r].Count];
            }
        }

        void LateUpdate()
        {
            if (client == null || client.Connection == null) return;
            var w = client.Connection.Welcome;
            if (w == null) return;
            AnimFrame f;
            if (!client.TryGetFrame(out f)) return;
            if (maps == null || w.Generation != generation || maps.Length != renderers.Length) Build(w);
            float keep = smoothing;
            for (int r = 0; r < renderers.Length; r++)
            {
                var smr = renderers[r];
                if (smr == null) continue;
                var m = maps[r];
                var v = values[r];
                m.Apply(f.Blendshapes, v);
                for (int s = 0; s < m.Count; s++)
                {
                    float target = v[s] * weightScale;
                    if (keep > 0f) target = Mathf.Lerp(target, smr.GetBlendShapeWeight(m.TargetIndex[s]), keep);
                    smr.SetBlendShapeWeight(m.TargetIndex[s], target);
                }
            }
            if (headBone != null && f.HeadPose != null && f.HeadPose.Length >= 3)
            {
                HeadPoseMath.ToUnityQuaternion(f.HeadPose[0] * headRotationAmount, f.HeadPose[1] * headRotationAmount,
                                               f.HeadPose[2] * headRotationAmount, q);
                var rot = headRest * new Quaternion(q[0], q[1], q[2], q[3]);
                headBone.localRotation = keep > 0f ? Quaternion.Slerp(rot, headBone.localRotation, keep) : rot;
            }
        }
    }
}
