"""The calling service's view of its database: up, or away since when. A write of a call
that happened (its start, her answer, its record, its release) must land, and a database
that goes away for a while (PostgreSQL restarted, the network to it cut) must neither lose
nor hold up calls in progress: such writes are kept in memory, in order, and tried again
until the database answers.

One log line when the database goes away, one when it is back (with how long it was away):
every failure in between is counted, not logged. `ivr status` shows `database_down_since`.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Awaitable, Callable, TypeVar

from ivr.adapters.store import UNAVAILABLE_ERRORS

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRY_FIRST = 0.5         # seconds before a failed write is tried again, doubled each time
RETRY_CAP = 5.0           # ... up to this: a kept write lands within seconds of the return


class DatabaseWatch:
    """`name`: the database as it may be shown (masked: ivr.adapters.pg_sql.masked)."""

    def __init__(self, name: str, clock: Callable[[], float] = time.time):
        self.name = name
        self.clock = clock
        self.down_since: float | None = None
        self.failures = 0              # failed statements while away (not logged one by one)
        self._back = asyncio.Event()
        self._back.set()

    @property
    def up(self) -> bool:
        return self.down_since is None

    def failed(self, error: BaseException) -> None:
        """A statement failed for want of the database."""
        self.failures += 1
        if self.down_since is not None:
            return
        self.down_since = self.clock()
        self._back.clear()
        log.error("the database %s is unreachable (%s): calls in progress go on, their "
                  "results are kept in memory and written when it returns; no new calls "
                  "until then", self.name, _first_line(error))

    def answered(self) -> None:
        """A statement went through: the database is there (again)."""
        if self.down_since is None:
            return
        away = self.clock() - self.down_since
        log.warning("the database %s is back after %.0f s (%d failed statement(s) meanwhile)",
                    self.name, away, self.failures)
        self.down_since = None
        self.failures = 0
        self._back.set()

    async def back(self, timeout: float) -> bool:
        """Wait until the database is known to be back, at most `timeout` seconds."""
        try:
            await asyncio.wait_for(self._back.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    async def ask(self, statement: Callable[[], Awaitable[T]]) -> T:
        """One try of a statement, its failure for want of the database noted (and raised)."""
        try:
            result = await statement()
        except UNAVAILABLE_ERRORS as e:
            self.failed(e)
            raise
        self.answered()
        return result

    async def insist(self, statement: Callable[[], Awaitable[T]]) -> T:
        """The statement, tried again while the database is away until it lands: every
        `RETRY_FIRST`.. `RETRY_CAP` seconds, and at once when another statement finds the
        database back. Any other error is raised."""
        delay = RETRY_FIRST
        while True:
            try:
                return await self.ask(statement)
            except UNAVAILABLE_ERRORS:
                pass
            await self.back(delay)
            delay = min(delay * 2, RETRY_CAP)


class CallWrites:
    """The writes of one call, carried out in order by a task of their own so that none
    holds the call up; a write the database cannot take now waits there until it can
    (DatabaseWatch.insist). `flush()` waits until every write landed."""

    def __init__(self, watch: DatabaseWatch):
        self.watch = watch
        self._queue: list[Callable[[], Awaitable[object]]] = []
        self._task: asyncio.Task | None = None

    def add(self, write: Callable[[], Awaitable[object]]) -> None:
        self._queue.append(write)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        while self._queue:
            await self.watch.insist(self._queue[0])
            self._queue.pop(0)

    @property
    def waiting(self) -> int:
        return len(self._queue)

    async def flush(self) -> None:
        """Wait until every write so far landed (its error, other than the database's
        absence, is raised here)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)
        if self._task is not None and not self._task.cancelled():
            error = self._task.exception()
            self._task = None
            if error is not None:
                raise error

    async def cancel(self) -> None:
        """The call is given up (cancelled): its writes not made are dropped."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._queue.clear()


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
