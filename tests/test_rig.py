"""The rig moves the right regions the right way, and the solver inverts it."""

import numpy as np
import pytest

from bridge.face import topology as T
from bridge.motion import arkit
from bridge.motion.solver import Solver, unpose

# Physically exclusive pairs are exact opposites in the rig (as in ARKit), so at most one of
# each pair is active in a real face and in these tests.
EXCLUSIVE = [("eyeLookInLeft", "eyeLookOutLeft"), ("eyeLookUpLeft", "eyeLookDownLeft"),
             ("eyeLookInRight", "eyeLookOutRight"), ("eyeLookUpRight", "eyeLookDownRight"),
             ("mouthLeft", "mouthRight"), ("jawLeft", "jawRight")]


def _move(avatar, name, weight=1.0):
    w = np.zeros(arkit.N)
    w[arkit.INDEX[name]] = weight
    return avatar.rig.apply(w) - avatar.rig.neutral


def test_every_blendshape_moves_something(avatar):
    for name in arkit.NAMES:
        assert np.abs(_move(avatar, name)).max() > 0.015, name


@pytest.mark.parametrize("name,point,axis,sign", [
    ("jawOpen", T.INNER_LIP_BOTTOM, 1, +1),        # jaw drops: lower lip down
    ("jawOpen", T.CHIN, 1, +1),
    ("mouthSmileLeft", T.MOUTH_CORNER_LEFT, 1, -1),  # left corner up...
    ("mouthSmileLeft", T.MOUTH_CORNER_LEFT, 0, +1),  # ...and out (subject's left = image +x)
    ("mouthSmileRight", T.MOUTH_CORNER_RIGHT, 0, -1),
    ("mouthFrownRight", T.MOUTH_CORNER_RIGHT, 1, +1),
    ("eyeBlinkRight", 159, 1, +1),                  # right upper lid comes down
    ("eyeBlinkLeft", 386, 1, +1),
    ("browInnerUp", 107, 1, -1),
    ("browDownLeft", 334, 1, +1),
    ("mouthPucker", T.MOUTH_CORNER_LEFT, 0, -1),    # corners gather in
    ("eyeLookInLeft", 473, 0, -1),                  # left iris towards the nose (image -x)
    ("eyeLookOutRight", 468, 0, -1),
])
def test_direction(avatar, name, point, axis, sign):
    d = _move(avatar, name)[point, axis]
    assert sign * d > 0.01, (name, point, d)


def test_sided_shapes_stay_on_their_side(avatar):
    left_eye, right_eye = _move(avatar, "eyeBlinkLeft"), _move(avatar, "eyeBlinkRight")
    assert np.abs(left_eye[T.EYE_RIGHT_UPPER]).max() < 1e-6
    assert np.abs(right_eye[T.EYE_LEFT_UPPER]).max() < 1e-6
    smile = _move(avatar, "mouthSmileLeft")
    assert np.abs(smile[T.MOUTH_CORNER_LEFT]).sum() > 5 * np.abs(smile[T.MOUTH_CORNER_RIGHT]).sum()


def test_blink_closes_the_eye(avatar):
    moved = avatar.rig.neutral + _move(avatar, "eyeBlinkRight")
    gap0 = avatar.rig.neutral[145, 1] - avatar.rig.neutral[159, 1]
    gap1 = moved[145, 1] - moved[159, 1]
    assert gap0 > 0.03 and abs(gap1) < 0.15 * gap0


def test_solver_round_trip(avatar):
    rng = np.random.default_rng(1)
    solver = Solver(avatar.rig)
    errs = []
    for _ in range(40):
        w = rng.uniform(0, 1, arkit.N) * (rng.uniform(0, 1, arkit.N) < 0.3)
        for a, b in EXCLUSIVE:
            w[arkit.INDEX[a if rng.uniform() < 0.5 else b]] = 0
        errs.append(np.abs(solver.solve(avatar.rig.apply(w)) - w))
    errs = np.array(errs)
    assert errs.mean() < 0.01
    assert np.percentile(errs, 99) < 0.1


def test_solver_ignores_head_motion(avatar):
    from bridge.motion.pose import apply_pose

    w = np.zeros(arkit.N)
    w[arkit.INDEX["jawOpen"]] = 0.6
    w[arkit.INDEX["mouthSmileLeft"]] = 0.4
    posed = apply_pose(avatar.rig.apply(w)[None], np.array([[4.0, -6.0, 3.0, 0.5, 0.2, 0.0]]))[0]
    got = Solver(avatar.rig).solve(unpose(posed, avatar.rig.neutral))
    assert abs(got[arkit.INDEX["jawOpen"]] - 0.6) < 0.08
    assert abs(got[arkit.INDEX["mouthSmileLeft"]] - 0.4) < 0.08


def test_tracked_video_round_trip():
    """Landmarks tracked on a real talking clip -> solver -> rig reproduce its mouth opening."""
    from conftest import shared_video

    from bench.common import read_video
    from bridge.face import FaceFrame, FaceMeshDetector
    from bridge.motion.rig import Rig

    frames, _fps, _a, _r = read_video(shared_video("lp_d10"))
    frames = frames[:120]
    tracked = []
    with FaceMeshDetector(video=True, max_faces=1) as det:
        for f in frames:
            found = det._run(f)
            if found:
                tracked.append(found[0])
    assert len(tracked) > 100
    frame = FaceFrame.from_points(tracked[0])
    rig = Rig.from_neutral(frame.to_aligned(tracked[0]))
    solver = Solver(rig)
    truth, recon = [], []
    for pts in tracked:
        aligned = unpose(frame.to_aligned(pts), rig.neutral)
        back = rig.apply(solver.solve(aligned))
        truth.append(aligned[T.INNER_LIP_BOTTOM, 1] - aligned[T.INNER_LIP_TOP, 1])
        recon.append(back[T.INNER_LIP_BOTTOM, 1] - back[T.INNER_LIP_TOP, 1])
    truth, recon = np.array(truth), np.array(recon)
    assert np.std(truth) > 0.01  # the clip really talks
    assert np.corrcoef(truth, recon)[0, 1] > 0.9
    assert np.abs(truth - recon).mean() < 0.25 * np.std(truth) + 0.01


def test_no_shape_moves_the_points_the_head_is_fitted_on(avatar):
    """Else an expression reads back as head motion plus other shapes (bench/expression.py)."""
    for name in arkit.NAMES:
        assert np.abs(_move(avatar, name)[T.RIGID]).max() < 1e-9, name


def test_eye_wide_stays_on_its_eye(avatar):
    wide = _move(avatar, "eyeWideLeft")
    assert np.abs(wide[T.EYE_RIGHT_UPPER + T.EYE_RIGHT_LOWER]).max() < 1e-6
    moved = np.flatnonzero(np.abs(wide).max(1) > 1e-3)
    eye_x = avatar.rig.neutral[T.EYE_LEFT_UPPER, 0]
    assert avatar.rig.neutral[moved, 0].min() > eye_x.min() - 0.05  # not across the face


@pytest.mark.parametrize("shapes", [["browInnerUp"], ["browDownLeft", "browDownRight"],
                                    ["browOuterUpLeft", "browOuterUpRight"], ["eyeSquintLeft", "eyeSquintRight"],
                                    ["mouthFrownLeft", "mouthFrownRight"], ["mouthUpperUpLeft", "mouthUpperUpRight"]])
def test_rendered_shapes_read_back_as_themselves(avatar, shapes):
    """A shape drawn by the warp renderer, tracked by FaceMesh and solved, is the expression
    shape read back most (with the plain ridge, a rendered brow raise read back as
    mouthLowerDown 1.0). The sample face smiles already: her smile reads back as a dimple
    (docs/benchmarks.md), so it is not among these. Expression shapes only: depth is FaceMesh's guess on a flat render,
    so a shape that moves mostly in depth (jawForward) cannot be read from a picture."""
    from bridge.emotion.expression import OUTPUTS
    from bridge.face import FaceMeshDetector
    from bridge.motion.solver import ReadBack
    from bridge.render.warp import WarpRenderer

    renderer = WarpRenderer(avatar.image, avatar.points)
    w = np.zeros(arkit.N)
    w[[arkit.INDEX[s] for s in shapes]] = 0.8
    with FaceMeshDetector(video=False, max_faces=1) as det:
        tracked = [det.detect_all(renderer.render(avatar.frame.to_image(avatar.rig.apply(x))))[0]
                   for x in (np.zeros(arkit.N), w)]
    still, shaped = ReadBack(avatar.points)(np.array(tracked))
    change = {name: shaped[arkit.INDEX[name]] - still[arkit.INDEX[name]] for name in OUTPUTS}
    own = np.mean([change[s] for s in shapes])
    strongest_other = max((n for n in OUTPUTS if n not in shapes), key=change.get)
    assert own > 0.08, (shapes, own)  # FaceMesh sees 30-60 % of these shapes' motion on renders
    assert own > change[strongest_other], (shapes, own, strongest_other, change[strongest_other])
