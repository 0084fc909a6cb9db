"""Emotion: what is said (text) and how (prosody) -> an emotion track -> expression weights.

The text models: `encoder_model.py` (the shipped one: a fine-tuned sentence encoder),
`text_model.py` (hashed n-grams: the previous model), `hf_model.py` (a user's Hugging Face
folder); all are `reader.EmotionReader`s."""

from __future__ import annotations

import functools

from bridge.emotion.reader import LABELS, EmotionReader

__all__ = ["LABELS", "EmotionReader", "default_model", "load_reader"]


@functools.cache
def default_model() -> EmotionReader:
    """The shipped model, loaded once per process (its session opens at the first text)."""
    from bridge.emotion.encoder_model import EncoderEmotionModel

    return EncoderEmotionModel()


def load_reader(folder: str | None = None) -> EmotionReader:
    """The shipped model, or a local Hugging Face folder (needs torch)."""
    if folder is None:
        return default_model()
    from bridge.emotion.hf_model import HFEmotionModel

    return HFEmotionModel(folder)
