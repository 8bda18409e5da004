"""What `ivr status` shows: the running service's own status file, and counts from the store."""
from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, time, timedelta, timezone
from typing import Sequence

from ivr.adapters.counts import ended_by_outcome, service_counts
from ivr.adapters.store import open_store
from ivr.config import Config
from ivr.owner import alive
from scheduler.slots import local_date, local_instant, zone

STALE_AFTER = 5.0       # a status file older than this belongs to a dead process


def service_status(config: Config, now: float) -> dict | None:
    path = config.home / "run" / "status.json"
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if now - data.get("updated_at", 0) > STALE_AFTER or not alive(int(data.get("pid", 0))):
        return None
    return data


def day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """The local day `day` of zone `tz`, from its midnight to the next, as aware instants
    (23 or 25 hours long on a daylight-saving change). Pure."""
    z = zone(tz)
    lo = local_instant(day, time(0), z).astimezone(z)
    hi = local_instant(day + timedelta(days=1), time(0), z).astimezone(z)
    return lo, hi


def today_bounds(now: datetime, tz: str) -> tuple[datetime, datetime]:
    """Today in `tz` (the programme's zone, not the server's) at instant `now`. Pure."""
    return day_bounds(local_date(now, zone(tz)), tz)


def status_json(status: dict) -> dict:
    """`ivr status --json`: the status with every time (epoch seconds: updated_at,
    started_at, resting_until, an error's at) as RFC 3339 in the programme's zone."""
    return times_as_rfc3339(status, status["day"]["timezone"])


def times_as_rfc3339(value, tz: str, key=None):
    """`value` with every time in it (a key "at" or ending in "_at" or "_until", epoch
    seconds) as RFC 3339 in zone `tz`."""
    if isinstance(value, dict):
        return {k: times_as_rfc3339(v, tz, k) for k, v in value.items()}
    if isinstance(value, list):
        return [times_as_rfc3339(v, tz) for v in value]
    if (key == "at" or str(key).endswith(("_at", "_until"))) and \
            isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, zone(tz)).isoformat(timespec="seconds")
    return value


async def read_status(config: Config, tz: str, now: float,
                      programmes: Sequence[tuple[str, str]] = ()) -> dict:
    """`tz`: the programme's zone (its day is "today"), from the command's composition root.
    programmes (several: each one's name and zone, the default first): each programme's
    calls of its own today too ("programmes"; calls about nobody: the default's), and
    "today" their sum (each call in her programme's day)."""
    lo, hi = today_bounds(datetime.fromtimestamp(now, timezone.utc), tz)
    each = []
    async with await open_store(config, read_only=True) as store:
        counts = await service_counts(store, day_from=lo.timestamp(), day_to=hi.timestamp(),
                                      now=now)
        for i, (name, its_tz) in enumerate(programmes):
            its_lo, its_hi = today_bounds(datetime.fromtimestamp(now, timezone.utc), its_tz)
            each.append({"programme": name, "day": _day(its_lo, its_hi, its_tz),
                         "today": await ended_by_outcome(
                             store, day_from=its_lo.timestamp(), day_to=its_hi.timestamp(),
                             programme=name, nobodys=i == 0)})
    today = counts.ended_by_outcome
    if each:
        today = dict(sum((Counter(p["today"]) for p in each), Counter()))
    return {"database": config.database_name,         # a PostgreSQL password masked
            "service": service_status(config, now), "today": today,
            "day": _day(lo, hi, tz),
            **({"programmes": each} if each else {}),
            "live_attempts": counts.live,
            "due_now": counts.due, "pending": counts.pending,
            "callbacks_pending": counts.callbacks}


def _day(lo: datetime, hi: datetime, tz: str) -> dict:
    return {"date": lo.date().isoformat(), "timezone": tz, "from": lo.isoformat(),
            "to": hi.isoformat()}


# ---------------------------------------------------------------------- health (exit code)
AMI_DOWN_GRACE = 30.0     # AMI reconnecting for longer than this: unhealthy
LOOP_STALE_AFTER = 90.0   # the dial loop turns at least every 30 s (see ivr.notify)
ERRORS_WINDOW, ERRORS_UNHEALTHY = 60.0, 3


def health(config: Config, now: float) -> list[str]:
    """Why the service is down or unhealthy; [] when it is healthy. `ivr status` exits 1
    when this is not empty."""
    path = config.home / "run" / "status.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return [f"not running (no {path})"]
    except (OSError, json.JSONDecodeError) as e:
        return [f"not running? its status file {path} cannot be read: {e}"]
    return problems(data, now, alive=alive(int(data.get("pid", 0))))


def problems(data: dict, now: float, *, alive: bool) -> list[str]:
    """The health rules over a status file's contents (Dialer.status()), pure."""
    if not alive:
        return [f"not running: process {data.get('pid')} is gone (it died without cleaning up)"]
    found = []
    age = now - data.get("updated_at", 0)
    if age > STALE_AFTER:
        found.append(f"hung: its status is {age:.0f} s old (written every second)")
    down_since = data.get("ami_down_since")
    if down_since is not None and now - down_since > AMI_DOWN_GRACE:
        found.append(f"AMI disconnected for {now - down_since:.0f} s: no call can be placed")
    away_since = data.get("database_down_since")
    if away_since is not None:
        found.append(f"the database has been unreachable for {now - away_since:.0f} s: no new "
                     "calls; the results of calls in progress wait in memory")
    loop_at = data.get("loop_at")
    if loop_at is not None and now - loop_at > LOOP_STALE_AFTER:
        found.append(f"the dial loop has not turned for {now - loop_at:.0f} s")
    if data.get("backoff_until") is not None and data.get("errors_in_a_row"):
        found.append(f"the dial loop is backing off after {data['errors_in_a_row']} error(s) "
                     "in a row")
    trunks = data.get("trunks") or {}
    resting = [n for n, t in trunks.items()
               if t.get("resting_until") is not None and t["resting_until"] > now]
    if trunks and len(resting) == len(trunks):
        found.append(f"every trunk is resting after failed calls ({', '.join(resting)})")
    recent = [e for e in data.get("errors", []) if now - e.get("at", 0) <= ERRORS_WINDOW]
    if len(recent) >= ERRORS_UNHEALTHY:
        found.append(f"{len(recent)} errors in the last {ERRORS_WINDOW:.0f} s, the latest: "
                     f"{recent[-1].get('error')}")
    return found
