"""Landmarks tracked on every frame of a video (FaceMesh), cached next to the run.

Training and measuring both need them (expression statistics, the generator's pairs), and
tracking is the slow part, so each video's track is computed once and kept as .npz keyed by
the file's size and modification time.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

CACHE = os.environ.get("FACEBRIDGE_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "facebridge"))


def track_video(path: str, cache_dir: str | None = None, progress=None) -> tuple[np.ndarray, float]:
    """-> (F, 478, 3) landmarks in pixels (NaN where the face was lost), fps. Cached under
    cache_dir (default CACHE, read at call time)."""
    import av

    from bridge.face import FaceMeshDetector

    cache_dir = cache_dir or CACHE
    st = os.stat(path)
    key = hashlib.sha1(f"{os.path.abspath(path)}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:16]
    cache = os.path.join(cache_dir, "tracks", f"{os.path.splitext(os.path.basename(path))[0]}-{key}.npz")
    if os.path.exists(cache):
        z = np.load(cache)
        return z["points"], float(z["fps"])
    out = []
    with av.open(path) as c, FaceMeshDetector(video=True, max_faces=1) as det:
        vs = c.streams.video[0]
        fps = float(vs.average_rate)
        total = vs.frames or 0
        for i, frame in enumerate(c.decode(video=0)):
            faces = det.track(frame.to_ndarray(format="rgb24"))
            out.append(faces[0] if faces else np.full((478, 3), np.nan, np.float32))
            if progress and total:
                progress(min(1.0, (i + 1) / total))
    points = np.asarray(out, np.float32)
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    np.savez_compressed(cache + ".partial.npz", points=points, fps=fps)
    os.replace(cache + ".partial.npz", cache)
    return points, fps


def read_frames(path: str) -> list[np.ndarray]:
    """Every frame of a video's first video stream, RGB uint8."""
    import av

    with av.open(path) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def read_speech_track(path: str) -> np.ndarray | None:
    """A video's sound at 16 kHz mono float32 (the rate speech analysis works at), or None."""
    import soxr

    x, rate = read_audio_track(path)
    return None if x is None else soxr.resample(x, rate, 16000).astype(np.float32)


def read_audio_track(path: str) -> tuple[np.ndarray | None, int | None]:
    """A video's first audio track as float32 mono at its own rate; (None, None) without one."""
    import av

    with av.open(path) as c:
        if not c.streams.audio:
            return None, None
        chunks, rate = [], None
        for f in c.decode(audio=0):
            a = f.to_ndarray().astype(np.float32)
            if a.ndim == 2 and f.format.is_planar:
                a = a.mean(0)
            elif a.ndim == 2:  # packed: channels interleaved in one row
                a = a.reshape(-1, len(f.layout.channels)).mean(1)
            chunks.append(a.ravel())
            rate = f.sample_rate
    return (np.concatenate(chunks), rate) if chunks else (None, None)
