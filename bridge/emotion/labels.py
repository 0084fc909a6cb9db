"""Emotion label names -> our 7 (Ekman's six + neutral), for tags and for other models' labels.

Matching ignores case, spaces, underscores and hyphens. GoEmotions' 28 labels follow the
grouping of its paper (Demszky et al. 2020, Ekman mapping); the rest are common synonyms and
the labels of other public emotion sets (6-way "emotion", 13-way tweet emotions, ...).
"""

from __future__ import annotations

# label name (lower case, spaces/underscores/hyphens removed) -> one of LABELS.
# GoEmotions' 28 follow the grouping of its paper (Demszky et al. 2020, Ekman mapping).
LABEL_MAP: dict[str, str] = {}
for ekman, names in {
    "anger": "anger angry mad rage annoyance annoyed disapproval hate hatred irritation frustration",
    "disgust": "disgust disgusted contempt",
    "fear": "fear fearful scared afraid nervousness nervous anxiety anxious worry terror",
    "joy": "joy happy happiness amusement approval excitement gratitude love optimism relief pride "
           "admiration desire caring enthusiasm fun joyful delight contentment",
    "neutral": "neutral none other others noemotion calm empty boredom",
    "sadness": "sadness sad grief remorse disappointment embarrassment sorrow shame guilt",
    "surprise": "surprise surprised realization confusion curiosity amazement",
}.items():
    for n in names.split():
        LABEL_MAP[n] = ekman


def _key(label: str) -> str:
    return "".join(c for c in str(label).lower() if c.isalnum())


def to_ekman(label: str) -> str | None:
    """'Happy', 'sad', 'nervousness', 'joy' -> 'joy', 'sadness', 'fear', 'joy'; unknown -> None."""
    return LABEL_MAP.get(_key(label))
