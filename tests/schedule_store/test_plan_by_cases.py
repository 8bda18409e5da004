"""The set-based day plan (ivr/adapters/plan_sets.py) writes what the per-woman path
(ScheduleStore.plan_each) writes, on SQLite and on PostgreSQL: random women, planned on
the same database by each path in turn (each inside a transaction rolled back), over
several days; the same deliveries and the same plan_at, status and updated_at."""
import asyncio
import contextvars
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivr.adapters import plan_sets
from ivr.adapters.schedule_store import Enrolment, ScheduleStore
from ivr.adapters.store import Store, in_rolled_back_transaction
from scheduler.model import Subscriber
from scheduler.programme import load_programme

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)     # 07:30 in Kolkata

WOMAN = st.tuples(
    st.sampled_from(("09-12", "12-15", "15-18", "18-21")),
    st.booleans(),                                  # pregnant (lmp) or mother (child_dob)
    st.integers(28, 330),                           # days since lmp / birth
    st.sampled_from(("active", "active", "paused")),
    st.booleans())                                  # her first message delivered
CASE = st.tuples(st.lists(WOMAN, min_size=1, max_size=25),
                 st.lists(st.integers(0, 60), min_size=1, max_size=3),  # days between plans
                 st.integers(1, 7))                                      # chunk


@pytest.fixture
async def store(database):
    store = await Store.open(database.address)
    yield store
    await store.close()


async def both_paths(address, case):
    """Each path's states, on the same database (rolled back after each)."""
    women, gaps, chunk = case
    store = await Store.open(address)
    try:
        old = await in_rolled_back_transaction(store, run(store, women, gaps, chunk, False))
        new = await in_rolled_back_transaction(store, run(store, women, gaps, chunk, True))
        left = (await store.fetchall("SELECT COUNT(*) FROM subscribers"))[0][0]
    finally:
        await store.close()
    return old, new, left


def enrolments(women) -> list[Enrolment]:
    out = []
    for n, (slot, pregnant, days, _, _) in enumerate(women):
        born = NOW.date() - timedelta(days=min(days, 280) if pregnant else days)
        sub = Subscriber(id=0, phone=f"9199{n:08d}", language="hi", slot=slot,
                         lmp=born if pregnant else None, child_dob=None if pregnant else born)
        out.append(Enrolment(sub, partner="p"))
    return out


async def state(store: Store) -> tuple[list, list]:
    women = await store.fetchall("SELECT id, status, plan_at, updated_at FROM subscribers "
                                 "ORDER BY id")
    deliveries = await store.fetchall(
        "SELECT subscriber_id, message_key, slot, due_at, status, next_attempt_at, closed_at, "
        "attempts FROM deliveries ORDER BY subscriber_id, id")
    return [tuple(r) for r in women], [tuple(r) for r in deliveries]


async def run(store: Store, women, gaps, chunk: int, by_cases: bool):
    """Enrol the women, mark some as paused / their first message delivered, plan after each
    gap by one path; the states after each plan, and the women planned."""
    programme = load_programme("mmitra")
    sched = ScheduleStore(store, programme)
    subs = await sched.enrol_many(enrolments(women), NOW, actor="test")
    for sub, (_, _, _, status, heard) in zip(subs, women, strict=True):
        if status == "paused":
            await store.execute("UPDATE subscribers SET status = 'paused' WHERE id = ?",
                                (sub.id,))
        if heard:
            await store.execute("UPDATE deliveries SET status = 'delivered', closed_at = ?, "
                                "next_attempt_at = NULL WHERE subscriber_id = ?",
                                (NOW.timestamp(), sub.id))
    out, now = [], NOW
    for gap in gaps:
        now += timedelta(days=gap, hours=1)
        if by_cases:
            n = await plan_sets.plan_by_cases(store, programme, now, chunk=chunk)
        else:
            n = await sched.plan_each(now)
        out.append((n, await state(store)))
    return out


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=CASE)
def test_plan_by_cases_writes_what_plan_each_writes(database, case):
    old, new, left = asyncio.run(both_paths(database.address, case))
    assert old is not None and len(old) == len(case[1])
    assert new == old
    assert left == 0


async def test_plan_by_cases_plans_a_share_and_each_woman_once(store):
    women = [("09-12", n % 2 == 0, 28 + 20 * n, "active", False) for n in range(12)]
    later = NOW + timedelta(days=30)

    async def shares():
        programme = load_programme("mmitra")
        sched = ScheduleStore(store, programme)
        await sched.enrol_many(enrolments(women), NOW, actor="test")
        due = [(await store.fetchall("SELECT COUNT(*) FROM subscribers WHERE plan_at <= ? "
                                     "AND id % 3 = ?", (later.timestamp(), k)))[0][0]
               for k in range(3)]
        got = [await plan_sets.plan_by_cases(store, programme, later, share=(k, 3), chunk=2)
               for k in range(3)]
        again = await plan_sets.plan_by_cases(store, programme, later)
        return due, got, again

    due, got, again = await in_rolled_back_transaction(store, shares())
    assert sum(due) >= 9 and min(due) >= 2           # chunks of 2: several per share
    assert got == due
    assert again == 0                           # each planned once: none due any more


async def test_plan_by_cases_on_postgres_leaves_women_another_node_is_planning(pg_emptied):
    """Two nodes planning at once: the one that finds the plan's lock taken plans nobody
    (no woman planned twice, no wait); once it is free, the women are all planned."""
    dsn = pg_emptied()
    programme = load_programme("mmitra")
    one, two = await Store.open(dsn), await Store.open(dsn)
    try:
        await ScheduleStore(one, programme).enrol_many(
            enrolments([("09-12", True, 60 + n, "active", False) for n in range(5)]), NOW,
            actor="test")
        later = NOW + timedelta(days=30)
        async with one.transaction():                   # node one plans (holds the lock)
            assert await plan_sets._locked(one, plan_sets.LOCK)
            # node two: a task of its own context (not inside node one's transaction)
            other = asyncio.create_task(plan_sets.plan_by_cases(two, programme, later),
                                        context=contextvars.Context())
            assert await asyncio.wait_for(other, 30) == 0
        assert await plan_sets.plan_by_cases(two, programme, later) == 5
        assert await plan_sets.plan_by_cases(one, programme, later) == 0
    finally:
        await one.close()
        await two.close()


async def test_plan_by_cases_on_postgres_puts_its_join_settings_back(pg_emptied):
    """The plan reads and joins its women by key (hash and merge joins, scans of whole
    tables, parallel plans and JIT off) for its own statements only: a caller's transaction
    around it finds its settings as before."""
    dsn = pg_emptied()
    programme = load_programme("mmitra")
    store = await Store.open(dsn)
    names = [name for name, _ in plan_sets.BY_KEY]
    try:
        await ScheduleStore(store, programme).enrol_many(
            enrolments([("09-12", True, 60 + n, "active", False) for n in range(5)]), NOW,
            actor="test")
        later = NOW + timedelta(days=30)
        async with store.transaction():
            before = [(await store.fetchall(f"SHOW {n}"))[0][0] for n in names]
            assert await plan_sets.plan_by_cases(store, programme, later, chunk=2) == 5
            after = [(await store.fetchall(f"SHOW {n}"))[0][0] for n in names]
        assert before[:4] == ["on", "on", "on", "on"] and before[4] != "0"
        assert after == before
    finally:
        await store.close()
