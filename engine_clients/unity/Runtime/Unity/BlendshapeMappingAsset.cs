using System;
using System.Collections.Generic;
using FaceBridge.Core;
using UnityEngine;

namespace FaceBridge
{
    /// <summary>How the 52 ARKit weights drive a model's blendshapes: target += weight × source,
    /// clamped to 0..1 (×100 on the mesh). With Pass Through, every ARKit name also drives the
    /// blendshape of the same name (case, '_' and FBX "mesh." prefixes ignored). A JSON file
    /// (Samples~/Mappings) can stand in for the list.</summary>
    [CreateAssetMenu(menuName = "FaceBridge/Blendshape Mapping", fileName = "BlendshapeMapping")]
    public class BlendshapeMappingAsset : ScriptableObject
    {
        [Serializable]
        public struct Entry
        {
            [Tooltip("An ARKit name, e.g. jawOpen")] public string source;
            [Tooltip("The model's blendshape, e.g. Fcl_MTH_A")] public string target;
            public float weight;
        }

        [Tooltip("A mapping JSON ({\"passthrough\", \"entries\": [{\"source\", \"target\", \"weight\"}]}); used instead of the fields below.")]
        public TextAsset json;
        public bool passThrough = true;
        public List<Entry> entries = new List<Entry>();

        public MappingTable ToTable()
        {
            if (json != null) return MappingTable.FromJson(json.text);
            var t = new MappingTable { Name = name, PassThrough = passThrough };
            foreach (var e in entries)
                t.Entries.Add(new MappingEntry(e.source, e.target, e.weight == 0f ? 1f : e.weight));
            return t;
        }
    }
}
