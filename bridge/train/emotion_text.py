"""Train the text emotion model on GoEmotions-Ekman and export it to ONNX.

    facebridge train emotion-ngram [--data ../shared/data/goemotions-ekman] [--out models/emotion_text.onnx]

Read top to bottom: data -> hashed n-gram features -> logistic regression -> a prior
correction chosen on dev -> ONNX graph -> scores on dev.

Multi-label lines (9% of train) become one row per label, each weighted 1/k, so a line
counts once and the model learns a distribution, not k contradicting hard labels. We predict
one label per line (the argmax): the animation shows one dominant emotion at a time.
Macro-F1 rewards the rare classes (disgust, fear: under 2% each), so the class log-prior,
scaled by alpha, is subtracted from the logits; alpha is picked on dev.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from bridge.emotion import features
from bridge.emotion.reader import LABELS
from bridge.train.onnx_io import save_graph

DEFAULT_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "goemotions-ekman")


def read_tsv(path: str) -> tuple[list[str], list[list[int]]]:
    texts, labels = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            text, lab, _ = line.rstrip("\n").split("\t")
            texts.append(text)
            labels.append([int(x) for x in lab.split(",")])
    return texts, labels


def sparse_features(texts: list[str]):
    from scipy import sparse

    rows, cols, vals = [], [], []
    for i, t in enumerate(texts):
        ids, ws = features.ngrams(t)
        rows += [i] * len(ids)
        cols += ids
        vals += ws
    return sparse.csr_matrix((vals, (rows, cols)), shape=(len(texts), features.BUCKETS), dtype=np.float32)


def macro_f1(pred: list[int], gold: list[list[int]]) -> tuple[float, list[float]]:
    """One predicted label per line; a line counts as a hit for class c when c is among its
    gold labels (so multi-label lines are neither impossible nor free)."""
    per = []
    for c in range(len(LABELS)):
        tp = sum(p == c and c in g for p, g in zip(pred, gold))
        fp = sum(p == c and c not in g for p, g in zip(pred, gold))
        fn = sum(p != c and c in g for p, g in zip(pred, gold))
        per.append(2 * tp / max(1, 2 * tp + fp + fn))
    return float(np.mean(per)), per


def export_onnx(weight: np.ndarray, bias: np.ndarray, path: str, meta: dict[str, str]) -> None:
    """weight (BUCKETS, 7), bias (7,) -> ids (B, L) int64, weights (B, L) float -> probs (B, 7)."""
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("Gather", ["W", "ids"], ["rows"], axis=0),  # (B, L, 7)
        helper.make_node("Unsqueeze", ["weights", "axis2"], ["w3"]),  # (B, L, 1)
        helper.make_node("Mul", ["rows", "w3"], ["weighted"]),
        helper.make_node("ReduceSum", ["weighted", "axis1"], ["summed"], keepdims=0),  # (B, 7)
        helper.make_node("Add", ["summed", "b"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes, "emotion_text",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["B", "L"]),
         helper.make_tensor_value_info("weights", TensorProto.FLOAT, ["B", "L"])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["B", len(LABELS)])],
        [numpy_helper.from_array(weight.astype(np.float32), "W"),
         numpy_helper.from_array(bias.astype(np.float32), "b"),
         numpy_helper.from_array(np.array([1], np.int64), "axis1"),
         numpy_helper.from_array(np.array([2], np.int64), "axis2")])
    save_graph(graph, path, meta)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="facebridge train emotion-ngram")
    ap.add_argument("--data", default=DEFAULT_DATA, help="folder with train.tsv and dev.tsv")
    ap.add_argument("--out", default=os.path.join("models", "emotion_text.onnx"))
    ap.add_argument("--C", type=float, default=1.0, help="inverse L2 strength of the regression")
    args = ap.parse_args(argv)
    from sklearn.linear_model import LogisticRegression

    train_t, train_y = read_tsv(os.path.join(args.data, "train.tsv"))
    dev_t, dev_y = read_tsv(os.path.join(args.data, "dev.tsv"))
    print(f"train {len(train_t)} lines, dev {len(dev_t)} lines")
    t0 = time.time()
    X, Xdev = sparse_features(train_t), sparse_features(dev_t)
    rows = [i for i, y in enumerate(train_y) for _ in y]
    target = [c for y in train_y for c in y]
    sample_w = [1.0 / len(y) for y in train_y for _ in y]
    print(f"features: {time.time() - t0:.0f} s; fitting logistic regression (C={args.C})…", flush=True)
    clf = LogisticRegression(C=args.C, max_iter=500)
    clf.fit(X[rows], target, sample_weight=sample_w)
    print(f"fitted in {time.time() - t0:.0f} s")

    log_prior = np.log(np.bincount(target, weights=sample_w, minlength=len(LABELS)) / sum(sample_w))
    logits = clf.decision_function(Xdev)
    scores = {a: macro_f1(list((logits - a * log_prior).argmax(1)), dev_y)[0] for a in np.arange(0, 1.01, 0.1)}
    alpha = max(scores, key=scores.get)
    f1, per = macro_f1(list((logits - alpha * log_prior).argmax(1)), dev_y)
    print(f"dev macro-F1 {f1:.3f} (prior correction alpha={alpha:.1f}; without: {scores[0]:.3f})")
    print("per class: " + ", ".join(f"{l} {v:.3f}" for l, v in zip(LABELS, per)))

    export_onnx(clf.coef_.T, clf.intercept_ - alpha * log_prior, args.out,
                {"labels": ",".join(LABELS), "dev_macro_f1": f"{f1:.4f}", "alpha": f"{alpha:.2f}",
                 "C": str(args.C), "buckets": str(features.BUCKETS)})
    print(f"wrote {args.out} ({os.path.getsize(args.out) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
