"""`ivr schedule preview`, `ivr calls`, `ivr report`: over women enrolled through the CLI and
calls written straight into the store (exact figures)."""
import base64
import csv
import io
import json
import re
import time
from datetime import timedelta

from tests.operators.conftest import LMP, TODAY, dmy


def enrol(cli, phone, lang="hi", slot="09-12", partner="KEM"):
    r = cli("enrol", "--phone", phone, "--lang", lang, "--slot", slot, "--lmp", dmy(LMP),
            "--consent-date", dmy(TODAY), "--partner", partner)
    assert r.exit_code == 0, r.output


def add_calls(cli, rows):
    """(woman, attempt number, outcome, heard_share, seconds ago, kind) -> attempts rows."""
    now = time.time()
    for sid, number, outcome, heard, ago, kind in rows:
        [(phone, lang, did)] = cli.sql(
            "SELECT s.phone, s.language, d.id FROM subscribers s JOIN deliveries d "
            "ON d.subscriber_id = s.id WHERE s.id = ?", sid)
        cli.sql("INSERT INTO attempts (delivery_id, subscriber_id, number, kind, phone, "
                "language, message_key, created_at, started_at, ended_at, outcome, "
                "heard_share) VALUES (?, ?, ?, ?, ?, ?, 'mmitra-p017', ?, ?, ?, ?, ?)",
                did, sid, number, kind, phone, lang, now - ago, now - ago, now - ago + 30,
                outcome, heard)


WEEK = 7 * 86400


def population(cli):
    enrol(cli, "9876543210", "hi", "09-12", "KEM")          # 1: answers on the 2nd attempt
    enrol(cli, "9876543211", "mr", "18-21", "NGO Sakhi")    # 2: never answers for 4 weeks
    enrol(cli, "9876543212", "hi", "09-12", "NGO Sakhi")    # 3: answers, hears little
    add_calls(cli, [
        (1, 1, "busy", None, 3600 * 5, "scheduled"),
        (1, 2, "answered", 0.8, 3600 * 4, "scheduled"),
        (2, 1, "no_answer", None, 4 * WEEK + 3600, "scheduled"),
        (2, 2, "no_answer", None, 3 * WEEK, "scheduled"),
        (2, 3, "unreachable", None, 3600, "scheduled"),
        (3, 1, "answered", 0.1, 3 * 86400, "scheduled"),
        (3, 1, "answered", 0.2, 2 * 86400, "callback"),
        (3, 1, "answered", 0.6, 86400, "scheduled"),         # her next message
        (3, 1, "answered", 1.0, 60, "test"),                 # test calls never count
    ])


def test_calls_filters(cli):
    population(cli)
    r = cli("calls", "--json")
    calls = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(calls) == 9 and all(c["phone"].startswith("*") for c in calls)
    busy = [json.loads(x) for x in cli("calls", "--outcome", "busy", "--json").stdout.splitlines()]
    assert [(c["woman"], c["attempt"]) for c in busy] == [(1, 1)]
    hers = cli("calls", "--woman", "2", "--json").stdout.splitlines()
    assert len(hers) == 3
    assert len(cli("calls", "--kind", "callback", "--json").stdout.splitlines()) == 1
    assert len(cli("calls", "--message", "mmitra-p999", "--json").stdout.splitlines()) == 0
    assert cli("calls", "--date", dmy(TODAY), "--from", dmy(TODAY)).exit_code == 2
    weeks_ago = [dmy(TODAY - timedelta(weeks=n)) for n in (0, 1, 2)]
    assert len(cli("calls", "--from", weeks_ago[2], "--json").stdout.splitlines()) == 7
    assert [json.loads(x)["woman"] for x in cli(
        "calls", "--to", weeks_ago[1], "--json").stdout.splitlines()] == [2, 2]
    assert len(cli("calls", "--date", weeks_ago[0], "--json").stdout.splitlines()) == len(
        [c for c in calls if c["at"].startswith(TODAY.isoformat())])
    table = cli("calls", "--limit", "2")
    assert table.exit_code == 0 and "outcome" in table.stdout and "--limit" in table.stderr


def set_plays(cli, plays_by_heard):
    """plays of the answered calls, picked by their heard_share (unique in the population)."""
    for heard, plays in plays_by_heard.items():
        cli.sql("UPDATE attempts SET plays = ? WHERE heard_share = ?", plays, heard)


def test_report_figures(cli):
    population(cli)
    # woman 1 pressed 1 once; the test call's replays never count
    set_plays(cli, {0.8: 2, 0.1: 1, 0.2: 1, 0.6: 0, 1.0: 3})
    r = cli("report", "--json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    [funnel] = rep["funnel"]
    assert funnel == {"group": "all", "enrolled": 3, "valid_number": 3, "first_attempt": 3,
                      "first_answer": 2}
    by_attempt = {x["attempt"]: x for x in rep["pickup_by_attempt"]}
    assert (by_attempt[1]["calls"], by_attempt[1]["answered"]) == (4, 2)
    assert (by_attempt[2]["calls"], by_attempt[2]["answered"]) == (2, 1)
    assert (by_attempt[3]["calls"], by_attempt[3]["answered"]) == (1, 0)
    assert by_attempt[1]["reached_by_here"] == 0.5               # of 4 messages tried
    assert by_attempt[2]["reached_by_here"] == 0.75
    assert by_attempt[3]["reached_by_here"] == 0.75
    [listen] = rep["listening"]
    assert (listen["answered"], listen["heard_50"], listen["heard_75"]) == (4, 2, 1)
    assert (listen["replayed"], listen["share_replayed"]) == (1, 0.25)
    hers = [json.loads(x) for x in cli("calls", "--woman", "1", "--json").stdout.splitlines()]
    assert [(c["outcome"], c["plays"]) for c in hers] == [("answered", 2), ("busy", None)]
    [mix] = rep["failure_mix"]
    assert (mix["busy"], mix["no_answer"], mix["unreachable"], mix["total"]) == (1, 2, 1, 4)
    slots = {x["slot"]: (x["calls"], x["answered"]) for x in rep["pickup_by_slot"]}
    assert slots == {"09-12": (5, 4), "18-21": (3, 0)}
    assert sum(x["calls"] for x in rep["pickup_by_weekday"]) == 8
    risky = {x["woman"]: x for x in rep["at_risk"]}
    assert set(risky) == {2}                    # 3 weeks unanswered (3's last call was heard 60%)
    assert risky[2]["weeks_unanswered"] == 4 and risky[2]["phone"] == "*********211"
    by_partner = json.loads(cli("report", "--json", "--by", "partner").stdout)
    assert {x["group"]: x["enrolled"] for x in by_partner["funnel"]} == {"KEM": 1, "NGO Sakhi": 2}


def test_report_table_csv_and_html(cli, tmp_path):
    population(cli)
    table = cli("report", "--by", "language")
    assert table.exit_code == 0 and "Funnel:" in table.stdout and "Women at risk" in table.stdout
    rows = list(csv.DictReader(io.StringIO(cli("report", "--csv").stdout)))
    assert {"section": "funnel", "group": "all", "row": "1", "column": "enrolled",
            "value": "3"} in rows
    page = tmp_path / "report.html"
    r = cli("report", "--html", str(page), "--by", "slot")
    assert r.exit_code == 0 and f"wrote {page}" in r.stderr
    text = page.read_text(encoding="utf-8")
    images = re.findall(r"src='data:image/png;base64,([^']+)'", text)
    assert len(images) >= 6
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert "http" not in text.replace("http-equiv", "")           # self-contained
    assert "9876543211" not in text and "*********211" in text


def test_report_range_and_usage(cli):
    population(cli)
    future = json.loads(cli("report", "--json", "--from", "01/01/2099").stdout)
    assert future["funnel"] == [] and future["pickup_by_attempt"] == []
    assert cli("report", "--from", "02/01/2026", "--to", "01/01/2026").exit_code == 2
    assert cli("report", "--json", "--csv").exit_code == 2


def test_preview_shows_calls_and_writes_nothing(cli):
    enrol(cli, "9876543210", slot="18-21")
    before = [cli.sql(f"SELECT COUNT(*), MAX(id) FROM {t}")
              for t in ("attempts", "deliveries", "audit")]
    pending = cli.sql("SELECT next_attempt_at FROM deliveries ORDER BY id")
    tomorrow = dmy(TODAY.fromordinal(TODAY.toordinal() + 1))
    r = cli("schedule", "preview", "--date", tomorrow, "--json")
    assert r.exit_code == 0, r.output
    calls = [json.loads(x) for x in r.stdout.splitlines()]
    assert [(c["woman"], c["slot"], c["attempt"], c["why"]) for c in calls] == \
        [(1, "18-21", 1, "first attempt")]
    assert calls[0]["at"].endswith("T18:00:00+05:30") and calls[0]["phone"] == "*********210"
    text = cli("schedule", "preview", "--date", tomorrow)
    assert "slot 18-21 (18:00-21:00): 1 call(s)" in text.stdout
    assert "slot 09-12 (09:00-12:00): 0 call(s)" in text.stdout
    after = [cli.sql(f"SELECT COUNT(*), MAX(id) FROM {t}")
             for t in ("attempts", "deliveries", "audit")]
    assert after == before
    assert cli.sql("SELECT next_attempt_at FROM deliveries ORDER BY id") == pending
    assert cli("schedule", "preview", "--date", "01/01/2020").exit_code == 2


def test_preview_does_not_wait_for_the_write_lock_of_the_service(cli, monkeypatch):
    enrol(cli, "9876543210", slot="18-21")
    service = cli.database.connect(wait=False)
    if cli.database.dialect == "sqlite":
        service.execute("BEGIN IMMEDIATE")               # the running service is writing
    else:                                                # her row locked: a wait fails in 5 s
        monkeypatch.setenv("PGOPTIONS", "-c lock_timeout=5s")
    cli.database.run(service, "UPDATE subscribers SET name = 'x'")
    try:
        r = cli("schedule", "preview", "--summary",
                "--date", dmy(TODAY.fromordinal(TODAY.toordinal() + 1)))
        assert r.exit_code == 0, r.output
        assert "slot 18-21 (18:00-21:00): 1 call(s)" in r.stdout
    finally:
        service.rollback()
        service.close()


def test_report_one_section_as_a_plain_csv_for_the_call_centre(cli):
    population(cli)
    r = cli("report", "--section", "at_risk", "--csv", "--reveal")
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    # the quote keeps a spreadsheet from reading +91... as a formula (ivr/operators/csvout.py)
    assert [(x["woman"], x["phone"], x["why"]) for x in rows] == [("2", "'+919876543211",
                                                                   "unanswered")]
    table = cli("report", "--section", "funnel")
    assert "Funnel:" in table.stdout and "Retention" not in table.stdout


def test_report_lists_the_women_promised_a_call_until_handled(cli):
    """Her opt-out by key could not be recorded, so the IVR told her the call centre will
    call her (ivr/agi_route.py puts her on call_centre_list): the report shows her."""
    population(cli)
    cli.sql("INSERT INTO call_centre_list (subscriber_id, attempt_id, reason, added_at) "
            "VALUES (2, NULL, 'opt_out_not_recorded', ?)", time.time() - 60)
    r = cli("report", "--json")
    assert r.exit_code == 0, r.output
    [row] = json.loads(r.stdout)["promised_calls"]
    assert (row["woman"], row["phone"], row["why"]) == (2, "*********211",
                                                        "opt_out_not_recorded")
    table = cli("report", "--section", "promised_calls")
    assert "Women promised a call by the call centre" in table.stdout
    cli.sql("UPDATE call_centre_list SET done_at = ?", time.time())
    assert json.loads(cli("report", "--json").stdout)["promised_calls"] == []
