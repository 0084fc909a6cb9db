"""Train the streamed viseme classifier and export it to ONNX.

    facebridge train visemes [--data ../shared/data] [--out models/visemes.onnx]

Read top to bottom:
1. Corpus. (a) Synthetic speech: sentences from GoEmotions spoken by espeak-ng in ten voice
   variants at random rates and pitches, labelled by forced alignment (pocketsphinx, the same
   aligner `animate` uses with a transcript): exact words, so exact phones. (b) Real speech:
   the shared talking clips and speech files, labelled by the phone loop that `animate` uses
   without a transcript (so the stream learns the whole-clip path's own phones). Cached.
   Held out and reported on: sentences from GoEmotions *dev* in three voices never trained
   on, and two real recordings (lp_d11, st_RD_Radio34_002).
2. Features as a stream computes them (bridge/speech/viseme_net.py): log-mel shape + level
   relative to the stream's running floor, 16 hops of past and 2 of future context.
   Augmented: noise at 10-35 dB SNR, leading silence, gain.
3. A 779-256-256-10 MLP (torch), class-balanced cross-entropy; exported as an ONNX graph
   (Gemm/Relu/Softmax) built with onnx.helper and checked against torch.
4. Held-out frame accuracy beside two baselines run here: the majority class, and the phone
   loop decoding each whole utterance (what the whole-clip path sees, with all the future).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import tempfile
import time

import numpy as np

from bridge.motion.visemes import CLASS_NAMES, class_of
from bridge.speech import viseme_net as vn
from bridge.speech.audio import RATE
from bridge.train.onnx_io import save_graph
from bridge.train.tracking import CACHE

DEFAULT_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data")
TRAIN_VOICES = ["en-us+m1", "en-us+m3", "en-us+f2", "en-us+f5", "en-gb+m2", "en-gb+f3",
                "en-gb-scotland+m4", "en-029+f1", "en-gb-x-rp+m7", "en-us+klatt2"]
HELD_OUT_VOICES = ["en-us+f4", "en-gb-x-gbcwmd+m6", "en-us+klatt4"]
REAL_TRAIN = ["faces/videos/lp_d6.mp4", "faces/videos/lp_d9.mp4", "faces/videos/lp_d10.mp4",
              "faces/videos/lp_d20.mp4", "speech/mt_eng.wav", "speech/st_itosinger1.wav"]
REAL_HELD_OUT = ["faces/videos/lp_d11.mp4", "speech/st_RD_Radio34_002.wav"]
REAL_REPEATS = 4  # real speech is scarce: each recording is used this many times, each with new noise
SEED = 0


# ---------------------------------------------------------------- 1. corpus
def sentences(tsv: str, n: int, rng) -> list[str]:
    out = []
    for line in open(tsv, encoding="utf-8"):
        text = re.sub(r"\[[A-Z]+\]", "", line.split("\t")[0])
        words = re.findall(r"[A-Za-z']+", text)
        if 5 <= len(words) <= 18 and text.isascii():
            out.append(" ".join(words))
    rng.shuffle(out)
    return out[:n]


def synthesize(text: str, voice: str, rate_wpm: int, pitch: int) -> np.ndarray:
    from bridge.speech import load_audio

    with tempfile.TemporaryDirectory() as tmp:
        wav = os.path.join(tmp, "s.wav")
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate_wpm), "-p", str(pitch), "-w", wav, text],
                       check=True, capture_output=True)
        return load_audio(wav).samples


def hop_labels(phones, n: int) -> np.ndarray:
    t = (np.arange(n) + 0.5) * vn.HOP_S
    labels = np.full(n, CLASS_NAMES.index("SIL"), np.int64)
    for p in phones:
        labels[(t >= p.start_s) & (t < p.end_s)] = class_of(p.phone)
    return labels


def synthetic_corpus(texts, voices, rng, cache: str, log) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(16 kHz samples, per-hop class)] for each text, each in a random voice of `voices`."""
    from bridge.errors import FacebridgeError
    from bridge.speech.audio import Audio
    from bridge.speech.phonemes import Aligner

    aligner, out = Aligner(), []
    for i, text in enumerate(texts):
        voice, wpm, pitch = voices[rng.integers(len(voices))], int(rng.integers(130, 210)), int(rng.integers(25, 76))
        key = hashlib.sha1(f"{text}|{voice}|{wpm}|{pitch}".encode()).hexdigest()[:16]
        path = os.path.join(cache, key + ".npz")
        if os.path.exists(path):
            z = np.load(path)
            out.append((z["x"], z["y"]))
            continue
        x = synthesize(text, voice, wpm, pitch)
        try:
            phones, _ = aligner.align(Audio(x, "synth", RATE, 1), text)
        except FacebridgeError:
            continue
        y = hop_labels(phones, max(1, len(x) // vn.HOP))
        np.savez_compressed(path, x=x, y=y)
        out.append((x, y))
        if (i + 1) % 50 == 0:
            log(f"  synthesised and aligned {i + 1}/{len(texts)}")
    return out


def real_corpus(paths, cache: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """The recordings with labels from the whole-clip phone loop (cached)."""
    from bridge.speech import load_audio
    from bridge.speech.audio import Audio
    from bridge.speech.frames import envelope, speech_segments
    from bridge.speech.phonemes import PhoneDecoder
    from bridge.train.tracking import read_audio_track

    out = []
    for p in paths:
        key = hashlib.sha1(f"{os.path.abspath(p)}:{os.path.getsize(p)}".encode()).hexdigest()[:16]
        path = os.path.join(cache, f"real-{os.path.basename(p)}-{key}.npz")
        if not os.path.exists(path):
            if p.endswith(".wav"):
                audio = load_audio(p)
            else:
                import soxr

                x, rate = read_audio_track(p)
                audio = Audio(soxr.resample(x, rate, RATE).astype(np.float32), p, rate, 1)
            phones = PhoneDecoder().decode(audio, speech_segments(envelope(audio)))
            np.savez_compressed(path, x=audio.samples, y=hop_labels(phones, max(1, len(audio.samples) // vn.HOP)))
        z = np.load(path)
        out.append((z["x"], z["y"]))
    return out


# ---------------------------------------------------------------- 2. features
def augment(x: np.ndarray, rng) -> np.ndarray:
    lead = np.zeros(int(rng.uniform(0.1, 0.8) * RATE), np.float32)
    x = np.concatenate([lead, x]) * np.float32(10 ** (rng.uniform(-15, 5) / 20))
    if rng.random() < 0.6:
        snr = rng.uniform(10, 35)
        noise = rng.standard_normal(len(x)).astype(np.float32)
        if rng.random() < 0.5:  # pink-ish: integrate white noise a little
            noise = np.convolve(noise, np.ones(8) / 8, mode="same")
        p_sig = np.mean(x[np.abs(x) > 1e-4] ** 2) if np.any(np.abs(x) > 1e-4) else 1e-6
        x = x + noise * np.sqrt(p_sig / 10 ** (snr / 10) / np.mean(noise ** 2))
    return x.astype(np.float32), len(lead) // vn.HOP


def featurize(items, rng, aug: bool):
    """-> one padded feature array, the hop indices to classify, their labels."""
    feats, index, labels, base = [], [], [], 0
    for x, y in items:
        shift = 0
        if aug:
            x, shift = augment(x, rng)
        f = vn.pad_context(vn.utterance_features(x))
        y = np.concatenate([np.full(shift, CLASS_NAMES.index("SIL")), y])
        n = min(len(f) - vn.PAST - vn.FUTURE, len(y))
        feats.append(f)
        index.append(base + vn.PAST + np.arange(n))
        labels.append(y[:n])
        base += len(f)
    return np.concatenate(feats), np.concatenate(index), np.concatenate(labels)


def gather(feats, idx):
    return feats[idx[:, None] + np.arange(-vn.PAST, vn.FUTURE + 1)[None, :]].reshape(len(idx), vn.N_INPUTS)


# ---------------------------------------------------------------- 3. fit and export
def fit(train, epochs: int, log):
    import torch

    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    feats, idx, y = train
    counts = np.bincount(y, minlength=len(CLASS_NAMES)).astype(np.float64)
    weight = 1 / np.sqrt(np.maximum(counts, 1))
    weight = torch.tensor(weight / (weight * counts).sum() * counts.sum(), dtype=torch.float32)
    net = torch.nn.Sequential(torch.nn.Linear(vn.N_INPUTS, 256), torch.nn.ReLU(), torch.nn.Dropout(0.1),
                              torch.nn.Linear(256, 256), torch.nn.ReLU(), torch.nn.Dropout(0.1),
                              torch.nn.Linear(256, len(CLASS_NAMES)))
    batch = 512
    steps = epochs * (len(idx) // batch)
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    lossf = torch.nn.CrossEntropyLoss(weight=weight)
    ft = torch.from_numpy(feats)
    for step in range(steps):
        b = rng.integers(0, len(idx), batch)
        xb = ft[torch.from_numpy(idx[b][:, None] + np.arange(-vn.PAST, vn.FUTURE + 1)[None, :])].reshape(batch, -1)
        loss = lossf(net(xb), torch.from_numpy(y[b]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 1000 == 0 or step == steps - 1:
            log(f"  step {step}/{steps}: loss {loss.item():.3f}")
    net.eval()
    return net


def export_onnx(net, path: str, meta: dict[str, str]) -> None:
    from onnx import TensorProto, helper, numpy_helper

    layers = [m for m in net if hasattr(m, "weight")]
    params = [a for m in layers for a in (m.weight.detach().numpy(), m.bias.detach().numpy())]
    nodes = [helper.make_node("Gemm", ["features", "W1", "b1"], ["h1"], transB=1),
             helper.make_node("Relu", ["h1"], ["a1"]),
             helper.make_node("Gemm", ["a1", "W2", "b2"], ["h2"], transB=1),
             helper.make_node("Relu", ["h2"], ["a2"]),
             helper.make_node("Gemm", ["a2", "W3", "b3"], ["logits"], transB=1),
             helper.make_node("Softmax", ["logits"], ["probs"], axis=1)]
    inits = [numpy_helper.from_array(a.astype(np.float32), n) for a, n in zip(params, ["W1", "b1", "W2", "b2", "W3", "b3"])]
    graph = helper.make_graph(nodes, "visemes",
                              [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", vn.N_INPUTS])],
                              [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", len(CLASS_NAMES)])], inits)
    save_graph(graph, path, meta)


# ---------------------------------------------------------------- 4. evaluate
def scores(pred: np.ndarray, y: np.ndarray) -> dict:
    recall = [float((pred[y == k] == k).mean()) for k in range(len(CLASS_NAMES)) if (y == k).any()]
    return {"accuracy": round(float((pred == y).mean()), 3), "macro_recall": round(float(np.mean(recall)), 3),
            "bmp_recall": round(float((pred[y == 1] == 1).mean()), 3) if (y == 1).any() else None}


def phone_loop_baseline(items) -> np.ndarray:
    """Classes from the whole-clip path's phone loop (whole utterance, all the future)."""
    from bridge.speech.audio import Audio
    from bridge.speech.frames import envelope, speech_segments
    from bridge.speech.phonemes import PhoneDecoder

    dec, out = PhoneDecoder(), []
    for x, y in items:
        audio = Audio(x, "held-out", RATE, 1)
        out.append(hop_labels(dec.decode(audio, speech_segments(envelope(audio))), len(y)))
    return np.concatenate(out)


def evaluate(net, items, rng, with_phone_loop: bool) -> dict:
    import torch

    feats, idx, y = featurize(items, rng, aug=False)
    with torch.no_grad():
        pred = net(torch.from_numpy(gather(feats, idx))).argmax(1).numpy()
    out = {"hops": int(len(y)), "network": scores(pred, y),
           "majority": scores(np.full_like(y, np.bincount(y).argmax()), y)}
    if with_phone_loop:
        out["phone_loop_whole_utterance"] = scores(phone_loop_baseline(items), y)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="facebridge train visemes")
    ap.add_argument("--data", default=DEFAULT_DATA, help="the shared data folder (goemotions-ekman/, speech/, faces/)")
    ap.add_argument("--out", default=os.path.join("models", "visemes.onnx"))
    ap.add_argument("--sentences", type=int, default=700, help="synthetic training utterances")
    ap.add_argument("--held-out", type=int, default=90, help="synthetic held-out utterances")
    ap.add_argument("--epochs", type=int, default=12)
    args = ap.parse_args(argv)

    def log(msg):
        print(msg, flush=True)

    t0 = time.time()
    if not os.path.isdir(args.data):
        raise SystemExit(f"train visemes: data folder {args.data} not found (pass --data)")
    cache = os.path.join(CACHE, "visemes")
    os.makedirs(cache, exist_ok=True)
    rng = np.random.default_rng(SEED)
    log(f"corpus: {args.sentences} + {args.held_out} espeak-ng utterances, real speech from {args.data}")
    train_items = synthetic_corpus(sentences(os.path.join(args.data, "goemotions-ekman", "train.tsv"), args.sentences, rng),
                                   TRAIN_VOICES, rng, cache, log)
    held_synth = synthetic_corpus(sentences(os.path.join(args.data, "goemotions-ekman", "dev.tsv"), args.held_out, rng),
                                  HELD_OUT_VOICES, rng, cache, log)
    real = real_corpus([os.path.join(args.data, p) for p in REAL_TRAIN], cache)
    held_real = real_corpus([os.path.join(args.data, p) for p in REAL_HELD_OUT], cache)
    log(f"  {len(train_items)} synthetic + {len(real)} real recordings for training "
        f"({sum(len(x) for x, _ in train_items + real) / RATE / 60:.1f} min before repeats)")
    train = featurize(train_items + real * REAL_REPEATS, rng, aug=True)
    log(f"training on {len(train[1])} hops")
    net = fit(train, args.epochs, log)
    metrics = {"held_out_synthetic": evaluate(net, held_synth, rng, True),
               "held_out_real_vs_phone_loop": evaluate(net, held_real, rng, False),
               "train_hops": int(len(train[1])), "seconds": round(time.time() - t0)}
    meta = {"classes": ",".join(CLASS_NAMES), "past": str(vn.PAST), "future": str(vn.FUTURE),
            "n_mels": str(vn.N_MELS), "seed": str(SEED), "metrics": json.dumps(metrics)}
    export_onnx(net, args.out, meta)
    # The exported graph must compute what torch computed.
    import torch

    feats, idx, _ = featurize(held_synth[:3], rng, aug=False)
    x = gather(feats, idx)
    with torch.no_grad():
        ref = torch.softmax(net(torch.from_numpy(x)), 1).numpy()
    got = vn.VisemeNet(args.out)(x)
    assert np.abs(ref - got).max() < 1e-4, "ONNX export differs from torch"
    with open(os.path.splitext(args.out)[0] + ".metrics.json", "w") as f:
        json.dump(metrics, f, indent=1)
    log(json.dumps(metrics, indent=1))
    log(f"wrote {args.out} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
