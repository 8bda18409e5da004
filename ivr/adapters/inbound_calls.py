"""The answered line's records in the store (migration 009_inbound_calls): one row per call,
the caller masked; and who a caller is (a woman, a worker) from her caller ID."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ivr.adapters.columns import epoch, instant
from ivr.adapters.store import Store
from ivr.adapters.workers import _worker, inserted_id
from scheduler.followups import Worker


@dataclass(frozen=True)
class InboundCall:
    started_at: datetime
    ended_at: datetime
    did: str
    caller: str                    # masked: never the number
    kind: str                      # woman, unknown, agent (ivr.inbound_flow.CALLERS)
    ended: str                     # how the line's flow ended
    subscriber_id: int | None = None
    worker_id: int | None = None
    keys: str = ""
    played: tuple[str, ...] = ()
    done: tuple[str, ...] = ()


async def record_inbound_call(store: Store, call: InboundCall) -> int:
    return await inserted_id(
        store, "INSERT INTO inbound_calls (started_at, ended_at, did, caller, kind, "
        "subscriber_id, worker_id, ended, keys, played, done) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (epoch(call.started_at), epoch(call.ended_at), call.did, call.caller, call.kind,
         call.subscriber_id, call.worker_id, call.ended, call.keys, " ".join(call.played),
         " ".join(call.done)))


async def inbound_calls_of(store: Store, subscriber_id: int) -> list[InboundCall]:
    """The line's calls about one woman or child (hers, or an agent's for the child), oldest
    first."""
    rows = await store.fetchall(
        "SELECT started_at, ended_at, did, caller, kind, ended, subscriber_id, worker_id, keys, "
        "played, done FROM inbound_calls WHERE subscriber_id = ? ORDER BY id", (subscriber_id,))
    return [InboundCall(instant(r[0]), instant(r[1]), r[2], r[3], r[4], r[5], r[6], r[7],
                        r[8] or "", tuple((r[9] or "").split()), tuple((r[10] or "").split()))
            for r in rows]


async def worker_on(store: Store, phone: str) -> Worker | None:
    """The active worker whose phone this is (at most one: an index says so)."""
    rows = await store.fetchall(
        "SELECT id, name, phone, role, created_at, active FROM workers "
        "WHERE phone = ? AND active = 1", (phone,))
    return _worker(rows[0]) if rows else None


async def line_usage(store: Store, since: datetime, until: datetime,
                     programme: str | None = None, nobodys: bool = True) -> dict[str, int]:
    """Answered-line use over [since, until): calls by kind, and what was done on them.
    `programme`: only the calls about its women (hers, or an agent's for its child), and,
    with `nobodys`, the calls about nobody (an unknown caller, an agent who answered for no
    child: the default programme's line served them)."""
    cond = "i.started_at >= ? AND i.started_at < ?"
    args: list[object] = [epoch(since), epoch(until)]
    if programme is not None:
        cond += " AND (s.programme = ?" + (" OR i.subscriber_id IS NULL)" if nobodys else ")")
        args.append(programme)
    rows = await store.fetchall(
        "SELECT i.kind, i.done, i.ended FROM inbound_calls i "
        f"LEFT JOIN subscribers s ON s.id = i.subscriber_id WHERE {cond}", tuple(args))
    usage = {f"calls_{kind}": 0 for kind in ("woman", "unknown", "agent")}
    for r in rows:
        usage[f"calls_{r[0]}"] = usage.get(f"calls_{r[0]}", 0) + 1
    for what in ("slot", "language", "birth", "opt_out", "child"):
        usage[what] = sum(1 for r in rows for d in r[1].split() if d.split(":")[0] == what)
    usage["call_centre"] = sum(1 for r in rows if r[2] == "call_centre")
    return usage
