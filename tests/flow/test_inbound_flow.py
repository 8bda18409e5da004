"""The answered line's pure flow (ivr/inbound_flow.py), table-tested: every key of the menu,
silence, wrong keys, hang-ups, the unknown caller and the agent's codes."""
import pytest

from ivr import constants as C
from ivr.flow import (Answered, Ask, HungUp, OptOutRecorded, Play, Played, RecordOptOut,
                      SetVariable, VariableSet)
from ivr.inbound_flow import (CALLER_AGENT, CALLER_UNKNOWN, CALLER_WOMAN, AskQuestions,
                              ChangeLanguage, Changed, ChangeSlot, ChildFound, FindChild,
                              LineFinish, LineFlow, LinePlan, ChildQuestionsAsked, Recording,
                              ReportBirth)

P = {name: f"/snd/{name}" for name in C.PROMPTS}
LATEST = Recording("/snd/msg-12", 4.0)
PREVIOUS = Recording("/snd/msg-11", 3.0)


def plan(caller=CALLER_WOMAN, **kw):
    kw.setdefault("latest", LATEST if caller == CALLER_WOMAN else None)
    kw.setdefault("previous", PREVIOUS if caller == CALLER_WOMAN else None)
    return LinePlan(caller=caller, prompts=P, slots=("09-12", "12-15", "15-18"),
                    languages=("hi", "mr"), call_centre=kw.pop("call_centre", True), **kw)


def key(d):
    return Answered(digits=d, timed_out=False)


SILENCE = Answered(digits=None, timed_out=True)


def run(flow, events):
    """Start the flow, feed the events; returns every action (the last one included)."""
    actions = [flow.start()]
    for e in events:
        actions.append(flow.step(e))
    return actions


def sounds(actions):
    return [a.sound.rsplit("/", 1)[-1] for a in actions if isinstance(a, (Play, Ask))]


def closing(ended_prompt, *, last=None):
    """The events of a closing: its prompt played, the result set."""
    return [Played(endpos=None, digit=None), VariableSet()]


def test_answered_line_woman_hears_her_latest_message_then_the_menu():
    flow = LineFlow(plan())
    first = flow.start()
    assert isinstance(first, Play) and first.sound == LATEST.sound
    assert set(first.escape_digits) == set("1234509")
    assert isinstance(flow.step(Played(endpos=None, digit=None)), Ask)


@pytest.mark.parametrize("keys,done,ended,action", [
    ("3", ("slot:12-15",), "no_input", ChangeSlot("12-15")),
    ("4", ("language:mr",), "no_input", ChangeLanguage("mr")),
])
def test_answered_line_woman_changes_slot_or_language(keys, done, ended, action):
    flow = LineFlow(plan())
    actions = run(flow, [Played(endpos=None, digit=None), key(keys), key("2")])
    assert actions[-1] == action
    ack = flow.step(Changed(ok=True))
    assert isinstance(ack, Play) and ack.sound == P[C.PROMPT_LINE_CHANGED]
    # then silence twice at the menu: goodbye
    rest = run_more(flow, [Played(endpos=None, digit=None), SILENCE,
                           Played(endpos=None, digit=None), SILENCE] + closing("goodbye"))
    assert isinstance(rest[-1], LineFinish)
    assert rest[-1].result.done == done and rest[-1].result.ended == ended
    assert rest[-1].result.played == ("latest",)


def run_more(flow, events):
    return [flow.step(e) for e in events]


def test_answered_line_change_not_saved_is_said_and_not_counted():
    flow = LineFlow(plan())
    run(flow, [Played(endpos=None, digit="3"), key("1")])
    ack = flow.step(Changed(ok=False))
    assert ack.sound == P[C.PROMPT_LINE_NOT_CHANGED]
    assert flow.result.done == ()


def test_answered_line_a_key_during_the_message_picks_from_the_menu():
    flow = LineFlow(plan())
    again = run(flow, [Played(endpos=100, digit="2")])[-1]
    assert again.sound == PREVIOUS.sound
    assert run_more(flow, [Played(endpos=None, digit="1")])[-1].sound == LATEST.sound
    assert flow.result.played == ("latest", "previous", "latest")
    assert flow.result.keys == "21"


def test_answered_line_no_message_yet_plays_the_short_prompt():
    flow = LineFlow(plan(latest=None, previous=None))
    assert flow.start().sound == P[C.PROMPT_LINE_NO_MESSAGE]
    assert flow.step(Played(endpos=None, digit="2")).sound == P[C.PROMPT_LINE_NO_MESSAGE]
    assert flow.result.played == ()


@pytest.mark.parametrize("choice", ["0", "5"])
def test_answered_line_a_wrong_slot_key_is_a_miss(choice):
    flow = LineFlow(plan())
    actions = run(flow, [Played(endpos=None, digit="3"), key(choice)])
    assert actions[-1].sound == P[C.PROMPT_INVALID]          # no slot 0 nor 5 of 3


def test_answered_line_birth_confirmed_opens_and_is_said():
    flow = LineFlow(plan())
    actions = run(flow, [Played(endpos=None, digit="5"), key("1")])
    assert actions[-2].sound == P[C.PROMPT_LINE_BIRTH_CONFIRM] and actions[-1] == ReportBirth()
    assert flow.step(Changed(ok=True)).sound == P[C.PROMPT_LINE_BIRTH_NOTED]
    assert flow.result.done == ("birth",)


def test_answered_line_birth_not_confirmed_reports_nothing():
    flow = LineFlow(plan())
    actions = run(flow, [Played(endpos=None, digit="5"), key("2")])
    assert actions[-1].sound == P[C.PROMPT_INVALID]
    assert not any(isinstance(a, ReportBirth) for a in actions)


@pytest.mark.parametrize("ok,prompt,ended,done", [
    (True, C.PROMPT_OPTOUT_DONE, "opted_out", ("opt_out",)),
    (False, C.PROMPT_OPTOUT_FAILED, "opt_out_failed", ()),
])
def test_answered_line_stop_is_confirmed_before_it_is_recorded(ok, prompt, ended, done):
    flow = LineFlow(plan())
    actions = run(flow, [Played(endpos=None, digit="9"), key("1")])
    assert actions[-2].sound == P[C.PROMPT_OPTOUT_CONFIRM] and actions[-1] == RecordOptOut()
    # a hang-up while it is recorded cannot interrupt the shell's write
    with pytest.raises(ValueError):
        flow.step(HungUp())
    said = flow.step(OptOutRecorded(ok=ok))
    assert said.sound == P[prompt]
    assert flow.step(Played(endpos=None, digit=None)) == SetVariable(C.VAR_RESULT, ended)
    end = flow.step(VariableSet())
    assert end.result.ended == ended and end.result.done == done


def test_answered_line_stop_without_confirmation_goes_back():
    flow = LineFlow(plan())
    actions = run(flow, [Played(endpos=None, digit="9"), SILENCE])
    assert actions[-1].sound == P[C.PROMPT_INVALID]
    assert not any(isinstance(a, RecordOptOut) for a in actions)


def test_answered_line_call_centre_when_configured_only():
    flow = LineFlow(plan())
    actions = run(flow, [Played(endpos=None, digit=None), key("0")] + closing("cc"))
    assert actions[-1].result.ended == "call_centre" and actions[-1].result.call_centre
    flow = LineFlow(plan(call_centre=False))
    assert "0" not in flow.start().escape_digits
    assert flow.step(Played(endpos=None, digit=None))
    assert flow.step(key("0")).sound == P[C.PROMPT_INVALID]


def test_answered_line_hang_up_ends_with_hangup_and_keeps_what_was_done():
    flow = LineFlow(plan())
    run(flow, [Played(endpos=None, digit="3"), key("1"), Changed(ok=True)])
    end = flow.step(HungUp())
    assert isinstance(end, LineFinish)
    assert end.result.ended == "hangup" and end.result.done == ("slot:09-12",)


def test_answered_line_hang_up_during_the_call_centre_prompt_is_a_hangup():
    flow = LineFlow(plan())
    run(flow, [Played(endpos=None, digit="0")])
    end = flow.step(HungUp())
    assert end.result.ended == "hangup" and end.result.call_centre


def test_answered_line_a_stuck_key_cannot_hold_the_channel():
    flow = LineFlow(plan(max_choices=3))
    actions = run(flow, [Played(endpos=None, digit="1")] * 4)
    assert actions[-1].sound == P[C.PROMPT_GOODBYE]
    assert run_more(flow, closing("bye"))[-1].result.ended == "completed"


def test_answered_line_unknown_caller_hears_why_and_can_reach_the_call_centre():
    flow = LineFlow(plan(CALLER_UNKNOWN))
    ask = flow.start()
    assert isinstance(ask, Ask) and ask.sound == P[C.PROMPT_LINE_UNKNOWN]
    assert flow.step(key("0")).sound == P[C.PROMPT_CALL_CENTRE]
    assert run_more(flow, closing("cc"))[-1].result.ended == "call_centre"


@pytest.mark.parametrize("event", [SILENCE, key("5")])
def test_answered_line_unknown_caller_otherwise_hears_goodbye(event):
    flow = LineFlow(plan(CALLER_UNKNOWN))
    flow.start()
    assert flow.step(event).sound == P[C.PROMPT_GOODBYE]
    assert run_more(flow, closing("bye"))[-1].result.ended == "no_input"


def test_answered_line_agent_keys_a_code_and_answers_then_the_next():
    flow = LineFlow(plan(CALLER_AGENT))
    ask = flow.start()
    assert ask.sound == P[C.PROMPT_LINE_CODE] and ask.max_digits == 10
    assert flow.step(key("42#")) == FindChild("42")
    assert flow.step(ChildFound(found=True, has_questions=True)) == AskQuestions("42")
    assert flow.step(ChildQuestionsAsked(answered=3, hung_up=False)).sound == P[C.PROMPT_LINE_SAVED]
    assert flow.step(Played(endpos=None, digit=None)).sound == P[C.PROMPT_LINE_CODE]
    assert flow.step(key("43")) == FindChild("43")
    assert flow.step(ChildFound(found=True, has_questions=True)) == AskQuestions("43")
    end = flow.step(ChildQuestionsAsked(answered=1, hung_up=True))
    assert isinstance(end, LineFinish)
    assert end.result.done == ("child:42", "child:43") and end.result.ended == "hangup"


def test_answered_line_agent_unknown_code_twice_ends_the_call():
    flow = LineFlow(plan(CALLER_AGENT))
    flow.start()
    flow.step(key("7"))
    assert flow.step(ChildFound(found=False)).sound == P[C.PROMPT_LINE_CODE_UNKNOWN]
    flow.step(Played(endpos=None, digit=None))
    flow.step(key("8"))
    assert flow.step(ChildFound(found=False)).sound == P[C.PROMPT_GOODBYE]


def test_answered_line_agent_child_without_questions_this_week():
    flow = LineFlow(plan(CALLER_AGENT))
    flow.start()
    flow.step(key("7"))
    assert flow.step(ChildFound(found=True)).sound == P[C.PROMPT_LINE_NO_QUESTIONS]
    assert flow.step(Played(endpos=None, digit=None)).sound == P[C.PROMPT_LINE_CODE]


@pytest.mark.parametrize("event", [SILENCE, key("#"), key("1234567890")])
def test_answered_line_agent_no_code_or_too_long_is_a_miss(event):
    flow = LineFlow(plan(CALLER_AGENT))
    flow.start()
    assert flow.step(event).sound == P[C.PROMPT_INVALID]
    assert flow.step(Played(endpos=None, digit=None)).sound == P[C.PROMPT_LINE_CODE]
    assert flow.step(event).sound == P[C.PROMPT_GOODBYE]


def test_answered_line_plan_refuses_missing_prompts_and_bad_callers():
    with pytest.raises(ValueError, match="ivr-line-menu"):
        LinePlan(caller=CALLER_WOMAN, prompts={})
    with pytest.raises(ValueError, match="caller"):
        LinePlan(caller="nobody", prompts=P)


def test_answered_line_wrong_event_for_the_action_is_refused():
    flow = LineFlow(plan())
    flow.start()
    with pytest.raises(ValueError):
        flow.step(key("1"))
    assert sounds([flow.step(Played(endpos=None, digit=None))]) == [C.PROMPT_LINE_MENU]
