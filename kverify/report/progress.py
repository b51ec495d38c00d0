"""A progress bar on stderr, shown only on a terminal and only once work has taken a moment."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Call with ``(done, total)``; draws at most ten times a second, after ``delay`` seconds."""

    def __init__(
        self, label: str, *, stream: TextIO | None = None, delay: float = 0.5, enabled: bool | None = None
    ) -> None:
        self.stream = stream or sys.stderr
        self.label = label
        self.delay = delay
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.started = time.monotonic()
        self.last = 0.0
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.started < self.delay or (now - self.last < 0.1 and done < total):
            return
        self.last = now
        width = 30
        filled = width * done // total if total else width
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        """Erase the bar (the report follows on stdout)."""
        if self.drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
