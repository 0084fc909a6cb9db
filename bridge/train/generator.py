"""Train the generator adversarially, top to bottom: pairs of frames -> GAN -> ONNX.

    facebridge train generator --data ../shared/data/faces --out runs/gen1 [--steps N] [--resume]
    facebridge export generator runs/gen1 --out models/generator.onnx

1. Pairs. Every video is tracked with FaceMesh (cached). From each training clip, source
   frames are picked evenly and each is paired with random driving frames of the same clip.
   Both are cropped with the source face's crop (bridge/render/crop.py, jittered in scale and
   position); the input is the warp renderer's frame for the driving landmarks, the landmark
   maps and the source crop; the target is the real driving frame. The held-out clips are
   never paired for training: a few of their pairs are scored every so often, for the log.
2. GAN. Generator and discriminator in gan_model.py. Losses: L1 at three scales with the
   mouth region weighted up, hinge adversarial, discriminator feature matching. Batches are
   128x128 patches of the 256 crops (half of them on the mouth): the networks are fully
   convolutional, and a patch costs a quarter of a crop on a CPU.
3. Export: the generator as an ONNX graph built with onnx.helper (no torch at run time),
   checked against torch on the held-out pairs.

Everything is seeded; the config is the Config dataclass below and is saved with each run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from dataclasses import dataclass

import numpy as np

from bridge.train.tracking import CACHE

DEFAULT_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "faces")


@dataclass
class Config:
    held_out: tuple = ("lp_d11", "mt_yongen")  # whole clips never trained on
    size: int = 256
    patch: int = 128
    sources_per_clip: int = 12
    pairs_per_source: int = 20
    held_pairs: int = 48
    width: int = 24
    batch: int = 8
    steps: int = 7000
    lr: float = 2e-4
    w_l1: float = 10.0
    w_mouth: float = 3.0  # extra L1 weight inside the mouth box
    w_fm: float = 2.0
    w_adv: float = 0.5
    gan_from: int = 500  # steps of reconstruction only before the discriminator joins
    decay_from: int = 4500  # from here the learning rates fall linearly to 0 at `steps` (0: never)
    seed: int = 0
    log_every: int = 50
    save_every: int = 250


# ---------------------------------------------------------------- 1. pairs
def _clips(data: str) -> list[str]:
    videos = os.path.join(data, "videos")
    if not os.path.isdir(videos):
        raise FileNotFoundError(f"{data}: no videos/ folder (expected the shared faces data, e.g. ../shared/data/faces)")
    return sorted(os.path.join(videos, f) for f in os.listdir(videos) if f.endswith(".mp4"))


def clip_pairs(path: str, n_sources: int, n_pairs: int, size: int, rng: np.random.Generator,
               jitter: bool = True) -> dict[str, np.ndarray]:
    """Pairs (source, driving) of one clip as uint8 arrays: src, warped, maps, target (N, S, S, 3)
    and mouth (N, 4) boxes of the driving mouth in crop pixels."""
    from bridge.render.crop import Crop, draw_maps, mouth_box
    from bridge.render.warp import WarpRenderer
    from bridge.train.tracking import read_frames, track_video

    points, _ = track_video(path)
    ok = np.flatnonzero(np.isfinite(points).all(axis=(1, 2)))
    out = {k: [] for k in ("src", "warped", "maps", "target", "mouth")}
    if len(ok) < 10:
        return {k: np.zeros((0,)) for k in out}
    frames = read_frames(path)
    ok = ok[ok < len(frames)]
    for s in ok[np.linspace(0, len(ok) - 1, n_sources).round().astype(int)]:
        scale, shift = (rng.uniform(0.9, 1.1), rng.uniform(-0.04, 0.04, 2)) if jitter else (1.0, (0.0, 0.0))
        crop = Crop.around(points[s], size, scale, tuple(shift))
        src = crop.image(frames[s])
        warp = WarpRenderer(src, crop.points(points[s]))
        for d in rng.choice(ok, n_pairs):
            dp = crop.points(points[d])
            out["src"].append(src)
            out["warped"].append(warp.render(dp))
            out["maps"].append(draw_maps(dp, size))
            out["target"].append(crop.image(frames[d]))
            out["mouth"].append(mouth_box(dp, size))
    return {k: np.asarray(v, np.int32 if k == "mouth" else np.uint8) for k, v in out.items()}


def build_pairs(cfg: Config, data: str, log) -> tuple[dict, dict]:
    """(train, held) pair sets, cached by the config's data fields and the clips' sizes."""
    clips = _clips(data)
    from bridge.render.crop import N_MAPS

    key = json.dumps([N_MAPS, cfg.held_out, cfg.size, cfg.sources_per_clip, cfg.pairs_per_source, cfg.held_pairs,
                      cfg.seed, [(os.path.basename(c), os.path.getsize(c)) for c in clips]])
    cache = os.path.join(CACHE, "generator", f"pairs-{hashlib.sha1(key.encode()).hexdigest()[:12]}.npz")
    if os.path.exists(cache):
        z = np.load(cache)
        split = lambda p: {k[len(p):]: z[k] for k in z.files if k.startswith(p)}  # noqa: E731
        log(f"pairs: {len(z['train_src'])} train, {len(z['held_src'])} held out (cached {cache})")
        return split("train_"), split("held_")
    rng = np.random.default_rng(cfg.seed)
    train, held = [], []
    for i, path in enumerate(clips):
        name = os.path.splitext(os.path.basename(path))[0]
        t0 = time.time()
        if name in cfg.held_out:
            p = clip_pairs(path, 4, max(1, cfg.held_pairs // (4 * len(cfg.held_out))), cfg.size, rng, jitter=False)
            held.append(p)
        else:
            p = clip_pairs(path, cfg.sources_per_clip, cfg.pairs_per_source, cfg.size, rng)
            train.append(p)
        log(f"pairs: [{i + 1}/{len(clips)}] {name}: {len(p['src'])} pairs"
            f"{' (held out)' if name in cfg.held_out else ''} ({time.time() - t0:.1f} s)")
    cat = lambda parts: {k: np.concatenate([p[k] for p in parts if len(p[k])]) for k in parts[0]}  # noqa: E731
    train, held = cat(train), cat(held)
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    np.savez(cache + ".partial.npz", **{f"train_{k}": v for k, v in train.items()},
             **{f"held_{k}": v for k, v in held.items()})
    os.replace(cache + ".partial.npz", cache)
    return train, held


def batch(pairs: dict, idx: np.ndarray, patch: int, rng: np.random.Generator, augment: bool = True):
    """-> x (N, IN_CHANNELS, P, P), target (N, 3, P, P), maps (N, N_MAPS, P, P) float32 in [-1, 1], and the
    mouth weight (N, 1, P, P). Half of the patches hold the mouth; colour gains and flips are
    the same for a pair's images."""
    from bridge.render.crop import to_input

    size = pairs["src"].shape[1]
    xs, ys, ms, ws = [], [], [], []
    for i in idx:
        x0, y0, x1, y1 = pairs["mouth"][i]
        if patch >= size:
            px = py = 0
        elif rng.random() < 0.5:  # on the mouth
            cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
            px = int(np.clip(cx - patch // 2 + rng.integers(-patch // 4, patch // 4 + 1), 0, size - patch))
            py = int(np.clip(cy - patch // 2 + rng.integers(-patch // 4, patch // 4 + 1), 0, size - patch))
        else:
            px, py = (int(v) for v in rng.integers(0, size - patch + 1, 2))
        sl = (slice(py, py + patch), slice(px, px + patch))
        imgs = [pairs[k][i][sl].astype(np.float32) for k in ("warped", "maps", "src", "target")]
        weight = np.ones((patch, patch), np.float32)
        weight[max(0, y0 - py):max(0, y1 - py), max(0, x0 - px):max(0, x1 - px)] += 1.0
        if augment:
            gain = rng.uniform(0.85, 1.15, 3) * rng.uniform(0.85, 1.15)
            for j in (0, 2, 3):
                imgs[j] = np.clip(imgs[j] * gain.astype(np.float32), 0, 255)
            if rng.random() < 0.5:
                imgs = [im[:, ::-1] for im in imgs]
                weight = weight[:, ::-1]
        w, m, s, t = (to_input(im) for im in imgs)
        xs.append(np.concatenate([w, m, s]))
        ys.append(t)
        ms.append(m)
        ws.append(weight[None])
    return (np.ascontiguousarray(np.stack(xs)), np.ascontiguousarray(np.stack(ys)),
            np.ascontiguousarray(np.stack(ms)), np.ascontiguousarray(np.stack(ws)))


# ---------------------------------------------------------------- 2. GAN
def train(data: str, out: str, cfg: Config, resume: bool = False, log=print, progress=None) -> dict:
    import torch
    import torch.nn.functional as F

    from bridge.train.gan_model import Discriminator, Generator

    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed + 1)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(dataclasses.asdict(cfg), f, indent=1)
    pairs, held = build_pairs(cfg, data, log)

    G, D = Generator(cfg.width), Discriminator()
    opt_g = torch.optim.Adam(G.parameters(), cfg.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), cfg.lr, betas=(0.5, 0.999))
    step = 0
    ckpt = os.path.join(out, "last.pt")
    if resume and os.path.exists(ckpt):
        state = torch.load(ckpt, weights_only=False)
        G.load_state_dict(state["G"]), D.load_state_dict(state["D"])
        opt_g.load_state_dict(state["opt_g"]), opt_d.load_state_dict(state["opt_d"])
        step, rng = state["step"], state["rng"]
        torch.set_rng_state(state["torch_rng"])
        log(f"resumed {ckpt} at step {step}")

    def l1_multiscale(a, b, w):
        loss = 0.0
        for k in range(3):
            loss = loss + ((a - b).abs() * w).mean()
            a, b, w = F.avg_pool2d(a, 2), F.avg_pool2d(b, 2), F.avg_pool2d(w, 2)
        return loss

    logf = open(os.path.join(out, "log.jsonl"), "a")
    t0, since = time.time(), step
    while step < cfg.steps:
        G.train()
        if cfg.decay_from and step >= cfg.decay_from:  # settle the GAN: it oscillates at a fixed rate
            for opt in (opt_g, opt_d):
                for group in opt.param_groups:
                    group["lr"] = cfg.lr * (cfg.steps - step) / max(1, cfg.steps - cfg.decay_from)
        x, y, maps, w = (torch.from_numpy(a) for a in batch(pairs, rng.integers(0, len(pairs["src"]), cfg.batch), cfg.patch, rng))
        w = 1.0 + (w - 1.0) * cfg.w_mouth
        fake = G(x)
        use_gan = step >= cfg.gan_from
        loss_d = torch.zeros(())
        if use_gan:
            real_out, fake_out = D(y, maps), D(fake.detach(), maps)
            loss_d = sum(F.relu(1 - r[0]).mean() + F.relu(1 + f[0]).mean() for r, f in zip(real_out, fake_out))
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        rec = l1_multiscale(fake, y, w)
        adv = fm = torch.zeros(())
        if use_gan:
            fake_out = D(fake, maps)
            with torch.no_grad():
                real_feats = [r[1] for r in D(y, maps)]
            adv = -sum(f[0].mean() for f in fake_out)
            fm = sum(F.l1_loss(a, b) for f, rf in zip(fake_out, real_feats) for a, b in zip(f[1], rf))
        loss_g = cfg.w_l1 * rec + cfg.w_adv * adv + cfg.w_fm * fm
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        step += 1
        if progress:
            progress(step / cfg.steps)
        if step % cfg.log_every == 0 or step == cfg.steps:
            rate = (step - since) / (time.time() - t0)
            row = dict(step=step, l1=round(rec.item(), 4), adv=round(adv.item(), 4), fm=round(fm.item(), 4),
                       d=round(loss_d.item(), 4), steps_per_s=round(rate, 2))
            if step % (cfg.log_every * 4) == 0 or step == cfg.steps:
                row.update(held_out_l1(G, held))
            logf.write(json.dumps(row) + "\n")
            logf.flush()
            log(" ".join(f"{k}={v}" for k, v in row.items()))
        if step % cfg.save_every == 0 or step == cfg.steps:
            torch.save(dict(G=G.state_dict(), D=D.state_dict(), opt_g=opt_g.state_dict(), opt_d=opt_d.state_dict(),
                            step=step, rng=rng, torch_rng=torch.get_rng_state(), config=dataclasses.asdict(cfg)),
                       ckpt + ".partial")
            os.replace(ckpt + ".partial", ckpt)
            torch.save(dict(G=G.state_dict(), step=step, config=dataclasses.asdict(cfg)),
                       os.path.join(out, f"generator_{step:06d}.pt"))  # small: for picking and comparing
            sample_grid(G, held, os.path.join(out, f"samples_{step:06d}.jpg"))
    logf.close()
    return held_out_l1(G, held)


def _infer(G, held, idx):
    import torch

    x, y, _, _ = batch(held, idx, held["src"].shape[1], np.random.default_rng(0), augment=False)
    G.eval()
    with torch.no_grad():
        return G(torch.from_numpy(x)).numpy(), x, y


def held_out_l1(G, held) -> dict:
    """Mean absolute error (0..255) of generator and warp on the held-out pairs, whole crop and
    mouth box."""
    out, x, y = _infer(G, held, np.arange(len(held["src"])))
    err_g, err_w, mouth_g, mouth_w = [], [], [], []
    for i in range(len(out)):
        x0, y0, x1, y1 = held["mouth"][i]
        eg, ew = np.abs(out[i] - y[i]) * 127.5, np.abs(x[i, :3] - y[i]) * 127.5
        err_g.append(eg.mean()), err_w.append(ew.mean())
        mouth_g.append(eg[:, y0:y1, x0:x1].mean()), mouth_w.append(ew[:, y0:y1, x0:x1].mean())
    return dict(held_l1=round(float(np.mean(err_g)), 3), held_l1_warp=round(float(np.mean(err_w)), 3),
                held_mouth_l1=round(float(np.mean(mouth_g)), 3), held_mouth_l1_warp=round(float(np.mean(mouth_w)), 3))


def sample_grid(G, held, path: str, n: int = 6) -> None:
    """Rows: source, warp, generator, real driving frame, for n held-out pairs."""
    import cv2

    from bridge.render.crop import to_image

    idx = np.linspace(0, len(held["src"]) - 1, n).round().astype(int)
    out, x, y = _infer(G, held, idx)
    rows = [np.hstack([to_image(a) for a in arms]) for arms in (x[:, -3:], x[:, :3], out, y)]
    cv2.imwrite(path, cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])


# ---------------------------------------------------------------- 3. export
def export(run: str, path: str, log=print) -> dict:
    """The run's generator -> ONNX (onnx.helper graph), checked against torch on the same input."""
    import torch

    from bridge.train.gan_model import Generator

    from bridge.errors import FacebridgeError

    ckpt = os.path.join(run, "last.pt")
    if not os.path.exists(ckpt):
        raise FacebridgeError(run, "holds no last.pt", f"train first: facebridge train generator --out {run}")
    state = torch.load(ckpt, weights_only=False)
    cfg = Config(**{k: tuple(v) if isinstance(v, list) else v for k, v in state["config"].items()})
    G = Generator(cfg.width)
    G.load_state_dict(state["G"])
    G.eval()
    graph = _onnx_graph(G)
    from bridge.train.onnx_io import save_graph

    meta = dict(kind="facebridge-generator", step=str(state["step"]), crop=str(cfg.size),
                params=str(sum(p.numel() for p in G.parameters())), gflops=f"{gflops(G, cfg.size):.3f}",
                inputs="warped rgb, 3 landmark maps, source rgb; [-1,1]; NCHW", config=json.dumps(state["config"]))
    save_graph(graph, path, meta)
    # The ONNX graph must compute what torch computes.
    import onnxruntime as ort

    from bridge.render.crop import IN_CHANNELS

    x = np.random.default_rng(0).uniform(-1, 1, (1, IN_CHANNELS, cfg.size, cfg.size)).astype(np.float32)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    with torch.no_grad():
        ref = G(torch.from_numpy(x)).numpy()
    diff = float(np.abs(sess.run(None, {"input": x})[0] - ref).max())
    if diff > 1e-3:
        raise RuntimeError(f"{path}: ONNX output differs from torch by {diff:.2g}")
    log(f"exported {path} ({os.path.getsize(path) / 1e6:.1f} MB, step {state['step']}, max |onnx - torch| {diff:.1e})")
    return dict(step=state["step"], max_abs_diff=diff)


def gflops(G, size: int) -> float:
    """Multiply-adds of the convolutions x 2, for one size x size frame."""
    import torch

    from bridge.render.crop import IN_CHANNELS

    macs = []
    hooks = [m.register_forward_hook(lambda m, i, o: macs.append(o.numel() * m.in_channels // m.groups
                                                                 * m.kernel_size[0] * m.kernel_size[1]))
             for m in G.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        G(torch.zeros(1, IN_CHANNELS, size, size))
    for h in hooks:
        h.remove()
    return 2 * sum(macs) / 1e9


def _onnx_graph(G):
    """Walk the Generator's fixed structure into ONNX nodes."""
    import torch.nn as nn
    from onnx import TensorProto, helper, numpy_helper

    from bridge.render.crop import IN_CHANNELS

    from bridge.train.gan_model import _Res, _Up

    nodes, inits = [], []
    counter = [0]

    def name(prefix):
        counter[0] += 1
        return f"{prefix}{counter[0]}"

    def conv(x, m: nn.Conv2d):
        w, b = name("w"), name("b")
        inits.append(numpy_helper.from_array(m.weight.detach().numpy().astype(np.float32), w))
        inits.append(numpy_helper.from_array(m.bias.detach().numpy().astype(np.float32), b))
        y = name("conv")
        k, s, p = m.kernel_size[0], m.stride[0], m.padding[0]
        nodes.append(helper.make_node("Conv", [x, w, b], [y], kernel_shape=[k, k], strides=[s, s], pads=[p] * 4))
        return y

    def lrelu(x):
        y = name("lrelu")
        nodes.append(helper.make_node("LeakyRelu", [x], [y], alpha=0.2))
        return y

    def add(a, b):
        y = name("add")
        nodes.append(helper.make_node("Add", [a, b], [y]))
        return y

    def seq(x, mods):
        for m in mods:
            if isinstance(m, nn.Conv2d):
                x = conv(x, m)
            elif isinstance(m, nn.LeakyReLU):
                x = lrelu(x)
            elif isinstance(m, nn.Sequential):
                x = seq(x, m)
            elif isinstance(m, _Res):
                x = add(x, conv(lrelu(conv(x, m.a)), m.b))
            else:
                raise TypeError(f"no ONNX mapping for {type(m).__name__}")
        return x

    scales = name("scales")
    inits.append(numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), scales))

    def up(x, skip, m: _Up):
        y = name("up")
        nodes.append(helper.make_node("Resize", [x, "", scales], [y], mode="nearest"))
        return add(seq(y, m.conv), skip)

    s0 = seq("input", G.stem)
    s1 = seq(s0, G.down1)
    s2 = seq(s1, G.down2)
    y = seq(s2, G.down3)
    y = up(up(up(y, s2, G.up3), s1, G.up2), s0, G.up1)
    nodes.append(helper.make_node("Resize", [y, "", scales], ["full"], mode="nearest"))
    y = conv("full", G.head)
    nodes.append(helper.make_node("Identity", [y], ["shuffled"]))
    from bridge.train.gan_model import REGION

    for nm, vals in (("s_rgb", [0, 3]), ("s_mask", [3, 4]), ("s_warp", [0, 3]), ("s_region", [REGION, REGION + 1])):
        for part, v in zip(("start", "end"), vals):
            inits.append(numpy_helper.from_array(np.array([v], np.int64), f"{nm}_{part}"))
    axis = "axis1"
    inits.append(numpy_helper.from_array(np.array([1], np.int64), axis))
    inits.append(numpy_helper.from_array(np.array(1.0, np.float32), "one"))
    inits.append(numpy_helper.from_array(np.array(0.5, np.float32), "half"))
    nodes += [
        helper.make_node("Slice", ["shuffled", "s_rgb_start", "s_rgb_end", axis], ["rgb_logit"]),
        helper.make_node("Slice", ["shuffled", "s_mask_start", "s_mask_end", axis], ["mask_logit"]),
        helper.make_node("Slice", ["input", "s_warp_start", "s_warp_end", axis], ["warped"]),
        helper.make_node("Slice", ["input", "s_region_start", "s_region_end", axis], ["region_raw"]),
        helper.make_node("Tanh", ["rgb_logit"], ["rgb"]),
        helper.make_node("Sigmoid", ["mask_logit"], ["mask"]),
        # out = warped + region * (1 - mask) * (rgb - warped), region = (map + 1) / 2
        helper.make_node("Add", ["region_raw", "one"], ["region_2"]),
        helper.make_node("Mul", ["region_2", "half"], ["region"]),
        helper.make_node("Sub", ["one", "mask"], ["free"]),
        helper.make_node("Mul", ["region", "free"], ["gate"]),
        helper.make_node("Sub", ["rgb", "warped"], ["diff"]),
        helper.make_node("Mul", ["gate", "diff"], ["change"]),
        helper.make_node("Add", ["warped", "change"], ["output"]),
    ]
    f = TensorProto.FLOAT
    return helper.make_graph(nodes, "facebridge_generator",
                             [helper.make_tensor_value_info("input", f, ["N", IN_CHANNELS, "H", "W"])],
                             [helper.make_tensor_value_info("output", f, ["N", 3, "H", "W"])], inits)


def main(argv: list[str] | None = None) -> None:
    import argparse

    from bridge.progress import Progress

    ap = argparse.ArgumentParser(prog="facebridge train generator", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=DEFAULT_DATA, help="the faces data folder (holds videos/)")
    ap.add_argument("--out", required=True, help="run folder: config, log.jsonl, last.pt, sample grids")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    for f in dataclasses.fields(Config):
        if f.type in ("int", "float"):
            ap.add_argument("--" + f.name.replace("_", "-"), type=int if f.type == "int" else float, default=f.default)
    ap.add_argument("--held-out", default=",".join(Config.held_out), help="clips never trained on (names, comma-separated)")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    cfg = Config(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Config) if f.name != "held_out"},
                 held_out=tuple(s for s in args.held_out.split(",") if s))
    progress = Progress()
    progress.stage(f"training the generator ({cfg.steps} steps)")
    t0 = time.time()
    result = train(args.data, args.out, cfg, args.resume, log=lambda m: print(m, flush=True), progress=progress.update)
    progress.done(f"trained in {(time.time() - t0) / 60:.1f} min: {result}")
    print(f"next: facebridge export generator {args.out} --out models/generator.onnx")
