"""The expression network: emotion track (+ prosody) -> per-frame expression blendshapes.

A small MLP (models/expression.onnx, trained by `facebridge train expression`) maps, per
frame, the 7 emotion probabilities, arousal, pitch-accent emphasis and a 3-d style code to
the weights of the face's expressive shapes: brows, lids, cheeks, nose and mouth corners.
Its targets are FACS prototypes (EMFACS, below), plus the natural co-variation of those
shapes measured on the shared expression videos through the rig's solver (the style code
picks a point in it, per sentence), plus brow raises on pitch accents.
"""

from __future__ import annotations

import functools
import os

import numpy as np

from bridge.emotion.reader import LABELS, MODELS
from bridge.errors import FacebridgeError
from bridge.motion import arkit

DEFAULT_PATH = os.path.join(MODELS, "expression.onnx")
STYLE_DIMS = 3
INPUTS = list(LABELS) + ["arousal", "emphasis"] + [f"style{i}" for i in range(STYLE_DIMS)]
OUTPUTS = [
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight",
    "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft", "noseSneerRight",
    "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthPressLeft", "mouthPressRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "mouthShrugLower", "jawOpen",
]
COLUMNS = [arkit.INDEX[k] for k in OUTPUTS]  # where OUTPUTS sit among the ARKit 52


def _both(name: str, v: float) -> dict[str, float]:
    return {name + "Left": v, name + "Right": v}


# Ekman & Friesen's EMFACS prototypes, as ARKit shapes at full intensity. Action units:
# AU1 inner brow raise = browInnerUp; AU2 outer brow raise = browOuterUp; AU4 brow lower =
# browDown; AU5 upper lid raise = eyeWide; AU6 cheek raise = cheekSquint (+ eyeSquint);
# AU7 lid tighten = eyeSquint; AU9 nose wrinkle = noseSneer; AU10 upper lip raise =
# mouthUpperUp; AU12 lip-corner pull = mouthSmile; AU14 dimpler = mouthDimple; AU15 lip-corner
# depress = mouthFrown; AU17 chin raise = mouthShrugLower; AU20 lip stretch = mouthStretch;
# AU23/24 lip tighten/press = mouthPress; AU26 jaw drop = jawOpen.
PROTOTYPES: dict[str, dict[str, float]] = {
    "neutral": {},
    # 6 + 12 (the Duchenne smile)
    "joy": {**_both("cheekSquint", 0.6), **_both("mouthSmile", 0.75), **_both("eyeSquint", 0.25),
            **_both("mouthDimple", 0.2)},
    # 1 + 4 + 15 (+ 17)
    "sadness": {"browInnerUp": 0.7, **_both("browDown", 0.25), **_both("mouthFrown", 0.6),
                "mouthShrugLower": 0.35},
    # 4 + 5 + 7 + 23/24
    "anger": {**_both("browDown", 0.8), **_both("eyeWide", 0.2), **_both("eyeSquint", 0.45),
              **_both("mouthPress", 0.55), **_both("noseSneer", 0.15)},
    # 1 + 2 + 4 + 5 + 20 + 26
    "fear": {"browInnerUp": 0.75, **_both("browOuterUp", 0.45), **_both("browDown", 0.2),
             **_both("eyeWide", 0.9), **_both("mouthStretch", 0.7), "jawOpen": 0.12},
    # 1 + 2 + 5 + 26
    "surprise": {"browInnerUp": 0.65, **_both("browOuterUp", 0.8), **_both("eyeWide", 0.6), "jawOpen": 0.25},
    # 9 + 10 + 15 (+ 4)
    "disgust": {**_both("noseSneer", 0.75), **_both("mouthUpperUp", 0.7), **_both("mouthFrown", 0.1),
                **_both("browDown", 0.35), **_both("cheekSquint", 0.3), **_both("eyeSquint", 0.2)},
}
# The shapes that identify each emotion (the benchmark checks they dominate).
SIGNATURES = {
    "joy": ["mouthSmileLeft", "mouthSmileRight", "cheekSquintLeft", "cheekSquintRight"],
    "sadness": ["browInnerUp", "mouthFrownLeft", "mouthFrownRight"],
    "anger": ["browDownLeft", "browDownRight", "mouthPressLeft", "mouthPressRight"],
    "fear": ["browInnerUp", "eyeWideLeft", "eyeWideRight", "mouthStretchLeft", "mouthStretchRight"],
    "surprise": ["browOuterUpLeft", "browOuterUpRight", "browInnerUp", "eyeWideLeft", "eyeWideRight"],
    "disgust": ["noseSneerLeft", "noseSneerRight", "mouthUpperUpLeft", "mouthUpperUpRight"],
}


def prototype_matrix() -> np.ndarray:
    """(7, len(OUTPUTS)) prototype weights in LABELS x OUTPUTS order."""
    m = np.zeros((len(LABELS), len(OUTPUTS)))
    for i, label in enumerate(LABELS):
        for name, v in PROTOTYPES[label].items():
            m[i, OUTPUTS.index(name)] = v
    return m


class ExpressionModel:
    def __init__(self, path: str = DEFAULT_PATH):
        if not os.path.isfile(path):
            raise FacebridgeError(f"expression model {path}", "not found",
                                  "reinstall facebridge, or retrain it with `facebridge train expression`")
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own Fail/InvalidProtobuf types
            raise FacebridgeError(f"expression model {path}", f"cannot be loaded ({str(e).splitlines()[0][:120]})",
                                  "reinstall facebridge, or retrain it with `facebridge train expression`") from None
        meta = self.session.get_modelmeta().custom_metadata_map
        if meta.get("inputs", "").split(",") != INPUTS or meta.get("outputs", "").split(",") != OUTPUTS:
            raise FacebridgeError(f"expression model {path}", "has other inputs or outputs than this version expects",
                                  "retrain it with `facebridge train expression`")

    def run(self, features: np.ndarray) -> np.ndarray:
        """(F, len(INPUTS)) -> (F, len(OUTPUTS)) weights in 0..1."""
        x = np.ascontiguousarray(features, np.float32)
        return self.session.run(["weights"], {"features": x})[0]

    def arkit_weights(self, features: np.ndarray) -> np.ndarray:
        """(F, len(INPUTS)) -> (F, 52) ARKit weights, non-zero on the expression shapes only."""
        out = np.zeros((len(features), arkit.N), np.float32)
        out[:, COLUMNS] = self.run(features)
        return out

    def weights(self, track, emphasis: np.ndarray, seed: int = 0) -> np.ndarray:
        """Emotion track + (F,) emphasis -> (F, 52) ARKit weights (expression shapes only)."""
        n = len(track.probs)
        feats = np.zeros((n, len(INPUTS)), np.float32)
        feats[:, :len(LABELS)] = track.probs
        feats[:, len(LABELS)] = track.arousal
        feats[:, len(LABELS) + 1] = emphasis[:n]
        feats[:, len(LABELS) + 2:] = style_codes(track, seed)
        return self.arkit_weights(feats)


def style_codes(track, seed: int) -> np.ndarray:
    """(F, STYLE_DIMS): one random style per sentence, eased like the track itself, so the
    same emotion twice is not the identical face twice."""
    from bridge.emotion.track import segment_steps

    rng = np.random.default_rng(seed + 7919)
    codes = np.clip(rng.standard_normal((max(1, len(track.segments)), STYLE_DIMS)), -2, 2)
    return segment_steps(codes, [seg.start_s for seg in track.segments], len(track.probs), track.fps)


@functools.cache
def default_expression_model() -> ExpressionModel:
    """The shipped network, loaded once per process."""
    return ExpressionModel()


def constant_expression(probs: np.ndarray, model: ExpressionModel | None = None) -> np.ndarray:
    """(7,) emotion distribution held still (a stream's emotion) -> (52,) ARKit weights, at
    mid arousal, no emphasis, the neutral style."""
    model = model or default_expression_model()
    x = np.zeros((1, len(INPUTS)), np.float32)
    x[0, :len(LABELS)] = probs
    x[0, len(LABELS)] = 0.5
    return model.arkit_weights(x)[0]
