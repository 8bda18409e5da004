"""missed_calls rows: one per missed call (one per Asterisk channel, by its Uniqueid), written
by the controller's intake of the spool (ivr/intake.py), handled once (handled_at)."""
from __future__ import annotations

from typing import NamedTuple

from ivr.adapters.store import Store
from ivr.missed_spool import SpooledCall


class MissedRow(NamedTuple):
    phone: str
    received_at: float
    handled_at: float | None


async def insert(store: Store, call: SpooledCall) -> int:
    """The row of this call (its uniqueid): written now, or the one written before."""
    rows = await store.fetchall(
        "INSERT INTO missed_calls (phone, did, received_at, uniqueid) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (uniqueid) WHERE uniqueid IS NOT NULL DO NOTHING RETURNING id",
        (call.caller, call.did, call.received_at, call.uniqueid))
    if not rows:
        rows = await store.fetchall("SELECT id FROM missed_calls WHERE uniqueid = ?",
                                    (call.uniqueid,))
    return int(rows[0][0])


async def get(store: Store, row_id: int) -> MissedRow | None:
    rows = await store.fetchall(
        "SELECT phone, received_at, handled_at FROM missed_calls WHERE id = ?", (row_id,))
    return MissedRow(*rows[0]) if rows else None


async def unhandled(store: Store) -> list[int]:
    """Rows not handled yet (left by an older version that wrote rows from the dialplan)."""
    rows = await store.fetchall(
        "SELECT id FROM missed_calls WHERE handled_at IS NULL ORDER BY id")
    return [r[0] for r in rows]


async def handled(store: Store, row_id: int, *, phone: str, at: float,
                  subscriber_id: int | None = None, callback_id: int | None = None) -> None:
    """phone: hers (a woman's), or masked (not enrolled: nothing of hers is kept)."""
    await store.execute(
        "UPDATE missed_calls SET phone = ?, subscriber_id = ?, callback_id = ?, handled_at = ? "
        "WHERE id = ?", (phone, subscriber_id, callback_id, at, row_id))
