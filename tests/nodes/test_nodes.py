"""Three calling nodes on this machine (issue 14's end-to-end harness, tests/nodes/harness.py):
three private sandbox Asterisks and three `ivr run` processes, 100 channels each, 600 women
due now. Run twice: each node on its own SQLite database (three independent installs, 200
women each), and the three nodes on one shared PostgreSQL database.

Mid-campaign node 3's `ivr run` is killed -9 while its calls are live and its Asterisk's calls
are left to end; on SQLite node 3 is then started again (nobody else can finish its women), on
PostgreSQL it stays down and the other two finish its women once its leases run out.
Meanwhile five women ring node 2's number. What each
woman heard is checked against the Asterisks' own logs (tests/nodes/asterisk_log.py), not
only against the store.
"""
from __future__ import annotations

import asyncio
import resource
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from ivr.adapters.schedule_store import ScheduleStore
from ivr.adapters.schedule_women import Enrolment
from ivr.adapters.store import Store
from scheduler.programme import load_programme
from tests.e2e.run_helpers import TEST_MESSAGE, all_messages_are, quick_programme, woman_on
from tests.nodes import asterisk_log
from tests.nodes.harness import Cluster, Node, cpu_seconds, missed_call

pytestmark = pytest.mark.sandbox

WOMEN = 200                  # per node
KILL_WHEN_LIVE = 40          # kill -9 node 3 once this many of its calls are answered and live
MISSED = 5                   # women who ring node 2's number (their message not due yet)
DID = "18001234567"
TIMEOUT = 300.0


def phones(node: int, count: int) -> list[str]:
    """Simulated phones that answer and listen until the IVR hangs up (91 90000 1...)."""
    return [f"91900001{node}{i:03d}" for i in range(count)]


async def enrol(store: Store, programme, numbers: list[str], now: datetime) -> None:
    schedule = ScheduleStore(store, programme)
    await schedule.enrol_many([Enrolment(woman_on(p, now)) for p in numbers], now, actor="test")


async def count(store: Store, sql: str, params: tuple = ()) -> int:
    return (await store.fetchall(sql, params))[0][0]


async def until(predicate, timeout: float, what: str, nodes: list[Node]) -> None:
    """Poll the stores (the `ivr run` processes write them) until `predicate()` holds."""
    try:
        async with asyncio.timeout(timeout):
            while not await predicate():
                for n in nodes:
                    if n.processes and n.process is None and n.processes[-1].returncode != -9:
                        pytest.fail(f"node {n.name}'s ivr run exited "
                                    f"{n.processes[-1].returncode}:\n{n.run_log()}")
                await asyncio.sleep(0.5)
    except TimeoutError:
        pytest.fail(f"timed out waiting for {what}:\n"
                    + "\n".join(f"--- {n.name}\n{n.run_log(1500)}" for n in nodes))


async def no_channels(node: Node, timeout: float) -> None:
    """Wait until the node's Asterisk has no call left (the fallback finished its plays)."""
    async with asyncio.timeout(timeout):
        while "\n0 active channels" not in "\n" + await asyncio.to_thread(
                node.box.cli, "core show channels count"):
            await asyncio.sleep(0.5)


def owned_by(node: Node) -> str:
    """SQL: the attempt belongs to the node's current `ivr run` (owner "<host>:<pid>:<t>")."""
    assert node.process is not None
    return f"acquired_by LIKE '%:{node.process.pid}:%'"


@pytest.mark.parametrize("shared", [False, True], ids=["sqlite-each", "postgres-shared"])
async def test_three_nodes_deliver_once_kill_9_and_missed_calls(
        shared, sandbox, test_sounds, tmp_path, request):
    began, cpu_before = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
    path = quick_programme(tmp_path, gaps={"failed": "1s", "no_answer": "2s"}, lease="30s")
    all_messages_are(test_sounds, TEST_MESSAGE, path)
    programme = load_programme(path)
    now = datetime.now(timezone.utc)
    women = {i: phones(i, WOMEN) for i in (1, 2, 3)}
    callers = phones(9, MISSED)
    databases = [request.getfixturevalue("pg_dsn")] * 3 if shared else [None] * 3
    postmaster = int((request.getfixturevalue("pg_cluster").data / "postmaster.pid")
                     .read_text().split()[0]) if shared else 0
    pg_before = cpu_seconds(postmaster, waited_children=True) if shared else 0.0
    async with Cluster(tmp_path, sandbox, test_sounds, path, databases) as cluster:
        n1, n2, n3 = cluster.nodes
        addresses = list(dict.fromkeys(n.database for n in cluster.nodes))
        stores = [await asyncio.wait_for(Store.open(a), 30) for a in addresses]
        store_of = {n.name: stores[addresses.index(n.database)] for n in cluster.nodes}
        try:
            for i, n in enumerate(cluster.nodes, start=1):
                await enrol(store_of[n.name], programme, women[i], now)
            await enrol(store_of["n2"], programme, callers, now)
            # their messages are not due yet: only their missed calls can make a call now
            await store_of["n2"].execute(
                "UPDATE deliveries SET next_attempt_at = ? WHERE subscriber_id IN "
                f"(SELECT id FROM subscribers WHERE phone IN ({','.join('?' * MISSED)}))",
                ((now + timedelta(days=1)).timestamp(), *callers))
            for n in cluster.nodes:
                await n.run()

            async def n3_live():
                return await count(store_of["n3"], "SELECT COUNT(*) FROM attempts WHERE "
                                   f"outcome IS NULL AND answered_at IS NOT NULL AND "
                                   f"{owned_by(n3)}") >= KILL_WHEN_LIVE
            await until(n3_live, 90, "node 3's calls answered", cluster.nodes)
            dead = owned_by(n3)
            n3.kill()
            killed = time.monotonic()
            assert await n3.ended(10) == -9
            # her call placed, its answer not recorded: ringing, or answered just then (the
            # window left, dialplan/README.md "One window is left": IVR_SERVED sent, her
            # answer's COMMIT not yet run)
            unrecorded = {r[0] for r in await store_of["n3"].fetchall(
                f"SELECT phone FROM attempts WHERE outcome IS NULL AND answered_at IS NULL "
                f"AND {dead}")}
            for phone in callers:                      # rung while the campaign runs
                await missed_call(n2, phone, DID)
            # every call node 3 had placed ends in its Asterisk (the dialplan's fallback plays
            # the message to those answered)
            await no_channels(n3, 60)
            if not shared:
                await n3.run()          # its own database: nobody else can finish its women

            async def all_done():
                for store in stores:
                    if await count(store, "SELECT COUNT(*) FROM deliveries WHERE status = "
                                   "'pending' AND next_attempt_at < ?", (time.time() + 3600,)):
                        return False
                    if await count(store, "SELECT COUNT(*) FROM attempts WHERE outcome IS NULL"):
                        return False
                return await count(store_of["n2"], "SELECT COUNT(*) FROM callback_requests "
                                   "WHERE status = 'served'") == MISSED
            await until(all_done, TIMEOUT, "every woman delivered", cluster.nodes)
            after_kill = time.monotonic() - killed
            exits = {n.name: await n.stop() for n in cluster.nodes}
            assert exits == {"n1": 0, "n2": 0, "n3": -9 if shared else 0}, \
                "\n".join(n.run_log(1500) for n in cluster.nodes)
            expected = {}
            for store in stores:
                rows = await store.fetchall(
                    "SELECT s.phone, d.message_key, d.status FROM deliveries d "
                    "JOIN subscribers s ON s.id = d.subscriber_id WHERE d.due_at <= ?",
                    (now.timestamp(),))
                expected.update({(r[0], r[1]): r[2] for r in rows})
        finally:
            for store in stores:
                await store.close()
    wall = time.monotonic() - began
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    children = cpu.ru_utime + cpu.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime
    pg = cpu_seconds(postmaster, waited_children=True) - pg_before if shared else 0.0
    print(f"\nthree nodes ({request.node.callspec.id}): {wall:.0f} s wall, all done "
          f"{after_kill:.0f} s after node 3's kill -9; {cluster.cpu_report()}, PostgreSQL "
          f"{pg:.1f} s; child processes {children:.1f} s")
    lengths = asterisk_log.SoundLengths(test_sounds)
    logs = {n.name: n.asterisk_log.read_text(errors="replace") for n in cluster.nodes}
    dialled = {name: asterisk_log.dialled(text) for name, text in logs.items()}
    delivered = asterisk_log.deliveries(
        h for name, text in logs.items() for h in asterisk_log.heard(name, text, lengths))
    campaign = {k for k in expected if k[0] not in callers}
    # the store: every woman's message delivered
    assert len(campaign) == 3 * WOMEN
    assert {expected[k] for k in campaign} == {"delivered"}
    # Asterisk: each message counted delivered was heard to its end on at least one call
    # (the route tells Asterisk IVR_SERVED before her answer's COMMIT: an answer written is
    # a message the route or the dialplan's fallback plays her)
    heard = {k for k in delivered if k[0] not in callers}
    assert heard <= campaign
    lost = {k[0] for k in campaign - heard}
    twice = {p for (p, _), c in delivered.items() if c > 1}
    print(f"messages not heard: {len(lost)} of {len(campaign)}; heard twice: {len(twice)} "
          f"(the window: {len(twice & unrecorded)}); live unrecorded at the kill: "
          f"{len(unrecorded)}")
    assert not lost, sorted(lost)[:10]
    if shared:
        # the work was shared: every node called
        calls = {n: sum(d.values()) for n, d in dialled.items()}
        assert all(c >= WOMEN // 4 for c in calls.values()), calls
    else:
        # each woman's calls went to her own node's Asterisk only
        for i, numbers in women.items():
            assert {p for name, d in dialled.items() if name != f"n{i}" for p in d} \
                .isdisjoint(numbers)
    # missed calls to node 2: each woman called back once (on PostgreSQL by any node) and
    # her message heard once
    callbacks = Counter({p: sum(d[p] for d in dialled.values()) for p in callers})
    assert callbacks == Counter({p: 1 for p in callers})
    if not shared:
        assert all(dialled["n2"][p] == 1 for p in callers)
    assert sum(c for (p, _), c in delivered.items() if p in callers) == MISSED
    # ... and on one call only. IVR_SERVED and her answer's COMMIT leave the route in one
    # step of the event loop (dialplan/README.md, "One window is left"): on PostgreSQL none
    # heard twice in 5 measured runs (bench/results/kill9_window.md). On SQLite the commit
    # runs in aiosqlite's thread after IVR_SERVED is sent: a small window is left, where
    # the fallback plays her message, her attempt is reaped as failed and she is called
    # again; every message heard twice must be of that kind: a call of node 3, live at the
    # kill with no answer written.
    if shared:
        assert not twice, f"heard on two calls: {len(twice)} women: {sorted(twice)[:10]}"
    assert twice <= unrecorded, (f"heard on two calls: {len(twice)} women, "
                                 f"{len(twice - unrecorded)} of them not live and unrecorded "
                                 f"at the kill: {sorted(twice - unrecorded)[:10]}")
