"""Three calling nodes on this machine (issue 14's end-to-end harness, tests/nodes/harness.py):
three private sandbox Asterisks and three `ivr run` processes, 100 channels each.

Until the shared PostgreSQL store lands, each node has its own SQLite database (three
independent installs, 200 women each due now). What each woman heard is checked against the
Asterisks' own logs (tests/nodes/asterisk_log.py), not only against the stores.
"""
from __future__ import annotations

import asyncio
import resource
import time
from datetime import datetime, timedelta, timezone

import pytest

from ivr.adapters.schedule_store import ScheduleStore
from ivr.adapters.schedule_women import Enrolment
from ivr.adapters.store import Store
from scheduler.programme import load_programme
from tests.e2e.run_helpers import TEST_MESSAGE, all_messages_are, quick_programme, woman_on
from tests.nodes import asterisk_log
from tests.nodes.harness import Cluster, Node, missed_call

pytestmark = pytest.mark.sandbox

WOMEN = 200                  # per node, all due now
KILL_WHEN_LIVE = 40          # kill -9 node 3 once this many of its calls are answered and live
MISSED = 5                   # women on node 2 who ring its number (their message not due yet)
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


async def test_three_nodes_own_databases_deliver_once_kill_9_and_missed_calls(
        sandbox, test_sounds, tmp_path):
    began, cpu_before = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
    path = quick_programme(tmp_path, gaps={"failed": "1s", "no_answer": "2s"}, lease="30s")
    all_messages_are(test_sounds, TEST_MESSAGE, path)
    programme = load_programme(path)
    now = datetime.now(timezone.utc)
    women = {i: phones(i, WOMEN) for i in (1, 2, 3)}
    callers = phones(9, MISSED)
    async with Cluster(tmp_path, sandbox, test_sounds, path, [None, None, None]) as cluster:
        n1, n2, n3 = cluster.nodes
        stores = [await asyncio.wait_for(Store.open(n.database), 30) for n in cluster.nodes]
        try:
            for i, store in enumerate(stores, start=1):
                await enrol(store, programme, women[i], now)
            await enrol(stores[1], programme, callers, now)
            # their messages are not due yet: only their missed calls can make a call now
            await stores[1].execute(
                "UPDATE deliveries SET next_attempt_at = ? WHERE subscriber_id IN "
                f"(SELECT id FROM subscribers WHERE phone IN ({','.join('?' * MISSED)}))",
                ((now + timedelta(days=1)).timestamp(), *callers))
            for n in cluster.nodes:
                await n.run()

            async def n3_live():
                return await count(stores[2], "SELECT COUNT(*) FROM attempts WHERE outcome IS "
                                   "NULL AND answered_at IS NOT NULL") >= KILL_WHEN_LIVE
            await until(n3_live, 90, "node 3's calls answered", cluster.nodes)
            n3.kill()
            assert await n3.ended(10) == -9
            # her call placed, its answer not recorded: ringing, or answered just then
            unrecorded = {r[0] for r in await stores[2].fetchall(
                "SELECT phone FROM attempts WHERE outcome IS NULL AND answered_at IS NULL")}
            for phone in callers:                      # rung while the campaign runs
                await missed_call(n2, phone, DID)
            # every call node 3 had placed ends in its Asterisk (the dialplan's fallback plays
            # the message to those answered), then node 3 starts again
            await no_channels(n3, 60)
            killed_at = time.monotonic()
            await n3.run()

            async def all_done():
                for store in stores:
                    if await count(store, "SELECT COUNT(*) FROM deliveries WHERE status = "
                                   "'pending' AND next_attempt_at < ?", (time.time() + 3600,)):
                        return False
                    if await count(store, "SELECT COUNT(*) FROM attempts WHERE outcome IS NULL"):
                        return False
                return await count(stores[1], "SELECT COUNT(*) FROM callback_requests "
                                   "WHERE status = 'served'") == MISSED
            await until(all_done, TIMEOUT, "every woman delivered", cluster.nodes)
            after_restart = time.monotonic() - killed_at
            for n in cluster.nodes:
                assert await n.stop() == 0, n.run_log()
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
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    self_cpu = resource.getrusage(resource.RUSAGE_SELF)
    lengths = asterisk_log.SoundLengths(test_sounds)
    logs = {n.name: n.asterisk_log.read_text(errors="replace") for n in cluster.nodes}
    heard = [h for name, text in logs.items() for h in asterisk_log.heard(name, text, lengths)]
    delivered = asterisk_log.deliveries(heard)
    campaign = {k for k, status in expected.items() if k[0] not in callers}
    # the stores: every woman's message delivered
    assert {expected[k] for k in campaign} == {"delivered"}
    assert len(campaign) == 3 * WOMEN
    # Asterisk: each message heard to its end on at least one call
    assert {k for k in delivered if k[0] not in callers} == campaign
    # each woman's calls went to her own node's Asterisk only
    for name, text in logs.items():
        node_of = {p: f"n{i}" for i, ps in women.items() for p in ps}
        assert {p for p in asterisk_log.dialled(text) if p in node_of} <= \
            {p for p, n in node_of.items() if n == name}
    # missed calls to node 2: each called back once, by node 2, and heard
    dialled = {name: asterisk_log.dialled(text) for name, text in logs.items()}
    assert {p: dialled["n2"][p] for p in callers} == {p: 1 for p in callers}
    assert not any(dialled[name][p] for name in ("n1", "n3") for p in callers)
    assert sum(c for (p, _), c in delivered.items() if p in callers) == MISSED
    children = (cpu_after.ru_utime + cpu_after.ru_stime
                - cpu_before.ru_utime - cpu_before.ru_stime)
    print(f"\nthree nodes: {wall:.0f} s wall, node 3 done {after_restart:.0f} s after its "
          f"restart; {cluster.cpu_report()}; children {children:.1f} s, pytest "
          f"{self_cpu.ru_utime + self_cpu.ru_stime:.1f} s")
    # ... and on one call only
    twice = {p for (p, _), c in delivered.items() if c > 1}
    assert twice <= unrecorded, f"heard on two calls: {sorted(twice - unrecorded)[:10]}"
    if twice:
        # Known (issue 14): a call node 3 had placed but whose answer it had not recorded
        # when it was killed is answered, and the dialplan's fallback plays her message; the
        # restart finds no channel left and closes the attempt as failed: she is called again.
        pytest.xfail(f"{len(twice)} of the {len(unrecorded)} women whose answer node 3 had "
                     "not recorded at its kill -9 heard the message on two calls")
