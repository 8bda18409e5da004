"""`ivr status` counts "today" in the programme's zone (not the server's), from local
midnight to local midnight, across daylight-saving changes; its day is RFC 3339 with offset."""
import asyncio
import json
import time
from datetime import date, datetime, timedelta, timezone

import pytest

from ivr.adapters.store import NewAttempt, Store
from ivr.config import load_config
from ivr.status import day_bounds, read_status, today_bounds
from scheduler.outcome import Outcome


@pytest.mark.parametrize("tz,day,hours,start", [
    ("America/New_York", date(2026, 3, 8), 23, "2026-03-08T00:00:00-05:00"),   # spring forward
    ("America/New_York", date(2026, 11, 1), 25, "2026-11-01T00:00:00-04:00"),  # fall back
    ("Europe/London", date(2026, 3, 29), 23, "2026-03-29T00:00:00+00:00"),
    ("Europe/London", date(2026, 10, 25), 25, "2026-10-25T00:00:00+01:00"),
    ("Asia/Kolkata", date(2026, 11, 30), 24, "2026-11-30T00:00:00+05:30"),
])
def test_a_local_day_is_midnight_to_midnight_across_dst(tz, day, hours, start):
    lo, hi = day_bounds(day, tz)
    assert lo.isoformat() == start
    assert hi.timestamp() - lo.timestamp() == hours * 3600     # real hours, not wall time
    assert hi.date() == day + timedelta(days=1) and (hi.hour, hi.minute) == (0, 0)


def test_today_is_the_programme_zones_day_not_utcs():
    now = datetime(2026, 11, 30, 20, 0, tzinfo=timezone.utc)      # 01:30 on 1 Dec in India
    lo, hi = today_bounds(now, "Asia/Kolkata")
    assert (lo.isoformat(), hi.isoformat()) == ("2026-12-01T00:00:00+05:30",
                                                "2026-12-02T00:00:00+05:30")
    lo, _ = today_bounds(datetime(2026, 3, 8, 12, tzinfo=timezone.utc), "America/New_York")
    assert lo.astimezone(timezone.utc) == datetime(2026, 3, 8, 5, tzinfo=timezone.utc)


@pytest.fixture
def utc_server(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def test_status_counts_the_calls_of_the_programmes_today(database, utc_server):
    config = load_config(env=database.env())
    now = datetime(2026, 11, 30, 20, 0, tzinfo=timezone.utc)      # 1 Dec in India
    store = await Store.open(config.store_address)
    try:
        for at, outcome in ((now - timedelta(minutes=60), Outcome.ANSWERED),  # 00:30 IST 1 Dec
                            (now - timedelta(hours=2), Outcome.BUSY),         # 23:30 IST 30 Nov
                            (now - timedelta(hours=21), Outcome.NO_ANSWER)):  # 30 Nov
            aid = await store.create_attempt(NewAttempt("919000011", "hi", "mmitra-p001",
                                                        kind="scheduled"), at.timestamp())
            await store.attempt_ended(aid, at=at.timestamp() + 30, outcome=outcome)
    finally:
        await store.close()
    status = await asyncio.wait_for(read_status(config, "Asia/Kolkata", now.timestamp()), 10)
    assert status["today"] == {"answered": 1}
    assert status["day"] == {"date": "2026-12-01", "timezone": "Asia/Kolkata",
                             "from": "2026-12-01T00:00:00+05:30",
                             "to": "2026-12-02T00:00:00+05:30"}


def test_status_json_times_are_rfc3339_in_the_programmes_zone(tmp_path):
    import os

    from click.testing import CliRunner

    from cli import main

    import asyncio

    from tests.test_run_cli import create_database
    asyncio.run(create_database(tmp_path / "ivr.db"))      # `ivr status` never creates it
    now = time.time()
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "status.json").write_text(json.dumps({
        "pid": os.getpid(), "updated_at": now, "started_at": now - 60, "ami_connected": True,
        "errors": [{"at": now - 5, "error": "x"}],
        "trunks": {"a": {"live": 0, "channels": 30, "cps": 10, "failed_in_a_row": 5,
                         "resting_until": now + 60},
                   "b": {"live": 0, "channels": 30, "cps": 10, "failed_in_a_row": 0,
                         "resting_until": None}}}))
    r = CliRunner().invoke(main, ["status", "--json"], env={"IVR_HOME": str(tmp_path)})
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    service = out["service"]
    expected = datetime.fromtimestamp(now + 60, timezone(timedelta(hours=5, minutes=30)))
    assert service["trunks"]["a"]["resting_until"] == expected.isoformat(timespec="seconds")
    for t in (service["updated_at"], service["started_at"], service["errors"][0]["at"],
              out["day"]["from"], out["day"]["to"]):
        assert datetime.fromisoformat(t).utcoffset() == timedelta(hours=5, minutes=30), t


def test_ivr_status_names_the_database_a_password_masked(pg_dsn):
    from click.testing import CliRunner

    from cli import main
    from tests.test_run_cli import create_database

    asyncio.run(create_database(pg_dsn))                    # `ivr status` never creates it
    address = pg_dsn + "&password=s3cret-pw"                # trust: the password is not asked
    r = CliRunner().invoke(main, ["status"], env={"IVR_HOME": "/nonexistent",
                                                  "IVR_DATABASE": address})
    assert "database: postgresql:///" in r.stdout and "password=***" in r.stdout, r.output
    assert "s3cret" not in r.output
    assert "waiting: 0 due now" in r.stdout                 # it read the PostgreSQL store
    r = CliRunner().invoke(main, ["status", "--json"], env={"IVR_HOME": "/nonexistent",
                                                            "IVR_DATABASE": address})
    assert "s3cret" not in r.output
    assert json.loads(r.stdout)["database"].endswith("password=***")
