"""The manifest: one voice line per row, as CSV (a header row naming the columns) or JSON
Lines (one object per line). Columns: id, audio, text, emotion, character; id and audio are
required, the rest optional. Paths are relative to the manifest's folder.

A bad row is reported on its own (missing field, duplicate id, unsafe id) and never stops
the others; a manifest that cannot be read at all (missing, not UTF-8, no id/audio columns)
is one clear error."""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass

from bridge.errors import InputError

COLUMNS = ("id", "audio", "text", "emotion", "character")
# An id names the line's output folder: no path separators, no leading dot.
SAFE_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")


@dataclass(frozen=True)
class Line:
    id: str
    audio: str  # absolute path
    text: str | None
    emotion: str | None
    character: str | None
    row: int  # where it is in the manifest (1-based; CSV counts the header as row 1)


@dataclass(frozen=True)
class RowError:
    id: str | None
    row: int
    error: str


def read_manifest(path: str) -> tuple[list[Line], list[RowError]]:
    name = f"manifest {path}"
    if not os.path.isfile(path):
        raise InputError(name, "not found", "check the path")
    with open(path, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise InputError(name, f"is not UTF-8 (byte {e.start}, line {line})",
                         "save it as UTF-8 (most editors: Save As, encoding UTF-8)") from None
    rows = _jsonl_rows(text, name) if path.lower().endswith((".jsonl", ".ndjson")) else _csv_rows(text, name)
    base = os.path.dirname(os.path.abspath(path))
    lines, errors, seen = [], [], {}
    for row, fields in rows:
        if "_error" in fields:
            errors.append(RowError(None, row, f"row {row}: {fields['_error']}"))
            continue
        line_id = (fields.get("id") or "").strip()
        audio = (fields.get("audio") or "").strip()
        missing = [c for c, v in (("id", line_id), ("audio", audio)) if not v]
        if missing:
            errors.append(RowError(line_id or None, row, f"row {row}: missing {' and '.join(missing)}"))
            continue
        if not SAFE_ID.match(line_id):
            errors.append(RowError(line_id, row, f"row {row}: id {line_id!r} cannot name a folder "
                                                 "(use letters, digits, _ . -; at most 128)"))
            continue
        if line_id in seen:
            errors.append(RowError(line_id, row, f"row {row}: duplicate id {line_id!r} (first on row {seen[line_id]})"))
            continue
        seen[line_id] = row
        opt = {c: (fields.get(c) or "").strip() or None for c in ("emotion", "character")}
        text_value = fields.get("text")
        lines.append(Line(id=line_id, audio=os.path.normpath(os.path.join(base, audio)),
                          text=text_value if text_value and text_value.strip() else None,
                          emotion=opt["emotion"], character=opt["character"], row=row))
    return lines, errors


def _csv_rows(text: str, name: str):
    reader = csv.DictReader(text.splitlines(), skipinitialspace=True)
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if "id" not in header or "audio" not in header:
        raise InputError(name, f"has no id and audio columns (header: {', '.join(header) or 'none'})",
                         f"start it with a header row: {','.join(COLUMNS)}")
    reader.fieldnames = header
    for fields in reader:
        yield reader.line_num, {k: v for k, v in fields.items() if k in COLUMNS and isinstance(v, str)}


def _jsonl_rows(text: str, name: str):
    for i, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            yield i, {"_error": f"not JSON ({e.msg})"}
            continue
        if not isinstance(obj, dict):
            yield i, {"_error": "not a JSON object"}
            continue
        yield i, {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in obj.items() if k in COLUMNS}
