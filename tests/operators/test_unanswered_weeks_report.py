"""Weeks unanswered, as the operators see it: women enrolled through the CLI, their calls
placed and ended through the store (SQLite, then PostgreSQL) with the programme rule on;
`ivr report` counts the reason with the other deactivation reasons, `ivr women show` shows it
and its audit row."""
import asyncio
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from ivr.adapters.schedule_store import ScheduleStore
from ivr.adapters.store import Store
from scheduler.outcome import Outcome
from scheduler.programme import load_programme
from tests.operators.conftest import LMP, TODAY, dmy

WEEKS = 2
STEP_LIMIT = 3000


def enrol(cli, phone):
    r = cli("enrol", "--phone", phone, "--lang", "hi", "--slot", "09-12", "--lmp", dmy(LMP),
            "--consent-date", dmy(TODAY), "--partner", "KEM")
    assert r.exit_code == 0, r.output


async def calls_for_weeks(address, answers: set[int], weeks: int) -> None:
    """The calling service from now for `weeks`: women in `answers` answer, others never."""
    p = load_programme("mmitra")
    programme = replace(p, retry=replace(p.retry, deactivate_after_weeks_unanswered=WEEKS))
    async with asyncio.timeout(60):
        store = await Store.open(address)
        try:
            sched = ScheduleStore(store, programme)
            now = datetime.now(timezone.utc)
            until = now + timedelta(weeks=weeks)
            for _ in range(STEP_LIMIT):
                await sched.run_plans(now)
                for a in await sched.claim(now, "test", 100):
                    outcome = Outcome.ANSWERED if a.subscriber_id in answers else Outcome.NO_ANSWER
                    await sched.release(a.id, outcome, 1.0 if outcome.answered else None,
                                        now + timedelta(minutes=1))
                wake = await sched.next_wake()
                if wake is None or wake > until:
                    return
                now = max(wake, now + timedelta(minutes=1))
            raise AssertionError("the calls did not reach the end of the weeks")
        finally:
            await store.close()


def test_the_reason_shows_in_the_report_and_in_her_record(cli):
    enrol(cli, "9876543210")           # 1: never answers
    enrol(cli, "9876543211")           # 2: answers
    asyncio.run(calls_for_weeks(cli.database.address, {2}, WEEKS + 1))

    rep = json.loads(cli("report", "--json").stdout)
    assert rep["deactivation_reasons"] == [
        {"group": "all", "reason": "unanswered_weeks", "women": 1}]
    [retention] = rep["retention"]
    assert (retention["active"], retention["deactivated"]) == (1, 1)
    [funnel] = rep["funnel"]
    assert funnel["valid_number"] == 2                 # not counted as an invalid number
    table = cli("report", "--section", "deactivation_reasons")
    assert table.exit_code == 0 and "unanswered_weeks" in table.stdout

    record = json.loads(cli("women", "show", "1", "--json").stdout)
    assert (record["status"], record["status_reason"]) == ("deactivated", "unanswered_weeks")
    assert [(h["actor"], h["action"], h["detail"]) for h in record["history"]
            if h["action"] == "deactivate"] == [("ivr", "deactivate",
                                                 {"reason": "unanswered_weeks"})]
    assert all(d["status"] != "pending" for d in record["deliveries"])
    shown = cli("women", "show", "1").stdout
    assert any(line.split() == ["status_reason", "unanswered_weeks"]
               for line in shown.splitlines())
    other = json.loads(cli("women", "show", "2", "--json").stdout)
    assert (other["status"], other["status_reason"]) == ("active", None)
