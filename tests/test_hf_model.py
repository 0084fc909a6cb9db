"""--emotion-model: a local Hugging Face classifier folder, built and saved by the test itself
(a tiny BERT with the 28 GoEmotions labels and a word-level tokenizer), loaded offline."""

import json

import numpy as np
import pytest
from conftest import FACE, HELLO_TXT, HELLO_WAV, run_cli

from bridge.emotion import LABELS
from bridge.emotion.labels import to_ekman

torch = pytest.importorskip("torch", reason="the test extra installs torch (make test)")

GOEMOTIONS = ["admiration", "amusement", "anger", "annoyance", "approval", "caring", "confusion", "curiosity",
              "desire", "disappointment", "disapproval", "disgust", "embarrassment", "excitement", "fear",
              "gratitude", "grief", "joy", "love", "nervousness", "optimism", "pride", "realization", "relief",
              "remorse", "sadness", "surprise", "neutral"]
WORDS = "i love you hate this so much what a day thank am sad scared wow the meeting is at noon".split()


def _save_tiny_model(folder, labels, favour: str | None = None, arch="seq"):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import BertConfig, BertForSequenceClassification, BertModel, PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + WORDS)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", model_max_length=64)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=64, num_labels=len(labels),
                     id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)})
    torch.manual_seed(0)
    model = BertForSequenceClassification(cfg) if arch == "seq" else BertModel(cfg)
    if favour is not None:
        with torch.no_grad():
            model.classifier.bias[labels.index(favour)] = 8.0
    model.save_pretrained(folder)
    fast.save_pretrained(folder)
    return model, fast


@pytest.fixture(scope="module")
def goemotions_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hf") / "tiny-goemotions"
    model, tok = _save_tiny_model(folder, GOEMOTIONS, favour="gratitude")
    return folder, model.eval(), tok


def test_labels_of_common_sets_map_to_ours():
    assert {to_ekman(l) for l in GOEMOTIONS} == set(LABELS)
    assert [to_ekman(l) for l in ["sadness", "joy", "love", "anger", "fear", "surprise"]] == \
        ["sadness", "joy", "joy", "anger", "fear", "surprise"]  # the 6-way "emotion" set
    assert to_ekman("Happy") == "joy" and to_ekman("NO_EMOTION") == "neutral" and to_ekman("positive") is None


def test_cli_reads_emotion_with_a_local_model(goemotions_model):
    folder, model, tok = goemotions_model
    text = "thank you so much i love this"
    r = run_cli("emotion", "--emotion-model", str(folder), "--json", text, env={"HF_HUB_OFFLINE": "1"})
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["label"] == "joy"  # gratitude is one of joy's group
    # The scores are the model's own softmax summed per group.
    with torch.no_grad():
        p = torch.softmax(model(**tok([text], return_tensors="pt")).logits, -1)[0].numpy()
    want = {k: 0.0 for k in LABELS}
    for label, v in zip(GOEMOTIONS, p):
        want[to_ekman(label)] += float(v)
    assert all(abs(out["scores"][k] - want[k]) < 1e-3 for k in LABELS), (out["scores"], want)


def test_animate_with_a_local_model(goemotions_model, tmp_path):
    folder, _, _ = goemotions_model
    out = tmp_path / "o"
    r = run_cli("animate", "--image", FACE, "--audio", HELLO_WAV, "--text-file", HELLO_TXT,
                "--emotion-model", str(folder), "--render", "none", "--out", str(out))
    assert r.returncode == 0, r.stderr
    e = json.load(open(out / "animation.json"))["emotion"]
    assert e["model"] == "tiny-goemotions" and {s["label"] for s in e["segments"]} == {"joy"}


def test_unmapped_labels_and_non_classifiers_are_refused(tmp_path):
    sentiment = tmp_path / "sentiment"
    _save_tiny_model(sentiment, ["negative", "positive"])
    r = run_cli("emotion", "--emotion-model", str(sentiment), "hello")
    assert r.returncode == 1 and "name no emotion" in r.stderr and "id2label" in r.stderr, r.stderr
    encoder = tmp_path / "encoder"
    _save_tiny_model(encoder, ["joy", "sadness"], arch="encoder")
    r = run_cli("emotion", "--emotion-model", str(encoder), "hello")
    assert r.returncode == 1 and "not a sequence-classification model" in r.stderr, r.stderr
    partial = tmp_path / "partial"
    _save_tiny_model(partial, ["joy", "sarcasm"], favour="joy")
    r = run_cli("emotion", "--emotion-model", str(partial), "what a day")
    assert r.returncode == 0 and r.stdout.startswith("joy") and "sarcasm" in r.stderr, r.stderr


@pytest.mark.parametrize("make", ["missing", "empty", "bad_json", "no_weights"])
def test_broken_model_folders_are_one_line_errors(tmp_path, make):
    folder = tmp_path / "m"
    if make != "missing":
        folder.mkdir()
    if make == "bad_json":
        (folder / "config.json").write_text("{not json")
    if make == "no_weights":
        (folder / "config.json").write_text(json.dumps({"architectures": ["BertForSequenceClassification"],
                                                         "model_type": "bert", "id2label": {"0": "joy"}}))
    r = run_cli("emotion", "--emotion-model", str(folder), "hello")
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert f"--emotion-model {folder}" in lines[-1]
