"""facebridge.toml: who says the lines and how they are baked. Read with tomllib.

    formats = ["json", "csv", "unity-anim", "gltf"]   # default when --formats is not given

    [unity]
    renderer_path = "Face"      # the SkinnedMeshRenderer's path under the Animator
    head_path = "Head"          # the head bone's path ("" leaves rotation out)

    [characters.narrator]       # a manifest row's `character`
    image = "faces/narrator.png"   # relative to this file
    fps = 30
    seed = 0
    emotion_model = "hf/my-classifier"   # optional: a local Hugging Face folder

Rows without a character use [characters.default], or the --image given to bake."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from bridge.errors import InputError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser, from PyPI
    import tomli as tomllib

FORMATS = ("json", "csv", "unity-anim", "gltf")
DEFAULT = "default"


@dataclass(frozen=True)
class Character:
    name: str
    image: str  # absolute path
    fps: float = 30.0
    seed: int = 0
    emotion_model: str | None = None


@dataclass
class Project:
    characters: dict[str, Character] = field(default_factory=dict)
    formats: list[str] = field(default_factory=lambda: list(FORMATS))
    renderer_path: str = "Face"
    head_path: str | None = "Head"

    def character(self, name: str | None) -> Character:
        """The row's character; KeyError with the message a report should show."""
        key = name or DEFAULT
        if key in self.characters:
            return self.characters[key]
        if name is None:
            raise KeyError("no face for rows without a character: give bake --image, or a "
                           "[characters.default] image in facebridge.toml")
        known = ", ".join(sorted(self.characters)) or "none"
        raise KeyError(f"unknown character {name!r} (facebridge.toml has: {known})")


def parse_formats(text: str, name: str = "--formats") -> list[str]:
    formats = [f.strip() for f in text.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise InputError(name, f"{', '.join(bad) or 'nothing'} is not a format", f"use some of: {','.join(FORMATS)}")
    return formats


def load_project(path: str | None, image: str | None = None) -> Project:
    """path: facebridge.toml or None; image: bake --image (the default character's face)."""
    project = Project()
    if path is not None:
        name = f"project file {path}"
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except FileNotFoundError:
            raise InputError(name, "not found", "check the path, or leave --project out") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise InputError(name, f"is not valid TOML ({e})", "fix the line named") from None
        base = os.path.dirname(os.path.abspath(path))
        project.characters = {n: _character(n, c, base, name) for n, c in data.get("characters", {}).items()}
        if "formats" in data:
            if not isinstance(data["formats"], list):
                raise InputError(name, "formats is not a list", 'write formats = ["json", "csv"]')
            project.formats = parse_formats(",".join(map(str, data["formats"])), f"{name}: formats")
        unity = data.get("unity", {})
        project.renderer_path = str(unity.get("renderer_path", project.renderer_path))
        project.head_path = str(unity.get("head_path", project.head_path)) or None
    if image is not None:
        project.characters[DEFAULT] = Character(DEFAULT, os.path.abspath(image))
    return project


def _character(name: str, c, base: str, where: str) -> Character:
    if not isinstance(c, dict) or not isinstance(c.get("image"), str):
        raise InputError(where, f"[characters.{name}] has no image", f'add image = "faces/{name}.png"')
    try:
        fps, seed = float(c.get("fps", 30.0)), int(c.get("seed", 0))
    except (TypeError, ValueError):
        raise InputError(where, f"[characters.{name}] fps or seed is not a number", "write e.g. fps = 30") from None
    if not 1 <= fps <= 120:
        raise InputError(where, f"[characters.{name}] fps {fps:g} is out of range", "use 1 to 120")
    model = c.get("emotion_model")
    return Character(name, os.path.normpath(os.path.join(base, c["image"])), fps, seed,
                     os.path.normpath(os.path.join(base, model)) if model else None)
