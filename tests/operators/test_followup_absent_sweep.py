"""The absence sweep (ivr/absence.py) on either store (the `database` fixture: SQLite, then
PostgreSQL), driven by the scheduling engine itself: a Pesinet child enrolled, her weekly
check-in calls claimed and released by the store as `ivr run` does, never answered (or
answered as the test says). Two weeks in a row whose calls all went unanswered open one
absence follow-up with the rule's reason for her agent; a week with an answered call but no
answers counts as before; a second sweep writes nothing; a week she answered breaks the run."""
from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timedelta, timezone

import pytest

from ivr.absence import AbsenceSweep
from ivr.adapters.schedule_store import ScheduleStore
from ivr.adapters.store import Store
from ivr.check_in import CheckIn
from ivr.config import Trunk
from ivr.flow import CallResult
from ivr.live_call import CallRequest, LiveCall
from ivr.questions import ENDED_COMPLETED, QuestionPlan, QuestionsResult
from scheduler.model import DeliveryStatus, Subscriber
from scheduler.outcome import Outcome
from scheduler.programme import load_programme
from scheduler.questions_model import Answer, AnswerStatus

PROGRAMME = load_programme("pesinet")
DOB = date(2026, 10, 5)                           # a Monday: her messages fall due on Mondays
START = datetime(2026, 10, 12, 7, 0, tzinfo=timezone.utc)     # week 1's message due that day
WEEK = timedelta(weeks=1)
STEPS = 400


@pytest.fixture
async def sched(database):
    database.home.mkdir(parents=True, exist_ok=True)
    store = await Store.open(database.address, key_file=database.key_file)
    yield ScheduleStore(store, PROGRAMME)
    await store.close()


async def child(sched: ScheduleStore, phone: str = "22376000001") -> int:
    her = await sched.enrol(Subscriber(id=0, phone=phone, language="fr", slot="08-11",
                                       timezone="Africa/Bamako", child_dob=DOB), START,
                            actor="test")
    agent = await sched.add_worker("Awa", "22376990001", "agent", START)
    await sched.assign(agent.id, her.id, START)
    return her.id


async def calls_until(sched: ScheduleStore, until: datetime,
                      answer: set[str] = frozenset(), answers: tuple[Answer, ...] = ()) -> None:
    """The calling service up to `until`: every call rings out, except the first call of a
    message in `answer`, which she picks up and where she keys in `answers`."""
    for _ in range(STEPS):
        t = await sched.next_wake()
        if t is None or t > until:
            return
        await sched.run_plans(t)
        await sched.reap(t)
        for attempt in await sched.claim(t, "test", 10):
            ended = t + timedelta(seconds=40)
            if attempt.message_key not in answer:
                await sched.release(attempt.id, Outcome.NO_ANSWER, None, ended)
                continue
            await check_in(sched, attempt.subscriber_id, attempt.id, attempt.message_key,
                           answers, ended)
            await sched.release(attempt.id, Outcome.ANSWERED, 1.0, ended)
    raise AssertionError(f"the calls did not reach {until} in {STEPS} steps")


async def check_in(sched: ScheduleStore, sub_id: int, attempt_id: int, key: str,
                   answers: tuple[Answer, ...], at: datetime) -> None:
    """What the in-call route writes for her answered call (ivr/check_in.py)."""
    questions = PROGRAMME.questions_after(key)
    plan = QuestionPlan(questions, {q.key: f"/snd/{q.key}" for q in questions}, "/snd/inv")
    request = CallRequest("22376000001", "fr", key, Trunk("sim", "x/{digits}"),
                          kind="scheduled", subscriber_id=sub_id)
    heard = CallResult(heard_seconds=30.0, heard_share=1.0, plays=1, keys="",
                       opted_out=False, call_centre=False,
                       ended="no_input" if answers else "hangup")
    got = QuestionsResult(answers, "", ENDED_COMPLETED) if answers else None
    await CheckIn(sched).record(LiveCall(attempt_id, request, "ivr-x"), plan, heard, got,
                                at.timestamp())


async def sweep(sched: ScheduleStore, now: datetime):
    async with asyncio.timeout(30):
        return await AbsenceSweep(sched).sweep(START - WEEK, now, now)


async def silent_weeks(sched: ScheduleStore, sub_id: int) -> list[str]:
    return sorted({a.week for a in await sched.answers_of(sub_id)
                   if a.status is AnswerStatus.SKIPPED})


async def test_followup_absent_two_unanswered_weeks_open_one_for_her_agent(sched):
    sub_id = await child(sched)
    await calls_until(sched, START + WEEK + timedelta(days=3))
    closed = [d for d in await sched.deliveries_of(sub_id) if d.closed_at is not None]
    assert [(d.message_key, d.status, d.attempts) for d in closed] == [
        ("pesinet-i002", DeliveryStatus.UNDELIVERED, 6),
        ("pesinet-i003", DeliveryStatus.UNDELIVERED, 6)]
    assert await sched.answers_of(sub_id) == []               # nothing ran in a call
    now = START + 2 * WEEK
    result = await sweep(sched, now)
    assert (result.checked, result.weeks, result.opened) == (2, 2, 1)
    assert await silent_weeks(sched, sub_id) == ["2026-W42", "2026-W43"]
    answers = await sched.answers_of(sub_id)
    assert {a.question for a in answers} == {"fever", "stools", "weight"}
    attempts = {a.attempt_id for a in answers}
    assert None not in attempts and len(attempts) == 2        # each week names its last call
    [f] = await sched.follow_ups(subscriber_id=sub_id)
    [agent] = await sched.workers()
    assert (f.rule, f.reason, f.owner_role.value, f.worker_id, f.question) == (
        "no-checkin", "no check-in for 2 weeks: visit the family", "agent", agent.id, None)
    assert f.due_on == now.date() + timedelta(days=3)
    # a second sweep, and the next hour's, write nothing
    again = await sweep(sched, now)
    assert (again.checked, again.weeks, again.opened) == (0, 0, 0)
    assert len(await sched.answers_of(sub_id, history=True)) == len(answers)
    assert len(await sched.follow_ups(subscriber_id=sub_id, open_only=False)) == 1


async def test_followup_absent_answered_call_without_answers_still_counts(sched):
    """Week 1: she picks up and hangs up before any question (the in-call check-in writes
    the week as skipped, as before); week 2: no call answered: the sweep writes week 2 and
    the run of two opens the follow-up; the answered week's delivery is not read."""
    sub_id = await child(sched)
    await calls_until(sched, START + WEEK + timedelta(days=3), answer={"pesinet-i002"})
    assert await silent_weeks(sched, sub_id) == ["2026-W42"]
    result = await sweep(sched, START + 2 * WEEK)
    assert (result.checked, result.weeks, result.opened) == (1, 1, 1)
    assert await silent_weeks(sched, sub_id) == ["2026-W42", "2026-W43"]
    [f] = await sched.follow_ups(subscriber_id=sub_id)
    assert f.rule == "no-checkin"


async def test_followup_absent_a_week_she_answered_breaks_the_run(sched):
    """Unanswered, answered (no fever), unanswered: no follow-up; a fourth week unanswered
    makes a new run of two, which opens it."""
    sub_id = await child(sched)
    no_fever = (Answer("fever", AnswerStatus.ANSWERED, 2),)
    await calls_until(sched, START + 2 * WEEK + timedelta(days=3), answer={"pesinet-i003"},
                      answers=no_fever)
    result = await sweep(sched, START + 3 * WEEK)
    assert (result.checked, result.weeks, result.opened) == (2, 2, 0)
    assert await silent_weeks(sched, sub_id) == ["2026-W42", "2026-W43", "2026-W44"]
    assert [a.value for a in await sched.answers_of(sub_id) if a.question == "fever"] == [
        None, "2", None]
    assert await sched.follow_ups(subscriber_id=sub_id) == []
    await calls_until(sched, START + 3 * WEEK + timedelta(days=3))
    result = await sweep(sched, START + 4 * WEEK)
    assert (result.weeks, result.opened) == (1, 1)


async def test_followup_absent_sweep_of_ivr_run_hourly_a_page_a_turn(sched):
    """The dial loop's chore (run_if_due): at start-up it reads the deliveries closed in the
    LOOK_BACK, one page a turn (here a page is one delivery) until a page comes back short;
    then nothing until an hour has passed; then the deliveries closed since."""
    sub_id = await child(sched)
    await calls_until(sched, START + WEEK + timedelta(days=3))
    now = START + 2 * WEEK
    chore = AbsenceSweep(sched, page=1)
    turns = [await chore.run_if_due(now + timedelta(seconds=s)) for s in range(4)]
    assert [(r.checked, r.weeks, r.opened) if r else None for r in turns] == [
        (1, 1, 0), (1, 1, 1), (0, 0, 0), None]
    assert await silent_weeks(sched, sub_id) == ["2026-W42", "2026-W43"]
    await calls_until(sched, START + 2 * WEEK + timedelta(days=3))
    assert await chore.run_if_due(now + timedelta(minutes=59)) is None
    later = await chore.run_if_due(now + 4 * WEEK)
    assert later is not None and (later.checked, later.weeks, later.opened) == (1, 1, 0)
    assert await silent_weeks(sched, sub_id) == ["2026-W42", "2026-W43", "2026-W44"]
    assert len(await sched.follow_ups(subscriber_id=sub_id)) == 1


def test_followup_absent_cli_runs_the_sweep_once(cli, monkeypatch):
    """`ivr followups absent`: a Pesinet child whose calls of the last three weeks all rang
    out gets the absence follow-up, and the command run again writes nothing."""
    monkeypatch.setenv("IVR_PROGRAMME", "pesinet")
    r = cli("followups", "absent", "--json")              # creates the database: nothing yet
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {"checked": 0, "silent_weeks": 0, "opened": 0}
    now = datetime.now(timezone.utc)
    start = now - 3 * WEEK

    async def calls():
        async with asyncio.timeout(60):
            store = await Store.open(cli.database.address, key_file=cli.key_file)
            try:
                sched = ScheduleStore(store, PROGRAMME)
                her = await sched.enrol(Subscriber(
                    id=0, phone="22376000001", language="fr", slot="08-11",
                    timezone="Africa/Bamako", child_dob=(start - WEEK).date()), start)
                await calls_until(sched, now - timedelta(minutes=5))
                return her.id
            finally:
                await store.close()
    sub_id = asyncio.run(calls())
    r = cli("followups", "absent", "--json")
    assert r.exit_code == 0, r.output
    counts = json.loads(r.stdout)
    assert counts["checked"] == counts["silent_weeks"] >= 2 and counts["opened"] == 1
    r = cli("followups", "absent")
    assert r.exit_code == 0 and "0 silent week(s) written, 0 follow-up(s) opened" in r.output
    r = cli("followups", "list", "--json")
    [f] = [json.loads(line) for line in r.stdout.splitlines()]
    assert (f["woman"], f["rule"], f["owner"]) == (sub_id, "no-checkin", "pool")


async def test_followup_absent_two_nodes_sweeping_at_once_write_each_week_once(sched, database):
    """Two processes sweep the same deliveries at the same time (two nodes' `ivr run`): her
    row is locked first and her answers read again inside, so each week is written once."""
    sub_id = await child(sched)
    await calls_until(sched, START + WEEK + timedelta(days=3))
    other = await Store.open(database.address, key_file=database.key_file)
    now = START + 2 * WEEK
    try:
        async with asyncio.timeout(30):
            a, b = await asyncio.gather(
                AbsenceSweep(sched).sweep(START, now, now),
                AbsenceSweep(ScheduleStore(other, PROGRAMME)).sweep(START, now, now))
    finally:
        await other.close()
    assert (a.weeks + b.weeks, a.opened + b.opened) == (2, 1)
    assert len(await sched.answers_of(sub_id, history=True)) == 2 * 3
    assert len(await sched.follow_ups(subscriber_id=sub_id, open_only=False)) == 1
