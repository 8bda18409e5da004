"""The controller's intake of missed calls: the spool files Asterisk's fallback script writes
(ivr/missed_spool.py) become missed_calls rows and callback requests.

A file is ingested in one transaction (its row, inserted once by Uniqueid, and the woman's
callback request), and deleted only after that transaction committed. When the database write
fails (locked past the busy timeout, disk full, the database away...), the file stays and
the next sweep tries again: nothing is lost. A file that is not a valid missed call is moved
to <spool>/bad with one log line. A temporary file (its writer still running, or killed) is
never read while it may still be written; once stale it is ingested if it is whole, or moved
to bad.

Triggers: the IvrMissedCall UserEvent (that one file at once: the fast path), start-up, and
the dialer's periodic sweep (files whose event was lost, or whose write failed).
"""
from __future__ import annotations

import asyncio
import errno
import logging
import os
import stat
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Mapping, Sequence

from ivr import constants as C
from ivr import missed_spool
from ivr.adapters import missed_calls, subscribers
from ivr.adapters.store import DB_ERRORS, Store
from ivr.errors import Unavailable
from ivr.phone import mask
from ivr.protocol.ami import UserEvent
from ivr.schedule import Schedule

log = logging.getLogger(__name__)

SPOOL_MODE = 0o730        # Asterisk's group may create files and pass through; not list them
PARENT_MODE = 0o710       # <home>/spool: Asterisk's group may pass through to the spool
BAD_DIR = "bad"           # <spool>/bad: files that are not missed calls (0700)
STALE_AFTER = 60.0        # a temporary file this old: its writer is dead (its deadline is 5 s)
# after an event whose file was not there yet (she hung up while the script ran): look again
# once the script's deadline has passed
LATE_SWEEP_AFTER = 6.0


class IntakeError(Unavailable, OSError):
    """The spool directory cannot be made (an OSError, with the spool's path in the message:
    `ivr run` reports it as it reports the database's)."""


def prepare_spool(spool: Path) -> None:
    """Create the spool (mode 0730) and its bad/ (0700), the parent (0710) if missing; an
    existing spool gets its mode back. The group is the controller's: add Asterisk's user to
    it (docs/deploy.md)."""
    try:
        if not spool.parent.exists():
            spool.parent.mkdir(parents=True, mode=0o700)
            os.chmod(spool.parent, PARENT_MODE)
        spool.mkdir(exist_ok=True, mode=0o700)
        os.chmod(spool, SPOOL_MODE)
        (spool / BAD_DIR).mkdir(exist_ok=True, mode=0o700)
        os.chmod(spool / BAD_DIR, 0o700)
    except OSError as e:
        raise IntakeError(f"cannot prepare the missed-call spool {spool}: "
                          f"{e.strerror or e}") from None


class MissedCallIntake:
    """`woken`: called when a callback request was made (the dialer then claims it)."""

    def __init__(self, store: Store, schedule: Schedule, spool: Path, *, region: str,
                 clock: Callable[[], float], woken: Callable[[], None] = lambda: None,
                 regions: Sequence[str] = ()):
        self.store = store
        self.schedule = schedule
        self.spool = spool
        self.region = region
        self.regions = regions         # the other programmes': tried in turn after `region`
        self.clock = clock
        self.woken = woken
        self.ingested = 0            # missed calls taken from the spool
        self._prepared = False

    # ------------------------------------------------------------------ triggers
    async def on_event(self, headers: Mapping[str, str]) -> None:
        """The dialplan's IvrMissedCall event: ingest its file at once. The headers only name
        the file (MissedCallFile, or the channel's Uniqueid); nothing else of them is used."""
        names = dict.fromkeys([headers.get(C.HEADER_MISSED_CALL_FILE, ""),
                               headers.get("Uniqueid", "") + missed_spool.SUFFIX])
        for name in names:
            if missed_spool.is_call_file(name) and await self.ingest(self.spool / name):
                return
        # no file yet (she hung up while the script ran; the caller ID was withheld) or the
        # write failed: look once more when the script is surely done
        await asyncio.sleep(LATE_SWEEP_AFTER)
        await self.sweep()

    async def sweep(self) -> int:
        """Every file in the spool, then any row not handled yet. Returns the files ingested."""
        self._prepare()
        done = 0
        try:
            entries = sorted(os.scandir(self.spool), key=lambda e: e.name)
        except OSError as e:
            log.error("cannot list the missed-call spool %s: %s", self.spool, e.strerror)
            return 0
        now = time.time()               # compared with files' mtimes: the real clock
        for entry in entries:
            if missed_spool.is_call_file(entry.name):
                done += await self.ingest(Path(entry.path))
            elif missed_spool.is_temp_file(entry.name):
                done += await self._stale_temp(Path(entry.path), now)
        try:
            for row_id in await missed_calls.unhandled(self.store):
                async with self.store.transaction():
                    if await self._handle(row_id):
                        self.woken()
        except DB_ERRORS as e:
            log.warning("missed calls not handled yet: %s (tried again at the next sweep)", e)
        return done

    # ------------------------------------------------------------------ one file
    async def ingest(self, path: Path) -> bool:
        """True when the file's call is in the database now and the file is gone."""
        try:
            call = missed_spool.decode(_read(path))
        except FileNotFoundError:
            return False                # not written (yet), or ingested by another trigger
        except OSError as e:
            log.error("missed-call file %s cannot be read: %s (left in the spool)",
                      path.name, e.strerror)
            return False
        except missed_spool.SpoolError as e:
            self._bad(path, str(e))
            return False
        try:
            async with self.store.transaction():
                row_id = await missed_calls.insert(self.store, call)
                woke = await self._handle(row_id)
        except DB_ERRORS as e:
            log.warning("missed call %s stays in the spool: the database write failed (%s); "
                        "tried again at the next sweep", call.uniqueid, e)
            return False
        path.unlink(missing_ok=True)
        self.ingested += 1
        if woke:
            self.woken()
        return True

    async def _stale_temp(self, path: Path, now: float) -> bool:
        """A temporary file whose writer died: whole, it is a missed call; else bad."""
        try:
            if now - path.lstat().st_mtime < STALE_AFTER:
                return False            # its writer may still be at work
            call = missed_spool.decode(_read(path))
        except FileNotFoundError:
            return False
        except OSError as e:
            log.error("stale spool file %s cannot be read: %s", path.name, e.strerror)
            return False
        except missed_spool.SpoolError as e:
            self._bad(path, f"a writer died half-way: {e}")
            return False
        final = self.spool / missed_spool.file_name(call.uniqueid)
        try:
            if final.exists():          # written again whole (the dialplan's second try)
                path.unlink()
                return False
            os.replace(path, final)
        except OSError as e:
            log.error("stale spool file %s cannot be renamed: %s", path.name, e.strerror)
            return False
        return await self.ingest(final)

    def _bad(self, path: Path, why: str) -> None:
        target = self.spool / BAD_DIR / path.name.lstrip(".")
        try:
            os.replace(path, target)
            log.warning("spool file %s is not a missed call (%s): moved to %s",
                        path.name, why, target.parent)
        except OSError as e:
            log.error("spool file %s is not a missed call (%s) and cannot be moved: %s",
                      path.name, why, e.strerror)

    def _prepare(self) -> None:
        if not self._prepared:
            prepare_spool(self.spool)
            self._prepared = True

    # ------------------------------------------------------------------ one row
    async def _handle(self, row_id: int) -> bool:
        """Turn the row into a callback request (in the caller's transaction). True when a
        request was made or merged for a woman."""
        row = await missed_calls.get(self.store, row_id)
        if row is None or row.handled_at is not None:
            return False                                 # handled already
        digits, sub = await subscribers.find_caller(self.store, row.phone or "",
                                                    [self.region, *self.regions])
        phone = digits or None
        if sub is None:
            # not enrolled: nothing of hers to keep; the row stays, masked, for the counts
            log.info("missed call from %s, not enrolled: ignored", mask(phone or row.phone))
            await missed_calls.handled(self.store, row_id, phone=mask(phone or row.phone),
                                       at=self.clock())
            return False
        request = await self.schedule.missed_call(
            sub.id, datetime.fromtimestamp(row.received_at, timezone.utc))
        await missed_calls.handled(self.store, row_id, phone=phone, at=self.clock(),
                                   subscriber_id=sub.id,
                                   callback_id=request.id if request else None)
        log.info("missed call from woman %s: %s", sub.id,
                 f"callback request {request.id}" if request else "merged with a recent one")
        return True


class MissedCallEvents:
    """The service's listener of the dialplan's IvrMissedCall UserEvent: each ingests its
    spool file at once, as a chore of the service (`chores`: the dial loop's drain waits for
    it). `stats`: the service's (ivr.run_status.Stats: missed_calls, errors)."""

    def __init__(self, intake: MissedCallIntake, stats, chores: set[asyncio.Task],
                 clock: Callable[[], float]):
        self.intake = intake
        self.stats = stats
        self.chores = chores
        self.clock = clock

    def __call__(self, event: UserEvent) -> None:
        if event.name != C.USEREVENT_MISSED_CALL:
            return
        task = asyncio.create_task(self._missed_call(event.headers))
        self.chores.add(task)
        task.add_done_callback(self.chores.discard)

    async def _missed_call(self, headers: Mapping[str, str]) -> None:
        self.stats.missed_calls += 1
        try:
            await self.intake.on_event(headers)
        except Exception as e:          # a chore's failure must reach the log and the status
            log.error("missed-call intake failed: %r", e)
            self.stats.error(self.clock(), repr(e)[:200])


def _read(path: Path) -> bytes:
    """At most MAX_BYTES + 1 bytes of a regular file (never follows a link: SpoolError)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise missed_spool.SpoolError("a symbolic link") from None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise missed_spool.SpoolError("not a regular file")
        return os.read(fd, missed_spool.MAX_BYTES + 1)
    finally:
        os.close(fd)
