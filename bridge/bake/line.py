"""One voice line: its content key, and baking it into the bytes of each asset.

The key hashes everything the assets depend on: the audio's bytes, the text, the emotion,
the face image's bytes, the character's settings, the formats and their settings, the
shipped models and facebridge's version. Same key -> same assets, so a re-run skips it.

bake_line runs in a worker (a local process or a Ray actor): it returns the assets as bytes
({file name: bytes}) and the driver alone writes them (batch.py), so workers need to read
the inputs but never share the output folder."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass

from bridge import __version__
from bridge.bake.manifest import Line
from bridge.bake.project import Character

MODELS = os.path.join(os.path.dirname(__file__), "..", "..", "models")
MARKER = "bake.json"  # written last into a line's folder: what it was baked from


@dataclass(frozen=True)
class Job:
    line: Line
    character: Character
    formats: tuple[str, ...]
    renderer_path: str
    head_path: str | None
    key: str = ""


def file_names(line_id: str, formats) -> dict[str, str]:
    names = {"json": "animation.json", "csv": "curves.csv", "unity-anim": f"{line_id}.anim", "gltf": f"{line_id}.glb"}
    return {f: names[f] for f in formats}


@functools.cache
def models_digest() -> str:
    """Hash of the shipped models' bytes: retraining one re-bakes every line."""
    h = hashlib.sha256()
    for name in sorted(os.listdir(MODELS)):
        if name.endswith((".onnx", ".json")):
            h.update(name.encode())
            h.update(_file_digest(os.path.join(MODELS, name)).encode())
    return h.hexdigest()


def _file_digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def content_key(job: Job) -> str:
    """-> hex digest; OSError names the input it could not read."""
    line, c = job.line, job.character
    parts = {
        "version": __version__, "models": models_digest(),
        "audio": _file_digest(line.audio), "text": line.text, "emotion": line.emotion,
        "image": _shared_digest(c.image), "fps": c.fps, "seed": c.seed,
        "emotion_model": _folder_digest(c.emotion_model) if c.emotion_model else None,
        "formats": sorted(job.formats), "renderer_path": job.renderer_path, "head_path": job.head_path,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _folder_digest(folder: str) -> str:
    h = hashlib.sha256()
    for root, dirs, files in sorted(os.walk(folder)):
        dirs.sort()
        for name in sorted(files):
            h.update(_shared_digest(os.path.join(root, name)).encode())
    return h.hexdigest()


def _shared_digest(path: str) -> str:
    """_file_digest of an input many lines share (a character's face, its emotion model's
    files): read once per batch, not once per line; a file changed since is read again."""
    st = os.stat(path)
    return _digest_of(path, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=1024)
def _digest_of(path: str, size: int, mtime_ns: int) -> str:
    return _file_digest(path)


# ---------------------------------------------------------------- in the worker
@functools.lru_cache(maxsize=16)
def _avatar(image: str):
    """Faces are found once per worker and character."""
    from bridge.face import load_image
    from bridge.pipeline import Avatar

    return Avatar.from_image(load_image(image), name=f"image {image}")


@functools.lru_cache(maxsize=8)
def _reader(folder: str | None):
    from bridge.emotion import load_reader

    return load_reader(folder)


def run_job(job: Job) -> dict:
    """bake_line in a worker -> its result, or {"error": message}. Errors travel as text: an
    exception object may not survive the trip back to the driver (it broke the pool)."""
    from bridge.errors import FacebridgeError

    try:
        result = bake_line(job)
    except FacebridgeError as e:
        return {"error": str(e)}
    except Exception as e:  # a bug or an unexpected input: the line fails, the worker goes on
        import logging

        logging.getLogger(__name__).exception("line %s", job.line.id)
        return {"error": f"{type(e).__name__}: {e}"}
    result["pid"] = os.getpid()
    return result


def bake_line(job: Job) -> dict:
    """-> {"id", "files": {name: bytes}, "frames", "warning", "seconds", "rss_mb"}; raises on
    failure."""
    from bridge.errors import AlignmentError
    from bridge.pipeline import animate_avatar, prepare_emotion
    from bridge.speech.audio import load_audio

    t0 = time.monotonic()
    line, c = job.line, job.character
    text_name = f"line {line.id} text"
    reader = _reader(c.emotion_model) if line.emotion is None else None
    text, sentences, override, reader = prepare_emotion(line.text, line.emotion, c.emotion_model, text_name, reader)
    audio = load_audio(line.audio)
    warning = None
    try:
        anim = animate_avatar(_avatar(c.image), audio, text=text, sentences=sentences, fps=c.fps, seed=c.seed,
                              text_name=text_name, override=override, reader=reader, audio_name=f"audio {line.audio}")
    except AlignmentError as e:
        # A batch should not lose a line to the aligner (it fails on some synthetic voices with
        # the right text): bake it from the audio alone, as without a text, and say so.
        warning = f"{e}; baked from the audio alone"
        anim = animate_avatar(_avatar(c.image), audio, fps=c.fps, seed=c.seed, override=override,
                              reader=reader, audio_name=f"audio {line.audio}")
    names = file_names(line.id, job.formats)
    files = {}
    with tempfile.TemporaryDirectory(prefix="facebridge-bake-") as tmp:
        for fmt, name in names.items():
            write_format(fmt, os.path.join(tmp, name), anim, job)
            with open(os.path.join(tmp, name), "rb") as f:
                files[name] = f.read()
    marker = {"id": line.id, "key": job.key, "frames": anim.n_frames, "fps": anim.fps,
              "files": sorted(names.values()),
              "source": {k: v for k, v in asdict(line).items() if k != "row"} | {"audio": os.path.basename(line.audio)}}
    files[MARKER] = (json.dumps(marker, indent=1, sort_keys=True) + "\n").encode()
    return {"id": line.id, "files": files, "frames": anim.n_frames, "warning": warning,
            "seconds": time.monotonic() - t0, "rss_mb": rss_mb()}


def write_format(fmt: str, path: str, anim, job: Job) -> None:
    """The one place that maps a format name to its writer (bridge/outputs)."""
    if fmt == "json":
        from bridge.outputs.animation_file import write_animation

        write_animation(path, anim)
    elif fmt == "csv":
        from bridge.outputs.curves_csv import write_curves_csv

        write_curves_csv(path, anim)
    elif fmt == "unity-anim":
        from bridge.outputs.unity_anim import write_unity_anim

        write_unity_anim(path, anim, renderer_path=job.renderer_path, head_path=job.head_path,
                         clip_name=job.line.id)
    elif fmt == "gltf":
        from bridge.outputs.gltf import write_glb

        write_glb(path, anim)
    else:
        raise ValueError(f"unknown format {fmt}")


def rss_mb() -> float:
    """This process's resident memory (Linux), for the memory-per-worker figure."""
    try:
        with open("/proc/self/status") as f:
            for row in f:
                if row.startswith("VmRSS:"):
                    return int(row.split()[1]) / 1024
    except OSError:
        pass
    return 0.0
