"""`ivr outreach list` and `ivr outreach done` on both stores: weekly histories rebuilt from
calls written straight into the store (exactly the weeks designed here), the list equal to
scheduler/outreach.py's rank() over those weeks, calls recorded once a week and audited, the
report's outreach section."""
import asyncio
import json
import random

from ivr.adapters import outreach
from ivr.adapters.store import Store
from scheduler.outreach import Week, estimate, rank
from scheduler.outreach_weeks import WEEK_SECONDS, histories, week_label, week_start
from ivr.operators.session import utc_now
from tests.operators.test_calls_report import enrol
from tests.operators.test_workers_followups_cli import add, rows_of

TZ = "Asia/Kolkata"
WEEKS = 8                # of history, weeks -8..-1
ACTIVE_WOMEN = 14        # women 1..14 active; 15 opted out; 16 paused


def this_week() -> float:
    return week_start(utc_now(), TZ).timestamp()


def designed() -> dict[int, list[Week]]:
    """Each woman's weeks -8..-1: engaging or not, called (reached) by the call centre or
    not; seeded, with a call helping her engage the next week more often."""
    rng = random.Random(16)
    out = {}
    for sid in range(1, ACTIVE_WOMEN + 3):
        p, weeks = rng.choice([0.2, 0.5, 0.85]), []
        for _ in range(WEEKS):
            helped = bool(weeks) and weeks[-1].called
            engaging = rng.random() < (0.9 if helped else p)
            weeks.append(Week(engaging, called=rng.random() < 0.2))
        out[sid] = weeks
    return out


def write_history(cli, weeks: dict[int, list[Week]]) -> None:
    """Her calls of each week mid-week: an engaging week an answered call heard 45 s (and a
    busy one), a week not engaging an answered call heard 20 s or a call not answered, a
    test call heard in full (never counts); a reached outreach call for a called week, and
    a not_reached one (no live call) for some weeks that were not."""
    start = this_week()
    for sid, hers in weeks.items():
        cli.sql("UPDATE subscribers SET enrolled_at = ? WHERE id = ?",
                start - WEEKS * WEEK_SECONDS + 3600, sid)
        [(phone, did)] = cli.sql("SELECT s.phone, d.id FROM subscribers s JOIN deliveries d "
                                 "ON d.subscriber_id = s.id WHERE s.id = ?", sid)
        for i, w in enumerate(hers):
            n = i - WEEKS
            at = start + n * WEEK_SECONDS + 2 * 86400 + sid * 60
            calls = ([("answered", 45.0, "scheduled"), ("busy", None, "scheduled")] if w.engaging
                     else [("answered", 20.0, "callback") if (sid + i) % 2 else
                           ("no_answer", None, "scheduled"), ("answered", 60.0, "test")])
            for k, (outcome, heard, kind) in enumerate(calls):
                cli.sql("INSERT INTO attempts (delivery_id, subscriber_id, number, kind, phone, "
                        "language, message_key, created_at, started_at, ended_at, outcome, "
                        "heard_seconds, message_seconds) VALUES (?, ?, 1, ?, ?, 'hi', "
                        "'mmitra-p017', ?, ?, ?, ?, ?, 60.0)",
                        did, sid, kind, phone, at + k, at + k, at + k + 30, outcome, heard)
            if w.called or (sid + i) % 5 == 0:
                cli.sql("INSERT INTO outreach_calls (subscriber_id, week, outcome, at, "
                        "recorded_by) VALUES (?, ?, ?, ?, 'test')", sid,
                        week_label(week_start(utc_now(), TZ), TZ, n),
                        "reached" if w.called else "not_reached", at + 3600)


def population(cli) -> dict[int, list[Week]]:
    for sid in range(1, ACTIVE_WOMEN + 3):
        enrol(cli, f"98765{sid:05d}")
    weeks = designed()
    write_history(cli, weeks)
    assert cli("women", "opt-out", str(ACTIVE_WOMEN + 1), "--yes").exit_code == 0
    assert cli("women", "pause", str(ACTIVE_WOMEN + 2)).exit_code == 0
    return weeks


def listed(cli, *args) -> list[dict]:
    r = cli("outreach", "list", "--json", *args)
    assert r.exit_code == 0, r.output
    return [json.loads(x) for x in r.stdout.splitlines()]


def expected(weeks: dict[int, list[Week]], capacity: int, called: set[int] = frozenset()):
    model = estimate(weeks)
    eligible = {sid: h for sid, h in weeks.items() if sid <= ACTIVE_WOMEN and sid not in called}
    return [(p.subscriber_id, p.outreach_reason) for p in rank(eligible, model, capacity)]


def test_outreach_weekly_rows_rebuild_the_designed_histories(cli):
    weeks = population(cli)

    async def go():
        async with asyncio.timeout(30):
            store = await Store.open(cli.database.address, key_file=cli.key_file)
            try:
                start = this_week()
                first = -12
                women = await outreach.women(store, "mmitra", start,
                                             start + first * WEEK_SECONDS)
                rows = await outreach.week_rows(store, "mmitra", start, first)
                return histories(women, rows, first)
            finally:
                await store.close()

    got = asyncio.run(go())
    assert got == weeks                  # opted out and paused: to their last week (-1) too
    assert sum(w.called for h in got.values() for w in h) == sum(
        w.called for h in weeks.values() for w in h) > 0


def test_outreach_list_ranks_like_the_pure_rank_masked_and_never_ended(cli):
    weeks = population(cli)
    want = expected(weeks, 5)
    got = listed(cli, "--capacity", "5")
    assert [(r["id"], r["reason"]) for r in got] == want and len(want) == 5
    assert [r["rank"] for r in got] == [1, 2, 3, 4, 5]
    assert all(r["phone"].startswith("*") and "98765" not in r["phone"] for r in got)
    assert {r["week"] for r in got} == {week_label(week_start(utc_now(), TZ), TZ)}
    everyone = listed(cli, "--capacity", "100")
    assert [r["id"] for r in everyone] == [sid for sid, _ in expected(weeks, 100)]
    assert not {ACTIVE_WOMEN + 1, ACTIVE_WOMEN + 2} & {r["id"] for r in everyone}
    text = cli("outreach", "list", "-k", "3")
    assert text.exit_code == 0 and "reason" in text.stdout and "women to call" in text.stderr
    csv_out = cli("outreach", "list", "-k", "3", "--csv").stdout.splitlines()
    assert csv_out[0] == "rank,id,phone,name,language,slot,reason" and len(csv_out) == 4
    revealed = listed(cli, "-k", "1", "--reveal")
    assert revealed[0]["phone"].startswith("+9198765")
    assert rows_of(cli, "SELECT COUNT(*) FROM audit WHERE action = 'reveal'") == [(1,)]


def test_outreach_done_records_once_a_week_audited_and_the_list_skips_her(cli):
    weeks = population(cli)
    first = listed(cli, "-k", "5")[0]["id"]
    assert add(cli, "Asha Devi", "+91 98123 45001").exit_code == 0
    r = cli("outreach", "done", str(first), "--outcome", "reached", "--worker", "Asha Devi",
            "--actor", "cc-1")
    assert r.exit_code == 0, r.output
    assert f"woman {first}" in r.stderr
    week = week_label(week_start(utc_now(), TZ), TZ)
    assert rows_of(cli, "SELECT subscriber_id, week, worker_id, outcome, recorded_by FROM "
                   "outreach_calls WHERE week = ?", (week,)) == [(first, week, 1, "reached",
                                                                  "cc-1")]
    assert rows_of(cli, "SELECT actor, subscriber_id, detail FROM audit WHERE action = "
                   "'outreach_call'") == [("cc-1", first, json.dumps(
                       {"outcome": "reached", "outreach_call": rows_of(
                           cli, "SELECT MAX(id) FROM outreach_calls")[0][0],
                        "week": week, "worker": 1}, sort_keys=True))]
    exported = json.loads(cli("women", "export", str(first)).stdout)["outreach_calls"]
    assert [(c["week"], c["worker"], c["outcome"], c["recorded_by"]) for c in exported][-1] == (
        week, "Asha Devi", "reached", "cc-1")
    assert exported[-1]["called_at"].endswith("+05:30")
    after = listed(cli, "-k", "5")
    assert first not in {x["id"] for x in after}
    assert [(x["id"], x["reason"]) for x in after] == expected(weeks, 5, {first})
    before = rows_of(cli, "SELECT COUNT(*) FROM outreach_calls")
    again = cli("outreach", "done", str(first), "--outcome", "not_reached")
    assert again.exit_code == 1 and "recorded already" in again.stderr
    unknown = cli("outreach", "done", "999", "--outcome", "reached")
    assert unknown.exit_code == 1 and "no woman with id 999" in unknown.stderr
    bad = cli("outreach", "done", str(first), "--outcome", "visited")
    assert bad.exit_code == 2 and "visited" in bad.output
    nobody = cli("outreach", "done", "2", "--outcome", "reached", "--worker", "Nobody")
    assert nobody.exit_code == 1 and "no worker named 'Nobody'" in nobody.stderr
    assert rows_of(cli, "SELECT COUNT(*) FROM outreach_calls") == before
    assert rows_of(cli, "SELECT COUNT(*) FROM audit WHERE action = 'outreach_call'") == [(1,)]


def test_outreach_list_by_worker_and_at_risk(cli):
    weeks = population(cli)
    assert add(cli, "Asha Devi", "+91 98123 45001").exit_code == 0
    assert add(cli, "Dr Rao", "+91 98123 45002", "doctor").exit_code == 0
    want = [sid for sid, _ in expected(weeks, 6)]
    assert cli("workers", "assign", "Asha Devi", "--woman", str(want[3])).exit_code == 0
    assert cli("workers", "assign", "Dr Rao", "--woman", str(want[3])).exit_code == 0
    assert cli("workers", "assign", "Dr Rao", "--woman", str(want[5])).exit_code == 0
    got = listed(cli, "-k", "6", "--by", "worker")
    assert [(r["worker"], r["id"]) for r in got] == [
        ("A. D.", want[3]), ("D. R.", want[5]),
        *[("(none)", sid) for sid in want if sid not in (want[3], want[5])]]
    revealed = listed(cli, "-k", "6", "--by", "worker", "--reveal")
    assert [r["worker"] for r in revealed][:2] == ["Asha Devi", "Dr Rao"]
    # at-risk: the report's at-risk list, in its order, without ended women
    report = cli("report", "--section", "at_risk", "--json")
    flagged = [json.loads(x)["woman"] for x in report.stdout.splitlines()]
    risky = listed(cli, "-k", "100", "--method", "at-risk")
    assert [r["id"] for r in risky] == flagged and flagged
    assert all(r["reason"].startswith("at risk: ") for r in risky)
    assert [r["id"] for r in listed(cli, "-k", "2", "--method", "at-risk")] == flagged[:2]


def test_outreach_list_refusals_and_no_history(cli):
    for sid in (1, 2):
        enrol(cli, f"98765{sid:05d}")
    none_yet = cli("outreach", "list", "-k", "5")
    assert none_yet.exit_code == 0 and none_yet.stdout == ""
    assert "no weekly history yet" in none_yet.stderr and "nothing listed" in none_yet.stderr
    assert cli("outreach", "list", "-k", "5", "--method", "at-risk").stdout == ""
    zero = cli("outreach", "list", "--capacity", "0")
    assert zero.exit_code == 2 and "0 is not in the range x>=1" in zero.output
    assert cli("outreach", "list", "-k", "1", "--json", "--csv").exit_code == 2
    assert cli("outreach", "list", "-k", "1", "--method", "random").exit_code == 2


def test_outreach_report_section_by_worker_this_week_and_total(cli, tmp_path):
    population(cli)
    assert add(cli, "Asha Devi", "+91 98123 45001").exit_code == 0
    for sid, outcome, worker in ((1, "reached", "Asha Devi"), (2, "refused", "Asha Devi"),
                                 (3, "wrong_number", None)):
        assert cli("outreach", "done", str(sid), "--outcome", outcome,
                   *(("--worker", worker) if worker else ())).exit_code == 0
    r = cli("report", "--section", "outreach", "--json")
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    past = rows_of(cli, "SELECT outcome, COUNT(*) FROM outreach_calls WHERE recorded_by = "
                   "'test' GROUP BY outcome")
    past_n = dict(past)
    zero = {"reached": 0, "not_reached": 0, "refused": 0, "wrong_number": 0}
    assert rows == [
        {"group": "all", "worker": "(all)", "period": "this_week", "calls": 3,
         **zero, "reached": 1, "refused": 1, "wrong_number": 1},
        {"group": "all", "worker": "(all)", "period": "total",
         "calls": 3 + sum(past_n.values()), **zero,
         "reached": 1 + past_n.get("reached", 0), "not_reached": past_n.get("not_reached", 0),
         "refused": 1, "wrong_number": 1},
        {"group": "all", "worker": "A. D.", "period": "this_week", "calls": 2, **zero,
         "reached": 1, "refused": 1},
        {"group": "all", "worker": "A. D.", "period": "total", "calls": 2, **zero,
         "reached": 1, "refused": 1},
        {"group": "all", "worker": "(none)", "period": "this_week", "calls": 1, **zero,
         "wrong_number": 1},
        {"group": "all", "worker": "(none)", "period": "total",
         "calls": 1 + sum(past_n.values()), **zero, "reached": past_n.get("reached", 0),
         "not_reached": past_n.get("not_reached", 0), "wrong_number": 1},
    ]
    text = cli("report")
    assert "Outreach calls by the call centre" in text.stdout and "A. D." in text.stdout
    assert "Asha" not in text.stdout
    assert "Asha Devi" in cli("report", "--section", "outreach", "--reveal").stdout
    html = tmp_path / "r.html"
    page = cli("report", "--html", str(html))
    assert page.exit_code == 0, page.output
    assert "alt='outreach'" in html.read_text()
