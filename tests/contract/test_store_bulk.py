"""ScheduleStore's bulk enrolment (enrol_many: executemany) writes exactly what enrolling the
same women one by one writes, and refuses a bad import whole, naming the row."""
from datetime import timedelta

import pytest

from contract_drive import utc, woman
from contract_stores import SqliteFace
from ivr.adapters.schedule_store import Enrolment
from scheduler.model import SchedulerError, Subscriber

NOW = utc(2026, 11, 24, 2, 30)


def imports():
    return [Enrolment(woman(i, slot=("09-12", "15-18")[i % 2], tz=("Asia/Kolkata",
                                                                   "Europe/London")[i % 2],
                            **({"child_dob": NOW.date() - timedelta(days=5 * i)} if i % 3 == 0
                               else {"lmp": NOW.date() - timedelta(days=40 + 9 * i)})),
                      name=f"woman {i}", partner="hospital-7")
            for i in range(30)]


async def table(face, sql):
    return [tuple(r) for r in await face.store.fetchall(sql)]


async def test_enrol_many_writes_what_enrol_writes(programme, tmp_path):
    one = await SqliteFace(programme, tmp_path / "one.db").open()
    bulk = await SqliteFace(programme, tmp_path / "bulk.db").open()
    try:
        singles = [await one.sched.enrol(e.subscriber, NOW, actor="import", name=e.name,
                                         partner=e.partner) for e in imports()]
        many = await bulk.sched.enrol_many(imports(), NOW, actor="import")
        assert many == singles
        for sql in ("SELECT * FROM subscribers ORDER BY id",
                    "SELECT * FROM deliveries ORDER BY id",
                    "SELECT at, actor, subscriber_id, action, detail FROM audit ORDER BY id"):
            assert await table(bulk, sql) == await table(one, sql)
    finally:
        await one.close()
        await bulk.close()


@pytest.mark.parametrize("bad,message", [
    (lambda rows: rows[3].subscriber.__setattr__("language", "xx"), "row 4: language 'xx'"),
    (lambda rows: rows[5].subscriber.__setattr__("phone", ""), "row 6: a phone number"),
    (lambda rows: rows[9].subscriber.__setattr__("phone", rows[2].subscriber.phone),
     "row 10: the same phone as row 3"),
])
async def test_a_bad_row_refuses_the_whole_import(programme, tmp_path, bad, message):
    face = await SqliteFace(programme, tmp_path / "ivr.db").open()
    try:
        rows = imports()
        bad(rows)
        with pytest.raises(SchedulerError, match=message):
            await face.sched.enrol_many(rows, NOW, actor="import")
        assert await table(face, "SELECT COUNT(*) FROM subscribers") == [(0,)]
        assert await table(face, "SELECT COUNT(*) FROM audit") == [(0,)]
    finally:
        await face.close()


async def test_an_import_refuses_a_phone_already_enrolled(programme, tmp_path):
    face = await SqliteFace(programme, tmp_path / "ivr.db").open()
    try:
        first = await face.sched.enrol(Subscriber(id=0, phone="919900000007", language="hi",
                                                  slot="09-12", lmp=NOW.date() - timedelta(
                                                      weeks=10)), NOW, actor="op")
        with pytest.raises(SchedulerError,
                           match=f"row 8: this phone is already enrolled \\(woman {first.id}\\)"):
            await face.sched.enrol_many(imports(), NOW, actor="import")
        assert await table(face, "SELECT COUNT(*) FROM subscribers") == [(1,)]
    finally:
        await face.close()
