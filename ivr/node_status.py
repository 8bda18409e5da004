"""`ivr status --nodes`: every node that ran on this database (the nodes table), its state by
the rule of ivr/nodes.py at the reader's clock, its live calls per trunk, its share of each
shared trunk and its latest error (numbers masked)."""
from __future__ import annotations

from ivr.adapters.nodes import read_nodes
from ivr.adapters.store import open_store
from ivr.config import Config
from ivr.logs import mask_numbers
from ivr.nodes import NodeRow, node_state


def node_view(row: NodeRow, now: float) -> dict:
    """What `ivr status --nodes` shows of one node. Pure."""
    return {"node": row.name, "host": row.host, "pid": row.pid,
            "state": node_state(row, now), "heartbeat_age": round(now - row.heartbeat_at, 1),
            "heartbeat_at": row.heartbeat_at, "heartbeat_every": row.heartbeat_every,
            "started_at": row.started_at, "stopped_at": row.stopped_at,
            "live_calls": dict(row.live_calls), "cps_shares": dict(row.cps_shares),
            "last_error": mask_numbers(row.last_error) if row.last_error else None,
            "last_error_at": row.last_error_at}


async def read_node_views(config: Config, now: float) -> list[dict]:
    """Every node's view, by name; [] when no node has run yet (no database, or no row)."""
    if not config.database.is_file():
        return []
    async with await open_store(config, read_only=True) as store:
        rows = await read_nodes(store)
    return [node_view(row, now) for row in rows]
