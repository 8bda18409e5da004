"""The pure question machine (ivr/questions.py): table tests of every key, silence, # endings,
ranges, too many digits, and a hang-up at each point (answers given before it are kept)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.flow import Answered, Ask, HungUp, Play, Played
from ivr.questions import QuestionMachine, QuestionPlan, QuestionsDone
from scheduler.question_spec import Question
from scheduler.questions_model import Answer, AnswerStatus, AnswerType
from tests.flow.driver import drive

FEVER = Question("fever", AnswerType.YES_NO, {"fr": "q-fever-fr"})
STOOLS = Question("stools", AnswerType.CHOICE, {"fr": "q-stools-fr"}, keys=(1, 2, 3))
WEIGHT = Question("weight", AnswerType.NUMBER, {"fr": "q-weight-fr"}, keys=(), decimals=1,
                  minimum=15, maximum=300)      # 1.5 .. 30.0 kg
ALL = (FEVER, STOOLS, WEIGHT)
KEYS = [str(d) for d in range(10)] + ["*", "#"]


def plan(*questions: Question) -> QuestionPlan:
    return QuestionPlan(questions=questions or ALL,
                        prompts={q.key: f"/snd/{q.key}" for q in questions or ALL},
                        invalid="/snd/invalid", timeout_ms=4000, number_timeout_ms=7000)


def silence() -> Answered:
    return Answered(digits=None, timed_out=True)


def typed(digits: str | None, timed_out: bool = False) -> Answered:
    """What the AGI adapter gives for GET DATA: # ends without being kept, no time-out."""
    return Answered(digits=digits, timed_out=timed_out)


def done() -> Played:
    return Played(endpos=None, digit=None)


def run(machine: QuestionMachine, events):
    """Feed events in order; the actions seen (short strings) and the result."""
    return drive(machine, events, QuestionsDone, describe)


def describe(action) -> str:
    name = action.sound.rsplit("/", 1)[1]
    if isinstance(action, Ask):
        return f"ask {name}"
    assert isinstance(action, Play)
    return f"play {name}"


def answered(key: str, value: int, decimals: int = 0) -> Answer:
    return Answer(key, AnswerStatus.ANSWERED, value, decimals)


def skipped(key: str, decimals: int = 0) -> Answer:
    return Answer(key, AnswerStatus.SKIPPED, None, decimals)


@pytest.mark.parametrize("key", KEYS)
def test_question_yes_no_every_key(key):
    """1 = yes, 2 = no; any other key is a miss: once more, then skipped."""
    m = QuestionMachine(plan(FEVER))
    first = m.start()
    assert isinstance(first, Ask) and (first.max_digits, first.timeout_ms) == (1, 4000)
    digits = None if key == "#" else key      # # alone: GET DATA gives nothing, no time-out
    action = m.step(typed(digits))
    if key in "12":
        assert isinstance(action, QuestionsDone)
        assert action.result.answers == (answered("fever", int(key)),)
        assert action.result.ended == "completed"
        return
    assert describe(action) == "play invalid"
    assert describe(m.step(done())) == "ask fever"
    action = m.step(typed(digits))
    assert isinstance(action, QuestionsDone)
    assert action.result.answers == (skipped("fever"),)


@pytest.mark.parametrize("key", KEYS)
def test_question_choice_every_key(key):
    _, r = run(QuestionMachine(plan(STOOLS)),
               [typed(key)] if key in "123" else [typed(key), done(), typed("2")])
    assert r.answers == (answered("stools", int(key) if key in "123" else 2),)


@pytest.mark.parametrize("event, value", [
    (typed("123"), 123),                    # 123# = 12.3
    (typed("123#"), 123),                   # an adapter that keeps the #
    (typed("15"), 15),                      # the minimum, 1.5
    (typed("300"), 300),                    # the maximum, 30.0
    (typed("045"), 45),                     # a leading 0 is fine within the length
    (typed("14"), None),                    # 1.4: under the range
    (typed("301"), None),                   # 30.1: over the range
    (typed("1234"), None),                  # GET DATA stopped at 4 digits: too long
    (typed("0123"), None),                  # 4 digits: too long, even if the value fits
    (typed("123", timed_out=True), None),   # typed, no #: silence ended it, not an answer
    (typed("12*"), None),                   # * is not a digit
    (typed(None), None),                    # # alone
    (typed("#"), None),
    (silence(), None),
])
def test_question_number_ended_by_hash(event, value):
    m = QuestionMachine(plan(WEIGHT))
    first = m.start()
    assert isinstance(first, Ask)
    assert (first.max_digits, first.timeout_ms) == (4, 7000)   # 3 digits for 300, + 1: too long
    action = m.step(event)
    if value is not None:
        assert isinstance(action, QuestionsDone)
        assert action.result.answers == (answered("weight", value, 1),)
        assert action.result.answers[0].text == f"{value / 10:.1f}"
        return
    assert describe(action) == "play invalid"
    assert describe(m.step(done())) == "ask weight"
    action = m.step(typed("98"))              # the second try: 9.8 kg
    assert isinstance(action, QuestionsDone)
    assert action.result.answers == (answered("weight", 98, 1),)


def test_question_silence_twice_skips_and_moves_on():
    actions, r = run(QuestionMachine(plan()), [
        silence(), done(), silence(),          # fever: skipped
        typed("3"),                            # stools: 3
        typed("9"), done(), typed("99")])      # weight: 0.9 out of range, then 9.9
    assert actions == ["ask fever", "play invalid", "ask fever", "ask stools", "ask weight",
                       "play invalid", "ask weight"]
    assert r.answers == (skipped("fever"), answered("stools", 3), answered("weight", 99, 1))
    assert r.ended == "completed" and r.keys == "39#99#"


def test_question_all_answered_first_time():
    actions, r = run(QuestionMachine(plan()), [typed("1"), typed("2"), typed("123")])
    assert actions == ["ask fever", "ask stools", "ask weight"]
    assert r.answers == (answered("fever", 1), answered("stools", 2), answered("weight", 123, 1))
    assert r.keys == "12123#" and r.ended == "completed"


# One full script: (event, answers complete once it is handled)
SCRIPT = [(silence(), 0), (done(), 0), (typed("1"), 1),            # fever: yes, second try
          (typed("7"), 1), (done(), 1), (typed("7"), 2),           # stools: skipped
          (typed("12", timed_out=True), 2), (done(), 2), (typed("120"), 3)]   # weight: 12.0
FULL_ANSWERS = (answered("fever", 1), skipped("stools"), answered("weight", 120, 1))


def test_question_full_script():
    _, r = run(QuestionMachine(plan()), [e for e, _ in SCRIPT])
    assert r.answers == FULL_ANSWERS and r.ended == "completed"


@pytest.mark.parametrize("at", range(len(SCRIPT)))
def test_question_hangup_at_each_point_keeps_the_answers_before(at):
    """She hangs up instead of the at-th event: what she answered before it is kept."""
    kept = SCRIPT[at - 1][1] if at else 0
    events = [e for e, _ in SCRIPT[:at]] + [HungUp()]
    m = QuestionMachine(plan())
    _, r = run(m, events)
    assert r.ended == "hangup"
    assert r.answers == FULL_ANSWERS[:kept]
    assert m.result == r


def test_question_result_before_the_end_is_partial():
    m = QuestionMachine(plan())
    m.start()
    m.step(typed("2"))
    assert m.result.answers == (answered("fever", 2),) and m.result.ended == "hangup"


def test_question_no_questions_is_done_at_once():
    m = QuestionMachine(QuestionPlan((), {}, "/snd/invalid"))
    action = m.start()
    assert isinstance(action, QuestionsDone) and action.result.answers == ()
    assert action.result.ended == "completed"


def test_question_machine_misuse_is_refused():
    m = QuestionMachine(plan(FEVER))
    with pytest.raises(RuntimeError, match="not waiting"):
        m.step(typed("1"))
    m.start()
    with pytest.raises(RuntimeError, match="called twice"):
        m.start()
    with pytest.raises(ValueError, match="Ask is answered by Answered"):
        m.step(done())
    m.step(typed("1"))
    with pytest.raises(RuntimeError, match="not waiting"):
        m.step(typed("1"))


def test_question_plan_needs_every_prompt():
    with pytest.raises(ValueError, match="lacks stools"):
        QuestionPlan(ALL, {"fever": "/snd/f", "weight": "/snd/w"}, "/snd/invalid")
    with pytest.raises(ValueError, match="a question twice"):
        QuestionPlan((FEVER, FEVER), {"fever": "/snd/f"}, "/snd/invalid")
    with pytest.raises(ValueError, match="invalid"):
        QuestionPlan(ALL, {q.key: "/s" for q in ALL}, "")


EVENTS = st.one_of(
    st.builds(typed, st.one_of(st.none(), st.text(alphabet="0123456789*#", max_size=6)),
              st.booleans()),
    st.just(silence()))


@settings(max_examples=200, deadline=None)
@given(st.lists(EVENTS, max_size=20), st.booleans())
def test_question_machine_always_ends_with_one_answer_per_question(events, hang_up):
    """Whatever she presses, each question is asked at most twice and the machine ends with
    at most one answer per question, in order (all of them unless she hung up)."""
    m = QuestionMachine(plan())
    action, asks, events = m.start(), 0, list(events)
    while not isinstance(action, QuestionsDone):
        if isinstance(action, Ask):
            asks += 1
            event = events.pop(0) if events else (HungUp() if hang_up else silence())
        else:
            event = done()
        action = m.step(event)
        assert asks <= 2 * len(ALL)
    r = action.result
    assert [a.question_key for a in r.answers] == [q.key for q in ALL][:len(r.answers)]
    assert r.ended == "hangup" or len(r.answers) == len(ALL)
    for a, q in zip(r.answers, ALL[:len(r.answers)], strict=True):
        if a.value is not None and q.type is AnswerType.NUMBER:
            assert q.minimum <= a.value <= q.maximum and a.decimals == 1
        elif a.value is not None:
            assert a.value in q.keys
