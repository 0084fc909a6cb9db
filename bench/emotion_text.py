"""Text emotion on GoEmotions-Ekman dev: our shipped model (the fine-tuned encoder,
models/emotion_encoder.onnx) beside the previous n-gram model and two baselines fitted in the
same run (majority class; TF-IDF word 1-2-grams + char 2-5-grams with logistic regression),
one predicted label per line. Also speed on 2 cores, in process and through
`facebridge emotion --file` (start-up included).

    python bench/emotion_text.py          (baselines need the train extra: scikit-learn)
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from bench.common import DATA, RESULTS, git_rev, machine  # noqa: E402

from bridge.emotion.reader import LABELS  # noqa: E402
from bridge.emotion.text_model import TextEmotionModel  # noqa: E402
from bridge.train.emotion_text import macro_f1, read_tsv  # noqa: E402


def confusion(pred, gold):
    m = np.zeros((len(LABELS), len(LABELS)), int)
    for p, g in zip(pred, gold):
        m[g[0] if p not in g else p, p] += 1  # row: gold (the predicted one if it is among them)
    return m


def main() -> None:
    folder = os.path.join(DATA, "goemotions-ekman")
    train_t, train_y = read_tsv(os.path.join(folder, "train.tsv"))
    dev_t, dev_y = read_tsv(os.path.join(folder, "dev.tsv"))
    rows = {}

    from bridge.emotion import default_model

    model = default_model()
    model.probabilities(dev_t[:8])  # open the session: speed is per line, start-up below
    t0 = time.perf_counter()
    probs = model.probabilities(dev_t)
    speed = len(dev_t) / (time.perf_counter() - t0)
    pred = list(probs.argmax(1))
    f1, per = macro_f1(pred, dev_y)
    rows[f"facebridge (models/{model.name})"] = dict(macro_f1=round(f1, 3), per_class=[round(x, 3) for x in per],
                                                     lines_per_s=round(speed))
    cm = confusion(pred, dev_y)
    ngram = TextEmotionModel()
    t0 = time.perf_counter()
    old = ngram.probabilities(dev_t)
    old_speed = len(dev_t) / (time.perf_counter() - t0)
    f1, per = macro_f1(list(old.argmax(1)), dev_y)
    rows["previous: hashed n-grams (models/emotion_text.onnx)"] = dict(
        macro_f1=round(f1, 3), per_class=[round(x, 3) for x in per], lines_per_s=round(old_speed))
    for w in (0.2, 0.35, 0.5):  # would the old model earn a place as an ensemble member?
        f1, per = macro_f1(list(((1 - w) * probs + w * old).argmax(1)), dev_y)
        rows[f"ensemble: {1 - w:.2f} encoder + {w:.2f} n-grams"] = dict(macro_f1=round(f1, 3),
                                                                      per_class=[round(x, 3) for x in per])

    # The CLI, as a user runs it: a fresh process reading a file of all dev lines.
    import subprocess
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        f.write("\n".join(t.replace("\n", " ") for t in dev_t) + "\n")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bridge", "emotion", "--file", f.name], check=True, capture_output=True)
    cli_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bridge", "emotion", "hello"], check=True, capture_output=True)
    one_s = time.perf_counter() - t0
    os.remove(f.name)

    majority = int(np.bincount([y[0] for y in train_y]).argmax())
    f1, per = macro_f1([majority] * len(dev_t), dev_y)
    rows["baseline: majority class"] = dict(macro_f1=round(f1, 3), per_class=[round(x, 3) for x in per])

    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    t0 = time.perf_counter()
    wv = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    cv = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=3, sublinear_tf=True)
    X = sparse.hstack([wv.fit_transform(train_t), cv.fit_transform(train_t)]).tocsr()
    Xd = sparse.hstack([wv.transform(dev_t), cv.transform(dev_t)]).tocsr()
    y1 = [y[0] for y in train_y]
    clf = LogisticRegression(C=4.0, max_iter=1000, class_weight="balanced").fit(X, y1)
    f1, per = macro_f1(list(clf.predict(Xd)), dev_y)
    rows["baseline: TF-IDF word+char, logistic regression (balanced)"] = dict(
        macro_f1=round(f1, 3), per_class=[round(x, 3) for x in per], fit_s=round(time.perf_counter() - t0, 1))

    report = dict(date=datetime.date.today().isoformat(), machine=machine(), commit=git_rev(),
                  command="python bench/emotion_text.py", dev_lines=len(dev_t), labels=LABELS, rows=rows,
                  confusion_rows_gold_cols_pred=cm.tolist(), sentences_per_s=round(speed),
                  cli_file_s=round(cli_s, 2), cli_file_lines_per_s=round(len(dev_t) / cli_s),
                  cli_one_line_s=round(one_s, 2))
    print(json.dumps(report, indent=1))
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "emotion_text.json"), "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
