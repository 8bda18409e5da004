"""`ivr calls` of an installation of two programmes (mMitra in Kolkata, Pesinet in Bamako), on
SQLite and PostgreSQL: each call's day and time in her programme's zone (a test call, about
nobody: the first programme's)."""
import json
from datetime import datetime, timedelta

import pytest

from tests.operators.conftest import dmy
from tests.operators.test_programmes_cli import DAY, EVENING, enrol_both, first_delivery



@pytest.fixture
def two(cli, monkeypatch):
    enrol_both(cli, monkeypatch)
    for sid in (1, 2):
        phone, lang, did = first_delivery(cli, sid)
        cli.sql("INSERT INTO attempts (delivery_id, subscriber_id, number, kind, phone, "
                "language, message_key, created_at, started_at, ended_at, outcome) "
                "VALUES (?, ?, 1, 'scheduled', ?, ?, 'm', ?, ?, ?, 'busy')",
                did, sid, phone, lang, EVENING + sid, EVENING + sid, EVENING + sid + 30)
    cli.sql("INSERT INTO attempts (subscriber_id, number, kind, phone, language, message_key, "
            "created_at, started_at, ended_at, outcome) VALUES (NULL, 1, 'test', "
            "'919999999999', 'hi', 't', ?, ?, ?, 'answered')", EVENING + 3, EVENING + 3,
            EVENING + 33)
    return cli


def calls(cli, *args) -> dict[int | None, str]:
    r = cli("calls", "--json", *args)
    assert r.exit_code == 0, r.output
    return {c["woman"]: c["at"] for c in map(json.loads, r.output.splitlines())}


def test_calls_programmes_her_programmes_day(two):
    # DAY in Bamako holds the child's call; in Kolkata it was already the next day
    assert set(calls(two, "--date", dmy(DAY))) == {2}
    assert set(calls(two, "--date", dmy(DAY + timedelta(days=1)))) == {1, None}
    assert set(calls(two, "--from", dmy(DAY), "--to", dmy(DAY + timedelta(days=1)))) == \
        {1, 2, None}


def test_calls_programmes_her_programmes_time(two):
    at = {w: datetime.fromisoformat(t) for w, t in calls(two).items()}
    assert at[1].utcoffset() == at[None].utcoffset() == timedelta(hours=5, minutes=30)
    assert at[2].utcoffset() == timedelta(0)
    assert (at[2].date(), at[2].hour) == (DAY, 20)
    assert (at[1].date(), at[1].hour) == (DAY + timedelta(days=1), 1)
    # newest first, over both programmes, and --limit over them all
    r = two("calls", "--json", "--limit", "2")
    assert [json.loads(x)["woman"] for x in r.output.splitlines()] == [None, 2]
