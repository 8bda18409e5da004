"""The missed-call fallback: a classic (exec) AGI script that drops one file per missed call
into the controller's spool directory, so none is lost while the controller is down. It never
opens the controller's database: Asterisk's user needs (and gets) no access to it.

Asterisk runs it from the missed-call context (dialplan/ivr-missed-call.conf) as

    AGI(ivr-missed-call-fallback,${IVR_MISSED_SPOOL},<DID digits>)

Her number is read from the AGI environment (agi_callerid), never passed as an argument:
Asterisk writes a script's arguments into its log with every VERBOSE the script sends.

through a small wrapper in its astagidir (`ivr dialplan install-agi` writes it):

    exec /path/to/venv/bin/python -I -m ivr.missed_fallback "$@"

It writes `<spool>/<uniqueid>.missed` (ivr/missed_spool.py: her digits, the DID, the time,
the channel's Uniqueid; temporary name, fsync, rename) and sets the channel variable
IVR_MISSED_CALL_FILE to the file's name, which the dialplan sends in the IvrMissedCall
UserEvent. The controller ingests the file (ivr/intake.py) on that event, at start-up and on
its periodic sweep.

Rules it keeps: it never creates the spool directory (a wrong path is an error); the whole
run is cut at DEADLINE_S (the dialplan rejects the call regardless, and runs the script once
more when no file was written); the caller's digits are validated; her number never reaches
a log in clear; pyst2's asterisk.agi (used for the AGI exchange only) runs in the main thread
with stderr to /dev/null (it would print the whole AGI environment, her number included).

Exit status: 0 written, 1 not written (the reason is sent to Asterisk's verbose log at level 1,
without the number), 2 usage.
"""
from __future__ import annotations

import os
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import Callable, TextIO

from ivr import missed_spool
from ivr.errors import BadInput
from ivr.missed_spool import SpooledCall, SpoolError
from ivr.phone import Phone, mask

VAR_MISSED_CALL_FILE = "IVR_MISSED_CALL_FILE"   # ivr.constants.VAR_MISSED_CALL_FILE (a test checks)
DEADLINE_S = 5
# Tests only: a directory; the first run that finds it makes <dir>/held, writes its pid into
# the FIFO <dir>/fifo and waits there, half of its file written (to be killed -9).
TEST_HOLD_ENV = "IVR_MISSED_FALLBACK_TEST_HOLD"


class FallbackError(BadInput):
    """The wrapper could not be installed."""


def run(argv: list[str], stdin: TextIO, stdout: TextIO, now: float,
        halfway: Callable[[], None] | None = None) -> int:
    """One AGI session on stdin/stdout (Asterisk's pipes). argv: SPOOL DID."""
    from asterisk.agi import AGI, AGIException

    with open(os.devnull, "w") as devnull:
        agi = AGI(stdin=stdin, stdout=stdout, stderr=devnull)

        def tell(message: str, name: str = "") -> None:
            try:
                agi.set_variable(VAR_MISSED_CALL_FILE, name)
                agi.verbose(f"ivr-missed-call-fallback: {message}", 1)
            except (AGIException, ValueError, OSError):
                # she hung up: Asterisk closed the pipe (pyst2 then fails to parse the empty
                # reply with a ValueError); the file, if any, is written already
                pass

        if len(argv) != 2:
            tell(f"usage: SPOOL DID, got {len(argv)} argument(s)")
            return 2
        spool, did_raw = argv[0].strip(), argv[1].strip()
        caller_raw = agi.env.get("agi_callerid", "")
        caller = Phone.reduced_caller_id(caller_raw)
        if caller is None:
            tell("missed call not recorded: the caller ID is withheld or not a phone number "
                 f"({len(caller_raw.strip())} characters)")
            return 1
        if not spool or not Path(spool).is_absolute():
            tell(f"missed call from {mask(caller)} not recorded: IVR_MISSED_SPOOL must be an "
                 f"absolute directory, got {spool!r}")
            return 1
        uniqueid = agi.env.get("agi_uniqueid", "")
        if not missed_spool.UNIQUEID_RE.fullmatch(uniqueid):
            uniqueid = f"fallback-{time.time_ns()}-{os.getpid()}"
        did = did_raw if missed_spool.DID_RE.fullmatch(did_raw) else None
        try:
            path = missed_spool.write(Path(spool), SpooledCall(caller, did, now, uniqueid),
                                      halfway)
        except SpoolError as e:
            tell(f"missed call from {mask(caller)} not recorded: {e}")
            return 1
        tell(f"missed call from {mask(caller)} spooled as {path.name}", path.name)
        return 0


SCRIPT_NAME = "ivr-missed-call-fallback"     # ivr.constants.AGI_SCRIPT_MISSED_CALL


def wrapper_text(python: str) -> str:
    """The astagidir wrapper: runs this module with the project's Python (its venv)."""
    return ("#!/bin/sh\n"
            "# The IVR's missed-call fallback (classic AGI); "
            "written by `ivr dialplan install-agi`.\n"
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


def _test_hold(directory: str) -> Callable[[], None]:
    def hold() -> None:
        try:
            os.mkdir(Path(directory) / "held")
        except OSError:
            return                                  # held once already: a normal run
        with open(Path(directory) / "fifo", "w") as fifo:
            fifo.write(f"{os.getpid()}\n")
        signal.pause()                              # until killed (or the deadline)
    return hold


def _deadline(_signum, _frame) -> None:
    os._exit(1)                         # never hold the call: the dialplan carries on


def main() -> int:
    signal.signal(signal.SIGALRM, _deadline)
    signal.alarm(DEADLINE_S)
    hold = os.environ.get(TEST_HOLD_ENV)
    return run(sys.argv[1:], sys.stdin, sys.stdout, time.time(),
               _test_hold(hold) if hold else None)


if __name__ == "__main__":
    sys.exit(main())
