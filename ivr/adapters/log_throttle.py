"""One log line per event, but at most one per ``every`` seconds: the lines in between are
counted and the next line says how many.  For what a stranger can make happen at will
(garbage on the FastAGI port, forged AMI messages): a flood of them cannot flood the log."""
from __future__ import annotations

import logging
import time


class LogThrottle:
    def __init__(self, logger: logging.Logger, level: int, every: float = 10.0) -> None:
        self._log, self._level, self._every = logger, level, every
        self._last = -every
        self._skipped = 0

    def log(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last < self._every:
            self._skipped += 1
            return
        if self._skipped:
            message += f" (and {self._skipped} more like it in the last {now - self._last:.0f} s)"
        self._last, self._skipped = now, 0
        self._log.log(self._level, message, *args)
