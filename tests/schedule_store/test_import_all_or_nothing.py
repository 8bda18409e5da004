"""A big import goes in whole or not at all, on SQLite and on PostgreSQL: enrol_many
refuses a bad row of a large batch before anything is written, and `run_import`, whose
file is enrolled in several calls of enrol_many inside ONE transaction, leaves nothing
when a row of a later call is refused by the store (after earlier calls have written
thousands of women, their audit rows and deliveries)."""
from datetime import datetime, timedelta, timezone

import pytest

from ivr.adapters.schedule_store import Enrolment, ScheduleStore
from ivr.adapters.store import Store
from ivr.operators import enrolment
from ivr.operators.enrolment import RowFailed, run_import
from ivr.operators.imports import ImportPlan, Row
from scheduler.model import SchedulerError, Subscriber
from scheduler.programme import load_programme

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)     # 07:30 in Kolkata
TABLES = ("subscribers", "deliveries", "audit")


def woman(n: int) -> Enrolment:
    return Enrolment(Subscriber(id=0, phone=f"9190{n:08d}", language="hi",
                                slot=("09-12", "18-21")[n % 2],
                                lmp=NOW.date() - timedelta(days=30 + n % 200)))


@pytest.fixture
async def sched(database):
    database.home.mkdir(parents=True, exist_ok=True)
    store = await Store.open(database.address, key_file=database.key_file)
    yield ScheduleStore(store, load_programme("mmitra"))
    await store.close()


async def counts(sched: ScheduleStore) -> tuple[int, ...]:
    return tuple([(await sched.store.fetchall(f"SELECT COUNT(*) FROM {t}"))[0][0]
                  for t in TABLES])


async def test_a_bad_row_at_the_end_of_a_big_batch_writes_nothing(sched):
    await sched.enrol_many([woman(0)], NOW, actor="test")           # one live already
    rows = [woman(n) for n in range(1, 12_001)]
    bad = Enrolment(Subscriber(id=0, phone="919099999999", language="xx", slot="09-12",
                               lmp=NOW.date() - timedelta(days=40)))
    with pytest.raises(SchedulerError, match=r"^row 12001: language 'xx'"):
        await sched.enrol_many([*rows, bad], NOW, actor="import")
    with pytest.raises(SchedulerError, match=r"^row 12001: this phone is already enrolled"):
        await sched.enrol_many([*rows, woman(0)], NOW, actor="import")
    assert await counts(sched) == (1, 1, 1)
    subs = await sched.enrol_many(rows, NOW, actor="import")       # the good rows go in
    assert [s.id for s in subs] == list(range(2, 12_002))
    assert await counts(sched) == (12_001, 12_001, 12_001)


async def test_a_row_refused_in_a_later_call_leaves_nothing_of_the_file(sched, monkeypatch):
    monkeypatch.setattr(enrolment, "CHUNK", 5_000)
    rows = [Row(line=n + 2, enrolment=woman(n)) for n in range(12_000)]
    # the same phone twice, far apart (a plan built by hand: the file's parser would have
    # named it): the first is written in the first call; the second call's check refuses
    twice = Row(line=12_002, enrolment=woman(3))
    plan = ImportPlan(rows=[*rows, twice], lines=12_001)
    with pytest.raises(RowFailed, match=r"^line 12002: this phone is already enrolled "
                                        r"\(woman 4\) \(nothing was imported\)"):
        await run_import(sched, plan, NOW, actor="import")
    assert await counts(sched) == (0, 0, 0)
    result = await run_import(sched, ImportPlan(rows=rows, lines=12_000), NOW, actor="import")
    assert len(result.enrolled) == 12_000
    assert await counts(sched) == (12_000, 12_000, 12_000)
