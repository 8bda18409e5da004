"""Read-only queries for people's commands (`ivr women`, `ivr calls`, `ivr import`,
`ivr schedule preview`, `ivr demo`): the rows as the store keeps them (sqlite3.Row, epoch
seconds); the operators' code formats them (ivr/operators/records.py)."""
from __future__ import annotations

import sqlite3
from typing import Sequence

from ivr.adapters.lists import any_of
from ivr.adapters.store import Store

WOMAN_COLUMNS = ("id, phone, name, language, slot, timezone, programme, track, lmp, edd, "
                 "child_dob, partner, health_worker, consent_date, status, status_reason, "
                 "enrolled_at, updated_at")
CALL_COLUMNS = ("id, subscriber_id, kind, number, phone, language, message_key, created_at, "
                "answered_at, ended_at, outcome, cause, heard_share, plays, keys, answers, trunk")


def _where(conditions: list[str]) -> str:
    return " WHERE " + " AND ".join(conditions) if conditions else ""


async def women(store: Store, *, status: str | None = None, partner: str | None = None,
                language: str | None = None, slot: str | None = None,
                phone: str | None = None, name: str | None = None,
                limit: int = 100, phones: Sequence[str] = ()) -> list[sqlite3.Row]:
    """Women matching every filter given (name: contains; phones: any of them), by id."""
    where, args = [], []
    for col, value in (("status", status), ("partner", partner), ("language", language),
                       ("slot", slot), ("phone", phone)):
        if value is not None:
            where.append(f"{col} = ?")
            args.append(value)
    if phones:
        where.append(f"phone IN ({','.join('?' * len(phones))})")
        args.extend(phones)
    if name:        # the text as it is: its % and _ are not wildcards
        where.append("name LIKE ? ESCAPE '\\'")
        args.append("%" + name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                    + "%")
    return await store.fetchall(
        f"SELECT {WOMAN_COLUMNS} FROM subscribers{_where(where)} ORDER BY id LIMIT ?",
        (*args, limit))


async def woman(store: Store, sub_id: int) -> sqlite3.Row | None:
    rows = await store.fetchall(f"SELECT {WOMAN_COLUMNS} FROM subscribers WHERE id = ?",
                                (sub_id,))
    return rows[0] if rows else None


async def recent_deliveries(store: Store, sub_id: int, limit: int) -> list[sqlite3.Row]:
    return await store.fetchall(
        "SELECT message_key, status, attempts, due_at, next_attempt_at, heard_share "
        "FROM deliveries WHERE subscriber_id = ? ORDER BY id DESC LIMIT ?", (sub_id, limit))


async def recent_callbacks(store: Store, sub_id: int, limit: int) -> list[sqlite3.Row]:
    return await store.fetchall(
        "SELECT requested_at, status, served_at FROM callback_requests "
        "WHERE subscriber_id = ? ORDER BY id DESC LIMIT ?", (sub_id, limit))


async def audit_trail(store: Store, sub_id: int) -> list[sqlite3.Row]:
    return await store.fetchall(
        "SELECT at, actor, action, detail FROM audit WHERE subscriber_id = ? ORDER BY id",
        (sub_id,))


async def calls(store: Store, *, woman_id: int | None = None, lo: float | None = None,
                hi: float | None = None, outcome: str | None = None,
                message: str | None = None, kind: str | None = None,
                phone: str | None = None, limit: int = 100, programme: str | None = None,
                nobodys: bool = False) -> list[sqlite3.Row]:
    """Attempts placed in [lo, hi), newest first; outcome "live": not ended yet. programme:
    only the calls to its women (nobodys: and the calls about nobody, test calls)."""
    where: list[str] = []
    args: list[object] = []
    if programme is not None:
        where.append("(subscriber_id IN (SELECT id FROM subscribers WHERE programme = ?)"
                     + (" OR subscriber_id IS NULL)" if nobodys else ")"))
        args.append(programme)
    for cond, value in (("subscriber_id = ?", woman_id), ("created_at >= ?", lo),
                        ("created_at < ?", hi), ("message_key = ?", message),
                        ("kind = ?", kind), ("phone = ?", phone)):
        if value is not None:
            where.append(cond)
            args.append(value)
    if outcome == "live":
        where.append("outcome IS NULL")
    elif outcome is not None:
        where.append("outcome = ?")
        args.append(outcome)
    return await store.fetchall(
        f"SELECT {CALL_COLUMNS} FROM attempts{_where(where)} ORDER BY id DESC LIMIT ?",
        (*args, limit))


async def phone_records(store: Store, phones: list[str]) -> dict[str, list[dict]]:
    """Every record of these phones, newest first."""
    out: dict[str, list[dict]] = {}
    for condition, params in any_of(store, "phone", phones):
        rows = await store.fetchall(
            "SELECT id, phone, status, status_reason, lmp, edd, child_dob, updated_at "
            f"FROM subscribers WHERE {condition} ORDER BY id DESC", params)
        for r in rows:
            out.setdefault(r["phone"], []).append(dict(r))
    return out


async def next_due_after(store: Store, t: float) -> float | None:
    """The first time after `t` when something falls due: a woman's plan, a callback, a retry."""
    rows = await store.fetchall(
        "SELECT MIN(x) FROM ("
        " SELECT MIN(plan_at) AS x FROM subscribers WHERE plan_at > ?"
        " UNION ALL SELECT MIN(next_attempt_at) FROM callback_requests"
        "  WHERE status = 'pending' AND next_attempt_at > ?"
        " UNION ALL SELECT MIN(d.next_attempt_at) FROM deliveries d"
        "  WHERE d.status = 'pending' AND d.next_attempt_at > ?) AS due",
        (t,) * 3)
    return rows[0][0]


async def callback_requested_at(store: Store, callback_id: int) -> float:
    rows = await store.fetchall("SELECT requested_at FROM callback_requests WHERE id = ?",
                                (callback_id,))
    return rows[0][0]


async def attempt_before(store: Store, delivery_id: int, attempt_id: int) -> sqlite3.Row | None:
    """The delivery's attempt before this one (its outcome, created_at), if any."""
    rows = await store.fetchall(
        "SELECT outcome, created_at FROM attempts WHERE delivery_id = ? AND id < ? "
        "ORDER BY id DESC LIMIT 1", (delivery_id, attempt_id))
    return rows[0] if rows else None


async def delivery_calls(store: Store, delivery_id: int) -> list[dict]:
    """A delivery's attempts, in order: what each call did."""
    return [dict(r) for r in await store.fetchall(
        "SELECT number, outcome, heard_seconds, message_seconds, keys, ended "
        "FROM attempts WHERE delivery_id = ? ORDER BY number", (delivery_id,))]
