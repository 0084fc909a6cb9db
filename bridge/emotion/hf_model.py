"""A local Hugging Face text-classification model as the emotion reader (`--emotion-model DIR`).

Any folder saved with `save_pretrained` holding an `AutoModelForSequenceClassification` and
its tokenizer works, offline (nothing is downloaded). Its labels are mapped by name onto our
7 (table below; docs/emotion.md lists it): a model with the 28 GoEmotions labels, the 6-way
"emotion" set, the 7-way Ekman set, or other common sets needs no configuration. Labels that
map to nothing are ignored with a warning; a model none of whose labels map is refused.
Needs torch (`pip install torch==2.13.0`); the default model does not.
"""

from __future__ import annotations

import json
import logging
import os

import numpy as np

from bridge.emotion.labels import to_ekman
from bridge.emotion.reader import LABELS, EmotionReader
from bridge.errors import FacebridgeError

log = logging.getLogger(__name__)
BATCH = 32

class HFEmotionModel(EmotionReader):
    def __init__(self, folder: str):
        name = f"--emotion-model {folder}"
        if not os.path.isdir(folder):
            raise FacebridgeError(name, "is not a folder", "pass a local folder saved with save_pretrained()")
        cfg_path = os.path.join(folder, "config.json")
        if not os.path.isfile(cfg_path):
            raise FacebridgeError(name, "has no config.json (not a Hugging Face model folder)",
                                  "pass a folder saved with model.save_pretrained() and tokenizer.save_pretrained()")
        try:
            cfg = json.load(open(cfg_path, encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise FacebridgeError(name, f"has an unreadable config.json ({e})", "re-save the model") from None
        archs = cfg.get("architectures") or []
        if not any(a.endswith("ForSequenceClassification") for a in archs):
            raise FacebridgeError(name, f"is not a sequence-classification model (architectures: {archs or 'none'})",
                                  "pass a model saved from AutoModelForSequenceClassification")
        id2label = {int(k): v for k, v in (cfg.get("id2label") or {}).items()}
        self.mapping = np.zeros((len(id2label), len(LABELS)), np.float32)
        unmapped = []
        for i, label in sorted(id2label.items()):
            ekman = to_ekman(label)
            if ekman is None:
                unmapped.append(label)
            else:
                self.mapping[i, LABELS.index(ekman)] = 1.0
        if not self.mapping.any():
            raise FacebridgeError(name, f"has labels {list(id2label.values())[:10]} that name no emotion we know",
                                  "use an emotion classifier, or rename its labels in config.json "
                                  "(id2label) to anger, disgust, fear, joy, neutral, sadness or surprise")
        if unmapped:
            log.warning("emotion model: ignoring labels that map to no emotion: %s", ", ".join(map(str, unmapped)))
        self.multi_label = cfg.get("problem_type") == "multi_label_classification"
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never download: a local folder only
        os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
        try:
            import torch
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
        except ImportError as e:
            raise FacebridgeError(name, f"needs {e.name}, which is not installed",
                                  "pip install torch==2.13.0 (and transformers, a facebridge dependency)") from None
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # our own progress is on the terminal; theirs is noise
        hf_logging.set_verbosity_error()
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            self.model = AutoModelForSequenceClassification.from_pretrained(folder, local_files_only=True).eval()
        except (OSError, ValueError, KeyError) as e:
            raise FacebridgeError(name, f"cannot be loaded ({str(e).splitlines()[0][:160]})",
                                  "check that it holds the model weights and the tokenizer files") from None
        torch.set_num_threads(min(2, os.cpu_count() or 1))
        self._torch = torch
        self.name = os.path.basename(os.path.normpath(folder))

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """(N, 7) probabilities in LABELS order: the model's own label scores summed per group."""
        torch = self._torch
        out = np.zeros((len(texts), len(LABELS)), np.float32)
        limit = min(512, getattr(self.tokenizer, "model_max_length", 512) or 512)
        for b in range(0, len(texts), BATCH):
            enc = self.tokenizer(texts[b:b + BATCH], padding=True, truncation=True, max_length=limit,
                                 return_tensors="pt")
            with torch.no_grad():
                logits = self.model(**enc).logits.float()
            p = torch.sigmoid(logits) if self.multi_label else torch.softmax(logits, -1)
            grouped = p.numpy() @ self.mapping
            out[b:b + BATCH] = grouped / np.maximum(grouped.sum(1, keepdims=True), 1e-9)
        return out
