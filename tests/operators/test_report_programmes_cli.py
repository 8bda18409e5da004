"""`ivr report` of an installation of two programmes (mMitra in Kolkata, Pesinet in Bamako),
on SQLite and PostgreSQL: without --programme every section per programme, each in its own
zone and by its own rules, and the totals of the counting sections; the answered line and
the missed calls per programme (calls about nobody: the default programme's, whose line
served them); text, JSON, CSV and HTML say the same."""
import csv
import io
import json
from datetime import timedelta

import pytest

from tests.operators.conftest import dmy
from tests.operators.test_programmes_cli import DAY, EVENING, enrol_both, first_delivery

TOTAL = "all programmes"


@pytest.fixture
def two(cli, monkeypatch):
    enrol_both(cli, monkeypatch)
    for sid, number, outcome, heard in ((1, 1, "busy", None), (1, 2, "answered", 0.8),
                                        (2, 1, "answered", 0.9)):
        phone, lang, did = first_delivery(cli, sid)
        cli.sql("INSERT INTO attempts (delivery_id, subscriber_id, number, kind, phone, "
                "language, message_key, created_at, started_at, ended_at, outcome, "
                "heard_share) VALUES (?, ?, ?, 'scheduled', ?, ?, 'm', ?, ?, ?, ?, ?)",
                did, sid, number, phone, lang, EVENING + number, EVENING + number,
                EVENING + number + 30, outcome, heard)
    for phone, sid in (("919999999999", None), ("22376123456", 2)):
        cli.sql("INSERT INTO missed_calls (phone, received_at, subscriber_id) VALUES (?, ?, ?)",
                phone, EVENING, sid)
    for kind, sid, done in (("woman", 1, "slot:09-12"), ("unknown", None, ""),
                            ("woman", 2, "birth"), ("agent", 2, "child:2")):
        cli.sql("INSERT INTO inbound_calls (started_at, ended_at, did, caller, kind, "
                "subscriber_id, ended, done) VALUES (?, ?, '1800', '***', ?, ?, 'hangup', ?)",
                EVENING, EVENING + 60, kind, sid, done)
    return cli


def report(cli, *args) -> dict:
    r = cli("report", "--json", *args)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def by_group(rows, *columns):
    return {r["group"]: tuple(r[c] for c in columns) for r in rows}


def test_report_programmes_each_programme_and_the_totals(two):
    every = report(two)
    assert (every["programme"], every["timezone"]) == ("mmitra, pesinet",
                                                       "Asia/Kolkata, Africa/Bamako")
    assert by_group(every["funnel"], "enrolled", "first_answer") == {
        TOTAL: (2, 2), "mmitra": (1, 1), "pesinet": (1, 1)}
    assert [r["group"] for r in every["funnel"]] == [TOTAL, "mmitra", "pesinet"]
    assert by_group(every["retention"], "enrolled") == {TOTAL: (2,), "mmitra": (1,),
                                                         "pesinet": (1,)}
    attempts = {(r["group"], r["attempt"]): (r["calls"], r["answered"], r["reached_by_here"])
                for r in every["pickup_by_attempt"]}
    assert attempts == {(TOTAL, 1): (2, 1, 0.5), (TOTAL, 2): (1, 1, 1.0),
                        ("mmitra", 1): (1, 0, 0.0), ("mmitra", 2): (1, 1, 1.0),
                        ("pesinet", 1): (1, 1, 1.0)}
    assert by_group(every["listening"], "answered", "heard_75") == {
        TOTAL: (2, 2), "mmitra": (1, 1), "pesinet": (1, 1)}
    # the stranger's missed call is the default programme's (mMitra's line served him)
    assert by_group(every["callbacks"], "missed_calls") == {TOTAL: (2,), "mmitra": (1,),
                                                            "pesinet": (1,)}
    # the answered line: each call about a woman in her programme, the unknown caller in
    # the default's; the totals first
    line = {r["group"]: r for r in every["answered_line"]}
    assert [r["group"] for r in every["answered_line"]] == [TOTAL, "mmitra", "pesinet"]
    assert [(line[g]["calls"], line[g]["calls_woman"], line[g]["calls_unknown"],
             line[g]["calls_agent"], line[g]["birth"], line[g]["slot"]) for g in line] == [
        (4, 2, 1, 1, 1, 1), (2, 1, 1, 0, 0, 1), (2, 1, 0, 1, 1, 0)]


def test_report_programmes_one_programme_filters_the_answered_line(two):
    pesinet = report(two, "--programme", "pesinet")
    assert [(r["group"], r["calls"], r["calls_unknown"], r["calls_agent"])
            for r in pesinet["answered_line"]] == [("all", 2, 0, 1)]
    assert by_group(pesinet["callbacks"], "missed_calls") == {"all": (1,)}
    mmitra = report(two, "--programme", "mmitra")
    assert [(r["calls"], r["calls_woman"], r["calls_unknown"])
            for r in mmitra["answered_line"]] == [(2, 1, 1)]
    assert by_group(mmitra["callbacks"], "missed_calls") == {"all": (1,)}
    assert [r["group"] for r in mmitra["funnel"]] == ["all"]


def test_report_programmes_each_in_its_own_zone(two):
    """The calls at 20:00 UTC on DAY: DAY in Bamako, the next day in Kolkata. A report of
    DAY counts Pesinet's call, not mMitra's (the first programme's zone for every woman
    counted both or neither)."""
    day = report(two, "--from", dmy(DAY), "--to", dmy(DAY))
    assert by_group(day["pickup_by_slot"], "calls") == {(TOTAL): (1,), "pesinet": (1,)}
    assert by_group(day["callbacks"], "missed_calls") == {TOTAL: (1,), "pesinet": (1,)}
    assert by_group(day["answered_line"], "calls") == {TOTAL: (2,), "pesinet": (2,)}
    after = DAY + timedelta(days=1)
    next_day = report(two, "--from", dmy(after), "--to", dmy(after))
    assert by_group(next_day["pickup_by_slot"], "calls") == {TOTAL: (2,), "mmitra": (2,)}
    # the weekday in her own zone
    weekdays = {(r["group"], r["weekday"]) for r in report(two)["pickup_by_weekday"]}
    assert ("pesinet", DAY.strftime("%a")) in weekdays
    assert ("mmitra", after.strftime("%a")) in weekdays


def test_report_programmes_by_language_and_every_output(two, tmp_path):
    langs = report(two, "--by", "language")
    assert by_group(langs["funnel"], "enrolled") == {
        f"{TOTAL}: fr": (1,), f"{TOTAL}: hi": (1,), "mmitra: hi": (1,), "pesinet: fr": (1,)}
    # the stranger has no language: not enrolled, in the default programme
    assert by_group(langs["callbacks"], "missed_calls") == {
        f"{TOTAL}: (not enrolled)": (1,), f"{TOTAL}: fr": (1,),
        "mmitra: (not enrolled)": (1,), "pesinet: fr": (1,)}
    rows = list(csv.reader(io.StringIO(two("report", "--csv").stdout)))
    assert rows[0] == ["section", "group", "row", "column", "value"]
    funnel = {(r[1], r[3]): r[4] for r in rows[1:] if r[0] == "funnel"}
    assert (funnel[(TOTAL, "enrolled")], funnel[("pesinet", "enrolled")]) == ("2", "1")
    line = {(r[1], r[3]): r[4] for r in rows[1:] if r[0] == "answered_line"}
    assert (line[(TOTAL, "calls")], line[("mmitra", "calls_unknown")]) == ("4", "1")
    text = two("report", "--section", "funnel")
    assert text.exit_code == 0
    lines = text.stdout.splitlines()
    assert lines[0].startswith("mmitra, pesinet:")
    assert [line.split()[0] for line in lines if line.split()[:1] in (["mmitra"], ["pesinet"])
            ] == ["mmitra", "pesinet"] and any(line.startswith(TOTAL) for line in lines)
    page = tmp_path / "report.html"
    assert two("report", "--html", str(page)).exit_code == 0
    html = page.read_text(encoding="utf-8")
    assert TOTAL in html and "pesinet" in html
