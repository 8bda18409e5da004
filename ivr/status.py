"""What `ivr status` shows: the running service's own status file, and counts from the store."""
from __future__ import annotations

import json
import os
from datetime import datetime

from ivr.adapters.store import open_store
from ivr.config import Config

STALE_AFTER = 5.0       # a status file older than this belongs to a dead process


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def service_status(config: Config, now: float) -> dict | None:
    path = config.home / "run" / "status.json"
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if now - data.get("updated_at", 0) > STALE_AFTER or not _alive(int(data.get("pid", 0))):
        return None
    return data


async def read_status(config: Config, now: float) -> dict:
    midnight = datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0,
                                                   microsecond=0).timestamp()
    async with await open_store(config) as store:
        today = {r[0]: r[1] for r in await store.fetchall(
            "SELECT outcome, COUNT(*) FROM attempts WHERE created_at >= ? AND outcome IS NOT NULL "
            "GROUP BY outcome", (midnight,))}
        live = (await store.fetchall("SELECT COUNT(*) FROM attempts WHERE outcome IS NULL"))[0][0]
        due = (await store.fetchall(
            "SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?",
            (now,)))[0][0]
        pending = (await store.fetchall(
            "SELECT COUNT(*) FROM deliveries WHERE status = 'pending'"))[0][0]
        callbacks = (await store.fetchall(
            "SELECT COUNT(*) FROM callback_requests WHERE status = 'pending'"))[0][0]
    return {"service": service_status(config, now), "today": today, "live_attempts": live,
            "due_now": due, "pending": pending, "callbacks_pending": callbacks}
