"""`ivr status --nodes` at the command line, on a real SQLite file (no Asterisk)."""
from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from cli import main
from ivr.adapters import nodes as node_rows
from ivr.adapters.store import Store
from ivr.nodes import NodeRow


def status(tmp_path, *args, zone=None):
    return CliRunner().invoke(main, ["status", "--nodes", *args],
                              env={"IVR_HOME": str(tmp_path), "IVR_TIMEZONE": zone})


async def write_rows(path, rows):
    async with await Store.open(path) as store:
        for row in rows:
            await node_rows.write_heartbeat(store, row)
        for row in rows:
            if row.stopped_at is not None:
                await node_rows.mark_stopped(store, row.name, row.owner, row.stopped_at)


def node(name, now, *, beat_age=1.0, stopped=False, error=None) -> NodeRow:
    return NodeRow(name=name, host=f"host-{name}", pid=100, owner=f"{name}@host-{name}:100:1",
                   started_at=now - 600, heartbeat_at=now - beat_age, heartbeat_every=5.0,
                   stopped_at=now - beat_age if stopped else None,
                   live_calls={} if stopped else {"carrier": 4, "sim": 0},
                   cps_shares={} if stopped else {"carrier": 5.0},
                   last_error=error, last_error_at=now - 30 if error else None)


def test_nodes_status_before_any_node_ran(tmp_path):
    result = status(tmp_path)                        # no database yet
    assert result.exit_code == 0 and result.stdout == ""
    assert "no node has run yet" in result.stderr
    asyncio.run(write_rows(tmp_path / "ivr.db", []))  # a database, no row
    result = status(tmp_path, "--json")
    assert result.exit_code == 0 and result.stdout == ""
    assert "no node has run yet" in result.stderr


def test_nodes_status_shows_each_node_and_exits_1_when_one_is_stale(tmp_path):
    now = time.time()
    asyncio.run(write_rows(tmp_path / "ivr.db", [
        node("pune-1", now, error="attempt 7 release: phone 919876543210 locked"),
        node("pune-2", now, beat_age=60.0),
        node("pune-3", now, beat_age=3600.0, stopped=True)]))
    result = status(tmp_path)
    assert result.exit_code == 1, result.output
    header, *lines = result.stdout.splitlines()
    assert header == "nodes (times in UTC):"         # nodes belong to no programme
    assert lines[0].startswith("node pune-1 on host-pune-1 (pid 100): alive, heartbeat 1 s ago; "
                               "live calls: carrier 4, sim 0; cps share: carrier 5")
    assert lines[1].startswith("  last error at ") and "*********210 locked" in lines[1]
    assert lines[1][len("  last error at "):][:19] == time.strftime(
        "%Y-%m-%d %H:%M:%S", time.gmtime(now - 30))
    assert lines[2].startswith("node pune-2 on host-pune-2 (pid 100): stale, heartbeat 60 s ago")
    assert lines[3] == ("node pune-3 on host-pune-3 (pid 100): stopped, heartbeat 3600 s ago; "
                        "live calls: none")
    assert "919876543210" not in result.output
    assert "unhealthy: node pune-2 is stale: no heartbeat for 60 s" in result.stderr

    result = status(tmp_path, "--json")
    assert result.exit_code == 1
    views = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(v["node"], v["state"]) for v in views] == [
        ("pune-1", "alive"), ("pune-2", "stale"), ("pune-3", "stopped")]
    first = views[0]
    assert first["live_calls"] == {"carrier": 4, "sim": 0}
    assert first["cps_shares"] == {"carrier": 5.0} and first["heartbeat_every"] == 5.0
    assert 0.5 < first["heartbeat_age"] < 60
    assert first["heartbeat_at"].startswith(time.strftime("%Y-", time.gmtime(now)))  # RFC 3339
    assert first["heartbeat_at"].endswith("+00:00") and first["timezone"] == "UTC"
    assert "*********210" in first["last_error"] and "919876543210" not in result.stdout
    assert views[2]["stopped_at"] is not None and views[1]["stopped_at"] is None


def test_nodes_status_all_alive_or_stopped_exits_0(tmp_path):
    now = time.time()
    asyncio.run(write_rows(tmp_path / "ivr.db", [node("a", now),
                                                 node("b", now, beat_age=99, stopped=True)]))
    result = status(tmp_path)
    assert result.exit_code == 0, result.output
    assert [line.split(":")[1].split(",")[0].strip()
            for line in result.stdout.splitlines()[1:]] == ["alive", "stopped"]


def test_nodes_status_times_in_the_installations_zone(tmp_path):
    now = time.time()
    asyncio.run(write_rows(tmp_path / "ivr.db", [node("a", now, error="trunk down")]))
    result = status(tmp_path, zone="America/New_York")
    assert result.exit_code == 0, result.output
    header, _, error = result.stdout.splitlines()
    assert header == "nodes (times in America/New_York):"
    local = datetime.fromtimestamp(now - 30, ZoneInfo("America/New_York"))
    assert error.startswith(f"  last error at {local:%Y-%m-%d %H:%M}")
    [view] = [json.loads(x) for x in status(tmp_path, "--json",
                                            zone="America/New_York").stdout.splitlines()]
    assert view["timezone"] == "America/New_York"
    assert view["heartbeat_at"].endswith(("-05:00", "-04:00"))
    bad = status(tmp_path, zone="Mars/Olympus")
    assert bad.exit_code == 1 and "IVR_TIMEZONE" in bad.output and "Mars/Olympus" in bad.output
