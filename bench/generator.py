"""The generator against the warp renderer and a copy-the-source baseline, on held-out clips.

Self-reenactment: for each held-out clip (never trained on; models/generator.md), the source
is the first tracked frame and the driving landmarks are the clip's own tracked landmarks, so
the real frames are the truth. Every arm renders full frames; all are scored in the source
face's 256x256 crop (bridge/render/crop.py):
- PSNR and SSIM, whole crop and mouth box (the driving lips' box, widened by a quarter);
- landmark error: FaceMesh on the rendered frame vs the driving landmarks, mean distance
  over the 478 points / outer-eye-corner distance;
- flicker: mean |frame t - frame t-1| over the pixels the real clip holds still there
  (its own frame difference < 3 grey levels), in grey levels.
Speed: the generator renderer per frame (warp + maps + network + paste) on this machine,
with the model's parameters and GFLOPs. Also writes a cross-identity image strip: still
faces of the shared data driven by a held-out clip (docs/generator_strip.jpg).

    python bench/generator.py [--model models/generator.onnx] [--every 1]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time

import cv2
import numpy as np

ROOT = os.path.join(os.path.dirname(__file__), "..")
sys.path.insert(0, ROOT)
from bench.common import DATA, RESULTS, VIDEOS, git_rev, machine  # noqa: E402

from bridge.face import FaceMeshDetector  # noqa: E402
from bridge.face import topology as T  # noqa: E402
from bridge.render.crop import IN_CHANNELS, Crop, mouth_box  # noqa: E402
from bridge.render.gan import GanRenderer, GeneratorModel  # noqa: E402
from bridge.render.warp import WarpRenderer  # noqa: E402
from bridge.train.generator import Config  # noqa: E402
from bridge.train.tracking import read_frames, track_video  # noqa: E402

ARMS = ("copy", "warp", "gan")


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM (Wang et al. 2004: Gaussian window sigma 1.5), averaged over channels."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    blur = lambda x: cv2.GaussianBlur(x, (11, 11), 1.5)  # noqa: E731
    ma, mb = blur(a), blur(b)
    va, vb, cov = blur(a * a) - ma * ma, blur(b * b) - mb * mb, blur(a * b) - ma * mb
    s = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))
    return s.mean(2)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-10)))


def grey(x: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(x, cv2.COLOR_RGB2GRAY).astype(np.float32)


def evaluate_clip(name: str, model: GeneratorModel, every: int, det) -> dict:
    path = os.path.join(VIDEOS, name + ".mp4")
    points, fps = track_video(path)
    frames = read_frames(path)
    ok = [i for i in range(min(len(frames), len(points))) if np.isfinite(points[i]).all()]
    src = ok[0]
    image = frames[src]
    crop = Crop.around(points[src], model.size)
    renderers = dict(warp=WarpRenderer(image, points[src]), gan=GanRenderer(image, points[src], model))
    scores = {arm: dict(psnr=[], ssim=[], psnr_mouth=[], ssim_mouth=[], lmk=[], flicker=[]) for arm in ARMS}
    prev = {}
    prev_truth = None
    for i in ok[1::every]:
        truth = crop.image(frames[i])
        dp = crop.points(points[i])
        x0, y0, x1, y1 = mouth_box(dp, crop.size)
        eyes = np.linalg.norm(points[i, T.EYE_OUTER_LEFT, :2] - points[i, T.EYE_OUTER_RIGHT, :2])
        still = None
        if prev_truth is not None:
            still = np.abs(grey(truth) - grey(prev_truth)) < 3
        for arm in ARMS:
            full = image if arm == "copy" else renderers[arm].render(points[i])
            out = crop.image(full)
            sm = ssim_map(out, truth)
            s = scores[arm]
            s["psnr"].append(psnr(out, truth))
            s["ssim"].append(float(sm.mean()))
            s["psnr_mouth"].append(psnr(out[y0:y1, x0:x1], truth[y0:y1, x0:x1]))
            s["ssim_mouth"].append(float(sm[y0:y1, x0:x1].mean()))
            faces = det.track(full)
            if faces:
                s["lmk"].append(float(np.linalg.norm(faces[0][:, :2] - points[i, :, :2], axis=1).mean() / eyes))
            if still is not None and arm in prev and still.any():
                s["flicker"].append(float(np.abs(grey(out) - grey(prev[arm]))[still].mean()))
            prev[arm] = out
        prev_truth = truth
    return {arm: {k: round(float(np.mean(v)), 4) if v else None for k, v in s.items()} |
            {"frames": len(s["psnr"]), "faces_found": len(s["lmk"])} for arm, s in scores.items()}


def speed(model: GeneratorModel, n: int = 60) -> dict:
    from bridge.face import load_image
    from bridge.pipeline import Avatar

    av_ = Avatar.from_image(load_image(os.path.join(ROOT, "samples", "astronaut.png")))
    r = GanRenderer(av_.image, av_.points, model)
    x = np.zeros((1, IN_CHANNELS, model.size, model.size), np.float32)
    for _ in range(5):
        r.render(av_.points)
    t = time.perf_counter()
    for _ in range(n):
        model(x)
    net = (time.perf_counter() - t) / n
    t = time.perf_counter()
    for _ in range(n):
        r.render_crop(av_.points)
    crop = (time.perf_counter() - t) / n
    t = time.perf_counter()
    for _ in range(n):
        r.render(av_.points)
    full = (time.perf_counter() - t) / n
    meta = model.session.get_modelmeta().custom_metadata_map
    return dict(network_ms=round(net * 1e3, 2), crop_frame_ms=round(crop * 1e3, 2),
                full_frame_ms=round(full * 1e3, 2), frames_per_s_crop=round(1 / crop, 1),
                frames_per_s_full_512=round(1 / full, 1), params=int(meta.get("params", 0)),
                gflops=float(meta.get("gflops", 0)))


def strip(model: GeneratorModel, out: str) -> None:
    """Cross-identity: shared still faces driven by the held-out lp_d11 (rows: driving, then
    each still through the generator)."""
    from bridge.face import load_image
    from bridge.pipeline import Avatar
    from bridge.reenact import retarget

    path = os.path.join(VIDEOS, "lp_d11.mp4")
    points, fps = track_video(path)
    frames = read_frames(path)
    pick = [0, 45, 90, 135, 180, 215]
    cell = 192
    rows = [np.hstack([cv2.resize(Crop.around(points[i], cell).image(frames[i]), (cell, cell)) for i in pick])]
    for still in ("lp_s0", "lp_s4", "lp_s6"):
        p = os.path.join(DATA, "faces", "images", still + ".jpg")
        av_ = Avatar.from_image(load_image(p))
        lm = retarget(points, fps, av_)
        r = GanRenderer(av_.image, av_.points, model)
        rows.append(np.hstack([cv2.resize(r.render_crop(lm[i]), (cell, cell), interpolation=cv2.INTER_AREA) for i in pick]))
    cv2.imwrite(out, cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None, help="default: FACEBRIDGE_GENERATOR or models/generator.onnx")
    ap.add_argument("--every", type=int, default=1, help="score every Nth frame")
    ap.add_argument("--clips", default=",".join(Config.held_out))
    args = ap.parse_args()
    model = GeneratorModel(args.model)
    report = dict(date=str(datetime.date.today()), machine=machine(), commit=git_rev(),
                  command="python bench/generator.py", clips={})
    with FaceMeshDetector(video=False, max_faces=1) as det:
        for name in args.clips.split(","):
            t0 = time.time()
            report["clips"][name] = evaluate_clip(name, model, args.every, det)
            print(name, json.dumps(report["clips"][name]), f"({time.time() - t0:.0f} s)", flush=True)
    report["mean"] = {arm: {k: round(float(np.mean([c[arm][k] for c in report["clips"].values() if c[arm][k] is not None])), 4)
                            for k in ("psnr", "ssim", "psnr_mouth", "ssim_mouth", "lmk", "flicker")
                            if any(c[arm][k] is not None for c in report["clips"].values())}
                      for arm in ARMS}
    report["speed"] = speed(model)
    strip(model, os.path.join(ROOT, "docs", "generator_strip.jpg"))
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "generator.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps({k: report[k] for k in ("mean", "speed")}, indent=1))


if __name__ == "__main__":
    main()
