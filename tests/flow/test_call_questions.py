"""Her call with her message's questions (ivr/call_questions.py): the flow and the question
machine composed. Table tests: the questions come only after a normal end of the message
(never after a stop, a call-centre request or a hang-up), before the goodbye; a hang-up during
them keeps the answers given and the flow's end."""
from __future__ import annotations

import pytest

from ivr.call_questions import CallWithQuestions
from ivr.flow import (AskQuestions, CallFlow, Finish, HungUp, OptOutRecorded, Played,
                      QuestionsAsked, VariableSet)
from ivr.questions import ENDED_COMPLETED, ENDED_HANGUP, QuestionMachine
from tests.flow.test_flow import FULL, describe, done, key, plan, silence
from tests.flow.test_question_machine import FEVER, WEIGHT, answered, skipped, typed
from tests.flow.test_question_machine import plan as question_plan
from tests.flow.driver import drive

GREET, MESSAGE, MENU = "play ivr-greeting", "play msg-p012 [109]", "ask ivr-menu"
INVALID, BYE = "play ivr-invalid", "play ivr-goodbye"
FEVER_Q, WEIGHT_Q, Q_INVALID = "ask fever", "ask weight", "play invalid"
HEARD = [done(), Played(FULL, None), silence(), done(), silence()]    # heard, menu missed twice
HEARD_ACTIONS = [GREET, MESSAGE, MENU, INVALID, MENU]


def call() -> CallWithQuestions:
    return CallWithQuestions(CallFlow(plan(questions=True)),
                             QuestionMachine(question_plan(FEVER, WEIGHT)))


def run(machine: CallWithQuestions, events):
    return drive(machine, events, Finish, describe)


@pytest.mark.parametrize("events, actions, ended, answers, questions_ended", [
    # she heard it, answers fever yes and 12.3 kg: asked before the goodbye
    (HEARD + [typed("1"), typed("123"), done(), VariableSet()],
     HEARD_ACTIONS + [FEVER_Q, WEIGHT_Q, BYE, "set IVR_RESULT=no_input"],
     "no_input", [answered("fever", 1), answered("weight", 123, 1)], ENDED_COMPLETED),
    # a wrong key then silence on fever (skipped), a number without # (timed out) then right
    (HEARD + [typed("7"), done(), silence(), typed("12", timed_out=True), done(),
              typed("98"), done(), VariableSet()],
     HEARD_ACTIONS + [FEVER_Q, Q_INVALID, FEVER_Q, WEIGHT_Q, Q_INVALID, WEIGHT_Q, BYE,
                      "set IVR_RESULT=no_input"],
     "no_input", [skipped("fever"), answered("weight", 98, 1)], ENDED_COMPLETED),
    # she hangs up after the first answer: it is kept, the call's end stays the flow's
    (HEARD + [typed("2"), HungUp()], HEARD_ACTIONS + [FEVER_Q, WEIGHT_Q],
     "no_input", [answered("fever", 2)], ENDED_HANGUP),
    # replays to the last allowed play ("completed"): questions, then goodbye
    ([done(), Played(None, "1"), Played(None, "1"), Played(FULL, "1"), typed("1"),
      typed("150"), done(), VariableSet()],
     [GREET, MESSAGE, MESSAGE, MESSAGE, FEVER_Q, WEIGHT_Q, BYE, "set IVR_RESULT=completed"],
     "completed", [answered("fever", 1), answered("weight", 150, 1)], ENDED_COMPLETED),
    # a hang-up during the goodbye after the questions: the answers stand
    (HEARD + [typed("1"), typed("123"), HungUp()], HEARD_ACTIONS + [FEVER_Q, WEIGHT_Q, BYE],
     "no_input", [answered("fever", 1), answered("weight", 123, 1)], ENDED_COMPLETED),
])
def test_questions_after_her_message(events, actions, ended, answers, questions_ended):
    machine = call()
    seen, result = run(machine, events)
    assert seen == actions
    assert result.ended == ended
    assert machine.questions is not None
    assert list(machine.questions.answers) == answers
    assert machine.questions.ended == questions_ended


@pytest.mark.parametrize("events, actions, ended", [
    # 9 then 1: opted out, no questions
    ([done(), Played(None, "9"), key("1"), OptOutRecorded(ok=True), done(), VariableSet()],
     [GREET, MESSAGE, "ask ivr-optout-confirm", "record opt-out", "play ivr-optout-done",
      "set IVR_RESULT=opted_out"], "opted_out"),
    # 0: the call centre, no questions
    ([done(), Played(None, "0"), done(), VariableSet()],
     [GREET, MESSAGE, "play ivr-call-centre", "set IVR_RESULT=call_centre"], "call_centre"),
    # a hang-up during her message: no questions
    ([done(), HungUp(endpos=8000)], [GREET, MESSAGE], "hangup"),
])
def test_no_question_when_she_did_not_end_normally(events, actions, ended):
    machine = call()
    seen, result = run(machine, events)
    assert seen == actions
    assert result.ended == ended
    assert machine.questions is None


def test_a_flow_with_questions_asks_for_them_before_the_goodbye():
    flow = CallFlow(plan(questions=True))
    flow.start()
    for event in HEARD:
        action = flow.step(event)
    assert isinstance(action, AskQuestions)
    assert describe(flow.step(QuestionsAsked())) == BYE


def test_a_flow_event_while_a_question_waits_is_refused():
    machine = call()
    machine.start()
    for event in HEARD:
        action = machine.step(event)
    assert describe(action) == FEVER_Q
    with pytest.raises(ValueError):
        machine.step(VariableSet())
