"""One `ivr run` per database."""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

from ivr.errors import Unavailable


class RunError(Unavailable):
    """The service cannot run (another instance holds the lock...)."""


class RunLock:
    """One `ivr run` per database: an exclusive lock on a file beside it
    (<database>.run-lock), so two state directories naming one database cannot both run
    (each would take the other's calls for a dead owner's)."""

    def __init__(self, database: Path):
        self.path = database.with_name(database.name + ".run-lock")
        self._fd: int | None = None

    def __enter__(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunError(f"another `ivr run` is already running on the database "
                           f"{self.path.with_name(self.path.name.removesuffix('.run-lock'))}") \
                from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
