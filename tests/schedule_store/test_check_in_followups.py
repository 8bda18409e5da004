"""The in-call check-in's writes (ivr/check_in.py) on the SQLite scheduling store: her
answers with the call's attempt and her local week, skips for the questions of a call she
hung up on, a fever follow-up for her health worker, an absence follow-up in the pool after
two silent weeks, and nothing for a call where she stopped the service."""
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ivr.adapters.schedule_store import ScheduleStore
from ivr.adapters.store import NewAttempt, Store
from ivr.check_in import CheckIn
from ivr.config import Trunk
from ivr.flow import CallResult
from ivr.live_call import CallRequest, LiveCall
from ivr.questions import ENDED_COMPLETED, QuestionPlan, QuestionsResult
from scheduler.model import Subscriber
from scheduler.outcome import Outcome
from scheduler.programme import load_programme
from scheduler.questions_model import Answer, AnswerStatus

PROGRAMME = load_programme(Path(__file__).parents[1] / "e2e" / "programmes" / "checkin.toml")
# 2026-11-29 20:00 UTC = Monday 2026-11-30 01:30 in Kolkata: her week is 2026-W49, not W48
NOW = datetime(2026, 11, 29, 20, 0, tzinfo=timezone.utc)
PLAN = QuestionPlan(PROGRAMME.questions_after("test-msg"),
                    {"fever": "/snd/test-q-fever", "weight": "/snd/test-q-weight"}, "/snd/inv")


@pytest.fixture
async def sched(tmp_path):
    store = await Store.open(tmp_path / "ivr.db")
    yield ScheduleStore(store, PROGRAMME)
    await store.close()


def heard(ended: str = "no_input", opted_out: bool = False) -> CallResult:
    return CallResult(heard_seconds=3.0, heard_share=1.0, plays=1, keys="", opted_out=opted_out,
                      call_centre=False, ended=ended)


def asked(*answers: Answer) -> QuestionsResult:
    return QuestionsResult(answers, "", ENDED_COMPLETED)


async def check_in(sched: ScheduleStore, sub_id: int, at: datetime, result: CallResult,
                   got: QuestionsResult | None) -> tuple[int, int | None]:
    """One answered call of hers at `at` whose route ended so: its attempt id and the count."""
    attempt_id = await sched.store.create_attempt(NewAttempt(
        phone="919000011", language="hi", message_key="test-msg", kind="scheduled",
        subscriber_id=sub_id, delivery_id=None, number=1), at.timestamp(), owner="test")
    request = CallRequest("919000011", "hi", "test-msg", Trunk("sim", "x/{digits}"),
                          kind="scheduled", subscriber_id=sub_id)
    n = await CheckIn(sched).record(LiveCall(attempt_id, request, "ivr-x"), PLAN, result, got,
                                    at.timestamp())
    await sched.store.attempt_ended(attempt_id, at=at.timestamp() + 60, outcome=Outcome.ANSWERED)
    return attempt_id, n


async def test_question_answers_written_and_followups_opened(sched):
    her = await sched.enrol(Subscriber(id=0, phone="919000011", language="hi", slot="09-12",
                                       lmp=NOW.date() - timedelta(weeks=12)), NOW, actor="op")
    asha = await sched.add_worker("Asha", "919812300001", "health_worker", NOW)
    await sched.assign(asha.id, her.id, NOW)
    # week 49: fever yes, 12.3 kg: the fever follow-up, owned by her health worker
    first, n = await check_in(sched, her.id, NOW, heard(), asked(
        Answer("fever", AnswerStatus.ANSWERED, 1), Answer("weight", AnswerStatus.ANSWERED, 123, 1)))
    assert n == 2
    answers = await sched.answers_of(her.id)
    assert {(a.week, a.question, a.value, a.attempt_id) for a in answers} == {
        ("2026-W49", "fever", "1", first), ("2026-W49", "weight", "12.3", first)}
    [fever] = await sched.follow_ups(subscriber_id=her.id)
    assert (fever.rule, fever.worker_id, fever.attempt_id) == ("fever", asha.id, first)
    assert fever.answer_id == next(a.id for a in answers if a.question == "fever")
    # week 50: she stops the service: nothing written
    _, n = await check_in(sched, her.id, NOW + timedelta(weeks=1),
                          heard("opted_out", opted_out=True), None)
    assert n is None and len(await sched.answers_of(her.id)) == 2
    # weeks 50 and 51: she hangs up during her message, then skips both questions
    skips = asked(Answer("fever", AnswerStatus.SKIPPED),
                  Answer("weight", AnswerStatus.SKIPPED, None, 1))
    for week, result, got in ((1, heard("hangup"), None), (2, heard(), skips)):
        _, n = await check_in(sched, her.id, NOW + timedelta(weeks=week), result, got)
        assert n == (None if got is None else 0)
    answers = await sched.answers_of(her.id)
    assert sorted({a.week for a in answers if a.status is AnswerStatus.SKIPPED}) == [
        "2026-W50", "2026-W51"]
    follow_ups = {f.rule: f for f in await sched.follow_ups(subscriber_id=her.id)}
    assert set(follow_ups) == {"fever", "no-checkin"}
    assert follow_ups["no-checkin"].worker_id is None          # no agent of hers: the pool
    assert follow_ups["no-checkin"].question is None
