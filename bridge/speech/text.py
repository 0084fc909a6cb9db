"""Transcript text -> the words pocketsphinx's English dictionary can align.

Accents are folded ("café" -> "cafe"), numbers are spelled out, and words the dictionary
lacks get a pronunciation from sub-words it knows or, failing that, letter-to-sound rules.
"""

from __future__ import annotations

import re
import unicodedata

_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen " \
        "fifteen sixteen seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n: int) -> list[str]:
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        return [_TENS[n // 10]] + (number_words(n % 10) if n % 10 else [])
    for size, word in ((10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred")):
        if n >= size:
            rest = number_words(n % size) if n % size else []
            return number_words(n // size) + [word] + rest
    return []


def words_of(text: str) -> list[str]:
    """Lower-case English words of a transcript, in order."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    folded = folded.replace("’", "'").replace("‘", "'").lower()
    out: list[str] = []
    for tok in re.findall(r"[a-z]+(?:'[a-z]+)*|\d+", folded):
        if tok.isdigit():
            out.extend(number_words(int(tok[:12])) if len(tok) <= 12 else [_ONES[int(d)] for d in tok])
        else:
            out.append(tok)
    return out


# Letter-to-sound rules: longest grapheme first. Crude, but only for words that neither the
# dictionary nor sub-word splitting can cover (names, invented words).
_RULES = [
    ("tch", "CH"), ("igh", "AY"), ("ough", "AO"), ("tion", "SH AH N"), ("sion", "ZH AH N"),
    ("ch", "CH"), ("sh", "SH"), ("th", "TH"), ("ph", "F"), ("ng", "NG"), ("ck", "K"),
    ("qu", "K W"), ("wh", "W"), ("gh", "G"), ("kn", "N"), ("wr", "R"), ("ee", "IY"), ("ea", "IY"),
    ("oo", "UW"), ("ai", "EY"), ("ay", "EY"), ("ou", "AW"), ("ow", "OW"), ("oi", "OY"),
    ("oy", "OY"), ("au", "AO"), ("aw", "AO"), ("ie", "IY"), ("ei", "EY"), ("ey", "EY"),
    ("ue", "UW"), ("er", "ER"), ("ir", "ER"), ("ur", "ER"), ("ar", "AA R"), ("or", "AO R"),
    ("a", "AE"), ("e", "EH"), ("i", "IH"), ("o", "AA"), ("u", "AH"), ("y", "IY"),
    ("b", "B"), ("c", "K"), ("d", "D"), ("f", "F"), ("g", "G"), ("h", "HH"), ("j", "JH"),
    ("k", "K"), ("l", "L"), ("m", "M"), ("n", "N"), ("p", "P"), ("q", "K"), ("r", "R"),
    ("s", "S"), ("t", "T"), ("v", "V"), ("w", "W"), ("x", "K S"), ("z", "Z"),
]


def letters_to_sounds(word: str) -> list[str]:
    w = word.replace("'", "")
    if len(w) > 3 and w.endswith("e") and w[-2] not in "aeiou":
        w = w[:-1]  # silent final e
    phones: list[str] = []
    i = 0
    while i < len(w):
        for g, ph in _RULES:
            if w.startswith(g, i):
                if g == "c" and w[i + 1:i + 2] in ("e", "i", "y"):
                    ph = "S"
                if g == "y" and i == 0:
                    ph = "Y"
                phones.extend(ph.split())
                i += len(g)
                break
        else:
            i += 1
    return phones or ["AH"]


def pronounce(word: str, lookup) -> list[str]:
    """Phones for a word missing from the dictionary. `lookup(w)` returns a known word's
    phones as a string, or None. Splits into known pieces (longest first), else rules."""
    memo: dict[int, list[str] | None] = {}

    def best(i: int) -> list[str] | None:
        if i == len(word):
            return []
        if i in memo:
            return memo[i]
        memo[i] = None
        for j in range(len(word), i + 2, -1):  # pieces of 3+ letters
            ph = lookup(word[i:j])
            if ph:
                rest = best(j)
                if rest is not None:
                    memo[i] = ph.split() + rest
                    break
        return memo[i]

    return best(0) or letters_to_sounds(word)
