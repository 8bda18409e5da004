"""The rows of the calls themselves (table attempts) as the store reads and writes them:
a new attempt, a call's record, and the statements of a call's life (placed, started,
answered, ended; her name on the call centre's list). A part of Store (ivr/adapters/store.py),
whose statements (execute, fetchall) these run through, on SQLite and PostgreSQL alike."""
from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from scheduler.outcome import Outcome


@dataclass(frozen=True)
class NewAttempt:
    phone: str                 # E.164 digits (no '+')
    language: str
    message_key: str
    trunk: str | None = None   # set when the call is placed
    kind: str = "test"
    subscriber_id: int | None = None
    delivery_id: int | None = None
    number: int = 1


@dataclass(frozen=True)
class CallRecord:
    id: int
    delivery_id: int | None
    callback_id: int | None
    subscriber_id: int | None
    number: int
    kind: str
    phone: str
    language: str
    message_key: str
    trunk: str | None
    created_at: float
    started_at: float | None
    answered_at: float | None
    ended_at: float | None
    outcome: Outcome | None
    reason: int | None
    cause: int | None
    cause_text: str | None
    heard_seconds: float | None
    message_seconds: float | None
    heard_share: float | None
    ended: str | None
    keys: str | None
    language_played: str | None
    channel: str | None
    uniqueid: str | None
    acquired_by: str | None
    acquired_until: float | None
    plays: int | None
    answers: int | None            # questions she answered in the call (None: none asked)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "CallRecord":
        values = dict(row)
        if values["outcome"] is not None:
            values["outcome"] = Outcome(values["outcome"])
        return cls(**values)


ATTEMPT_COLUMNS = ", ".join(f.name for f in fields(CallRecord))


class AttemptRows:
    """The attempts' statements of Store (mixed into it)."""

    if TYPE_CHECKING:
        async def execute(self, sql: str, params: tuple = ()) -> sqlite3.Cursor: ...

        async def fetchall(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]: ...

        def transaction(self) -> AbstractAsyncContextManager[Any]: ...

    async def create_attempt(self, new: NewAttempt, now: float, owner: str | None = None) -> int:
        """A live attempt row; `owner` (ivr.owner) is the process placing it, so that a
        restarted service can tell a call still being placed from one left by a dead process."""
        rows = await self.fetchall(
            "INSERT INTO attempts (delivery_id, subscriber_id, number, kind, phone, language, "
            "message_key, trunk, created_at, acquired_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "RETURNING id",
            (new.delivery_id, new.subscriber_id, new.number, new.kind, new.phone, new.language,
             new.message_key, new.trunk, now, owner))
        return int(rows[0][0])

    async def attempt_started(self, attempt_id: int, at: float, uniqueid: str,
                              trunk: str) -> None:
        await self.execute(
            "UPDATE attempts SET started_at = ?, uniqueid = ?, trunk = ? WHERE id = ?",
            (at, uniqueid, trunk, attempt_id))

    async def attempt_answered(self, attempt_id: int, at: float, channel: str | None,
                               told: Callable[[], None] | None = None) -> None:
        """Her answer written. `told` (no await in it: a socket's write) is called inside
        the answer's transaction, after its UPDATE, and the COMMIT is sent at once with no
        await in between (the in-call route tells Asterisk IVR_SERVED there): both leave
        this process in one step of the event loop (dialplan/README.md, "One window is
        left"). Not called when the UPDATE fails; called once otherwise, even if the COMMIT
        then fails. Used outside any other transaction (nested, the COMMIT is the outer's)."""
        sql = "UPDATE attempts SET answered_at = ?, channel = COALESCE(?, channel) WHERE id = ?"
        if told is None:
            await self.execute(sql, (at, channel, attempt_id))
            return
        async with self.transaction():
            await self.execute(sql, (at, channel, attempt_id))
            told()

    async def add_to_call_centre_list(self, subscriber_id: int, attempt_id: int | None,
                                      reason: str, at: float) -> int:
        """She must be called by a health worker (migration 004, call_centre_list)."""
        rows = await self.fetchall(
            "INSERT INTO call_centre_list (subscriber_id, attempt_id, reason, added_at) "
            "VALUES (?, ?, ?, ?) RETURNING id", (subscriber_id, attempt_id, reason, at))
        return int(rows[0][0])

    async def attempt_ended(self, attempt_id: int, *, at: float, outcome: Outcome,
                            heard_share: float | None = None) -> bool:
        """Close an attempt that has no scheduling behind it (a test call). Only a live one
        (outcome NULL) changes: a late duplicate is ignored (returns False)."""
        cur = await self.execute(
            "UPDATE attempts SET ended_at = ?, outcome = ?, heard_share = COALESCE(?, "
            "heard_share), acquired_by = NULL, acquired_until = NULL "
            "WHERE id = ? AND outcome IS NULL",
            (at, outcome.value, heard_share, attempt_id))
        return cur.rowcount == 1

    async def attempt(self, attempt_id: int) -> CallRecord | None:
        rows = await self.fetchall(
            f"SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE id = ?", (attempt_id,))
        row = rows[0] if rows else None
        return CallRecord.from_row(row) if row else None

    async def attempts(self, limit: int = 100) -> list[CallRecord]:
        rows = await self.fetchall(
            f"SELECT {ATTEMPT_COLUMNS} FROM attempts ORDER BY id DESC LIMIT ?", (limit,))
        return [CallRecord.from_row(r) for r in rows]

    async def live_attempts(self) -> list[CallRecord]:
        rows = await self.fetchall(
            f"SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE outcome IS NULL ORDER BY id")
        return [CallRecord.from_row(r) for r in rows]
