"""`ivr outreach` of an installation of two programmes (mMitra in Kolkata, Pesinet in Bamako),
on SQLite and PostgreSQL: the list of each programme on its own (was: the first programme's
women only), the programme named on each row; a call recorded in her programme's week."""
import json
from datetime import datetime, timedelta, timezone

import pytest

from ivr.operators import session
from scheduler.outreach_weeks import week_label, week_start
from tests.operators.test_programmes_cli import enrol_child, enrol_her

WEEK = 7 * 86400


@pytest.fixture
def two(cli, monkeypatch):
    """Her and the child each with one call not answered four weeks ago, nothing since: at
    risk by either programme's rule."""
    monkeypatch.setenv("IVR_PROGRAMME", "mmitra,pesinet")
    assert enrol_her(cli, "--programme", "mmitra").exit_code == 0       # woman 1
    assert enrol_child(cli, "--programme", "pesinet").exit_code == 0    # child 2
    at = session.utc_now().timestamp() - 4 * WEEK
    for sid in (1, 2):
        [(phone, lang, did)] = cli.sql(
            "SELECT s.phone, s.language, d.id FROM subscribers s JOIN deliveries d "
            "ON d.subscriber_id = s.id WHERE s.id = ? ORDER BY d.id LIMIT 1", sid)
        cli.sql("UPDATE subscribers SET enrolled_at = ? WHERE id = ?", at - WEEK, sid)
        cli.sql("INSERT INTO attempts (delivery_id, subscriber_id, number, kind, phone, "
                "language, message_key, created_at, started_at, ended_at, outcome) "
                "VALUES (?, ?, 1, 'scheduled', ?, ?, 'm', ?, ?, ?, 'no_answer')",
                did, sid, phone, lang, at, at, at + 30)
    return cli


def listed(cli, *args) -> list[dict]:
    r = cli("outreach", "list", "-k", "5", "--method", "at-risk", "--json", *args)
    assert r.exit_code == 0, r.output
    return [json.loads(x) for x in r.stdout.splitlines()]


def test_outreach_programmes_each_programmes_list(two):
    assert [(r["programme"], r["id"]) for r in listed(two)] == [("mmitra", 1), ("pesinet", 2)]
    assert [r["id"] for r in listed(two, "--programme", "pesinet")] == [2]
    assert "programme" not in listed(two, "--programme", "pesinet")[0]
    text = two("outreach", "list", "-k", "5", "--method", "at-risk")
    assert text.exit_code == 0
    assert "mmitra, week " in text.stderr and "pesinet, week " in text.stderr
    assert "1 women to call" in text.stderr
    assert two("outreach", "list", "-k", "5", "--programme", "kilkari").exit_code == 2


def test_outreach_programmes_done_in_her_programmes_week(two, monkeypatch):
    # Sunday 20:00 UTC: Monday already in Kolkata (a new week), still Sunday in Bamako
    today = datetime.now(timezone.utc).date()
    sunday = today - timedelta(days=(today.weekday() + 1) % 7)
    now = datetime(sunday.year, sunday.month, sunday.day, 20, tzinfo=timezone.utc)
    monkeypatch.setattr(session, "utc_now", lambda: now)
    for sid in ("1", "2"):
        r = two("outreach", "done", sid, "--outcome", "reached")
        assert r.exit_code == 0, r.output
    weeks = dict(two.sql("SELECT subscriber_id, week FROM outreach_calls ORDER BY id"))
    kolkata = week_label(week_start(now, "Asia/Kolkata"), "Asia/Kolkata")
    bamako = week_label(week_start(now, "Africa/Bamako"), "Africa/Bamako")
    assert kolkata != bamako
    assert weeks == {1: kolkata, 2: bamako}
    # the list skips each woman called in her programme's week
    assert listed(two) == []
