"""`ivr status` of an installation of two programmes (mMitra in Kolkata, Pesinet in Bamako),
on SQLite and PostgreSQL: each programme's calls of its own today (a test call, about nobody,
in the first programme's), "today" their sum; the text shows each programme's line."""
import asyncio
from datetime import datetime, timedelta, timezone

from ivr.config import load_config
from ivr.status import read_status
from tests.operators.test_programmes_cli import enrol_child, enrol_her

# 20:00 UTC on 30 Nov: 01:30 on 1 Dec in Kolkata, still 30 Nov in Bamako
NOW = datetime(2026, 11, 30, 20, tzinfo=timezone.utc)
PROGRAMMES = [("mmitra", "Asia/Kolkata"), ("pesinet", "Africa/Bamako")]


def test_status_programmes_each_programmes_today(cli, monkeypatch):
    monkeypatch.setenv("IVR_PROGRAMME", "mmitra,pesinet")
    assert enrol_her(cli, "--programme", "mmitra").exit_code == 0       # woman 1
    assert enrol_child(cli, "--programme", "pesinet").exit_code == 0    # child 2
    for sid, ago, outcome in ((1, 1, "answered"),      # 00:30 on 1 Dec in Kolkata: today
                              (1, 2, "no_answer"),     # 23:30 on 30 Nov in Kolkata: not
                              (2, 2, "busy"),          # 18:00 on 30 Nov in Bamako: today
                              (None, 1, "answered")):  # a test call: the first programme's
        at = (NOW - timedelta(hours=ago)).timestamp()
        cli.sql("INSERT INTO attempts (subscriber_id, number, kind, phone, language, "
                "message_key, created_at, started_at, ended_at, outcome) VALUES "
                "(?, 1, ?, '919999999999', 'hi', 'm', ?, ?, ?, ?)",
                sid, "test" if sid is None else "scheduled", at, at, at + 30, outcome)
    config = load_config(env=cli.database.env() | {"IVR_PROGRAMME": "mmitra,pesinet"})
    status = asyncio.run(asyncio.wait_for(
        read_status(config, "Asia/Kolkata", NOW.timestamp(), PROGRAMMES), 30))
    each = {p["programme"]: p for p in status["programmes"]}
    assert each["mmitra"]["today"] == {"answered": 2}
    assert each["pesinet"]["today"] == {"busy": 1}
    assert (each["mmitra"]["day"]["date"], each["pesinet"]["day"]["date"]) == (
        "2026-12-01", "2026-11-30")
    assert each["pesinet"]["day"]["from"] == "2026-11-30T00:00:00+00:00"
    assert status["today"] == {"answered": 2, "busy": 1}
    # one programme: as before, no per-programme part
    one = asyncio.run(asyncio.wait_for(
        read_status(config, "Asia/Kolkata", NOW.timestamp()), 30))
    assert "programmes" not in one and one["today"] == {"answered": 2}
    # the command shows each programme's line
    shown = cli("status")
    assert "  mmitra (" in shown.output and ", Asia/Kolkata): " in shown.output
    assert "  pesinet (" in shown.output and ", Africa/Bamako): " in shown.output
