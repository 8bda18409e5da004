"""`ivr followups list` of an installation of two programmes (mMitra in Kolkata, Pesinet in
Bamako), on SQLite and PostgreSQL: a follow-up is overdue when due before HER today (her zone,
the calendar her due day is counted in), its times shown in her zone."""
import asyncio
import json
from datetime import datetime, timedelta, timezone

import pytest

from ivr.adapters.schedule_store import ScheduleStore
from ivr.adapters.store import Store
from ivr.operators import session
from scheduler.programme import load_programme
from scheduler.questions_model import FollowUpToOpen, OwnerRole
from tests.operators.conftest import TODAY
from tests.operators.test_programmes_cli import enrol_child, enrol_her

# 20:00 UTC on TODAY: still TODAY in Bamako (UTC), already the next day in Kolkata (UTC+5:30)
NOW = datetime(TODAY.year, TODAY.month, TODAY.day, 20, tzinfo=timezone.utc)


@pytest.fixture
def two(cli, monkeypatch):
    monkeypatch.setenv("IVR_PROGRAMME", "mmitra,pesinet")
    assert enrol_her(cli, "--programme", "mmitra").exit_code == 0       # woman 1
    assert enrol_child(cli, "--programme", "pesinet").exit_code == 0    # child 2

    async def go():
        store = await Store.open(cli.database.address, key_file=cli.key_file)
        try:
            for sub_id, name in ((1, "mmitra"), (2, "pesinet")):
                sched = ScheduleStore(store, load_programme(name))
                assert await sched.open_follow_up(sub_id, FollowUpToOpen(
                    "fever_yes", "fever reported", TODAY, OwnerRole.HEALTH_WORKER),
                    NOW - timedelta(hours=1)) is not None
        finally:
            await store.close()
    asyncio.run(asyncio.wait_for(go(), 30))
    monkeypatch.setattr(session, "utc_now", lambda: NOW)
    return cli


def test_followups_programmes_overdue_by_her_today(two):
    r = two("followups", "list", "--all", "--json")
    assert r.exit_code == 0, r.output
    rows = {x["woman"]: x for x in map(json.loads, r.stdout.splitlines())}
    # both due TODAY: in Kolkata TODAY is past at NOW, in Bamako it is still today
    assert (rows[1]["state"], rows[2]["state"]) == ("overdue", "open")
    opened = {w: datetime.fromisoformat(x["opened_at"]) for w, x in rows.items()}
    assert opened[1].utcoffset() == timedelta(hours=5, minutes=30)
    assert opened[2].utcoffset() == timedelta(0)
    assert opened[1] == opened[2] == NOW - timedelta(hours=1)
