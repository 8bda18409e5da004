"""The answered line's secret: FastAGI has no authentication, so the `inbound` route serves a
session only when Asterisk proves it knows this value (ivr/inbound_route.py).

The controller keeps it in a 0600 file in its home (config `[ivr] line_secret`, default
line.secret), generated once; the telephony engineer puts the same value in Asterisk's
dialplan as the global IVR_LINE_SECRET, in a file only Asterisk's user reads. The route asks
Asterisk for the global with GET VARIABLE (never an AGI() argument: Asterisk logs those).
"""
from __future__ import annotations

import hmac
import os
import re
import secrets
from pathlib import Path

from ivr import constants as C
from ivr.errors import BadInput

GLOBAL_NAME = C.GLOBAL_LINE_SECRET
SECRET_RE = re.compile(r"[A-Za-z0-9_-]{32,128}")


class LineSecretError(BadInput):
    pass


def line_secret(path: Path, *, create: bool = False) -> str:
    """The secret in `path` (created 0600 with a fresh value when `create` and missing)."""
    if create and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(32) + "\n")
    try:
        value = path.read_text().strip()
    except OSError as e:
        raise LineSecretError(f"the answered line's secret {path}: {e.strerror}") from None
    if not SECRET_RE.fullmatch(value):
        raise LineSecretError(f"the answered line's secret {path} is not 32-128 characters "
                              "of [A-Za-z0-9_-]")
    return value


def proves(secret: str, offered: str | None) -> bool:
    """True when `offered` is the secret (constant time); an empty secret proves nothing."""
    if not secret or offered is None:
        return False
    return hmac.compare_digest(secret.encode(), offered.encode())


def write_include(path: Path, secret: str) -> None:
    """The dialplan line that sets the global, for `#include` inside extensions.conf's
    [globals]: mode 0640 (Asterisk's user or group reads it, nobody else)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    with os.fdopen(fd, "w") as f:
        f.write("; the answered line's secret (ivr dialplan install-agi): keep this file 0640\n"
                f"{GLOBAL_NAME} = {secret}\n")
    os.chmod(tmp, 0o640)
    os.replace(tmp, path)
