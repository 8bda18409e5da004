"""Log lines for journald: when standard error is the journal's stream, each line starts
with its syslog priority, `<3>` error, `<4>` warning, `<6>` info, `<7>` debug (the
sd-daemon convention), so `journalctl -p warning` shows warnings and worse. Elsewhere lines
are unchanged."""
from __future__ import annotations

import logging
import os
import sys
from typing import IO, Mapping


def priority(levelno: int) -> int:
    if levelno >= logging.CRITICAL:
        return 2
    if levelno >= logging.ERROR:
        return 3
    if levelno >= logging.WARNING:
        return 4
    if levelno >= logging.INFO:
        return 6
    return 7


class JournalFormatter(logging.Formatter):
    """Every line of a record (a traceback too) prefixed with the record's priority."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{priority(record.levelno)}>"
        return "\n".join(prefix + line for line in super().format(record).split("\n"))


def stderr_is_journal(env: Mapping[str, str] | None = None, stream: IO | None = None) -> bool:
    """systemd sets JOURNAL_STREAM=<device>:<inode> of the stream it connected to the
    journal; it is ours only when standard error is still that very stream (a child whose
    stderr was redirected inherits the variable but not the stream)."""
    env = os.environ if env is None else env
    value = env.get("JOURNAL_STREAM", "")
    device, _, inode = value.partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    stream = sys.stderr if stream is None else stream
    try:
        st = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False
    return (st.st_dev, st.st_ino) == (int(device), int(inode))


def log_formatter(fmt: str, env: Mapping[str, str] | None = None,
                  stream: IO | None = None) -> logging.Formatter:
    return (JournalFormatter if stderr_is_journal(env, stream) else logging.Formatter)(fmt)


def journal_prefix(number: int, env: Mapping[str, str] | None = None,
                   stream: IO | None = None) -> str:
    """`<number>` for a line written straight to standard error (not through logging), when
    that is the journal; "" elsewhere."""
    return f"<{number}>" if stderr_is_journal(env, stream) else ""
