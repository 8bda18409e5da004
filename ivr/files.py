"""Writing a whole file, never half of one, created private from its first byte."""
from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, text: str, mode: int = 0o600) -> None:
    """Write a whole file (never half of one) created with `mode` from the start: a temporary
    file beside it, opened with that mode (never chmod'ed down afterwards, so nobody else can
    read it even briefly), then renamed over `path`."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, mode)             # the umask may have taken bits off a wider mode
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)     # only still there if something failed
