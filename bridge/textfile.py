"""Reading a user's text file (a transcript, lines to classify) with the project's errors."""

from __future__ import annotations

import os

from bridge.errors import InputError


def read_utf8(path: str, name: str) -> str:
    """The file's text (UTF-8, a BOM allowed); `name` is how errors call the input."""
    if not os.path.isfile(path):
        raise InputError(name, "file not found", "check the path")
    with open(path, "rb") as f:
        raw = f.read()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(name, "is not UTF-8 text", "save it as UTF-8") from None
