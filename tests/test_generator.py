"""The generator renderer (models/generator.onnx), `animate --render gan`, `reenact`, the
training/export commands, and the bad inputs the generator issue lists."""

import os

import av
import cv2
import numpy as np
import pytest

from bridge.errors import FacebridgeError, InputError
from bridge.face import load_image
from bridge.motion import arkit
from bridge.pipeline import Avatar
from bridge.render.crop import IN_CHANNELS, Crop, mouth_box
from bridge.render.gan import GanRenderer, GeneratorModel
from bridge.render.warp import WarpRenderer
from tests.conftest import FACE, HELLO_TXT, HELLO_WAV, run_cli

RETRAIN = "facebridge train generator"


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Driving videos made here are tracked into the test's own cache, not the user's."""
    import bridge.train.tracking

    monkeypatch.setattr(bridge.train.tracking, "CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("FACEBRIDGE_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def model():
    return GeneratorModel()


@pytest.fixture(scope="module")
def astronaut():
    return Avatar.from_image(load_image(FACE))


def posed(avatar, **weights) -> np.ndarray:
    w = np.zeros((1, 52))
    for k, v in weights.items():
        w[0, arkit.INDEX[k]] = v
    return avatar.frame.to_image(avatar.rig.apply(w)[0])


def test_crop_and_paste_back_leave_the_image_unchanged(astronaut):
    """The composite path itself must not blur or shift the picture: pasting the crop of the
    image back gives the image (no seam, no offset)."""
    crop = Crop.around(astronaut.points)
    back = crop.paste(astronaut.image, crop.image(astronaut.image))
    diff = np.abs(back.astype(int) - astronaut.image.astype(int))
    assert back.shape == astronaut.image.shape
    assert diff.mean() < 1.0 and np.percentile(diff, 99) < 12


def test_generator_draws_the_open_mouth_and_keeps_the_rest(astronaut, model):
    """The network changes the open mouth (what the warp cannot know) and stays close to the
    warp elsewhere; pixels outside the face crop are the photo's."""
    gan = GanRenderer(astronaut.image, astronaut.points, model)
    open_mouth = posed(astronaut, jawOpen=0.8)
    frame = gan.render(open_mouth)
    assert frame.shape == astronaut.image.shape and frame.dtype == np.uint8
    assert np.array_equal(frame[:10, :10], astronaut.image[:10, :10])
    out = gan.render_crop(open_mouth)
    warped = gan.warp.render(gan.crop.points(open_mouth))
    x0, y0, x1, y1 = mouth_box(gan.crop.points(open_mouth))
    d = np.abs(out.astype(float) - warped.astype(float)).mean(2)
    assert d[y0:y1, x0:x1].mean() > 2.0  # the generator is doing something at the mouth
    assert d.mean() < 8.0  # and not repainting the face
    neutral = gan.render_crop(astronaut.points)
    assert np.abs(neutral.astype(float) - out.astype(float)).mean(2)[y0:y1, x0:x1].mean() > 10


def test_render_is_deterministic(astronaut, model):
    """No flicker source inside the renderer: the same landmarks give the same pixels."""
    gan = GanRenderer(astronaut.image, astronaut.points, model)
    lm = posed(astronaut, mouthSmileLeft=0.6, mouthSmileRight=0.6, jawOpen=0.3)
    assert np.array_equal(gan.render(lm), gan.render(lm))


def test_animate_render_gan_writes_the_preview(tmp_path, astronaut):
    r = run_cli("animate", "--image", FACE, "--audio", HELLO_WAV, "--text-file", HELLO_TXT,
                "--render", "gan", "--out", str(tmp_path), "-q")
    assert r.returncode == 0, r.stderr
    with av.open(str(tmp_path / "preview.mp4")) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) >= 150 and frames[0].shape == (512, 512, 3)
    # The face moves: frames differ around the mouth over the clip, not in the corner.
    lips = astronaut.points[[13, 14, 61, 291], :2]
    (x0, y0), (x1, y1) = lips.min(0).astype(int) - 5, lips.max(0).astype(int) + 6
    stack = np.array([f.astype(float) for f in frames])
    assert stack[:, y0:y1, x0:x1].std(0).mean() > 3 and stack[:, :40, :40].std(0).mean() < 1


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("content,problem", [(None, "not found"), (b"\x00garbage" * 100, "cannot be loaded")])
def test_missing_or_corrupt_model_is_a_clear_error(tmp_path, content, problem):
    path = tmp_path / "generator.onnx"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(FacebridgeError) as e:
        GeneratorModel(str(path))
    assert str(path) in str(e.value) and problem in str(e.value) and RETRAIN in str(e.value)
    r = run_cli("animate", "--image", FACE, "--audio", HELLO_WAV, "--render", "gan", "--out", str(tmp_path / "o"),
                env={"FACEBRIDGE_GENERATOR": str(path)})
    assert r.returncode == 1 and str(path) in r.stderr and RETRAIN in r.stderr and "Traceback" not in r.stderr


def test_an_onnx_file_that_is_not_a_generator_is_refused(tmp_path):
    other = os.path.join(os.path.dirname(FACE), "..", "models", "visemes.onnx")
    with pytest.raises(FacebridgeError, match="not a facebridge generator"):
        GeneratorModel(other)


def test_face_near_the_border(astronaut, model):
    """Half the crop falls outside the picture: it is filled by reflection, and the frame
    comes back the picture's size."""
    img = astronaut.image[:, 150:]  # the face now touches the left edge
    av_ = Avatar.from_image(np.ascontiguousarray(img))
    frame = GanRenderer(av_.image, av_.points, model).render(posed(av_, jawOpen=0.5))
    assert frame.shape == img.shape and np.isfinite(frame).all()


def test_tiny_face_is_rendered_or_refused_clearly(astronaut, model):
    """A face under 64 px: the crop upsamples it (the generator still gets its 256 px view)
    or, when FaceMesh cannot see it, the error says so."""
    img = cv2.resize(astronaut.image, (110, 110), interpolation=cv2.INTER_AREA)
    try:
        av_ = Avatar.from_image(img, name="tiny")
    except InputError as e:
        assert "tiny" in str(e) and "face" in str(e)
        return
    span = np.linalg.norm(av_.points[33, :2] - av_.points[263, :2])
    assert span < 40
    frame = GanRenderer(av_.image, av_.points, model).render(posed(av_, jawOpen=0.6))
    assert frame.shape == img.shape


def test_huge_image(astronaut, model):
    """8000x6000: the crop is area-shrunk before the network, the paste touches only the face's
    box, and the frame comes back full size."""
    big = cv2.resize(astronaut.image, (6000, 6000), interpolation=cv2.INTER_LINEAR)
    big = cv2.copyMakeBorder(big, 0, 0, 1000, 1000, cv2.BORDER_REPLICATE)
    points = astronaut.points.copy()
    points[:, :2] = points[:, :2] * (6000 / 512) + [1000, 0]
    points[:, 2] *= 6000 / 512
    gan = GanRenderer(big, points, model)
    frame = gan.render(points)
    assert frame.shape == (6000, 8000, 3)
    assert np.array_equal(frame[:100, :100], big[:100, :100])


def test_grayscale_image_through_the_cli(tmp_path):
    grey = cv2.cvtColor(cv2.imread(FACE), cv2.COLOR_BGR2GRAY)
    path = str(tmp_path / "grey.png")
    cv2.imwrite(path, grey)
    r = run_cli("animate", "--image", path, "--audio", HELLO_WAV, "--text-file", HELLO_TXT, "--render", "gan",
                "--out", str(tmp_path / "o"), "-q")
    assert r.returncode == 0, r.stderr
    with av.open(str(tmp_path / "o" / "preview.mp4")) as c:
        f = next(iter(c.decode(video=0))).to_ndarray(format="rgb24")
    assert f.shape[2] == 3


def test_profile_face_is_rendered_or_refused_clearly(astronaut, model):
    """A face turned 70 degrees (made with our own rig and warp): rendered, or a clear error."""
    from bridge.motion.pose import apply_pose

    turned = astronaut.frame.to_image(apply_pose(astronaut.rig.apply(np.zeros((1, 52))), np.array([[0, 70, 0, 0, 0, 0]]))[0])
    img = WarpRenderer(astronaut.image, astronaut.points).render(turned)
    try:
        av_ = Avatar.from_image(img, name="profile")
    except InputError as e:
        assert "profile" in str(e)
        return
    frame = GanRenderer(av_.image, av_.points, model).render(posed(av_, jawOpen=0.4))
    assert frame.shape == img.shape


def _driving_video(path, astronaut, lost=range(12, 24), n=36, fps=25):
    """The astronaut opening and closing the mouth (warp-rendered), with grey frames where no
    face can be found."""
    warp = WarpRenderer(astronaut.image, astronaut.points)
    with av.open(path, "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = 512, 512, "yuv420p"
        for i in range(n):
            if i in lost:
                img = np.full((512, 512, 3), 128, np.uint8)
            else:
                img = warp.render(posed(astronaut, jawOpen=0.5 + 0.5 * np.sin(i / 3)))
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def test_reenact_holds_then_eases_where_the_face_is_lost(tmp_path, astronaut):
    from bridge.reenact import read_driving, retarget

    video = str(tmp_path / "drive.mp4")
    _driving_video(video, astronaut, lost=range(12, 40), n=48)
    drv = read_driving(video)
    lost = ~np.isfinite(drv.points).all(axis=(1, 2))
    assert lost[12:40].all() and not lost[:12].any()
    lm = retarget(drv.points, drv.fps, astronaut)
    assert np.isfinite(lm).all()
    # Held for 0.25 s (6 frames at 25 fps), then eased to the rest face within 0.5 s more.
    assert np.allclose(lm[12], lm[11]) and np.allclose(lm[16], lm[11])
    assert not np.allclose(lm[24], lm[11]) and np.allclose(lm[39], astronaut.points)
    # The retargeted mouth follows the driving mouth.
    gap = lambda p: p[:, 14, 1] - p[:, 13, 1]  # noqa: E731
    ok = ~lost
    assert np.corrcoef(gap(lm[ok]), gap(drv.points[ok]))[0, 1] > 0.9
    # --head rotate (the default) keeps the eyes where the portrait has them; still keeps the
    # whole head; both still move the mouth.
    eyes = lambda p: (p[..., 33, :2] + p[..., 263, :2]) / 2  # noqa: E731
    assert np.abs(eyes(lm[ok]) - eyes(astronaut.points)).max() < 1.5  # expression moves the corners a little
    still = retarget(drv.points, drv.fps, astronaut, head="still")
    assert np.allclose(still[ok][:, 4], astronaut.points[4], atol=1.0)  # the nose does not move
    assert np.corrcoef(gap(still[ok]), gap(drv.points[ok]))[0, 1] > 0.9
    out = str(tmp_path / "out.mp4")
    r = run_cli("reenact", "--video", video, "--image", FACE, "--out", out, "--render", "gan")
    assert r.returncode == 0, r.stderr
    assert "face lost on 28" in r.stderr
    with av.open(out) as c:
        assert sum(1 for _ in c.decode(video=0)) == 48


@pytest.mark.parametrize("make,problem", [
    (lambda p: open(p, "wb").close(), "empty"),
    (lambda p: open(p, "wb").write(b"not a video at all" * 50), "cannot be read"),
    (None, "not found"),
])
def test_reenact_bad_driving_video(tmp_path, make, problem):
    video = str(tmp_path / "drive.mp4")
    if make:
        make(video)
    r = run_cli("reenact", "--video", video, "--image", FACE, "--out", str(tmp_path / "o.mp4"), "--render", "warp")
    assert r.returncode == 1 and video in r.stderr and problem in r.stderr and "Traceback" not in r.stderr


def test_reenact_video_without_a_face(tmp_path, astronaut):
    video = str(tmp_path / "noface.mp4")
    _driving_video(video, astronaut, lost=range(0, 10), n=10)
    r = run_cli("reenact", "--video", video, "--image", FACE, "--out", str(tmp_path / "o.mp4"), "--render", "warp")
    assert r.returncode == 1 and "no face found" in r.stderr


def test_train_and_export_a_generator(tmp_path, astronaut):
    """The training command end to end on a tiny data folder: pairs, a few GAN steps, a
    checkpoint and a sample grid; resume continues; export writes an ONNX generator that
    onnxruntime loads and that matches torch (export checks it)."""
    pytest.importorskip("torch")
    videos = tmp_path / "data" / "videos"
    videos.mkdir(parents=True)
    _driving_video(str(videos / "a.mp4"), astronaut, lost=(), n=20)
    _driving_video(str(videos / "b.mp4"), astronaut, lost=(), n=12)
    run = tmp_path / "run"
    env = {"FACEBRIDGE_CACHE": str(tmp_path / "cache")}
    common = ["--data", str(tmp_path / "data"), "--out", str(run), "--held-out", "b", "--sources-per-clip", "2",
              "--pairs-per-source", "3", "--held-pairs", "8", "--batch", "2", "--patch", "64", "--gan-from", "1",
              "--log-every", "1", "--save-every", "2", "--width", "8"]
    r = run_cli("train", "generator", *common, "--steps", "2", env=env)
    assert r.returncode == 0, r.stderr
    assert (run / "last.pt").exists() and (run / "samples_000002.jpg").exists()
    assert "held_l1" in (run / "log.jsonl").read_text()
    r = run_cli("train", "generator", *common, "--steps", "3", "--resume", env=env)
    assert r.returncode == 0 and "resumed" in r.stdout, r.stderr
    onnx_path = str(tmp_path / "g.onnx")
    r = run_cli("export", "generator", str(run), "--out", onnx_path)
    assert r.returncode == 0, r.stderr
    m = GeneratorModel(onnx_path)
    assert m.size == 256 and m.config["width"] == 8
    y = m(np.zeros((1, IN_CHANNELS, 64, 64), np.float32))
    assert y.shape == (1, 3, 64, 64) and np.abs(y).max() <= 1.0


def test_export_without_a_run_is_a_clear_error(tmp_path):
    r = run_cli("export", "generator", str(tmp_path / "nothing"), "--out", str(tmp_path / "g.onnx"))
    assert r.returncode == 1 and "last.pt" in r.stderr and "Traceback" not in r.stderr
