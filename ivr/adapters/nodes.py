"""nodes rows (migration 007): each `ivr run` writes its own row, keyed by its node name, at
every heartbeat (ivr/node_heartbeat.py) and marks it stopped on a clean exit; `ivr status
--nodes` and the shared CPS rule (ivr/nodes.py) read them all. Portable SQL (SQLite and
PostgreSQL): an upsert with ON CONFLICT (name) DO UPDATE; the JSON columns are plain text,
read and written here."""
from __future__ import annotations

import json

from ivr.adapters.store import Store
from ivr.nodes import NodeRow

_COLUMNS = ("name, host, pid, owner, started_at, heartbeat_at, heartbeat_every, stopped_at, "
            "live_calls, cps_shares, last_error, last_error_at")


async def write_heartbeat(store: Store, row: NodeRow) -> None:
    """Write the node's row as it is now (a restarted node takes its row back: stopped_at
    cleared)."""
    await store.execute(
        f"INSERT INTO nodes ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET host = excluded.host, pid = excluded.pid, "
        "owner = excluded.owner, started_at = excluded.started_at, "
        "heartbeat_at = excluded.heartbeat_at, heartbeat_every = excluded.heartbeat_every, "
        "stopped_at = NULL, live_calls = excluded.live_calls, "
        "cps_shares = excluded.cps_shares, last_error = excluded.last_error, "
        "last_error_at = excluded.last_error_at",
        (row.name, row.host, row.pid, row.owner, row.started_at, row.heartbeat_at,
         row.heartbeat_every, json.dumps(dict(row.live_calls), sort_keys=True),
         json.dumps(dict(row.cps_shares), sort_keys=True), row.last_error,
         row.last_error_at))


async def mark_stopped(store: Store, name: str, owner: str, at: float) -> bool:
    """The node stopped cleanly at `at`: no live calls, no share of any trunk. Only its own
    row (the same owner id) changes: False when another process has taken the name since."""
    cur = await store.execute(
        "UPDATE nodes SET stopped_at = ?, heartbeat_at = ?, live_calls = '{}', "
        "cps_shares = '{}' WHERE name = ? AND owner = ?", (at, at, name, owner))
    return cur.rowcount == 1


async def read_nodes(store: Store) -> list[NodeRow]:
    """Every node that ever ran on this database, by name."""
    rows = await store.fetchall(f"SELECT {_COLUMNS} FROM nodes ORDER BY name")
    return [NodeRow(name=r[0], host=r[1], pid=int(r[2]), owner=r[3], started_at=r[4],
                    heartbeat_at=r[5], heartbeat_every=r[6], stopped_at=r[7],
                    live_calls=_counts(r[8], int), cps_shares=_counts(r[9], float),
                    last_error=r[10], last_error_at=r[11]) for r in rows]


def _counts(text: str | None, kind: type) -> dict:
    """A JSON object {trunk: number}; anything else (a row written by hand) reads as {}."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): kind(v) for k, v in value.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}
