"""Text -> hashed bag of n-grams: the text emotion model's input, shared by training and use.

Word unigrams and bigrams carry the vocabulary ("furious", "thank you"); character 3-5-grams
inside word boundaries carry spelling variants, inflections and words never seen in training
("soooo", "heartbroken"). Each n-gram is hashed into BUCKETS slots (no vocabulary file to
ship) and weighted 1/sqrt(count of n-grams of its kind), so long and short lines weigh alike.
"""

from __future__ import annotations

import re
import unicodedata
import zlib

import numpy as np

BUCKETS = 1 << 18
MAX_NGRAMS = 512  # per line; a 10,000-word text is cut here (its first ~100 words decide)
_TOKEN = re.compile(r"[a-z0-9']+|[!?]+|[^\sa-z0-9'!?]", re.UNICODE)


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = text.replace("’", "'").replace("‘", "'")
    return re.sub(r"(.)\1{2,}", r"\1\1", text)  # "soooo" and "sooo" -> "soo"


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(normalise(text))


def _h(s: str) -> int:
    # crc32: stable across processes and Python versions (hash() is salted per process).
    return zlib.crc32(s.encode("utf-8")) % (BUCKETS - 1) + 1  # 0 is padding


def ngrams(text: str) -> tuple[list[int], list[float]]:
    """Hashed n-gram ids and their weights for one line."""
    toks = tokens(text)[:200]
    words = ["w:" + t for t in toks] + ["b:" + a + " " + b for a, b in zip(toks, toks[1:])]
    chars = []
    for t in toks:
        if len(t) < 2 or not t[0].isalnum():
            continue
        s = "<" + t + ">"
        chars += ["c:" + s[i:i + n] for n in (3, 4, 5) for i in range(len(s) - n + 1)]
    ids, weights = [], []
    for group in (words, chars):
        if group:
            w = 1.0 / np.sqrt(len(group))
            ids += [_h(g) for g in group]
            weights += [w] * len(group)
    if not ids:
        ids, weights = [_h("<empty>")], [1.0]
    return ids[:MAX_NGRAMS], weights[:MAX_NGRAMS]


def batch(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(ids (B, L) int64, weights (B, L) float32), zero-padded to the longest line."""
    rows = [ngrams(t) for t in texts]
    L = max(len(r[0]) for r in rows)
    ids = np.zeros((len(rows), L), np.int64)
    ws = np.zeros((len(rows), L), np.float32)
    for i, (a, b) in enumerate(rows):
        ids[i, :len(a)] = a
        ws[i, :len(b)] = b
    return ids, ws
