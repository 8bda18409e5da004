"""The missed-call fallback: a classic (exec) AGI script that records a missed call straight
into the controller's database, so none is lost while the controller is down.

Asterisk runs it from the missed-call context (dialplan/ivr-missed-call.conf) as

    AGI(ivr-missed-call-fallback,${IVR_DATABASE},<DID digits>)

Her number is read from the AGI environment (agi_callerid), never passed as an argument:
Asterisk writes a script's arguments into its log with every VERBOSE the script sends.

through a small wrapper in its astagidir (`ivr dialplan install-agi` writes it):

    exec /path/to/venv/bin/python -I -m ivr.missed_fallback "$@"

It writes one `missed_calls` row (phone, did, received_at, uniqueid; handled_at NULL) and sets
the channel variable IVR_MISSED_CALL_ID to the row id, which the dialplan then sends in the
IvrMissedCall UserEvent. The controller handles every row with handled_at NULL.

Rules it keeps: it never creates a database (a wrong path is an error, not a new empty file);
SQLite waits at most BUSY_TIMEOUT_MS for a lock and the whole run is cut at DEADLINE_S (the
dialplan rejects the call regardless); the caller's digits are validated; her number never
reaches a log in clear; pyst2's asterisk.agi runs in the main thread with stderr to /dev/null
(it would print the whole AGI environment, her number included).

Exit status: 0 recorded (or already recorded for this channel), 1 not recorded (the reason is
sent to Asterisk's verbose log at level 1, without the number), 2 usage.
"""
from __future__ import annotations

import os
import re
import shlex
import signal
import sqlite3
import sys
import time
from pathlib import Path
from typing import TextIO
from urllib.parse import quote

VAR_MISSED_CALL_ID = "IVR_MISSED_CALL_ID"    # ivr.constants.VAR_MISSED_CALL_ID (a test checks)
BUSY_TIMEOUT_MS = 500
DEADLINE_S = 5
CALLER_RE = re.compile(r"\+?[0-9]{6,15}")      # E.164 has at most 15 digits
DID_RE = re.compile(r"[0-9]{1,20}")
UNIQUEID_RE = re.compile(r"[0-9A-Za-z._-]{1,150}")


class FallbackError(Exception):
    """The missed call could not be recorded; the message names no phone number."""


def mask(number: str) -> str:
    """All but the last 3 characters hidden (the project's masking, ivr.protocol.ami.mask)."""
    return "*" * max(len(number) - 3, 0) + number[-3:] if len(number) > 3 else "***"


def valid_caller(raw: str) -> str | None:
    """Her caller ID reduced as the dialplan does (digits and '+', 16 characters at most):
    digits with an optional leading '+', or None when it is withheld, too short or too long
    to be a phone number."""
    text = "".join(c for c in raw if c in "0123456789+")[:16]
    return text if CALLER_RE.fullmatch(text) else None


def record_missed_call(database: Path, caller: str, did: str | None, uniqueid: str | None,
                       now: float) -> int:
    """Insert one missed_calls row; returns its id (the existing row's id when this channel's
    call was recorded already). Raises FallbackError, never sqlite3.Error."""
    if not database.is_absolute():
        raise FallbackError(f"the database path must be absolute, got {str(database)!r}")
    if not database.is_file():
        raise FallbackError(f"no database at {database} (run the controller once to create it; "
                            "check IVR_DATABASE in the dialplan's [globals])")
    uri = f"file:{quote(str(database))}?mode=rw"
    try:
        db = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                             isolation_level=None)
    except sqlite3.Error as e:
        raise FallbackError(f"cannot open {database}: {e}") from None
    try:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        columns = {row[1] for row in db.execute("PRAGMA table_info(missed_calls)")}
        if not {"phone", "did", "received_at", "uniqueid", "handled_at"} <= columns:
            raise FallbackError(f"{database} has no up-to-date missed_calls table (schema "
                                "migration 002 missing: run the controller once to migrate)")
        row = db.execute(
            "INSERT INTO missed_calls (phone, did, received_at, uniqueid) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (uniqueid) WHERE uniqueid IS NOT NULL DO NOTHING RETURNING id",
            (caller, did, now, uniqueid)).fetchone()
        if row is None:                 # this channel's call is in the table already
            row = db.execute("SELECT id FROM missed_calls WHERE uniqueid = ?",
                             (uniqueid,)).fetchone()
        return int(row[0])
    except sqlite3.Error as e:
        raise FallbackError(f"cannot write to {database}: {e}") from None
    finally:
        db.close()


def run(argv: list[str], stdin: TextIO, stdout: TextIO, now: float) -> int:
    """One AGI session on stdin/stdout (Asterisk's pipes). argv: DATABASE DID."""
    from asterisk.agi import AGI, AGIException

    with open(os.devnull, "w") as devnull:
        agi = AGI(stdin=stdin, stdout=stdout, stderr=devnull)

        def tell(message: str, row_id: str = "") -> None:
            try:
                agi.set_variable(VAR_MISSED_CALL_ID, row_id)
                agi.verbose(f"ivr-missed-call-fallback: {message}", 1)
            except (AGIException, ValueError, OSError):
                # she hung up: Asterisk closed the pipe (pyst2 then fails to parse the empty
                # reply with a ValueError); the row, if any, is written already
                pass

        if len(argv) != 2:
            tell(f"usage: DATABASE DID, got {len(argv)} argument(s)")
            return 2
        database, did_raw = argv
        caller_raw = agi.env.get("agi_callerid", "")
        caller = valid_caller(caller_raw)
        if caller is None:
            tell("missed call not recorded: the caller ID is withheld or not a phone number "
                 f"({len(caller_raw.strip())} characters)")
            return 1
        did = did_raw.strip() if DID_RE.fullmatch(did_raw.strip()) else None
        uniqueid = agi.env.get("agi_uniqueid", "")
        uniqueid = uniqueid if UNIQUEID_RE.fullmatch(uniqueid) else None
        if not database.strip():
            tell(f"missed call from {mask(caller)} not recorded: IVR_DATABASE is empty")
            return 1
        try:
            row_id = record_missed_call(Path(database.strip()), caller, did, uniqueid, now)
        except FallbackError as e:
            tell(f"missed call from {mask(caller)} not recorded: {e}")
            return 1
        tell(f"missed call from {mask(caller)} recorded as row {row_id}", str(row_id))
        return 0


SCRIPT_NAME = "ivr-missed-call-fallback"     # ivr.constants.AGI_SCRIPT_MISSED_CALL


def wrapper_text(python: str) -> str:
    """The astagidir wrapper: runs this module with the project's Python (its venv)."""
    return ("#!/bin/sh\n"
            "# The IVR's missed-call fallback (classic AGI); written by `ivr dialplan install-agi`.\n"
            "# Asterisk sends SIGHUP when she hangs up, maybe before Python is up: ignore it, so\n"
            "# the missed call is still recorded.\n"
            "trap '' HUP\n"
            f"exec {shlex.quote(python)} -I -m ivr.missed_fallback \"$@\"\n")


def install_wrapper(agi_dir: Path, python: str) -> Path:
    """Write (whole, mode 0755) agi_dir/ivr-missed-call-fallback; returns its path."""
    if not agi_dir.is_dir():
        raise FallbackError(f"{agi_dir} is not a directory (Asterisk's astagidir, e.g. "
                            "/usr/share/asterisk/agi-bin)")
    path = agi_dir / SCRIPT_NAME
    tmp = agi_dir / f".{SCRIPT_NAME}.tmp-{os.getpid()}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o755)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(wrapper_text(python))
        os.chmod(tmp, 0o755)
        os.replace(tmp, path)
    except OSError as e:
        raise FallbackError(f"cannot write {path}: {e.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _deadline(_signum, _frame) -> None:
    os._exit(1)                         # never hold the call: the dialplan carries on


def main() -> int:
    signal.signal(signal.SIGALRM, _deadline)
    signal.alarm(DEADLINE_S)
    return run(sys.argv[1:], sys.stdin, sys.stdout, time.time())


if __name__ == "__main__":
    sys.exit(main())
