"""The nodes table (migration 007) through its adapter (ivr/adapters/nodes.py), and the node
heartbeat of `ivr run` (ivr/node_heartbeat.py) on a real SQLite file: two heartbeats with two
node names on one database stand for two nodes."""
from __future__ import annotations

import asyncio
import logging

import pytest

from ivr.adapters import nodes as node_rows
from ivr.adapters.store import Store
from ivr.config import Trunk
from ivr.lanes import Lane
from ivr.node_heartbeat import FENCE_BEATS, NodeHeartbeat, NodeNameTaken
from ivr.nodes import NodeRow
from ivr.run_status import Stats

NOW = 1_000_000.0


@pytest.fixture
async def store(tmp_path):
    s = await Store.open(tmp_path / "ivr.db")
    yield s
    await s.close()


def a_row(name="a", **changes) -> NodeRow:
    values = dict(name=name, host="h1", pid=42, owner=f"{name}@h1:42:1", started_at=NOW - 60,
                  heartbeat_at=NOW, heartbeat_every=5.0, live_calls={"sim": 2, "c": 0},
                  cps_shares={"c": 4.5}, last_error="AMI down", last_error_at=NOW - 3)
    values.update(changes)
    return NodeRow(**values)


async def test_nodes_heartbeat_row_round_trip_and_upsert(store):
    assert await asyncio.wait_for(node_rows.read_nodes(store), 5) == []
    await asyncio.wait_for(node_rows.write_heartbeat(store, a_row()), 5)
    await node_rows.write_heartbeat(store, a_row("b", live_calls={}, cps_shares={},
                                                 last_error=None, last_error_at=None))
    assert await node_rows.read_nodes(store) == [
        a_row(), a_row("b", live_calls={}, cps_shares={}, last_error=None, last_error_at=None)]
    # the next heartbeat of a: one row, updated
    await node_rows.write_heartbeat(store, a_row(heartbeat_at=NOW + 5, live_calls={"sim": 0}))
    rows = await node_rows.read_nodes(store)
    assert len(rows) == 2 and rows[0] == a_row(heartbeat_at=NOW + 5, live_calls={"sim": 0})


async def test_nodes_stopped_only_by_its_own_process_and_restarted_clears_it(store):
    await node_rows.write_heartbeat(store, a_row())
    assert not await node_rows.mark_stopped(store, "a", "a@h2:7:1", NOW + 1)   # not its owner
    assert (await node_rows.read_nodes(store))[0].stopped_at is None
    assert await node_rows.mark_stopped(store, "a", "a@h1:42:1", NOW + 2)
    [stopped] = await node_rows.read_nodes(store)
    assert (stopped.stopped_at, stopped.heartbeat_at) == (NOW + 2, NOW + 2)
    assert (stopped.live_calls, stopped.cps_shares) == ({}, {})
    await node_rows.write_heartbeat(store, a_row(owner="a@h1:43:9", pid=43, heartbeat_at=NOW + 9))
    [again] = await node_rows.read_nodes(store)
    assert again.stopped_at is None and again.pid == 43


async def test_nodes_a_row_written_by_hand_with_bad_json_reads_as_empty(store):
    await node_rows.write_heartbeat(store, a_row())
    await store.execute("UPDATE nodes SET live_calls = 'not json', cps_shares = '[1]'")
    [r] = await node_rows.read_nodes(store)
    assert (r.live_calls, r.cps_shares) == ({}, {})


# ------------------------------------------------------------------------ the heartbeat
class Clock:
    def __init__(self, now: float = NOW):
        self.now = now

    def __call__(self) -> float:
        return self.now


def node(store, name: str, clock: Clock, *, cps: float = 10.0, shared: float | None = 12.0,
         stats: Stats | None = None) -> NodeHeartbeat:
    lanes = [Lane(Trunk("c", "PJSIP/{digits}@c", cps=cps, shared_cps=shared)),
             Lane(Trunk("sim", "Local/{digits}@sim-phones"))]
    return NodeHeartbeat(store, node=name, owner=f"{name}@h:1:1", every=5.0, lanes=lanes,
                         stats=stats or Stats(started_at=clock()), clock=clock)


def shares(beat: NodeHeartbeat) -> dict:
    return {lane.trunk.name: lane.cps_share for lane in beat.lanes}


async def test_nodes_heartbeat_writes_live_calls_and_the_masked_last_error(store):
    clock = Clock()
    stats = Stats(started_at=NOW - 10)
    stats.error(NOW - 2, "attempt 7 release: OperationalError('phone 919876543210 locked')")
    a = node(store, "a", clock, stats=stats)
    a.lanes[1].pacer.live = 3
    assert await asyncio.wait_for(a.beat(), 5)
    [r] = await node_rows.read_nodes(store)
    assert (r.name, r.heartbeat_at, r.heartbeat_every, r.started_at) == ("a", NOW, 5.0, NOW - 10)
    assert r.live_calls == {"c": 0, "sim": 3} and r.cps_shares == {"c": 10.0}
    assert "919876543210" not in r.last_error and "*********210" in r.last_error
    assert r.last_error_at == NOW - 2


async def test_nodes_two_nodes_share_the_trunk_without_going_over_the_cap(store):
    clock = Clock()
    woken = []
    a, b = node(store, "a", clock), node(store, "b", clock)
    b.woken = lambda: woken.append(clock())
    assert await a.beat() and shares(a) == {"c": 10.0, "sim": None}   # alone: its own cps
    assert await b.beat() and shares(b)["c"] == 2.0       # what a leaves of the 12
    clock.now += 5
    assert await a.beat() and shares(a)["c"] == 6.0       # half, lowered at once
    assert await b.beat() and shares(b)["c"] == 2.0       # a's last second still held 10
    clock.now += 5
    assert await a.beat() and await b.beat()
    assert shares(a)["c"] == shares(b)["c"] == 6.0 and woken == [NOW, NOW + 10]  # each rise
    table = {r.name: r.cps_shares["c"] for r in await node_rows.read_nodes(store)}
    assert table == {"a": 6.0, "b": 6.0}
    # b stops cleanly: a takes the cap (up to its own cps) at its next heartbeat
    await b.stopped()
    clock.now += 5
    assert await a.beat() and shares(a)["c"] == 10.0


async def test_nodes_a_dead_node_keeps_its_share_until_stale(store):
    clock = Clock()
    a, b = node(store, "a", clock), node(store, "b", clock)
    await b.beat()                                        # b: 10 of 12, then dies
    await a.beat()
    assert shares(a)["c"] == 2.0
    clock.now += 15                                       # 3 intervals: not stale yet
    await a.beat()
    assert shares(a)["c"] == 2.0
    clock.now += 0.5
    await a.beat()
    assert shares(a)["c"] == 10.0


async def test_nodes_failed_heartbeats_are_logged_throttled_and_let_go_of_the_share(store,
                                                                                  caplog):
    clock = Clock()
    a = node(store, "a", clock)
    assert await a.beat() and shares(a)["c"] == 10.0
    await store.execute("DROP TABLE nodes")               # every write fails from now on
    caplog.set_level(logging.ERROR, logger="ivr.node_heartbeat")
    for _ in range(FENCE_BEATS):
        clock.now += 5
        assert not await asyncio.wait_for(a.beat(), 5)
        assert shares(a)["c"] == 10.0                     # the others do not call it stale yet
    clock.now += 5
    assert not await a.beat()
    assert shares(a) == {"c": 0.0, "sim": None}           # no share: the others take it
    assert a.lanes[0].room(clock()) == 0 and a.lanes[1].room(clock()) == 10  # sim goes on
    failures = [r for r in caplog.records if "heartbeat failed" in r.getMessage()]
    assert len(failures) == 1                             # once a minute at most


async def test_nodes_starting_at_the_same_moment_never_pass_the_cap(store):
    """Two heartbeats interleaved statement by statement (both read before either writes):
    the confirming read after each one's write keeps them under the cap, and they converge
    to half each."""
    clock = Clock()
    a, b = node(store, "a", clock), node(store, "b", clock)
    for _ in range(4):
        await asyncio.wait_for(asyncio.gather(a.beat(), b.beat()), 5)
        assert shares(a)["c"] + shares(b)["c"] <= 12.0, (shares(a), shares(b))
        clock.now += 5
    assert shares(a)["c"] == shares(b)["c"] == 6.0


async def test_nodes_a_second_process_under_a_running_nodes_name_is_refused(store):
    clock = Clock()
    await node_rows.write_heartbeat(store, a_row("a", host="other-host", heartbeat_at=NOW - 2))
    with pytest.raises(NodeNameTaken, match=r"node a already runs on other-host \(pid 42, "
                                            r"heartbeat 2 s ago\).*start again in 13 s"):
        await asyncio.wait_for(node(store, "a", clock).check_name(), 5)
    await node(store, "b", clock).check_name()             # another name: free
    clock.now += 14                                        # a is stale: its name is free
    await node(store, "a", clock).check_name()
