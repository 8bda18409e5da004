"""The pure in-call flow: table tests of what she hears for what she does, and a property:
whatever happens, the flow ends, within the play bound, with a sane result."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr import constants as C
from ivr.flow import (Answered, Ask, CallFlow, CallPlan, Finish, HungUp, OptOutRecorded,
                      Play, Played, RecordOptOut, SetVariable, VariableSet)
from tests.flow.driver import drive

P = {name: f"/snd/{name}" for name in C.PROMPTS}
MSG = "/snd/msg-p012"
FULL = 24000          # a 3 s message at 8 kHz


def plan(**kw) -> CallPlan:
    base = dict(attempt_id=7, message=MSG, message_seconds=3.0, language="hi", prompts=P,
                call_centre=True)
    base.update(kw)
    return CallPlan(**base)


def done() -> Played:
    return Played(endpos=None, digit=None)


def silence() -> Answered:
    return Answered(digits=None, timed_out=True)


def key(k: str) -> Answered:
    return Answered(digits=k, timed_out=False)


def run(flow: CallFlow, events) -> tuple[list, object]:
    """Feed events in order; returns the actions seen (as short strings) and the result."""
    return drive(flow, events, Finish, describe)


def describe(action) -> str:
    if isinstance(action, Play):
        name = action.sound.rsplit("/", 1)[1]
        return f"play {name}" + (f" [{action.escape_digits}]" if action.escape_digits else "")
    if isinstance(action, Ask):
        return f"ask {action.sound.rsplit('/', 1)[1]}"
    if isinstance(action, RecordOptOut):
        return "record opt-out"
    assert isinstance(action, SetVariable)
    return f"set {action.name}={action.value}"


GREET, MESSAGE, MENU = "play ivr-greeting", "play msg-p012 [109]", "ask ivr-menu"


def test_she_listens_and_says_nothing():
    actions, r = run(CallFlow(plan()), [
        done(), Played(FULL, None), silence(), done(), silence(), done(), VariableSet()])
    assert actions == [GREET, MESSAGE, MENU, "play ivr-invalid", MENU, "play ivr-goodbye",
                       "set IVR_RESULT=no_input"]
    assert (r.ended, r.plays, r.keys, r.heard_seconds, r.heard_share) == (
        "no_input", 1, "", 3.0, 1.0)
    assert not r.opted_out and not r.call_centre


def test_key_1_at_the_menu_replays_then_the_bound_ends_the_call():
    actions, r = run(CallFlow(plan(max_plays=2)), [
        done(), Played(FULL, None), key("1"), Played(FULL, None), key("1"), done(),
        VariableSet()])
    assert actions == [GREET, MESSAGE, MENU, MESSAGE, MENU, "play ivr-goodbye",
                       "set IVR_RESULT=completed"]
    assert (r.ended, r.plays, r.keys, r.heard_share) == ("completed", 2, "11", 1.0)


def test_key_1_during_the_message_restarts_it_and_the_furthest_point_counts():
    actions, r = run(CallFlow(plan()), [
        done(), Played(16000, "1"), Played(8000, "1"), Played(FULL, None), silence(), done(),
        silence(), done(), VariableSet()])
    assert actions[:4] == [GREET, MESSAGE, MESSAGE, MESSAGE]
    assert r.plays == 3 and r.heard_share == 1.0 and r.keys == "11"


def test_partial_listens_keep_the_furthest_position():
    _, r = run(CallFlow(plan()), [done(), Played(16000, "1"), Played(8000, "1"),
                                  HungUp(endpos=4000)])
    assert r.heard_seconds == 2.0 and r.heard_share == pytest.approx(2 / 3)
    assert r.ended == "hangup" and r.plays == 3


def test_hang_up_mid_message_is_a_partial_listen():
    actions, r = run(CallFlow(plan()), [done(), HungUp(endpos=12160)])
    assert actions == [GREET, MESSAGE]
    assert r.ended == "hangup"
    assert r.heard_seconds == pytest.approx(1.52) and r.heard_share == pytest.approx(1.52 / 3)


def test_hang_up_during_the_greeting_heard_nothing():
    _, r = run(CallFlow(plan()), [HungUp()])
    assert (r.ended, r.plays, r.heard_seconds, r.heard_share) == ("hangup", 0, 0.0, 0.0)


RECORDED, NOT_RECORDED = OptOutRecorded(ok=True), OptOutRecorded(ok=False)


def test_opt_out_needs_9_then_1_and_is_recorded_before_she_is_told():
    actions, r = run(CallFlow(plan()), [
        done(), Played(FULL, None), key("9"), key("1"), RECORDED, done(), VariableSet()])
    assert actions == [GREET, MESSAGE, MENU, "ask ivr-optout-confirm", "record opt-out",
                       "play ivr-optout-done", "set IVR_RESULT=opted_out"]
    assert r.opted_out and r.ended == "opted_out" and r.keys == "91"


def test_opt_out_during_the_message():
    _, r = run(CallFlow(plan()), [done(), Played(9000, "9"), key("1"), RECORDED, done(),
                                  VariableSet()])
    assert r.opted_out and r.heard_seconds == 9000 / 8000


@pytest.mark.parametrize("after, ended", [
    ([done(), VariableSet()], "opt_out_failed"),
    ([HungUp()], "opt_out_failed"),          # she hung up during the "failed" prompt
])
def test_an_opt_out_not_recorded_says_so_and_is_not_an_opt_out(after, ended):
    actions, r = run(CallFlow(plan()), [
        done(), Played(FULL, None), key("9"), key("1"), NOT_RECORDED] + after)
    assert actions[3:6] == ["ask ivr-optout-confirm", "record opt-out", "play ivr-optout-failed"]
    assert "play ivr-optout-done" not in actions
    assert not r.opted_out and r.ended == ended and r.keys == "91"


def test_nothing_but_the_recording_result_answers_record_opt_out():
    flow = CallFlow(plan())
    flow.start()
    flow.step(done())
    flow.step(Played(FULL, "9"))
    assert isinstance(flow.step(key("1")), RecordOptOut)
    for wrong in (done(), key("1"), VariableSet(), HungUp()):
        with pytest.raises(ValueError, match="RecordOptOut is answered by OptOutRecorded"):
            flow.step(wrong)


def test_opt_out_not_confirmed_goes_back_to_the_menu():
    actions, r = run(CallFlow(plan()), [
        done(), Played(FULL, None), key("9"), silence(), done(), key("1"), Played(FULL, None),
        key("4"), done(), VariableSet()])
    assert actions == [GREET, MESSAGE, MENU, "ask ivr-optout-confirm", "play ivr-invalid", MENU,
                       MESSAGE, MENU, "play ivr-goodbye", "set IVR_RESULT=no_input"]
    assert not r.opted_out and r.keys == "914"


def test_hang_up_during_the_done_prompt_is_still_an_opt_out():
    _, r = run(CallFlow(plan()), [done(), Played(FULL, None), key("9"), key("1"), RECORDED,
                                  HungUp()])
    assert r.opted_out and r.ended == "opted_out"


def test_call_centre():
    actions, r = run(CallFlow(plan()), [done(), Played(FULL, None), key("0"), done(),
                                        VariableSet()])
    assert actions[-2:] == ["play ivr-call-centre", "set IVR_RESULT=call_centre"]
    assert r.call_centre and r.ended == "call_centre"


def test_hang_up_before_the_transfer_is_a_hangup():
    _, r = run(CallFlow(plan()), [done(), Played(FULL, None), key("0"), HungUp()])
    assert r.call_centre and r.ended == "hangup"


def test_key_0_without_a_call_centre_is_invalid_and_not_an_escape_digit():
    actions, r = run(CallFlow(plan(call_centre=False)), [
        done(), Played(FULL, None), key("0"), done(), silence(), done(), VariableSet()])
    assert actions[1] == "play msg-p012 [19]"
    assert actions[2:] == [MENU, "play ivr-invalid", MENU, "play ivr-goodbye",
                           "set IVR_RESULT=no_input"]
    assert not r.call_centre and r.keys == "0"


def test_wrong_keys_twice_end_politely():
    actions, r = run(CallFlow(plan()), [done(), Played(FULL, None), key("5"), done(), key("#"),
                                        done(), VariableSet()])
    assert actions == [GREET, MESSAGE, MENU, "play ivr-invalid", MENU, "play ivr-goodbye",
                       "set IVR_RESULT=no_input"]
    assert r.keys == "5#"


def test_hang_up_during_the_goodbye_keeps_how_the_call_ended():
    _, r = run(CallFlow(plan()), [done(), Played(FULL, None), silence(), done(), silence(),
                                  HungUp()])
    assert r.ended == "no_input"


def test_unknown_message_length_gives_share_0_but_seconds_from_endpos():
    _, r = run(CallFlow(plan(message_seconds=0.0)), [done(), HungUp(endpos=8000)])
    assert r.heard_seconds == 1.0 and r.heard_share == 0.0


def test_endpos_beyond_the_known_length_is_clamped():
    _, r = run(CallFlow(plan()), [done(), HungUp(endpos=FULL + 800)])
    assert r.heard_seconds == 3.0 and r.heard_share == 1.0


def test_message_timeout_covers_the_message():
    flow = CallFlow(plan(message_seconds=95.0))
    flow.start()
    action = flow.step(done())
    assert isinstance(action, Play) and action.max_seconds >= 95.0


def test_wrong_event_for_the_action_is_refused():
    flow = CallFlow(plan())
    flow.start()
    with pytest.raises(ValueError, match="Played"):
        flow.step(key("1"))


def test_no_step_after_finish_and_no_double_start():
    flow = CallFlow(plan())
    flow.start()
    with pytest.raises(RuntimeError):
        flow.start()
    assert isinstance(flow.step(HungUp()), Finish)
    with pytest.raises(RuntimeError):
        flow.step(HungUp())


@pytest.mark.parametrize("kw, message", [
    (dict(message=""), "message"),
    (dict(message_seconds=-1.0), "message_seconds"),
    (dict(message_seconds=float("nan")), "message_seconds"),
    (dict(max_plays=0), "max_plays"),
    (dict(prompts={}), "prompts lacks"),
    (dict(prompts={k: v for k, v in P.items() if k != C.PROMPT_CALL_CENTRE}), "call-centre"),
])
def test_bad_plan_is_refused_with_a_clear_message(kw, message):
    with pytest.raises(ValueError, match=message):
        plan(**kw)


def test_plan_without_call_centre_needs_no_call_centre_prompt():
    p = plan(call_centre=False, prompts={k: v for k, v in P.items() if k != C.PROMPT_CALL_CENTRE})
    assert not p.call_centre


# ---- property: any behaviour of the woman (and of Asterisk) ----

digits = st.sampled_from(["0", "1", "2", "5", "9", "#", "*", "", None])
endpos = st.one_of(st.none(), st.integers(min_value=-1, max_value=10 * FULL))
played = st.builds(Played, endpos=endpos, digit=st.sampled_from([None, "0", "1", "9"]))
answered = st.builds(Answered, digits=digits, timed_out=st.booleans())
hung_up = st.builds(HungUp, endpos=endpos)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), max_plays=st.integers(1, 4), call_centre=st.booleans(),
       seconds=st.sampled_from([0.0, 3.0, 60.0]))
def test_any_event_sequence_ends_within_bounds(data, max_plays, call_centre, seconds):
    flow = CallFlow(plan(max_plays=max_plays, call_centre=call_centre, message_seconds=seconds))
    action = flow.start()
    steps, keys_fed = 0, []
    while not isinstance(action, Finish):
        steps += 1
        assert steps <= 40, "the flow must end"
        if isinstance(action, RecordOptOut):      # the store's answer, never a hang-up
            event = OptOutRecorded(ok=data.draw(st.booleans()))
        elif data.draw(st.integers(0, 9)) == 0:    # she hangs up now (1 in 10)
            event = data.draw(hung_up)
        elif isinstance(action, Play):
            event = data.draw(played) if action.escape_digits else Played(
                data.draw(endpos), None)
            if event.digit:
                keys_fed.append(event.digit)
        elif isinstance(action, Ask):
            event = data.draw(answered)
            if event.digits:
                keys_fed.append(event.digits[:1])
        else:
            event = VariableSet()
        action = flow.step(event)
    r = action.result
    assert r.plays <= max_plays
    assert 0.0 <= r.heard_share <= 1.0 and r.heard_seconds >= 0.0
    assert r.ended in {"completed", "hangup", "no_input", "opted_out", "call_centre",
                       "opt_out_failed"}
    assert r.keys == "".join(keys_fed)
    if r.opted_out or r.ended == "opt_out_failed":   # only by 9 then 1, the last keys
        assert r.keys.endswith("91"), r.keys
    if r.opted_out:
        assert r.ended == "opted_out"
    else:
        assert r.ended != "opted_out"
    if r.call_centre:
        assert call_centre and "0" in r.keys
