"""Explicit emotion: `--emotion joy:0.8` and inline tags in the transcript.

    "[sad] I lost it. [joy:0.9] Oh wait, here it is!"

A tag is `[label]` or `[label:intensity]` (intensity 0..1, default 1) and holds for the text
after it until the next tag. The text is then split into sentences, each carrying the tag in
force where it starts (or none: the text model reads it). Malformed tags are errors, not text:
a stray `[jo` or a misspelt `[hapy]` means the user wanted a tag and would otherwise get a
face they did not ask for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bridge.emotion.labels import to_ekman
from bridge.emotion.reader import LABELS
from bridge.errors import InputError

TAG = re.compile(r"\[([^\[\]]*)\]")
# A sentence ends at . ! ? … (runs of them) followed by space or the end of the text.
SENTENCE_END = re.compile(r"(?<=[.!?…。！？])[\"')\]]*\s+")


@dataclass
class Explicit:
    label: str
    intensity: float


@dataclass
class Sentence:
    text: str  # tags removed
    tag: Explicit | None  # the tag in force at its start, if any


def parse_emotion(spec: str, name: str = "--emotion") -> Explicit:
    """'joy', 'joy:0.8' -> Explicit. Errors name the input and list what is accepted."""
    word, sep, value = spec.strip().partition(":")
    label = to_ekman(word)  # also takes synonyms: [sad], [happy], [angry], [scared], ...
    if label is None:
        raise InputError(name, f"{spec!r} is not an emotion",
                         f"use one of {', '.join(LABELS)}, optionally with :intensity (e.g. joy:0.8)")
    intensity = 1.0
    if sep:
        try:
            intensity = float(value)
        except ValueError:
            raise InputError(name, f"intensity {value!r} in {spec!r} is not a number",
                             "write e.g. joy:0.8 (0 = none, 1 = full)") from None
        if not 0.0 <= intensity <= 1.0:
            raise InputError(name, f"intensity {intensity:g} in {spec!r} is out of range",
                             "use 0 to 1 (e.g. joy:0.8)")
    return Explicit(label, intensity)


def split_tags(text: str, name: str = "--text") -> tuple[str, list[Sentence]]:
    """-> (text without tags, its sentences with the tags in force)."""
    for m in re.finditer(r"[\[\]]", text):
        # Every bracket must belong to a complete [..] tag.
        if not any(t.start() <= m.start() < t.end() for t in TAG.finditer(text)):
            snippet = text[max(0, m.start() - 10):m.start() + 10].replace("\n", " ")
            raise InputError(name, f"has an unclosed emotion tag near {snippet!r}",
                             f"write tags as [label] or [label:0.8] with label one of {', '.join(LABELS)}")
    sentences: list[Sentence] = []
    clean_parts: list[str] = []
    tag: Explicit | None = None
    pos = 0
    for m in list(TAG.finditer(text)) + [None]:
        chunk = text[pos:m.start() if m else len(text)]
        if chunk.strip():
            clean_parts.append(chunk.strip())
            for i, s in enumerate(p for p in SENTENCE_END.split(chunk.strip()) if p.strip()):
                sentences.append(Sentence(s.strip(), tag))
        if m is None:
            break
        tag = parse_emotion(m.group(1), name=f"{name} tag [{m.group(1)}]")
        pos = m.end()
    return " ".join(clean_parts), sentences
