"""The missed-call spool: one small file per missed call, written by Asterisk's fallback
script (ivr/missed_fallback.py) and ingested by the controller (ivr/intake.py).

The file is `<spool>/<uniqueid>.missed`, JSON with exactly these keys:

    {"caller": "+919876543210", "did": "18001234567", "received_at": 1700000000.25,
     "uniqueid": "1700000000.42"}

caller: digits with an optional leading '+' (6 to 15 digits: ivr.phone.CALLER_ID); did:
digits or null; received_at: when the script ran (Unix time); uniqueid: the Asterisk
channel's Uniqueid (or one the script made up when Asterisk gave none), the key that makes
ingesting idempotent.

It is written under a temporary name starting with '.' (`.tmp-<uniqueid>-<pid>`), flushed to
disk, then renamed: a reader sees a whole file or none. A temporary file is never read as a
missed call while its writer may still run; a stale one (its writer killed) is cleaned up by
the controller.

No asyncio here: the script imports this module, and the controller's reads are one small
local file at a time.
"""
from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Callable, NamedTuple

from ivr.errors import BadInput
from ivr.phone import CALLER_ID

SUFFIX = ".missed"
TEMP_PREFIX = ".tmp-"
MAX_BYTES = 1024                                 # a real file is about 120 bytes
FILE_MODE = 0o644    # the controller reads it as "other"; the spool directory (0730) keeps
                     # everyone else out, so nobody else can reach the file
DID_RE = re.compile(r"[0-9]{1,20}")
UNIQUEID_RE = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,149}")
NAME_RE = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,149}\.missed")
KEYS = {"caller", "did", "received_at", "uniqueid"}


class SpoolError(BadInput):
    """A spool file could not be written, or a file is not a valid missed call (the message
    names no phone number)."""


class SpooledCall(NamedTuple):
    caller: str
    did: str | None
    received_at: float
    uniqueid: str


def file_name(uniqueid: str) -> str:
    if not UNIQUEID_RE.fullmatch(uniqueid):
        raise SpoolError(f"not a usable uniqueid: {uniqueid[:40]!r}")
    return uniqueid + SUFFIX


def is_call_file(name: str) -> bool:
    """A finished spool file's name (temporary files start with '.', never match)."""
    return NAME_RE.fullmatch(name) is not None


def is_temp_file(name: str) -> bool:
    return name.startswith(TEMP_PREFIX)


def encode(call: SpooledCall) -> bytes:
    return json.dumps(call._asdict(), separators=(",", ":")).encode() + b"\n"


def decode(data: bytes) -> SpooledCall:
    """The call in a spool file; SpoolError when it is not exactly a valid one."""
    if len(data) > MAX_BYTES:
        raise SpoolError(f"{len(data)} bytes, more than a missed call holds ({MAX_BYTES})")
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise SpoolError("not JSON (a partial or foreign file)") from None
    if not isinstance(value, dict) or set(value) != KEYS:
        raise SpoolError(f"keys must be exactly {sorted(KEYS)}")
    caller, did, at, uniqueid = (value["caller"], value["did"], value["received_at"],
                                 value["uniqueid"])
    if not (isinstance(caller, str) and CALLER_ID.fullmatch(caller)):
        raise SpoolError("caller is not a phone number")
    if did is not None and not (isinstance(did, str) and DID_RE.fullmatch(did)):
        raise SpoolError("did is not digits")
    if isinstance(at, bool) or not isinstance(at, (int, float)) or not math.isfinite(at) \
            or at <= 0:
        raise SpoolError("received_at is not a time")
    if not (isinstance(uniqueid, str) and UNIQUEID_RE.fullmatch(uniqueid)):
        raise SpoolError("uniqueid is not an Asterisk uniqueid")
    return SpooledCall(caller, did, float(at), uniqueid)


def write(spool: Path, call: SpooledCall,
          halfway: Callable[[], None] | None = None) -> Path:
    """Write the call's file atomically (temporary name, fsync, rename); returns its path.
    Never creates the spool directory. `halfway` runs after half the bytes are written
    (tests use it to stop the writer there)."""
    data = encode(call)
    final = spool / file_name(call.uniqueid)
    tmp = spool / f"{TEMP_PREFIX}{call.uniqueid}-{os.getpid()}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    except FileNotFoundError:
        raise SpoolError(f"no spool directory at {spool} (the controller creates it when it "
                         "starts; check IVR_MISSED_SPOOL in the dialplan's [globals])") from None
    except OSError as e:
        raise SpoolError(f"cannot write into {spool}: {e.strerror}") from None
    try:
        try:
            os.fchmod(fd, FILE_MODE)             # whatever Asterisk's umask is
            half = len(data) // 2
            _write_all(fd, data[:half])
            if halfway is not None:
                halfway()
            _write_all(fd, data[half:])
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, final)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise SpoolError(f"cannot write into {spool}: {e.strerror}") from None
    return final


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
