"""Renderers: face image + per-frame landmarks -> frames (see base.Renderer).

warp: moves the photo's pixels along the landmarks (fast, no model); gan: the trained
generator refines the warp (models/generator.onnx)."""

from __future__ import annotations

import numpy as np

RENDERERS = ("warp", "gan")


def make_renderer(kind: str, image: np.ndarray, neutral_points: np.ndarray, threads: int = 0):
    """The one place animate, reenact and serve get their renderer from."""
    if kind == "warp":
        from bridge.render.warp import WarpRenderer

        return WarpRenderer(image, neutral_points)
    if kind == "gan":
        from bridge.render.gan import GanRenderer

        return GanRenderer(image, neutral_points, generator_model(threads))
    raise ValueError(f"unknown renderer {kind!r}: one of {', '.join(RENDERERS)}")


_MODELS: dict = {}


def generator_model(threads: int = 0):
    """One generator session per thread setting, shared by every avatar (it is read-only)."""
    from bridge.render.gan import GeneratorModel

    if threads not in _MODELS:
        _MODELS[threads] = GeneratorModel(threads=threads)
    return _MODELS[threads]
