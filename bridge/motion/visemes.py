"""Phoneme -> mouth target (ARKit weights) and how strongly each phone holds its shape.

Targets describe the mouth at the phone's centre. Dominance (after Cohen & Massaro's
coarticulation model) says how much a phone resists its neighbours: bilabials and /w/
dominate lip closure and rounding; /t d k g h/ barely constrain the jaw and take their
neighbours' shape.
"""

from __future__ import annotations

# Weights of the mouth shapes this table drives. Symmetric shapes are written once (…LR).
MOUTH_SHAPES = ["jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthStretchLeft",
                "mouthStretchRight", "mouthSmileLeft", "mouthSmileRight", "mouthRollLower",
                "mouthRollUpper", "mouthUpperUpLeft", "mouthUpperUpRight", "mouthLowerDownLeft",
                "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight", "tongueOut"]

_T = {
    # vowels
    "AA": dict(jawOpen=0.70, LowerDown=0.30),
    "AE": dict(jawOpen=0.55, Stretch=0.25, LowerDown=0.30, UpperUp=0.15),
    "AH": dict(jawOpen=0.45, LowerDown=0.20),
    "AO": dict(jawOpen=0.55, mouthFunnel=0.35, mouthPucker=0.10),
    "AW": dict(jawOpen=0.55, mouthFunnel=0.30, mouthPucker=0.15),
    "AY": dict(jawOpen=0.60, Stretch=0.15, LowerDown=0.20),
    "EH": dict(jawOpen=0.40, Stretch=0.30, LowerDown=0.20),
    "ER": dict(jawOpen=0.25, mouthFunnel=0.35, mouthPucker=0.20),
    "EY": dict(jawOpen=0.35, Stretch=0.35, Smile=0.15),
    "IH": dict(jawOpen=0.25, Stretch=0.35),
    "IY": dict(jawOpen=0.15, Stretch=0.45, Smile=0.20),
    "OW": dict(jawOpen=0.40, mouthFunnel=0.50, mouthPucker=0.30),
    "OY": dict(jawOpen=0.45, mouthFunnel=0.40, mouthPucker=0.20),
    "UH": dict(jawOpen=0.25, mouthFunnel=0.40, mouthPucker=0.35),
    "UW": dict(jawOpen=0.15, mouthFunnel=0.30, mouthPucker=0.75),
    # consonants
    "B": dict(jawOpen=0.05, Press=0.35, mouthRollLower=0.10, mouthRollUpper=0.10),
    "P": dict(jawOpen=0.05, Press=0.40, mouthRollLower=0.10, mouthRollUpper=0.10),
    "M": dict(jawOpen=0.05, Press=0.30, mouthRollLower=0.05, mouthRollUpper=0.05),
    "F": dict(jawOpen=0.12, mouthRollLower=0.50, UpperUp=0.20),
    "V": dict(jawOpen=0.12, mouthRollLower=0.45, UpperUp=0.15),
    "TH": dict(jawOpen=0.20, tongueOut=0.25),
    "DH": dict(jawOpen=0.18, tongueOut=0.20),
    "T": dict(jawOpen=0.18, Stretch=0.10),
    "D": dict(jawOpen=0.18, Stretch=0.10),
    "N": dict(jawOpen=0.18, Stretch=0.10),
    "L": dict(jawOpen=0.25),
    "S": dict(jawOpen=0.08, Stretch=0.30, Smile=0.10),
    "Z": dict(jawOpen=0.08, Stretch=0.30, Smile=0.10),
    "SH": dict(jawOpen=0.12, mouthFunnel=0.45, mouthPucker=0.20),
    "ZH": dict(jawOpen=0.12, mouthFunnel=0.45, mouthPucker=0.20),
    "CH": dict(jawOpen=0.12, mouthFunnel=0.45, mouthPucker=0.25),
    "JH": dict(jawOpen=0.12, mouthFunnel=0.45, mouthPucker=0.25),
    "K": dict(jawOpen=0.22),
    "G": dict(jawOpen=0.22),
    "NG": dict(jawOpen=0.20),
    "HH": dict(jawOpen=0.30),
    "R": dict(jawOpen=0.20, mouthPucker=0.35, mouthFunnel=0.20),
    "W": dict(jawOpen=0.10, mouthPucker=0.80, mouthFunnel=0.20),
    "Y": dict(jawOpen=0.15, Stretch=0.30),
    "SIL": dict(),
}

BILABIALS = {"B", "P", "M"}
LABIODENTALS = {"F", "V"}
VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}
WEAK = {"T", "D", "N", "K", "G", "NG", "HH", "L", "Y"}  # tongue-made: lips and jaw follow neighbours


# Table shorthands for symmetric pairs -> the ARKit name stem of the Left/Right shapes.
_SIDED = {"Stretch": "mouthStretch", "Smile": "mouthSmile", "LowerDown": "mouthLowerDown",
          "UpperUp": "mouthUpperUp", "Press": "mouthPress"}


def target(phone: str) -> dict[str, float]:
    out = {}
    for k, v in _T.get(phone, _T["AH"]).items():
        if k in _SIDED:
            out[_SIDED[k] + "Left"] = out[_SIDED[k] + "Right"] = v
        else:
            out[k] = v
    return out


def dominance(phone: str) -> float:
    """How strongly the phone holds its own shape against its neighbours."""
    if phone in BILABIALS:
        return 6.0
    if phone in LABIODENTALS or phone == "W":
        return 3.0
    if phone in VOWELS:
        return 1.5
    if phone in WEAK:
        return 0.4
    if phone == "SIL":
        return 0.8
    return 1.0


# Viseme classes: phones grouped by what the lips and jaw do, for the streamed path, where a
# small network reads the class from the sound (bridge/speech/viseme_net.py) instead of phones.
CLASSES = {
    "SIL": ["SIL"],
    "BMP": ["B", "M", "P"],  # lips closed
    "FV": ["F", "V"],  # lower lip to the upper teeth
    "ROUND": ["UW", "UH", "W", "R", "ER"],  # lips pushed forward, small opening
    "ROUND_OPEN": ["OW", "AO", "AW", "OY"],  # rounded with the jaw down
    "SH": ["SH", "ZH", "CH", "JH"],  # funnelled
    "OPEN": ["AA", "AE", "AH", "AY", "HH"],
    "SPREAD": ["IY", "IH", "EY", "EH", "Y"],
    "SZ": ["S", "Z"],
    "TONGUE": ["T", "D", "N", "L", "K", "G", "NG", "TH", "DH"],  # lips follow the neighbours
}
CLASS_NAMES = list(CLASSES)
_CLASS_OF = {p: i for i, ps in enumerate(CLASSES.values()) for p in ps}


def class_of(phone: str) -> int:
    """Index in CLASS_NAMES of a phone (unknown phones count as OPEN, like target())."""
    return _CLASS_OF.get(phone, CLASS_NAMES.index("OPEN"))


def class_targets() -> dict[str, dict[str, float]]:
    """Each class's mouth target: the mean of its phones' targets."""
    out = {}
    for name, phones in CLASSES.items():
        keys = {k for p in phones for k in target(p)}
        out[name] = {k: sum(target(p).get(k, 0.0) for p in phones) / len(phones) for k in keys}
    return out
