"""Progress on stderr: a live line on a terminal, stage lines otherwise (logs, CI)."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, enabled: bool = True, stream=None):
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._stage = ""
        self._last = 0.0
        self._last_pct = -1

    def stage(self, name: str) -> None:
        self._stage = name
        self._last_pct = -1
        if self.enabled:
            self._write(f"{name}…", final=not self._tty)

    def update(self, fraction: float) -> None:
        """Report progress of the current stage; throttled."""
        if not self.enabled:
            return
        pct = int(fraction * 100)
        now = time.monotonic()
        step = 1 if self._tty else 10
        if pct // step == self._last_pct // step or (now - self._last < 0.2 and pct < 100):
            return
        self._last, self._last_pct = now, pct
        self._write(f"{self._stage}: {pct:3d}%", final=not self._tty)

    def done(self, message: str) -> None:
        if self.enabled:
            self._write(message, final=True)

    def _write(self, text: str, final: bool) -> None:
        if self._tty:
            self.stream.write("\r\033[K" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
