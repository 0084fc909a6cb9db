"""The emotion track: one emotion per sentence, placed on the word timings, eased over time.

Each sentence gets label probabilities from, in order of precedence: the `--emotion`
override, an inline tag, or the text model (reading the transcript, or the recognised words
when there was none). Prosody sets how strongly it shows: intensity = confidence x arousal
gain. The track is a probability distribution per frame over the 7 labels in which
"neutral" takes what the emotions do not, so 0.6 joy + 0.4 neutral is a 60 % smile.

A sentence the model reads as neutral stays exactly neutral (no faint leftover smile from a
15 % joy score): a face that drifts on neutral lines looks nervous, not alive.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import logging

import numpy as np

from bridge.emotion.tags import Explicit, Sentence
from bridge.emotion.reader import LABELS, looks_english
from bridge.speech import text as textmod
from bridge.speech.phonemes import Word

log = logging.getLogger(__name__)
NEUTRAL = LABELS.index("neutral")
LEAD_S = 0.25  # the face changes a little before the sentence that carries the change
EASE_S = 0.6  # transition length between sentences' emotions
PHRASE_PAUSE_S = 0.45  # recognised words (no punctuation) form a phrase until a pause this long
MIN_SHARE = 0.15  # an emotion below this share of the top one is noise, not a blend
# Arousal sharpens the label: excitement favours the high-arousal emotions, calm the low.
HIGH_AROUSAL = [LABELS.index(k) for k in ("anger", "fear", "surprise", "joy")]
LOW_AROUSAL = [LABELS.index("sadness")]


@dataclass
class Segment:
    text: str
    start_s: float
    end_s: float
    label: str
    intensity: float
    arousal: float | None
    source: str  # text | audio | tag | override
    probs: np.ndarray = field(repr=False, default=None)  # (7,) expressed distribution

    def to_json(self) -> dict:
        return {"text": self.text, "start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3),
                "label": self.label, "intensity": round(self.intensity, 3),
                "arousal": None if self.arousal is None else round(self.arousal, 3), "source": self.source}


@dataclass
class EmotionTrack:
    probs: np.ndarray  # (F, 7) per-frame distribution over LABELS
    arousal: np.ndarray  # (F,) 0..1
    segments: list[Segment]
    fps: float
    model: str = ""

    @property
    def source(self) -> str:
        kinds = sorted({s.source for s in self.segments})
        return kinds[0] if len(kinds) == 1 else "+".join(kinds) if kinds else "none"

    def to_json(self) -> dict:
        return {"labels": list(LABELS), "source": self.source, "model": self.model,
                "track": np.round(self.probs.astype(np.float64), 3).tolist(),
                "segments": [s.to_json() for s in self.segments]}


def expressed(p: np.ndarray, arousal: float | None) -> np.ndarray:
    """Model probabilities (7,) + arousal -> the distribution the face shows."""
    p = np.asarray(p, np.float64)
    if int(p.argmax()) == NEUTRAL or p.sum() <= 0:
        return one_hot(NEUTRAL)
    e = p.copy()
    e[NEUTRAL] = 0.0
    confidence = float(e.sum())
    if arousal is not None:
        e[HIGH_AROUSAL] *= 0.5 + arousal
        e[LOW_AROUSAL] *= 1.5 - arousal
    e[e < MIN_SHARE * e.max()] = 0.0
    gain = 1.0 if arousal is None else 0.6 + 0.8 * arousal
    intensity = float(np.clip(confidence * gain, 0.0, 1.0))
    out = e / e.sum() * intensity
    out[NEUTRAL] = 1.0 - intensity
    return out


def dominant_label(probs: np.ndarray) -> str:
    """The emotion a distribution shows: its top non-neutral label, at any intensity above
    zero ('neutral' only when nothing else is there)."""
    if probs[NEUTRAL] >= 1.0:
        return "neutral"
    return LABELS[int(np.where(np.arange(len(LABELS)) == NEUTRAL, -1.0, probs).argmax())]


def one_hot(index: int, intensity: float = 1.0) -> np.ndarray:
    out = np.zeros(len(LABELS))
    out[index] = intensity
    out[NEUTRAL] += 1.0 - intensity
    return out


def from_explicit(e: Explicit) -> np.ndarray:
    return one_hot(LABELS.index(e.label), e.intensity)


def place_sentences(sentences: list[Sentence], words: list[Word]) -> list[tuple[Sentence, float, float]]:
    """Each sentence's time span from the aligned words (same word split as the aligner)."""
    spans, i = [], 0
    for s in sentences:
        n = len(textmod.words_of(s.text))
        if n == 0:
            continue
        ws = words[i:i + n]
        i += n
        if ws:
            spans.append((s, ws[0].start_s, ws[-1].end_s))
    return spans


def phrases(words: list[Word]) -> list[tuple[Sentence, float, float]]:
    """Recognised words carry no punctuation: phrases end at pauses."""
    out, cur = [], []
    for w in words:
        if cur and w.start_s - cur[-1].end_s > PHRASE_PAUSE_S:
            out.append(cur)
            cur = []
        cur.append(w)
    if cur:
        out.append(cur)
    return [(Sentence(" ".join(w.word for w in ws), None), ws[0].start_s, ws[-1].end_s) for ws in out]


def build_track(spans: list[tuple[Sentence, float, float]], n_frames: int, fps: float,
                model=None, prosody=None, source: str = "text", override: Explicit | None = None,
                model_name: str = "") -> EmotionTrack:
    """Per-sentence emotions -> an eased per-frame track.

    spans: (sentence, start_s, end_s) in time order; model: has probabilities(list[str]);
    prosody: has arousal(start_s, end_s); source: what the sentences' text came from."""
    duration = n_frames / fps
    if not spans:
        spans = [(Sentence("", None), 0.0, duration)]
    segments: list[Segment] = []
    to_read = []
    for i, (s, _, _) in enumerate(spans):
        if override is None and s.tag is None and s.text.strip():
            if looks_english(s.text):
                to_read.append(i)
            else:
                log.warning("emotion: %r does not look like English; showing it as neutral", s.text[:40])
    probs = model.probabilities([spans[i][0].text for i in to_read]) if (to_read and model) else []
    read = dict(zip(to_read, probs))
    for i, (s, t0, t1) in enumerate(spans):
        arousal = prosody.arousal(t0, t1) if prosody is not None and t1 > t0 else None
        if override is not None:
            q, src = from_explicit(override), "override"
        elif s.tag is not None:
            q, src = from_explicit(s.tag), "tag"
        elif i in read:
            q, src = expressed(read[i], arousal), source
        else:
            q, src = one_hot(NEUTRAL), source  # no words, or not English (warned above): neutral
        segments.append(Segment(s.text, t0, t1, dominant_label(q), float(1.0 - q[NEUTRAL]), arousal, src, q))

    rows = np.array([np.append(seg.probs, 0.5 if seg.arousal is None else seg.arousal) for seg in segments])
    eased = segment_steps(rows, [seg.start_s for seg in segments], n_frames, fps)
    return EmotionTrack(probs=eased[:, :-1], arousal=eased[:, -1], segments=segments, fps=fps, model=model_name)


def segment_steps(values: np.ndarray, starts: list[float], n_frames: int, fps: float) -> np.ndarray:
    """(S, D) one row per segment -> (F, D) per frame: each row holds from its segment's start
    minus LEAD_S until the next one takes over (the first from frame 0, so the face is
    already in the mood when the clip starts), and changes ease over EASE_S."""
    t = (np.arange(n_frames) + 0.5) / fps
    step = np.tile(values[0], (n_frames, 1))
    for row, start in zip(values[1:], starts[1:]):
        step[t >= start - LEAD_S] = row
    return ease(step, max(1, int(round(EASE_S * fps))))


def ease(x: np.ndarray, k: int) -> np.ndarray:
    """Moving average with a raised-cosine kernel: steps become S-shaped ramps k frames long,
    and rows that sum to 1 keep summing to 1."""
    if k <= 1 or len(x) < 2:
        return x.astype(np.float32)
    w = np.hanning(k + 2)[1:-1]
    w /= w.sum()
    pad = np.pad(x, ((k, k), (0, 0)), mode="edge")
    out = np.stack([np.convolve(pad[:, j], w, mode="same") for j in range(x.shape[1])], 1)
    return out[k:-k].astype(np.float32)
