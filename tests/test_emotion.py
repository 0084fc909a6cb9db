"""Text emotion: the shipped ONNX model through the CLI and the API, bad input, retraining."""

import json

import numpy as np
import pytest
from conftest import run_cli

from bridge.emotion import LABELS, default_model

PROTOTYPES = {
    "I am so furious with you, how dare you lie to me": "anger",
    "That is absolutely disgusting, gross, I want to vomit": "disgust",
    "I'm terrified, I'm so scared something bad will happen": "fear",
    "Thank you so much, I love it, this made my day!": "joy",
    "The meeting is scheduled for Tuesday at noon.": "neutral",
    "I miss her so much, I've been crying all night": "sadness",
    "Wow, I did not expect that at all! Really?": "surprise",
}


def test_prototypical_lines_get_their_emotion():
    preds = default_model().predict(list(PROTOTYPES))
    hits = [p.label == want for p, want in zip(preds, PROTOTYPES.values())]
    assert sum(hits) >= 6, [(p.text, p.label) for p in preds]
    for p in preds:
        assert set(p.scores) == set(LABELS) and abs(sum(p.scores.values()) - 1) < 1e-3


def test_cli_one_line_and_file_json(tmp_path):
    r = run_cli("emotion", "Thank you so much, I love it!")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\t")[0] == "joy"
    lines = ["I hate this so much", "", "What a lovely day", "   "]
    f = tmp_path / "lines.txt"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = run_cli("emotion", "--file", str(f), "--json")
    assert r.returncode == 0, r.stderr
    out = [json.loads(l) for l in r.stdout.splitlines()]
    assert [o["text"] for o in out] == lines  # in order, blank lines included
    assert out[1]["label"] == "neutral" and out[3]["label"] == "neutral"
    assert out[0]["label"] in ("anger", "disgust") and out[2]["label"] == "joy"
    assert all(set(o["scores"]) == set(LABELS) for o in out)


def test_bad_text_inputs(tmp_path):
    for args in (("",), ("   ",)):
        r = run_cli("emotion", *args)
        assert r.returncode == 1 and "facebridge: error:" in r.stderr and "empty" in r.stderr
        assert "Traceback" not in r.stderr
    r = run_cli("emotion", "--file", str(tmp_path / "missing.txt"))
    assert r.returncode == 1 and "not found" in r.stderr
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\xe9 triste".encode("latin-1"))
    r = run_cli("emotion", "--file", str(bad))
    assert r.returncode == 1 and "UTF-8" in r.stderr


def test_emoji_long_and_foreign_text():
    m = default_model()
    emoji = m.predict_lines(["😂😂😂"])[0]
    assert emoji.label in LABELS
    long = " ".join(["the weather was fine and we walked home"] * 1250)  # 10,000 words
    assert m.predict_lines([long])[0].label in LABELS
    r = run_cli("emotion", "Ich bin so wütend auf dich, это ужасно, 我很生气")
    assert r.returncode == 0 and r.stdout.startswith("neutral")
    assert "does not look like English" in r.stderr


def test_missing_model_file_is_a_clear_error(tmp_path):
    r = run_cli("emotion", "hello", env={"FACEBRIDGE_EMOTION_MODEL": str(tmp_path / "none.onnx")})
    assert r.returncode == 1 and "none.onnx" in r.stderr and "Traceback" not in r.stderr


def test_retraining_exports_an_equivalent_onnx(tmp_path):
    # The training script end to end on a small corpus: the ONNX graph must compute
    # softmax(features @ W + b) with its own stored weights, and the model must have learnt.
    pytest.importorskip("sklearn", reason="the test extra installs scikit-learn")
    from bridge.emotion.text_model import TextEmotionModel
    from bridge.train import emotion_text as T

    rng = np.random.default_rng(0)
    words = {0: "angry furious mad", 1: "gross disgusting", 2: "scared afraid", 3: "happy love great",
             4: "table chair monday", 5: "sad crying lonely", 6: "wow unexpected shocked"}
    for split, n in (("train", 700), ("dev", 140)):
        with open(tmp_path / f"{split}.tsv", "w") as f:
            for i in range(n):
                c = int(rng.integers(7))
                w = words[c].split()
                f.write(f"I feel {rng.choice(w)} and {rng.choice(w)} today\t{c}\tid{i}\n")
    out = tmp_path / "m.onnx"
    T.main(["--data", str(tmp_path), "--out", str(out)])
    m = TextEmotionModel(str(out))
    texts, gold = T.read_tsv(str(tmp_path / "dev.tsv"))
    probs = m.probabilities(texts)
    import onnx
    from onnx import numpy_helper

    init = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(out)).graph.initializer}
    logits = T.sparse_features(texts) @ init["W"] + init["b"]
    expect = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(probs, expect / expect.sum(1, keepdims=True), atol=1e-5)
    pred = probs.argmax(1)
    assert np.mean([p in g for p, g in zip(pred, gold)]) > 0.95
