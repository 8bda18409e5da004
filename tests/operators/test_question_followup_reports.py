"""`ivr report`'s two-way sections on either store (the `database` fixture): answers by week
per question (counts, yes/no, choices, a number's median/min/max, "<5" under 5 answers),
follow-ups per worker and role pool (opened, closed by outcome, open, overdue, median days to
close) and the answered line's use, in text, --json, --csv, --section and --html."""
import base64
import csv
import io
import json
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from ivr.adapters.inbound_calls import InboundCall, record_inbound_call
from ivr.operators.report_two_way import answers_by_week
from ivr.operators.session import utc_now
from scheduler.followups import iso_week
from scheduler.programme import load_programme
from scheduler.questions_model import Answer, AnswerStatus, FollowUpToOpen, OwnerRole
from tests.operators.conftest import dmy
from tests.operators.test_calls_report import add_calls
from tests.operators.test_workers_followups_cli import with_schedule

NOW = utc_now()
TODAY = NOW.astimezone(ZoneInfo("Africa/Bamako")).date()     # pesinet's today (UTC+0)
LAST_WEEK = iso_week((NOW - timedelta(days=7)).date())
THIS_WEEK = iso_week(NOW.date())
SKIP = AnswerStatus.SKIPPED


@pytest.fixture
def pesinet(cli, monkeypatch):
    monkeypatch.setenv("IVR_PROGRAMME", "pesinet")
    for i in range(7):
        r = cli("enrol", "--phone", f"+223 76 00 00 0{i}", "--lang", "fr" if i < 5 else "bm",
                "--child-dob", dmy(TODAY - timedelta(days=300)), "--consent-date", dmy(TODAY),
                "--partner", "ASACO")
        assert r.exit_code == 0, r.output
    return cli


def yes_no(v):
    return Answer("fever", AnswerStatus.ANSWERED, v)


def weight(tenths):
    return Answer("weight", AnswerStatus.ANSWERED, tenths, decimals=1)


def stools(v):
    return Answer("stools", AnswerStatus.ANSWERED, v)


def record(cli, *given):
    """(child, week, answers, days ago[, attempt]) -> her answers, through the store."""
    async def use(sched):
        for sub_id, week, answers, ago, *attempt in given:
            await sched.record_answers(sub_id, attempt[0] if attempt else None, week, answers,
                                       NOW - timedelta(days=ago))
    with_schedule(cli, use)


def answers_population(cli):
    weights = [100, 115, 120, 125, 130, 90]
    record(cli, *[(i + 1, LAST_WEEK, [yes_no(1 if i < 2 else 2), weight(w)], 7)
                  for i, w in enumerate(weights[:5])])
    record(cli, (6, LAST_WEEK, [Answer("fever", SKIP), weight(weights[5])], 7),
           (1, LAST_WEEK, [stools(1)], 7), (2, LAST_WEEK, [stools(1)], 7),
           (3, LAST_WEEK, [stools(3)], 7),
           (1, THIS_WEEK, [yes_no(1), weight(101)], 0),
           (1, THIS_WEEK, [yes_no(2)], 0),          # supersedes her yes: only the no counts
           (2, THIS_WEEK, [weight(118)], 0))
    add_calls(cli, [(7, 1, "answered", 1.0, 60, "test")])
    [(test_call,)] = cli.sql("SELECT id FROM attempts WHERE kind = 'test'")
    record(cli, (7, THIS_WEEK, [yes_no(1), weight(300)], 0, test_call))   # never counts


def by_key(rows):
    return {(r["week"], r["question"]): r for r in rows}


def test_question_answers_by_week_counts_values_and_small_cells(pesinet):
    answers_population(pesinet)
    r = pesinet("report", "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)["answers_by_week"]
    assert [(x["group"], x["week"], x["question"]) for x in rows] == [
        ("all", LAST_WEEK, "fever"), ("all", LAST_WEEK, "stools"), ("all", LAST_WEEK, "weight"),
        ("all", THIS_WEEK, "fever"), ("all", THIS_WEEK, "weight")]
    got = by_key(rows)
    assert got[(LAST_WEEK, "fever")] == {
        "group": "all", "week": LAST_WEEK, "question": "fever", "answered": 5, "skipped": 1,
        "type": "yes_no", "yes": 2, "no": 3, "choices": None, "median": None, "min": None,
        "max": None}
    assert got[(LAST_WEEK, "stools")]["choices"] == "1=2 2=0 3=1"
    assert {k: got[(LAST_WEEK, "weight")][k] for k in ("answered", "median", "min", "max")} == \
        {"answered": 6, "median": 11.75, "min": 9.0, "max": 13.0}
    assert (got[(THIS_WEEK, "fever")]["yes"], got[(THIS_WEEK, "fever")]["no"]) == (0, 1)
    assert {k: got[(THIS_WEEK, "weight")][k] for k in ("answered", "median", "min", "max")} == \
        {"answered": 2, "median": "<5", "min": "<5", "max": "<5"}


def test_question_answers_range_group_and_programme(pesinet):
    answers_population(pesinet)
    recent = json.loads(pesinet("report", "--json", "--from",
                                dmy(TODAY - timedelta(days=3))).stdout)["answers_by_week"]
    assert {x["week"] for x in recent} == {THIS_WEEK}
    by_lang = json.loads(pesinet("report", "--json", "--by", "language").stdout)
    weights = {x["group"]: x["answered"] for x in by_lang["answers_by_week"]
               if (x["week"], x["question"]) == (LAST_WEEK, "weight")}
    assert weights == {"fr": 5, "bm": 1}
    # a woman of another programme: her answers are not this programme's questions
    pesinet.sql("UPDATE subscribers SET programme = 'mmitra' WHERE id = 6")
    rows = json.loads(pesinet("report", "--json").stdout)["answers_by_week"]
    assert by_key(rows)[(LAST_WEEK, "weight")]["answered"] == 5
    assert by_key(rows)[(LAST_WEEK, "fever")]["skipped"] == 0


def test_question_answers_csv_section_text_and_html(pesinet, tmp_path):
    answers_population(pesinet)
    section = pesinet("report", "--section", "answers_by_week", "--csv")
    table = list(csv.DictReader(io.StringIO(section.stdout)))
    assert [(t["week"], t["question"], t["answered"]) for t in table][:3] == [
        (LAST_WEEK, "fever", "5"), (LAST_WEEK, "stools", "3"), (LAST_WEEK, "weight", "6")]
    whole = list(csv.reader(io.StringIO(pesinet("report", "--csv").stdout)))
    assert ["answers_by_week", "all", "3", "median", "11.75"] in whole
    text = pesinet("report", "--section", "answers_by_week").stdout
    assert "Answers by week, per question:" in text and "1=2 2=0 3=1" in text
    assert re.search(rf"{THIS_WEEK}\s+weight\s+2\s+0\s+number\s.*<5\s+<5\s+<5", text), text
    page = tmp_path / "r.html"
    assert pesinet("report", "--html", str(page)).exit_code == 0
    doc = page.read_text()
    assert "Answers by week, per question" in doc and "11.75" not in doc   # floats: 1 decimal
    assert "<td>11.8</td>" in doc and "<td>&lt;5</td>" in doc
    img = re.search(r"alt='answers_by_week' src='data:image/png;base64,([^']+)'", doc)
    assert img and base64.b64decode(img.group(1)).startswith(b"\x89PNG")


def test_question_not_in_the_programme_counts_only():
    rows = [{"grp": "all", "week": "2026-W01", "question": "gone", "status": "answered",
             "value": "3", "n": 2}]
    [row] = answers_by_week(rows, load_programme("pesinet"))
    assert (row["answered"], row["type"], row["yes"], row["choices"], row["median"]) == \
        (2, None, None, None, None)


def followups_population(cli):
    for name, phone, role in (("Awa Diarra", "+223 76 11 11 11", "health_worker"),
                              ("Dr Traore", "+223 76 22 22 22", "doctor")):
        assert cli("workers", "add", "--name", name, "--phone", phone, "--role",
                   role).exit_code == 0
    for woman in (1, 2):
        assert cli("workers", "assign", "Awa Diarra", "--woman", str(woman)).exit_code == 0
    hw, doctor = OwnerRole.HEALTH_WORKER, OwnerRole.DOCTOR
    late, later = TODAY - timedelta(days=2), TODAY + timedelta(days=2)

    async def use(sched):
        async def opened(woman, rule, due, role, ago):
            f = await sched.open_follow_up(woman, FollowUpToOpen(rule, "reason", due, role),
                                           NOW - timedelta(days=ago))
            assert f is not None
            return f.id
        await opened(1, "fever", late, hw, 2)                 # Awa: open, overdue
        two = await opened(2, "fever", later, hw, 3)          # Awa: closed after 2 days
        three = await opened(1, "weight", later, hw, 5)       # Awa: closed after 4 days
        await opened(3, "fever", later, doctor, 1)            # the doctors' pool: open
        await opened(4, "fever", late, hw, 1)                 # health workers' pool: overdue
        old = await opened(5, "fever", late, hw, 50)          # long ago, closed long ago
        for fid, outcome, ago in ((two, "visited", 1), (three, "reached", 1),
                                  (old, "no_action", 45)):
            await sched.close_follow_up(fid, outcome, "awa", NOW - timedelta(days=ago))
    with_schedule(cli, use)


def test_followup_report_per_worker_and_pool(pesinet):
    followups_population(pesinet)
    r = pesinet("report", "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)["followups_by_worker"]
    zero = dict.fromkeys(("visited", "reached", "not_reached", "referred", "ask_to_come",
                          "no_action"), 0)
    assert rows == [
        {"group": "all", "worker": None, "name": "(pool)", "role": "doctor", "opened": 1,
         "closed": 0, "open": 1, "overdue": 0, **zero, "median_days_to_close": None},
        {"group": "all", "worker": 1, "name": "A. D.", "role": "health_worker",
         "opened": 3, "closed": 2, "open": 1, "overdue": 1, **zero, "visited": 1,
         "reached": 1, "median_days_to_close": 3.0},
        {"group": "all", "worker": None, "name": "(pool)", "role": "health_worker",
         "opened": 2, "closed": 1, "open": 1, "overdue": 1, **zero, "no_action": 1,
         "median_days_to_close": 5.0}]
    assert "Awa" not in r.stdout
    revealed = json.loads(pesinet("report", "--json", "--reveal").stdout)["followups_by_worker"]
    assert [x["name"] for x in revealed] == ["(pool)", "Awa Diarra", "(pool)"]


def test_followup_report_range_csv_text_and_html(pesinet, tmp_path):
    followups_population(pesinet)
    recent = json.loads(pesinet("report", "--json", "--from",
                                dmy(TODAY - timedelta(days=10))).stdout)["followups_by_worker"]
    pool = [x for x in recent if (x["name"], x["role"]) == ("(pool)", "health_worker")]
    assert [(x["opened"], x["closed"], x["open"], x["no_action"]) for x in pool] == \
        [(1, 0, 1, 0)]                                   # the old one is out of the range
    section = pesinet("report", "--section", "followups_by_worker", "--csv")
    table = list(csv.DictReader(io.StringIO(section.stdout)))
    assert [(t["name"], t["open"], t["overdue"], t["median_days_to_close"]) for t in table] == [
        ("(pool)", "1", "0", ""), ("A. D.", "1", "1", "3.0"), ("(pool)", "1", "1", "5.0")]
    text = pesinet("report").stdout
    assert "Follow-ups per worker (and role pool):" in text and "A. D." in text
    assert "Awa" not in text
    assert "+223" not in text and "761111" not in text
    page = tmp_path / "r.html"
    assert pesinet("report", "--html", str(page)).exit_code == 0
    doc = page.read_text()
    assert "Follow-ups per worker and role pool" in doc and "<td>A. D.</td>" in doc
    assert "Awa" not in doc and "Phone numbers and names are masked." in doc
    assert "alt='followups_by_worker'" in doc


def test_answered_line_usage_in_the_report(pesinet, tmp_path):
    assert pesinet("workers", "add", "--name", "Awa Diarra", "--phone", "+223 76 11 11 11",
                   "--role", "agent").exit_code == 0
    assert json.loads(pesinet("report", "--json").stdout)["answered_line"] == []
    did = "18005550100"

    def call(ago, kind, ended, *, woman=None, worker=None, done=()):
        at = NOW - timedelta(days=ago)
        return InboundCall(at, at + timedelta(seconds=30), did, "*********000", kind, ended,
                           subscriber_id=woman, worker_id=worker, done=done)

    async def use(sched):
        for c in (call(1, "woman", "hangup", woman=1, done=("slot:08-11",)),
                  call(1, "woman", "opted_out", woman=2, done=("birth", "opt_out")),
                  call(2, "unknown", "call_centre"),
                  call(0, "agent", "hangup", woman=3, worker=1, done=("child:3", "child:4")),
                  call(30, "woman", "call_centre", woman=1)):       # a month ago
            assert await record_inbound_call(sched.store, c) > 0
    with_schedule(pesinet, use)
    [row] = json.loads(pesinet("report", "--json").stdout)["answered_line"]
    assert row == {"group": "all", "calls": 5, "calls_woman": 3, "calls_unknown": 1,
                   "calls_agent": 1, "slot": 1, "language": 0, "birth": 1, "opt_out": 1,
                   "child": 2, "call_centre": 2}
    [recent] = json.loads(pesinet("report", "--json", "--by", "partner", "--from",
                                  dmy(TODAY - timedelta(days=7))).stdout)["answered_line"]
    assert (recent["calls"], recent["calls_woman"], recent["call_centre"]) == (4, 2, 1)
    whole = list(csv.reader(io.StringIO(pesinet("report", "--csv").stdout)))
    assert ["answered_line", "all", "1", "child", "2"] in whole
    text = pesinet("report", "--section", "answered_line").stdout
    assert "Answered line: calls and what callers did:" in text and "calls_unknown" in text
    page = tmp_path / "r.html"
    assert pesinet("report", "--html", str(page)).exit_code == 0
    assert "alt='answered_line'" in page.read_text()
