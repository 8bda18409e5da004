"""The notification call's flow (issue 15, item 2): its prompt is the message, each full play
followed by SAY DATE of the day she is asked to come; keys work as during a message."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from ivr.flow import CallFlow, Finish, HungUp, Played, SayDate, VariableSet
from scheduler.notifications import said_at
from tests.flow.test_flow import FULL, GREET, MENU, done, key, plan, run, silence
from tests.flow.test_flow import describe as describe_plain

WHEN = said_at(date(2026, 12, 7))
NOTIFY = "play msg-p012 [109]"
SAY = f"say date {WHEN} [109]"


def describe(action) -> str:
    if isinstance(action, SayDate):
        return f"say date {action.when} [{action.escape_digits}]"
    return describe_plain(action)


def go(events):
    """Feed the events (the call may go on after them); the actions seen and the result so
    far."""
    flow = CallFlow(plan(say_date=WHEN))
    action, seen = flow.start(), []
    for event in events:
        seen.append(describe(action))
        action = flow.step(event)
    seen.append(describe(action) if not isinstance(action, Finish) else "finish")
    return seen, flow.result


def test_followup_notify_said_at_is_that_day_in_every_zone():
    assert datetime.fromtimestamp(WHEN, timezone.utc) == datetime(2026, 12, 7, 12,
                                                                  tzinfo=timezone.utc)
    for tz in ("Asia/Kolkata", "Africa/Bamako", "Africa/Nairobi", "America/Sao_Paulo",
               "Asia/Tokyo", "America/Los_Angeles"):
        assert datetime.fromtimestamp(WHEN, ZoneInfo(tz)).date() == date(2026, 12, 7), tz


def test_followup_notify_prompt_then_the_day_then_the_menu():
    actions, r = go([done(), Played(FULL, None), done(), silence(), done(), silence(), done(),
                     VariableSet()])
    assert actions[:4] == [GREET, NOTIFY, SAY, MENU] and actions[-1] == "finish"
    assert (r.ended, r.heard_share, r.plays) == ("no_input", 1.0, 1)


def test_followup_notify_replay_says_the_day_again():
    actions, r = go([done(), Played(FULL, None), done(), key("1"), Played(FULL, None), done(),
                     silence(), done(), silence(), done(), VariableSet()])
    assert actions[-1] == "finish"
    assert actions[:7] == [GREET, NOTIFY, SAY, MENU, NOTIFY, SAY, MENU]
    assert (r.plays, r.keys) == (2, "1")


@pytest.mark.parametrize("digit, then", [("1", NOTIFY), ("9", "ask ivr-optout-confirm"),
                                         ("0", "play ivr-call-centre")])
def test_followup_notify_a_key_during_the_day_acts_at_once(digit, then):
    actions, r = go([done(), Played(FULL, None), Played(None, digit)])
    assert actions[2:4] == [SAY, then] and r.keys == digit


def test_followup_notify_hang_up_while_the_day_is_said():
    actions, r = go([done(), Played(FULL, None), HungUp()])
    assert actions[-2:] == [SAY, "finish"]
    assert (r.ended, r.heard_share) == ("hangup", 1.0)


def test_followup_plain_message_has_no_day():
    actions, _ = run(CallFlow(plan()), [done(), Played(FULL, None), silence(), done(),
                                        silence(), done(), VariableSet()])
    assert actions[:3] == [GREET, NOTIFY, MENU] and "say" not in " ".join(actions)
