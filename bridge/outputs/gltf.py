"""glTF 2.0 binary (`.glb`) export of an Animation, playable in any glTF viewer.

One mesh: the avatar's face on FaceMesh's topology (the 478 neutral landmarks; the photo as
its texture), with the rig's 52 ARKit blendshapes as morph targets named in
`mesh.extras.targetNames`. One animation: the morph weights per frame on the "face" node, and
the head pose (rotation about `bridge.motion.pose.PIVOT`, and translation) on its parent
"head" node, so the clip plays exactly what `Animation.landmarks` computes.

Frames: the rig works in the aligned frame (bridge/face/align.py: x towards the image's right,
y down, z away from the camera, one unit = the outer-eye-corner distance). glTF is metres,
+Y up, +Z towards the viewer, right-handed: y and z flip sign, and one unit is
EYE_SPAN_CM / 100 metres.
"""

from __future__ import annotations

import collections
import functools

import cv2
import numpy as np
import pygltflib as G

from bridge.face.align import EYE_SPAN_CM
from bridge.motion.pose import PIVOT, rotations
from bridge.outputs.atomic import atomic_open

METRES_PER_UNIT = EYE_SPAN_CM / 100.0
_AXES = np.array([1.0, -1.0, -1.0])  # aligned (y down, z away) -> glTF (y up, z towards the viewer)
_FLIP = np.diag(_AXES)
# FaceMesh's refined iris points: a centre and its ring of four, in order round the ring.
_IRISES = ((468, (469, 470, 471, 472)), (473, (474, 475, 476, 477)))
_SKIN = [0.8, 0.65, 0.55, 1.0]  # base colour when the photo is not embedded


def to_gltf(aligned: np.ndarray) -> np.ndarray:
    """(..., 3) aligned-frame points or displacements -> glTF metres."""
    return np.asarray(aligned, np.float64) * (_AXES * METRES_PER_UNIT)


# -- topology ---------------------------------------------------------------------------------

def _tessellation_edges() -> frozenset:
    # Imported the way the detector imports FaceMesh (skips mediapipe's slow package __init__s).
    from bridge.face.landmarks import _import_face_mesh

    return _import_face_mesh().FACEMESH_TESSELATION


def _cliques(edges) -> list[tuple[int, int, int]]:
    """The edge list's 3-cliques, without the two "separating" ones: FaceMesh has two interior
    vertices of degree 3 (102, 331, by the nostrils) whose outer triangle is a clique but not
    a face; such a clique is the one all of whose edges already bound three cliques."""
    adj = collections.defaultdict(set)
    for a, b in edges:
        adj[a].add(b)
        adj[b].add(a)
    tris = sorted({tuple(sorted((a, b, c))) for a, b in edges for c in adj[a] & adj[b]})
    uses = collections.Counter(e for t in tris for e in _undirected(t))
    kept = [t for t in tris if not all(uses[e] > 2 for e in _undirected(t))]
    uses = collections.Counter(e for t in kept for e in _undirected(t))
    if max(uses.values()) > 2:
        raise RuntimeError("FaceMesh tessellation is not a manifold: cannot recover its triangles")
    return kept


def _undirected(t) -> tuple:
    a, b, c = sorted(t)
    return (a, b), (b, c), (a, c)


def _orient(tris: list) -> tuple[np.ndarray, np.ndarray]:
    """Wind neighbouring triangles consistently (a shared edge runs opposite ways in the two),
    by a walk over each connected piece -> (T, 3) triangles, (T,) piece label. Which of the two
    windings faces the viewer depends on the geometry: `_facing_viewer` decides it."""
    by_edge = collections.defaultdict(list)
    for i, t in enumerate(tris):
        for e in _undirected(t):
            by_edge[e].append(i)
    out = [None] * len(tris)
    piece = np.full(len(tris), -1)
    for seed in range(len(tris)):
        if out[seed] is not None:
            continue
        out[seed], piece[seed] = tuple(tris[seed]), seed
        todo = [seed]
        while todo:
            i = todo.pop()
            a, b, c = out[i]
            for u, v in ((a, b), (b, c), (c, a)):
                for j in by_edge[tuple(sorted((u, v)))]:
                    if out[j] is not None:
                        continue
                    t = tris[j]
                    w = next(x for x in t if x not in (u, v))
                    out[j], piece[j] = (v, u, w), seed  # traverse u-v backwards
                    todo.append(j)
    return np.array(out, np.int64), piece


@functools.lru_cache(maxsize=1)
def face_triangles() -> tuple[np.ndarray, np.ndarray]:
    """FaceMesh's 852 tessellation triangles (eyes and mouth open) plus a fan of 4 over each
    iris, so all 478 points are used and eye-look shapes show -> ((T, 3) indices wound
    consistently within each piece, (T,) piece label)."""
    tris = _cliques(_tessellation_edges())
    for centre, ring in _IRISES:
        tris += [(centre, ring[k], ring[(k + 1) % 4]) for k in range(4)]
    return _orient(tris)


def _facing_viewer(tris: np.ndarray, piece: np.ndarray, verts: np.ndarray) -> np.ndarray:
    """Flip each piece whose area-weighted normal points away from +Z (glTF front is CCW)."""
    tris = tris.copy()
    nz = _face_normals(verts, tris)[:, 2]
    for p in np.unique(piece):
        sel = piece == p
        if nz[sel].sum() < 0:
            tris[sel] = tris[sel][:, ::-1]
    return tris


def _face_normals(verts: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """(T, 3) un-normalised normals (length = twice the area)."""
    a, b, c = verts[tris[:, 0]], verts[tris[:, 1]], verts[tris[:, 2]]
    return np.cross(b - a, c - a)


def vertex_normals(verts: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """Area-weighted vertex normals, unit length (+Z for a vertex no triangle uses)."""
    n = np.zeros_like(verts)
    fn = _face_normals(verts, tris)
    for k in range(3):
        np.add.at(n, tris[:, k], fn)
    length = np.linalg.norm(n, axis=1, keepdims=True)
    return np.where(length > 1e-12, n / np.maximum(length, 1e-12), [0.0, 0.0, 1.0])


# -- head pose --------------------------------------------------------------------------------

def _quaternions(m: np.ndarray) -> np.ndarray:
    """(F, 3, 3) rotation matrices -> (F, 4) unit quaternions (x, y, z, w), each on the same
    hemisphere as the previous one so LINEAR (slerp) takes the short way."""
    from scipy.spatial.transform import Rotation

    q = Rotation.from_matrix(m).as_quat()
    for i in range(1, len(q)):
        if q[i] @ q[i - 1] < 0:
            q[i] = -q[i]
    return q


def head_motion(head_pose: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(F, 6) head pose -> (F, 4) glTF rotations, (F, 3) glTF translations (metres, of the
    head node, which sits at the pivot). apply_pose: p' = R (p - PIVOT) + PIVOT + t in the
    aligned frame; in glTF the same rotation conjugated by the axis flip (the scale cancels)."""
    pose = np.asarray(head_pose, np.float64)
    rot = _FLIP @ rotations(pose[:, :3]) @ _FLIP
    t_cm = pose[:, 3:6]  # tx right, ty up, tz towards the camera: glTF's axes already
    return _quaternions(rot), to_gltf(PIVOT) + t_cm / 100.0


# -- GLB assembly -----------------------------------------------------------------------------

class _Blob:
    """The GLB's one binary buffer: appends 4-byte-aligned views and their accessors."""

    def __init__(self, gltf: G.GLTF2):
        self.gltf, self.data = gltf, bytearray()

    def view(self, raw: bytes, target: int | None = None) -> int:
        self.data += b"\0" * (-len(self.data) % 4)
        self.gltf.bufferViews.append(G.BufferView(buffer=0, byteOffset=len(self.data),
                                                  byteLength=len(raw), target=target))
        self.data += raw
        return len(self.gltf.bufferViews) - 1

    def accessor(self, a: np.ndarray, kind: str, target: int | None = None) -> int:
        """`a`: float32 (count, n) or uint16 indices; min/max on every float accessor (the
        spec requires them for POSITION and animation inputs; they are cheap elsewhere)."""
        if a.dtype == np.uint16:
            ctype, a2 = G.UNSIGNED_SHORT, a.reshape(-1)
            lo = hi = None
        else:
            ctype, a2 = G.FLOAT, a.astype(np.float32).reshape(len(a), -1)
            lo, hi = a2.min(0).tolist(), a2.max(0).tolist()
        view = self.view(np.ascontiguousarray(a2).tobytes(), target)
        self.gltf.accessors.append(G.Accessor(bufferView=view, componentType=ctype, count=len(a2),
                                              type=kind, min=lo, max=hi))
        return len(self.gltf.accessors) - 1


def _material(gltf: G.GLTF2, blob: _Blob, image: np.ndarray | None) -> int:
    if image is None:  # plain skin colour, lit, so the shape reads
        pbr = G.PbrMetallicRoughness(baseColorFactor=_SKIN, metallicFactor=0.0, roughnessFactor=0.8)
        extensions = {}
    else:
        ok, png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))  # cv2 wants BGR
        if not ok:
            raise RuntimeError("could not encode the avatar image as PNG")
        gltf.images.append(G.Image(bufferView=blob.view(png.tobytes()), mimeType="image/png"))
        gltf.samplers.append(G.Sampler(magFilter=G.LINEAR, minFilter=G.LINEAR_MIPMAP_LINEAR,
                                       wrapS=G.CLAMP_TO_EDGE, wrapT=G.CLAMP_TO_EDGE))
        gltf.textures.append(G.Texture(sampler=0, source=0))
        pbr = G.PbrMetallicRoughness(baseColorTexture=G.TextureInfo(index=0), metallicFactor=0.0)
        # Unlit: the photo already holds the face's lighting; shading it again would darken it.
        extensions = {"KHR_materials_unlit": {}}
        gltf.extensionsUsed.append("KHR_materials_unlit")
    # alphaCutoff=None: pygltflib writes its 0.5 default otherwise, which the validator flags
    # (alphaCutoff means something only with alphaMode MASK).
    gltf.materials.append(G.Material(name="face", pbrMetallicRoughness=pbr, doubleSided=True,
                                     alphaCutoff=None, extensions=extensions))
    return len(gltf.materials) - 1


def _check_finite(path: str, anim) -> None:
    rig = anim.avatar.rig
    arrays = {"weights": anim.weights, "head_pose": anim.head_pose, "rig.neutral": rig.neutral,
              "rig.basis": rig.basis, "avatar.points": anim.avatar.points, "fps": anim.fps}
    for name, a in arrays.items():
        if not np.all(np.isfinite(np.asarray(a, np.float64))):
            raise ValueError(f"{path}: animation {name} holds NaN or infinity; nothing written")
    if anim.n_frames < 1 or not anim.fps > 0:
        raise ValueError(f"{path}: nothing to write ({anim.n_frames} frames at {anim.fps} fps)")


def glb_bytes(anim, texture: bool = True) -> bytes:
    """The whole .glb in memory (see write_glb)."""
    rig, avatar = anim.avatar.rig, anim.avatar
    verts = to_gltf(rig.neutral)
    tris, piece = face_triangles()
    tris = _facing_viewer(tris, piece, verts)

    gltf = G.GLTF2(asset=G.Asset(generator="facebridge"), scene=0)
    blob = _Blob(gltf)
    attrs = G.Attributes(POSITION=blob.accessor(verts, G.VEC3, G.ARRAY_BUFFER),
                         NORMAL=blob.accessor(vertex_normals(verts, tris), G.VEC3, G.ARRAY_BUFFER))
    if texture:
        w, h = avatar.image_size
        uv = np.asarray(avatar.points, np.float64)[:, :2] / (w, h)  # glTF UV: origin top-left, v down
        attrs.TEXCOORD_0 = blob.accessor(uv, G.VEC2, G.ARRAY_BUFFER)
    indices = blob.accessor(tris.astype(np.uint16), G.SCALAR, G.ELEMENT_ARRAY_BUFFER)
    targets = [G.Attributes(POSITION=blob.accessor(to_gltf(d), G.VEC3, G.ARRAY_BUFFER))
               for d in rig.basis]
    material = _material(gltf, blob, avatar.image if texture else None)
    gltf.meshes.append(G.Mesh(
        name="face", weights=[0.0] * len(targets), extras={"targetNames": list(anim.names)},
        primitives=[G.Primitive(attributes=attrs, indices=indices, material=material, targets=targets)]))

    # The head node sits at the pivot and rotates about its own origin; the face node undoes
    # the offset, so a vertex lands at pivot + t + R (v - pivot), as apply_pose puts it.
    pivot = to_gltf(PIVOT)
    gltf.nodes = [G.Node(name="head", translation=pivot.tolist(), children=[1]),
                  G.Node(name="face", mesh=0, translation=(-pivot).tolist())]
    gltf.scenes = [G.Scene(nodes=[0])]

    times = blob.accessor(np.arange(anim.n_frames, dtype=np.float64) / anim.fps, G.SCALAR)
    quats, moves = head_motion(anim.head_pose)
    outputs = [(1, "weights", blob.accessor(np.asarray(anim.weights).reshape(-1), G.SCALAR)),
               (0, "rotation", blob.accessor(quats, G.VEC4)),
               (0, "translation", blob.accessor(moves, G.VEC3))]
    gltf.animations = [G.Animation(
        name="facebridge",
        samplers=[G.AnimationSampler(input=times, output=out, interpolation=G.ANIM_LINEAR)
                  for _, _, out in outputs],
        channels=[G.AnimationChannel(sampler=i, target=G.AnimationChannelTarget(node=node, path=p))
                  for i, (node, p, _) in enumerate(outputs)])]

    gltf.buffers = [G.Buffer(byteLength=len(blob.data))]
    gltf.set_binary_blob(bytes(blob.data))
    return b"".join(gltf.save_to_bytes())


def write_glb(path: str, anim, texture: bool = True) -> None:
    """Write `anim` as one self-contained .glb at `path`, atomically (complete or absent).

    texture: embed the avatar photo (PNG, unlit) and UVs; without it, a plain lit skin colour.
    Head translation is included (a "translation" channel on the head node, cm -> m): it is part
    of the pose `Animation.landmarks` plays; an engine that drives the head from a body can
    ignore that channel. Raises ValueError naming `path` on NaN/inf input (nothing written).
    """
    _check_finite(path, anim)
    data = glb_bytes(anim, texture)
    with atomic_open(path, "wb") as f:
        f.write(data)
