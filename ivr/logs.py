"""Logging of `ivr run`: one line per event on standard error, phone numbers never in clear.

The project's own lines mask numbers where they log them (ivr.phone.mask). Libraries do
not: at debug, panoramisk logs every AMI message (CallerIDNum, Channel Local/9198...@...,
Originate variables) and aiosqlite every SQL call with its parameters. So the handler's
formatter masks, in the whole line and any traceback, every run of 7 or more digits (an optional
'+' in front): the number keeps its last 3 digits, as `mask` does. Asterisk uniqueids
(1764500000.123) stay readable: a run right before or after ".digit" is a timestamp, not a
number. The price: our own counters past 999,999 (attempt ids) would be masked too.
aiosqlite is kept at INFO whatever the level: its debug lines are two per SQL call and carry
the parameters (names among them), which masking digits does not hide. psycopg_pool is kept
at ERROR: while the database is away it warns at every reconnection attempt.
"""
from __future__ import annotations

import logging
import re

from ivr.journal import JournalFormatter, stderr_is_journal
from ivr.phone import mask

PHONE_RUN = re.compile(r"(?<!\d)(?<!\d\.)\+?\d{7,}(?!\d)(?!\.\d)")
# at most this verbose, whatever --log-level says; psycopg_pool warns at every reconnection
# attempt while the database is away (ivr/database_watch.py says it once)
QUIET = {"aiosqlite": logging.INFO, "psycopg.pool": logging.ERROR}


def mask_numbers(text: str) -> str:
    """Every digit run that may be a phone number, masked: 'CallerIDNum: 919876543210' ->
    'CallerIDNum: *********210'."""
    return PHONE_RUN.sub(lambda m: mask(m.group(0)), text)


class MaskingFormatter(logging.Formatter):
    """A Formatter whose whole output (message, arguments, traceback) goes through
    mask_numbers."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_numbers(super().format(record))


class JournalMaskingFormatter(JournalFormatter, MaskingFormatter):
    """Masked, and each line prefixed with its syslog priority for journald."""


FORMAT = "%(levelname)s %(name)s: %(message)s"


def quiet_libraries() -> None:
    """The QUIET levels for every command, also those that set no logging up (Python's
    last-resort handler prints their warnings: psycopg_pool's while the database is away)."""
    for name, most in QUIET.items():
        logging.getLogger(name).setLevel(most)


def setup_logging(level: str) -> None:
    """One line per event on standard error, no timestamps of our own: journald (or the
    terminal) adds them; under journald each line carries its priority (ivr/journal.py).
    Like logging.basicConfig, it leaves alone a process whose logging is already configured
    (root handlers present: a program embedding us, or pytest)."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    formatter = JournalMaskingFormatter if stderr_is_journal() else MaskingFormatter
    handler.setFormatter(formatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper()))
    for name, most in QUIET.items():
        logging.getLogger(name).setLevel(max(most, root.level))
