"""Write a file so that it is either complete or absent: to `<path>.partial` first, renamed
into place only when the writer finished (a killed bake or animate never leaves a file that
looks complete)."""

from __future__ import annotations

import contextlib
import os


@contextlib.contextmanager
def atomic_open(path: str, mode: str = "wb", **kwargs):
    """with atomic_open(path, "w", encoding="utf-8") as f: ... -> path appears on success."""
    tmp = path + ".partial"
    try:
        with open(tmp, mode, **kwargs) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
