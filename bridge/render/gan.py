"""The trained generator as a renderer: face image + per-frame landmarks -> frames.

Per frame: the warp renderer moves the source crop's pixels to the driving landmarks, the
landmark maps are drawn, and the generator (models/generator.onnx, onnxruntime) refines the
warp — the inside of the mouth, teeth, lid skin, folds — into the crop, which is pasted back
into the full image with a feathered edge (bridge/render/crop.py). See models/generator.md.
"""

from __future__ import annotations

import json
import os

import numpy as np

from bridge.errors import FacebridgeError
from bridge.render.crop import IN_CHANNELS, Crop, draw_maps, to_image, to_input

DEFAULT_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "models", "generator.onnx")
RETRAIN = "facebridge train generator --out runs/gen1 && facebridge export generator runs/gen1 --out models/generator.onnx"


class GeneratorModel:
    """onnxruntime session of the generator: (N, IN_CHANNELS, S, S) in [-1, 1] -> (N, 3, S, S)."""

    def __init__(self, path: str | None = None, threads: int = 0):
        from bridge.onnx_session import open_session

        # FACEBRIDGE_GENERATOR: a generator of your own (facebridge export generator RUN --out FILE).
        path = os.path.normpath(path or os.environ.get("FACEBRIDGE_GENERATOR") or DEFAULT_PATH)
        # threads 0: onnxruntime's choice (all cores); set (the daemon): idle threads must not
        # spin between frames, beside other avatars' work.
        self.session = open_session(path, "generator model", RETRAIN, threads=threads, spin=not threads)
        meta = self.session.get_modelmeta().custom_metadata_map
        if meta.get("kind") != "facebridge-generator":
            raise FacebridgeError(path, "is not a facebridge generator (metadata kind missing)", f"retrain it: {RETRAIN}")
        channels = self.session.get_inputs()[0].shape[1]
        if channels != IN_CHANNELS:
            raise FacebridgeError(path, f"takes {channels} input channels; this facebridge draws {IN_CHANNELS}",
                                  f"retrain it: {RETRAIN}")
        self.size = int(meta.get("crop", "256"))
        self.config = json.loads(meta.get("config", "{}"))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"input": x})[0]


class GanRenderer:
    def __init__(self, image: np.ndarray, neutral_points: np.ndarray, model: GeneratorModel | None = None):
        from bridge.render.warp import WarpRenderer

        self.model = model or GeneratorModel()
        self.image = np.ascontiguousarray(image)
        self.crop = Crop.around(neutral_points, self.model.size)
        self.source = self.crop.image(self.image)
        self.warp = WarpRenderer(self.source, self.crop.points(neutral_points))
        self._source_in = to_input(self.source)

    def render_crop(self, landmarks: np.ndarray) -> np.ndarray:
        """(478, 3) landmarks in input-image pixels -> (S, S, 3) uint8 generated crop."""
        p = self.crop.points(landmarks)
        x = np.concatenate([to_input(self.warp.render(p)), to_input(draw_maps(p, self.crop.size)),
                            self._source_in])[None]
        return to_image(self.model(x)[0])

    def render(self, landmarks: np.ndarray) -> np.ndarray:
        """(478, 3) landmarks in input-image pixels -> RGB uint8 frame of the image's size."""
        return self.crop.paste(self.image, self.render_crop(landmarks))
