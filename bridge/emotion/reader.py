"""What every text emotion model offers (the shipped encoder model, the n-gram model, a
user's Hugging Face folder), and the labels they all speak."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)
LABELS = ["anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"]
MODELS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "models")


@dataclass
class Prediction:
    text: str
    label: str
    scores: dict[str, float]


class EmotionReader:
    """What every text emotion model offers; subclasses implement probabilities()."""

    name = ""

    def probabilities(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def predict(self, texts: list[str]) -> list[Prediction]:
        probs = self.probabilities(texts)
        return [Prediction(t, LABELS[int(p.argmax())], {k: round(float(v), 4) for k, v in zip(LABELS, p)})
                for t, p in zip(texts, probs)]

    def predict_lines(self, lines: list[str]) -> list[Prediction]:
        """Like predict, but blank lines and text that is not English come back neutral (the
        model only knows English; guessing on other languages would put false emotion on a face)."""
        out: list[Prediction | None] = [None] * len(lines)
        todo = []
        for i, line in enumerate(lines):
            if not line.strip():
                out[i] = _neutral(line)
            elif not looks_english(line):
                log.warning("emotion: line %d does not look like English; using neutral", i + 1)
                out[i] = _neutral(line)
            else:
                todo.append(i)
        for i, p in zip(todo, self.predict([lines[i] for i in todo])):
            out[i] = p
        return out


def looks_english(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return True  # emoji, digits, punctuation: let the model read them
    return sum(c.isascii() for c in letters) / len(letters) >= 0.6


def _neutral(text: str) -> Prediction:
    return Prediction(text, "neutral", {k: (1.0 if k == "neutral" else 0.0) for k in LABELS})
