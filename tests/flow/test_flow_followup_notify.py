"""The notification call's flow (issue 15, item 2): its prompt is the message, each full play
followed by the day she is expected (the day-of-month and month prompts); keys act during
them as during a message."""
from __future__ import annotations

from datetime import date

import pytest

from ivr import constants as C
from ivr.agi_route import day_prompts
from ivr.flow import CallFlow, Finish, HungUp, Played, VariableSet
from tests.flow.test_flow import FULL, GREET, MENU, P, describe, done, key, plan, run, silence

NOTIFY = "play msg-p012 [109]"
DAY, MONTH = "play ivr-day-7 [109]", "play ivr-month-12 [109]"
THEN = tuple(P[name] for name in day_prompts(date(2026, 12, 7)))


def go(events):
    """Feed the events (the call may go on after them); the actions seen and the result so
    far."""
    flow = CallFlow(plan(then=THEN))
    action, seen = flow.start(), []
    for event in events:
        seen.append(describe(action))
        action = flow.step(event)
    seen.append(describe(action) if not isinstance(action, Finish) else "finish")
    return seen, flow.result


@pytest.mark.parametrize("day, prompts", [
    (date(2026, 12, 7), ("ivr-day-7", "ivr-month-12")),
    (date(2027, 1, 1), ("ivr-day-1", "ivr-month-1")),
    (date(2028, 2, 29), ("ivr-day-29", "ivr-month-2")),
    (date(2026, 10, 31), ("ivr-day-31", "ivr-month-10")),
    (None, ()),
])
def test_followup_notify_day_prompts(day, prompts):
    assert day_prompts(day) == prompts
    assert set(prompts) <= set(C.PROMPTS)            # recorded in every language


def test_followup_notify_prompt_then_the_day_then_the_menu():
    actions, r = go([done(), Played(FULL, None), done(), done(), silence(), done(), silence(),
                     done(), VariableSet()])
    assert actions[:5] == [GREET, NOTIFY, DAY, MONTH, MENU] and actions[-1] == "finish"
    assert (r.ended, r.heard_share, r.plays) == ("no_input", 1.0, 1)


def test_followup_notify_replay_says_the_day_again():
    actions, r = go([done(), Played(FULL, None), done(), done(), key("1"), Played(FULL, None),
                     done(), done(), silence(), done(), silence(), done(), VariableSet()])
    assert actions[:9] == [GREET, NOTIFY, DAY, MONTH, MENU, NOTIFY, DAY, MONTH, MENU]
    assert (r.plays, r.keys) == (2, "1") and actions[-1] == "finish"


@pytest.mark.parametrize("digit, then", [("1", NOTIFY), ("9", "ask ivr-optout-confirm"),
                                         ("0", "play ivr-call-centre")])
def test_followup_notify_a_key_during_the_day_acts_at_once(digit, then):
    actions, r = go([done(), Played(FULL, None), Played(None, digit)])
    assert actions[2:4] == [DAY, then] and r.keys == digit
    actions, r = go([done(), Played(FULL, None), done(), Played(None, digit)])
    assert actions[3:5] == [MONTH, then] and r.keys == digit


def test_followup_notify_hang_up_while_the_day_is_said():
    actions, r = go([done(), Played(FULL, None), HungUp()])
    assert actions[-2:] == [DAY, "finish"]
    assert (r.ended, r.heard_share) == ("hangup", 1.0)


def test_followup_plain_message_has_no_day():
    actions, _ = run(CallFlow(plan()), [done(), Played(FULL, None), silence(), done(),
                                        silence(), done(), VariableSet()])
    assert actions[:3] == [GREET, NOTIFY, MENU] and "ivr-day" not in " ".join(actions)
