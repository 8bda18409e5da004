"""The counts `ivr status` shows: calls of a day by outcome, live calls, messages due and
pending, callbacks waiting (read-only)."""
from __future__ import annotations

from dataclasses import dataclass

from ivr.adapters.store import Store


@dataclass(frozen=True)
class ServiceCounts:
    ended_by_outcome: dict[str, int]    # attempts created in the day, ended, by outcome
    live: int                           # attempts not ended
    due: int                            # pending deliveries due now
    pending: int                        # pending deliveries
    callbacks: int                      # pending callback requests


async def ended_by_outcome(store: Store, *, day_from: float, day_to: float, programme: str,
                           nobodys: bool) -> dict[str, int]:
    """The calls of `programme`'s women created in [day_from, day_to) and ended, by outcome
    (nobodys: and the calls about nobody, test calls)."""
    rows = await store.fetchall(
        "SELECT outcome, COUNT(*) FROM attempts WHERE created_at >= ? AND created_at < ? "
        "AND outcome IS NOT NULL AND (subscriber_id IN (SELECT id FROM subscribers WHERE "
        "programme = ?)" + (" OR subscriber_id IS NULL)" if nobodys else ")")
        + " GROUP BY outcome", (day_from, day_to, programme))
    return {r[0]: r[1] for r in rows}


async def _one(store: Store, sql: str, args: tuple = ()) -> int:
    return (await store.fetchall(sql, args))[0][0]


async def service_counts(store: Store, *, day_from: float, day_to: float,
                         now: float) -> ServiceCounts:
    rows = await store.fetchall(
        "SELECT outcome, COUNT(*) FROM attempts WHERE created_at >= ? AND created_at < ? "
        "AND outcome IS NOT NULL GROUP BY outcome", (day_from, day_to))
    return ServiceCounts(
        ended_by_outcome={r[0]: r[1] for r in rows},
        live=await _one(store, "SELECT COUNT(*) FROM attempts WHERE outcome IS NULL"),
        due=await _one(store, "SELECT COUNT(*) FROM deliveries WHERE status = 'pending' "
                              "AND next_attempt_at <= ?", (now,)),
        pending=await _one(store, "SELECT COUNT(*) FROM deliveries WHERE status = 'pending'"),
        callbacks=await _one(store, "SELECT COUNT(*) FROM callback_requests "
                                    "WHERE status = 'pending'"))
