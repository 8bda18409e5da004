"""Several nodes on one PostgreSQL: each node is its own store (its own connection pool) on
the same database, and they claim, release, reap and take missed calls at the same time.
Never two live calls for one woman, every due message claimed once, one callback per missed
call, one close per attempt."""
from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest

from contract_drive import local, utc, woman
from ivr.adapters.schedule_store import ScheduleStore
from ivr.adapters.schedule_women import Enrolment
from ivr.adapters.store import Store
from scheduler.model import SchedulerError
from scheduler.outcome import Outcome

DAY = utc(2026, 11, 24, 2, 30)
OPEN = local("Asia/Kolkata", 2026, 11, 24, 9)
TIMEOUT = 60.0


async def _nodes(dsn: str, programme, n: int) -> list[ScheduleStore]:
    return [ScheduleStore(await Store.open(dsn), programme) for _ in range(n)]


async def _close(nodes: list[ScheduleStore]) -> None:
    for node in nodes:
        await node.store.close()


async def _enrol_due(node: ScheduleStore, women: int) -> None:
    lmp = (DAY - timedelta(weeks=12)).date()
    await node.enrol_many([Enrolment(woman(i, lmp=lmp)) for i in range(1, women + 1)], DAY,
                          actor="test")
    await node.run_plans(DAY)


async def test_nodes_claiming_at_once_take_each_due_woman_once_postgres(pg_dsn, programme):
    nodes = await _nodes(pg_dsn, programme, 4)
    try:
        await _enrol_due(nodes[0], 600)

        async def claim_all(i: int) -> list:
            got = []
            while True:
                batch = await nodes[i].claim(OPEN, f"node{i}:1:1", 50)
                if not batch:
                    return got
                got += batch
        async with asyncio.timeout(TIMEOUT):
            claims = await asyncio.gather(*(claim_all(i) for i in range(4)))
        every = [a for node in claims for a in node]
        assert len(every) == 600
        assert len({a.id for a in every}) == 600                  # no attempt id twice
        assert Counter(a.subscriber_id for a in every).most_common(1)[0][1] == 1
        assert sum(1 for c in claims if c) >= 2                   # the work was shared
        live = await nodes[1].live_attempts()
        assert len(live) == 600
        owners = Counter(a.acquired_by for a in live)
        assert owners == Counter({f"node{i}:1:1": len(c) for i, c in enumerate(claims) if c})
    finally:
        await _close(nodes)


async def test_nodes_claiming_women_with_two_due_calls_each_never_collide_postgres(
        pg_dsn, programme):
    """Each woman has two due calls (two deliveries, e.g. a message and a notification).
    A node's claim that read her as free, and locked her row just after another node's claim
    gave her first call and ended, would give her the second: the one-live-call index
    refuses it, and the claim, rolled back whole, is made again (Calls.claim). Before that,
    the claim failed (UniqueViolation) in 3 runs out of 3."""
    nodes = await _nodes(pg_dsn, programme, 4)
    try:
        await _enrol_due(nodes[0], 200)
        await nodes[0].store.execute(
            "INSERT INTO deliveries (subscriber_id, message_key, slot, due_at, status, "
            "next_attempt_at) SELECT subscriber_id, 'second', slot, due_at, 'pending', "
            "next_attempt_at FROM deliveries WHERE status = 'pending'")
        due = await nodes[0].store.fetchall(
            "SELECT subscriber_id, COUNT(*) FROM deliveries WHERE status = 'pending' "
            "AND next_attempt_at <= ? GROUP BY subscriber_id", (OPEN.timestamp(),))
        assert len(due) == 200 and {r[1] for r in due} == {2}

        async def claim_all(i: int) -> list:
            got = []
            for _ in range(20):
                got += await nodes[i].claim(OPEN, f"node{i}:1:1", 7)
            return got
        async with asyncio.timeout(TIMEOUT):
            claims = await asyncio.gather(*(claim_all(i) for i in range(4)))
        every = [a for node in claims for a in node]
        assert Counter(a.subscriber_id for a in every).most_common(1)[0][1] == 1
        assert len(every) == 200                                  # each woman, once
        assert sum(1 for c in claims if c) >= 2                   # the work was shared
        assert len(await nodes[1].live_attempts()) == 200
    finally:
        await _close(nodes)


async def test_a_dead_nodes_calls_are_reaped_by_another_after_the_lease_postgres(
        pg_dsn, programme):
    nodes = await _nodes(pg_dsn, programme, 2)
    try:
        await _enrol_due(nodes[0], 20)
        taken = await nodes[0].claim(OPEN, "node0:1:1", 100)
        assert len(taken) == 20
        await nodes[0].store.close()                               # node 0 dies
        end = OPEN + programme.retry.lease
        assert await nodes[1].reap(end - timedelta(seconds=1)) == []
        assert sorted(await nodes[1].reap(end)) == sorted(a.id for a in taken)
        again = await nodes[1].claim(end + programme.retry.gap(Outcome.FAILED), "node1:1:1",
                                     100)
        assert sorted(a.subscriber_id for a in again) == sorted(a.subscriber_id for a in taken)
        assert {a.number for a in again} == {2}
    finally:
        await nodes[1].store.close()


async def test_release_and_reap_of_one_call_at_once_close_it_once_postgres(pg_dsn, programme):
    nodes = await _nodes(pg_dsn, programme, 2)
    try:
        await _enrol_due(nodes[0], 30)
        taken = await nodes[0].claim(OPEN, "node0:1:1", 100)
        end = OPEN + programme.retry.lease
        late = end + timedelta(seconds=1)

        async def release(a):
            try:
                return await nodes[0].release(a.id, Outcome.ANSWERED, 1.0, late)
            except SchedulerError:
                return None                          # reaped first: not live any more
        async with asyncio.timeout(TIMEOUT):
            released, reaped = await asyncio.gather(
                asyncio.gather(*(release(a) for a in taken)), nodes[1].reap(end))
        closed_by_release = {a.id for a in released if a is not None}
        assert closed_by_release.isdisjoint(reaped)
        assert closed_by_release | set(reaped) == {a.id for a in taken}
        assert await nodes[1].live_attempts() == []
        for a in taken:
            [d, *_] = await nodes[1].deliveries_of(a.subscriber_id)
            assert d.attempts == 1                   # counted once, whoever closed it
    finally:
        await _close(nodes)


@pytest.mark.parametrize("calls", [3])
async def test_one_womans_missed_calls_on_several_nodes_make_one_callback_postgres(
        pg_dsn, programme, calls):
    nodes = await _nodes(pg_dsn, programme, calls)
    try:
        await _enrol_due(nodes[0], 1)
        at = OPEN + timedelta(minutes=5)
        async with asyncio.timeout(TIMEOUT):
            made = await asyncio.gather(*(n.missed_call(1, at) for n in nodes))
        assert sum(1 for cb in made if cb is not None) == 1
        assert len(await nodes[0].callbacks_of(1)) == 1
        got = [await n.claim(at, f"node{i}:1:1", 10) for i, n in enumerate(nodes)]
        assert sum(len(g) for g in got) == 1                      # called back once
    finally:
        await _close(nodes)
