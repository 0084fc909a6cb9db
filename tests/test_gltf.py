"""bridge.outputs.gltf: the .glb passes Khronos' validator and, read back independently of the
writer (pygltflib + numpy on the raw buffer), holds the rig, the weights and the head pose."""

import dataclasses
import json
import os
import shutil
import subprocess

import cv2
import numpy as np
import pygltflib
import pytest
from conftest import FACE, HELLO_TXT, HELLO_WAV, ROOT

from bridge.face.align import EYE_SPAN_CM
from bridge.motion.arkit import NAMES
from bridge.motion.pose import apply_pose, rotations
from bridge.outputs.gltf import write_glb
from bridge.pipeline import animate

VALIDATOR = "gltf-validator"
VALIDATOR_VERSION = "2.0.0-dev.3.10"  # pinned: a new release may add checks
NPM_PREFIX = os.path.join(ROOT, ".cache", "npm")
NETWORK_ERRORS = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT",
                  "ENETUNREACH", "EHOSTUNREACH")

# aligned frame (units of the eye span, y down, z away) -> glTF (metres, y up, z to the viewer)
TO_GLTF = np.array([1.0, -1.0, -1.0]) * EYE_SPAN_CM / 100


@pytest.fixture(scope="module")
def anim():
    with open(HELLO_TXT, encoding="utf-8") as f:
        return animate(FACE, HELLO_WAV, text=f.read())[0]


@pytest.fixture(scope="module")
def glbs(anim, tmp_path_factory):
    d = tmp_path_factory.mktemp("gltf")
    paths = {True: str(d / "face.glb"), False: str(d / "plain.glb")}
    for texture, path in paths.items():
        write_glb(path, anim, texture=texture)
    return paths


# -- the validator ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def validator():
    """The directory of the pinned gltf-validator package, installed on first use."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node/npm not installed: cannot run the Khronos glTF validator")
    pkg = os.path.join(NPM_PREFIX, "node_modules", VALIDATOR)
    if _installed_version(pkg) != VALIDATOR_VERSION:
        r = subprocess.run([npm, "install", "--prefix", NPM_PREFIX, "--no-audit", "--no-fund",
                            f"{VALIDATOR}@{VALIDATOR_VERSION}"],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            if any(code in r.stderr for code in NETWORK_ERRORS):
                pytest.skip(f"npm cannot reach its registry to install {VALIDATOR}: "
                            + r.stderr.strip().splitlines()[-1])
            pytest.fail(f"npm install {VALIDATOR}@{VALIDATOR_VERSION} failed:\n{r.stderr}")
    assert _installed_version(pkg) == VALIDATOR_VERSION
    return pkg


def _installed_version(pkg: str):
    try:
        with open(os.path.join(pkg, "package.json"), encoding="utf-8") as f:
            return json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        return None


VALIDATE_JS = """
const validator = require(process.argv[2]);
const bytes = new Uint8Array(require('fs').readFileSync(process.argv[3]));
validator.validateBytes(bytes, {maxIssues: 100})
  .then(report => console.log(JSON.stringify(report)))
  .catch(err => { console.error(String(err)); process.exit(2); });
"""


@pytest.mark.parametrize("texture", [True, False])
def test_khronos_validator_accepts_the_glb(validator, glbs, texture, tmp_path):
    script = tmp_path / "validate.js"
    script.write_text(VALIDATE_JS)
    r = subprocess.run(["node", str(script), validator, glbs[texture]],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    issues = report["issues"]
    print(f"gltf-validator {report['validatorVersion']}: {issues['numErrors']} errors, "
          f"{issues['numWarnings']} warnings, {issues['numInfos']} infos, {issues['numHints']} hints")
    for m in issues["messages"]:
        print(f"  [{m['severity']}] {m['code']} at {m.get('pointer')}: {m['message']}")
    listing = json.dumps(issues["messages"], indent=1)
    assert issues["numErrors"] == 0, listing
    assert issues["numWarnings"] == 0, listing
    info = report["info"]
    assert info["totalVertexCount"] == 478 and info["hasMorphTargets"] and info["animationCount"] == 1
    assert info["hasTextures"] == texture


# -- independent read-back --------------------------------------------------------------------

COMPONENTS = {5121: np.uint8, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}


def load(path):
    g = pygltflib.GLTF2.load_binary(path)
    return g, g.binary_blob()


def read(g, blob, index) -> np.ndarray:
    """Accessor `index` as a (count, width) array, straight from the GLB's binary chunk."""
    a = g.accessors[index]
    v = g.bufferViews[a.bufferView]
    dtype, n = np.dtype(COMPONENTS[a.componentType]), WIDTH[a.type]
    start = (v.byteOffset or 0) + (a.byteOffset or 0)
    assert start % 4 == 0, "accessor data must be 4-byte aligned"
    assert v.byteStride in (None, dtype.itemsize * n)
    assert start + a.count * n * dtype.itemsize <= (v.byteOffset or 0) + v.byteLength <= len(blob)
    out = np.frombuffer(blob, dtype, a.count * n, start).reshape(a.count, n)
    if a.min or a.max:  # where present, they must be exact (pygltflib reads absent as [])
        assert np.array_equal(np.float32(a.min), out.min(0)) and np.array_equal(np.float32(a.max), out.max(0))
    return out


def face_node(g):
    (i,) = [i for i, n in enumerate(g.nodes) if n.mesh is not None]
    return i


def primitive(g):
    (mesh,) = g.meshes
    (prim,) = mesh.primitives
    return mesh, prim


def channels(g):
    """{(node, path): (times, values)} of the one animation, all LINEAR."""
    (an,) = g.animations
    out = {}
    for c in an.channels:
        s = an.samplers[c.sampler]
        assert s.interpolation == "LINEAR"
        acc = g.accessors[s.input]
        assert acc.min and acc.max, "animation input needs min/max"
        out[c.target.node, c.target.path] = s.input, s.output
    return out


def test_mesh_and_morph_targets_hold_the_rig(anim, glbs):
    g, blob = load(glbs[True])
    mesh, prim = primitive(g)
    rig = anim.avatar.rig
    pos = read(g, blob, prim.attributes.POSITION)
    assert pos.shape == (478, 3)
    positions = [prim.attributes.POSITION] + [t["POSITION"] for t in prim.targets]
    assert all(g.accessors[i].min and g.accessors[i].max for i in positions), "POSITION needs min/max"
    np.testing.assert_allclose(pos, rig.neutral * TO_GLTF, atol=1e-5)
    normals = read(g, blob, prim.attributes.NORMAL)
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1, atol=1e-5)

    assert mesh.extras["targetNames"] == list(NAMES) == list(anim.names)
    assert len(prim.targets) == 52 and len(mesh.weights) == 52
    for k, target in enumerate(prim.targets):
        delta = read(g, blob, target["POSITION"])
        np.testing.assert_allclose(delta, rig.basis[k] * TO_GLTF, atol=1e-6, err_msg=NAMES[k])

    # The embedded photo and its UVs: a pixel sampled at a landmark's UV is that landmark's.
    (image,) = g.images
    v = g.bufferViews[image.bufferView]
    png = np.frombuffer(blob, np.uint8, v.byteLength, v.byteOffset or 0)
    bgr = cv2.imdecode(png, cv2.IMREAD_COLOR)
    assert image.mimeType == "image/png"
    assert np.array_equal(bgr[:, :, ::-1], anim.avatar.image), "texture must be the RGB photo"
    uv = read(g, blob, prim.attributes.TEXCOORD_0)
    h, w = anim.avatar.image.shape[:2]
    np.testing.assert_allclose(uv * (w, h), anim.avatar.points[:, :2], atol=1e-3)
    (material,) = g.materials
    assert material.doubleSided and material.pbrMetallicRoughness.baseColorTexture.index == 0


def test_plain_variant_has_no_texture(glbs):
    g, _ = load(glbs[False])
    _, prim = primitive(g)
    assert not g.images and not g.textures and prim.attributes.TEXCOORD_0 is None
    assert g.materials[0].pbrMetallicRoughness.metallicFactor == 0


def test_triangles(anim, glbs):
    g, blob = load(glbs[True])
    _, prim = primitive(g)
    tris = read(g, blob, prim.indices).reshape(-1, 3).astype(np.int64)
    pos = read(g, blob, prim.attributes.POSITION).astype(np.float64)
    print(f"{len(tris)} triangles")
    assert 850 <= len(tris) <= 900
    assert tris.max() < 478 and np.array_equal(np.unique(tris), np.arange(478)), "all points used"
    assert (np.sort(tris, 1)[:, :2] != np.sort(tris, 1)[:, 1:]).all(), "repeated index"
    normal = np.cross(pos[tris[:, 1]] - pos[tris[:, 0]], pos[tris[:, 2]] - pos[tris[:, 0]])
    assert (np.linalg.norm(normal, axis=1) > 1e-10).all(), "zero-area triangle"
    assert len({tuple(t) for t in np.sort(tris, 1)}) == len(tris), "triangle listed twice"
    # Consistent winding: a manifold surface runs each directed edge at most once.
    directed = [(t[i], t[(i + 1) % 3]) for t in tris.tolist() for i in range(3)]
    assert len(set(directed)) == len(directed)
    # ...and facing the viewer (+Z; only silhouette triangles fold away in the neutral face).
    assert (normal[:, 2] > 0).mean() > 0.95


def quat_matrices(q: np.ndarray) -> np.ndarray:
    x, y, z, w = q.T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1)], -2)


def test_animation_plays_the_weights_and_the_head_pose(anim, glbs):
    g, blob = load(glbs[True])
    (an,) = g.animations
    ch = channels(g)
    face = face_node(g)
    (head,) = [i for i, n in enumerate(g.nodes) if face in (n.children or [])]
    assert set(ch) <= {(face, "weights"), (head, "rotation"), (head, "translation")}
    n = anim.n_frames

    times_i, weights_o = ch[face, "weights"]
    times = read(g, blob, times_i)[:, 0]
    np.testing.assert_allclose(times, np.arange(n) / anim.fps, rtol=0, atol=1e-6)
    weights = read(g, blob, weights_o).reshape(n, 52)
    np.testing.assert_allclose(weights, anim.weights, atol=1e-6)

    q = read(g, blob, ch[head, "rotation"][1]).astype(np.float64)
    assert q.shape == (n, 4)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1, atol=1e-6)
    assert (np.sum(q[1:] * q[:-1], 1) >= 0).all(), "keys flip hemisphere: slerp goes the long way"
    flip = np.diag([1.0, -1.0, -1.0])
    want = flip @ rotations(anim.head_pose[:, :3]) @ flip  # same rotation, glTF axes
    cos = (np.trace(quat_matrices(q).transpose(0, 2, 1) @ want, axis1=1, axis2=2) - 1) / 2
    assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 0.01

    # The whole pose, through the node hierarchy: morphed vertices, the face node's static
    # offset, then the head node's animated rotation and translation.
    fn, hn = g.nodes[face], g.nodes[head]
    assert fn.rotation is None and fn.scale is None and hn.scale is None
    assert head in g.scenes[g.scene].nodes
    _, prim = primitive(g)
    base = read(g, blob, prim.attributes.POSITION).astype(np.float64)
    deltas = np.stack([read(g, blob, t["POSITION"]) for t in prim.targets]).astype(np.float64)
    morphed = base + np.einsum("fk,kvc->fvc", weights, deltas)
    if (head, "translation") in ch:
        move = read(g, blob, ch[head, "translation"][1]).astype(np.float64)
    else:
        move = np.broadcast_to(hn.translation or [0, 0, 0], (n, 3))
    world = (morphed + (fn.translation or [0, 0, 0])) @ quat_matrices(q).transpose(0, 2, 1) + move[:, None]
    posed = apply_pose(anim.avatar.rig.apply(anim.weights), anim.head_pose) * TO_GLTF
    np.testing.assert_allclose(world, posed, atol=1e-5)


@pytest.mark.parametrize("field", ["weights", "head_pose"])
def test_non_finite_input_writes_nothing(anim, tmp_path, field):
    bad = getattr(anim, field).copy()
    bad[len(bad) // 2, 3] = np.nan if field == "weights" else np.inf
    path = str(tmp_path / "bad.glb")
    with pytest.raises(ValueError, match="bad.glb"):
        write_glb(path, dataclasses.replace(anim, **{field: bad}))
    assert os.listdir(tmp_path) == []
