"""The contract of workers, answers and follow-ups (issue 15), one suite for every store: each
test runs against the in-memory store and ScheduleStore on a temp SQLite file, with restarts
in between where a crash must lose nothing."""
from datetime import date, timedelta

import pytest

from contract_drive import utc, woman
from scheduler.followups import FollowUpOutcome, iso_week
from scheduler.model import SchedulerError
from scheduler.questions_model import Answer, AnswerStatus, FollowUpToOpen, OwnerRole

NOW = utc(2026, 11, 24, 6)
LATER = NOW + timedelta(hours=30)
WEEK = iso_week(date(2026, 11, 24))            # '2026-W48'
YES, NO = Answer("fever", AnswerStatus.ANSWERED, 1), Answer("fever", AnswerStatus.ANSWERED, 2)
WEIGHT = Answer("weight", AnswerStatus.ANSWERED, 123, decimals=1)        # 12.3 kg
SKIPPED = Answer("fever", AnswerStatus.SKIPPED)
FEVER = FollowUpToOpen("fever_yes", "fever reported", date(2026, 11, 25), OwnerRole.HEALTH_WORKER,
                       "fever")
DOCTOR = FollowUpToOpen("weight_loss", "weight lower than last week", date(2026, 11, 26),
                        OwnerRole.DOCTOR)                                   # no question: absence


async def her(face, n=1):
    return (await face.enrol(woman(n, lmp=date(2026, 6, 1)), NOW)).id


async def test_worker_added_listed_and_a_phone_is_one_workers(face):
    a = await face.add_worker("  Sunita   Devi ", "919812345001", "health_worker", NOW)
    b = await face.add_worker("Dr Rao", "919812345002", "doctor", NOW)
    assert (a.name, a.phone, a.role, a.active) == ("Sunita Devi", "919812345001",
                                                   OwnerRole.HEALTH_WORKER, True)
    with pytest.raises(SchedulerError, match=f"already a worker's \\(worker {a.id}\\)"):
        await face.add_worker("Other", "919812345001", "agent", NOW)
    with pytest.raises(SchedulerError, match="unknown role 'nurse'"):
        await face.add_worker("Other", "919812345003", "nurse", NOW)
    with pytest.raises(SchedulerError, match="3 to 15 digits"):
        await face.add_worker("Other", "+91 98", "agent", NOW)
    await face.restart()
    assert [(w.id, w.name, w.role) for w in await face.workers()] == [
        (a.id, "Sunita Devi", OwnerRole.HEALTH_WORKER), (b.id, "Dr Rao", OwnerRole.DOCTOR)]
    assert (await face.worker(b.id)).phone == "919812345002"
    with pytest.raises(SchedulerError, match="no worker with id 99"):
        await face.worker(99)


async def test_worker_assign_one_current_per_role_and_unassign(face):
    sub = await her(face)
    hw1 = await face.add_worker("Asha", "919812345001", "health_worker", NOW)
    hw2 = await face.add_worker("Bina", "919812345002", "health_worker", NOW)
    doc = await face.add_worker("Dr Rao", "919812345003", "doctor", NOW)
    first = await face.assign(hw1.id, sub, NOW)
    assert (first.worker_id, first.subscriber_id, first.role, first.until) == (
        hw1.id, sub, OwnerRole.HEALTH_WORKER, None)
    assert (await face.assign(hw1.id, sub, LATER)).id == first.id     # already: no change
    await face.assign(hw2.id, sub, LATER)                               # replaces hw1
    await face.assign(doc.id, sub, LATER)
    await face.restart()
    assert sorted((a.worker_id, a.role) for a in await face.assignments(subscriber_id=sub)) == [
        (hw2.id, OwnerRole.HEALTH_WORKER), (doc.id, OwnerRole.DOCTOR)]
    assert await face.assignments(worker_id=hw1.id) == []
    gone = await face.unassign(hw2.id, sub, LATER)
    assert gone.until == LATER and gone.worker_id == hw2.id
    assert [a.worker_id for a in await face.assignments(subscriber_id=sub)] == [doc.id]
    with pytest.raises(SchedulerError, match=f"worker {hw2.id} does not follow woman {sub}"):
        await face.unassign(hw2.id, sub, LATER)
    with pytest.raises(SchedulerError, match="no woman with id 99"):
        await face.assign(doc.id, 99, LATER)
    with pytest.raises(SchedulerError, match="no worker with id 99"):
        await face.assign(99, sub, LATER)


async def test_answers_one_per_question_and_week_the_latest_wins(face):
    sub = await her(face)
    written = await face.record_answers(sub, None, WEEK, [YES, WEIGHT], NOW)
    assert [(a.question, a.value, a.status, a.week) for a in written] == [
        ("fever", "1", AnswerStatus.ANSWERED, WEEK), ("weight", "12.3", AnswerStatus.ANSWERED,
                                                      WEEK)]
    assert await face.record_answers(sub, None, WEEK, [SKIPPED], LATER) == []  # says nothing new
    [again] = await face.record_answers(sub, None, WEEK, [NO], LATER)
    await face.record_answers(sub, None, "2026-W49", [SKIPPED], LATER + timedelta(days=6))
    await face.restart()
    now = await face.answers_of(sub)
    assert [(a.week, a.question, a.value, a.status) for a in now] == [
        (WEEK, "fever", "2", AnswerStatus.ANSWERED), (WEEK, "weight", "12.3",
                                                      AnswerStatus.ANSWERED),
        ("2026-W49", "fever", None, AnswerStatus.SKIPPED)]
    assert now[0].id == again.id and now[0].answered_at == LATER
    history = [(a.question, a.value, a.superseded_at) for a in await face.answers_of(
        sub, history=True) if a.week == WEEK]
    assert history == [("fever", "1", LATER), ("fever", "2", None), ("weight", "12.3", None)]


@pytest.mark.parametrize("week,answers,error", [
    ("2026-48", [YES], "not an ISO week"),
    ("2026-W54", [YES], "not an ISO week"),
    (WEEK, [YES, NO], "answered twice in one call"),
    (WEEK, [Answer("", AnswerStatus.SKIPPED)], "its question's key"),
])
async def test_answers_refused_write_nothing(face, week, answers, error):
    sub = await her(face)
    with pytest.raises(SchedulerError, match=error):
        await face.record_answers(sub, None, week, [WEIGHT] + answers, NOW)
    assert await face.answers_of(sub, history=True) == []


async def test_answers_of_an_unknown_woman_refused(face):
    with pytest.raises(SchedulerError, match="no woman with id 99"):
        await face.record_answers(99, None, WEEK, [YES], NOW)


async def test_followup_owned_by_her_worker_else_the_pool_never_two_open(face):
    sub, other = await her(face, 1), await her(face, 2)
    hw = await face.add_worker("Asha", "919812345001", "health_worker", NOW)
    doc = await face.add_worker("Dr Rao", "919812345003", "doctor", NOW)
    await face.assign(hw.id, sub, NOW)
    [answer] = await face.record_answers(sub, None, WEEK, [YES], NOW)
    f = await face.open_follow_up(sub, FEVER, NOW, answer_id=answer.id)
    assert f is not None and (f.worker_id, f.owner_role, f.rule, f.reason, f.due_on,
                              f.question, f.answer_id, f.open) == (
        hw.id, OwnerRole.HEALTH_WORKER, "fever_yes", "fever reported", date(2026, 11, 25), "fever",
        answer.id, True)
    assert await face.open_follow_up(sub, FEVER, LATER) is None        # open already
    pool = await face.open_follow_up(sub, DOCTOR, NOW)
    assert pool is not None and (pool.worker_id, pool.question) == (None, None)  # no doctor
    theirs = await face.open_follow_up(other, FEVER, NOW)
    assert theirs is not None and theirs.worker_id is None
    await face.restart()
    assert [x.id for x in await face.follow_ups()] == [f.id, theirs.id, pool.id]   # by due
    assert [x.id for x in await face.follow_ups(worker_id=hw.id)] == [f.id, theirs.id]
    assert [x.id for x in await face.follow_ups(worker_id=doc.id)] == [pool.id]
    assert [x.id for x in await face.follow_ups(subscriber_id=other)] == [theirs.id]


async def test_followup_closed_once_with_an_outcome_then_may_open_again(face):
    sub = await her(face)
    f = await face.open_follow_up(sub, FEVER, NOW)
    assert f is not None
    closed = await face.close_follow_up(f.id, "visited", "asha", LATER)
    assert (closed.closed_at, closed.outcome, closed.closed_by, closed.open) == (
        LATER, FollowUpOutcome.VISITED, "asha", False)
    await face.restart()
    with pytest.raises(SchedulerError, match=f"follow-up {f.id} is closed already "
                                             r"\(visited, by asha\)"):
        await face.close_follow_up(f.id, "reached", "other", LATER)
    assert await face.follow_ups() == []
    again = await face.open_follow_up(sub, FEVER, LATER)
    assert again is not None and again.id != f.id
    assert [(x.id, x.open) for x in await face.follow_ups(open_only=False)] == [
        (f.id, False), (again.id, True)]
    with pytest.raises(SchedulerError, match="unknown outcome 'fixed'"):
        await face.close_follow_up(again.id, "fixed", "asha", LATER)
    with pytest.raises(SchedulerError, match="no follow-up with id 99"):
        await face.close_follow_up(99, "visited", "asha", LATER)
    assert (await face.follow_ups())[0].open
