"""`animation.json` (format: DESIGN.md), written as a stream so long clips stay in bounded
memory, atomically (bridge.outputs.atomic): a failed run never leaves a file that looks complete."""

from __future__ import annotations

import json

import numpy as np

from bridge.outputs.atomic import atomic_open

FORMAT_VERSION = 1
CHUNK = 500  # frames of landmarks computed and written at a time


def _rows(a: np.ndarray, decimals: int) -> str:
    return json.dumps(np.round(a.astype(np.float64), decimals).tolist(), separators=(",", ":"))


def write_animation(path: str, anim, progress=None) -> None:
    with atomic_open(path, "w", encoding="utf-8") as f:
        head = {
            "version": FORMAT_VERSION, "fps": anim.fps, "duration_s": round(anim.duration_s, 4),
            "mode": anim.mode, "image_size": list(anim.image_size),
            "blendshape_names": list(anim.names),
        }
        f.write(json.dumps(head, separators=(",", ":"))[:-1])
        f.write(',"blendshapes":' + _rows(anim.weights, 4))
        f.write(',"head_pose":' + _rows(anim.head_pose, 3))
        f.write(',"landmarks":[')
        n = anim.n_frames
        for f0 in range(0, n, CHUNK):
            block = anim.landmarks(f0, min(n, f0 + CHUNK))
            text = _rows(block, 2)[1:-1]
            f.write(("," if f0 else "") + text)
            if progress:
                progress(min(n, f0 + CHUNK) / n)
        f.write("]")
        tail = {
            "emotion": anim.emotion.to_json() if anim.emotion is not None else None,
            "phonemes": [{"phone": p.phone, "start_s": round(p.start_s, 3), "end_s": round(p.end_s, 3)}
                         for p in anim.phones],
            "transcript": anim.transcript,
            "events": [e.to_json() for e in anim.events],
        }
        if getattr(anim, "turns", None):  # a conversation: who spoke when, and the face's mode in each turn
            tail["turns"] = anim.turns
        f.write("," + json.dumps(tail, ensure_ascii=False, separators=(",", ":"))[1:])
        f.write("\n")
