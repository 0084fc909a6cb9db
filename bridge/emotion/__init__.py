"""Emotion: what is said (text) -> probabilities over Ekman's 7 labels."""

from bridge.emotion.text_model import LABELS, TextEmotionModel, default_model

__all__ = ["LABELS", "TextEmotionModel", "default_model"]
