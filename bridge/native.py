"""Keep native libraries' log lines (MediaPipe/TFLite glog, libpng) off the user's terminal.

They write straight to file descriptor 2, below Python's logging. While a native call runs,
fd 2 points at a temporary file; afterwards each captured line is re-logged at INFO, so
`-v` still shows them. The window is process-wide, so it is kept to the native call alone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import threading

log = logging.getLogger("bridge.native")
_lock = threading.Lock()


@contextlib.contextmanager
def native_stderr_to_log():
    with _lock:
        try:
            fd = sys.stderr.fileno()
        except (AttributeError, OSError, ValueError):  # no real stderr (embedded, pytest capture)
            yield
            return
        sys.stderr.flush()
        saved = os.dup(fd)
        with tempfile.TemporaryFile() as tmp:
            os.dup2(tmp.fileno(), fd)
            try:
                yield
            finally:
                sys.stderr.flush()
                os.dup2(saved, fd)
                os.close(saved)
                tmp.seek(0)
                for line in tmp.read().decode("utf-8", "replace").splitlines():
                    if line.strip():
                        log.info("native: %s", line)
