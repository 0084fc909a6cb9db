"""Emotion: what is said (text) and how (prosody) -> an emotion track -> expression weights."""

from bridge.emotion.text_model import LABELS, EmotionReader, TextEmotionModel, default_model, load_reader

__all__ = ["LABELS", "EmotionReader", "TextEmotionModel", "default_model", "load_reader"]
