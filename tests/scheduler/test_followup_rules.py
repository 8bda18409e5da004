"""Follow-up rules (scheduler/followup_rules.py): which answers open which follow-ups. Pure."""
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from scheduler.followup_rules import followups_to_open
from scheduler.programme import load_programme
from scheduler.questions_model import Answer, AnswerStatus, FollowUpToOpen, OwnerRole

CHECKIN = load_programme(Path(__file__).resolve().parent / "programmes" / "checkin.toml")
RULES = {r.key: r for r in CHECKIN.followups}
TODAY = date(2026, 3, 10)


def fever(v: int) -> Answer:
    return Answer("fever", AnswerStatus.ANSWERED, v)


def stools(v: int) -> Answer:
    return Answer("stools", AnswerStatus.ANSWERED, v)


def weight(v: int, decimals: int = 1) -> Answer:
    return Answer("weight", AnswerStatus.ANSWERED, v, decimals)


def skip(key: str) -> Answer:
    return Answer(key, AnswerStatus.SKIPPED, None, 1 if key == "weight" else 0)


def opened(rule: str, answers, earlier=None, week: int = 5) -> list[str]:
    return [f.rule_key for f in followups_to_open([RULES[rule]], week, answers, earlier or {},
                                                  TODAY)]


@pytest.mark.parametrize("answers, opens", [
    ([fever(1)], True), ([fever(2)], False), ([skip("fever")], False), ([], False),
    ([stools(1), fever(1)], True),
])
def test_followup_on_an_answer_yes(answers, opens):
    assert opened("fever", answers) == (["fever"] if opens else [])


@pytest.mark.parametrize("value, opens", [(1, False), (2, False), (3, True)])
def test_followup_on_a_choice_in_the_listed_keys(value, opens):
    assert opened("diarrhoea", [stools(value)]) == (["diarrhoea"] if opens else [])


@pytest.mark.parametrize("answer, opens", [
    (weight(24), True),          # 2.4 kg < 2.5
    (weight(25), False),         # 2.5: the range's ends are inside
    (weight(250), False),        # 25.0
    (weight(251), True),         # 25.1
    (weight(2510, 2), True),     # 25.10 typed with two decimals: compared exactly
    (weight(2500, 2), False),
    (weight(2505, 2), True),     # 25.05: not rounded to 25.0
    (weight(25, 0), False),      # 25 with no decimals is 25.0: inside
    (weight(26, 0), True),
    (skip("weight"), False),
])
def test_followup_on_a_number_outside_its_range(answer, opens):
    assert opened("weight-range", [answer]) == (["weight-range"] if opens else [])


@pytest.mark.parametrize("now, earlier, opens", [
    (weight(120), {4: [weight(125)]}, True),             # 12.0 < 12.5 last week
    (weight(125), {4: [weight(125)]}, False),            # the same
    (weight(130), {4: [weight(125)]}, False),            # higher
    (weight(120), {}, False),                            # nothing to compare with
    (weight(120), {4: [skip("weight")]}, False),         # last week skipped
    (weight(120), {3: [weight(125)]}, False),            # two weeks ago: look back 1 week
    (skip("weight"), {4: [weight(125)]}, False),         # nothing this week
])
def test_followup_on_a_change_from_last_week(now, earlier, opens):
    assert opened("weight-loss", [now], earlier) == (["weight-loss"] if opens else [])


def test_followup_change_looks_back_to_the_latest_answer_in_its_weeks():
    rule = replace(RULES["weight-loss"], weeks=3, lower=False)     # higher, within 3 weeks
    earlier = {2: [weight(200)], 3: [weight(100)], 4: [skip("weight")]}
    assert followups_to_open([rule], 5, [weight(110)], earlier, TODAY)    # 11.0 > 10.0 (week 3)
    assert not followups_to_open([rule], 5, [weight(90)], earlier, TODAY)
    assert not followups_to_open([rule], 7, [weight(110)], earlier, TODAY)   # weeks 4-6 only


@pytest.mark.parametrize("earlier, now, opens", [
    ({4: []}, [], True),                                  # weeks 4 and 5 asked, unanswered
    ({4: [skip("fever")]}, [skip("fever")], True),        # skipped is not answered
    ({3: [], 4: []}, [], False),                          # opened last week already
    ({3: [fever(2)], 4: []}, [], True),
    ({4: [fever(2)]}, [], False),                         # answered last week
    ({4: []}, [weight(120)], False),                      # answered this week
    ({}, [], False),                                      # last week no check-in was due
    ({3: [], 4: [], 5: []}, [], False),
])
def test_followup_on_absence(earlier, now, opens):
    assert opened("no-checkin", now, earlier) == (["no-checkin"] if opens else [])


def test_followup_on_absence_of_one_question():
    rule = replace(RULES["no-checkin"], question=CHECKIN.question("weight"), weeks=1)
    assert followups_to_open([rule], 5, [fever(2), skip("weight")], {4: [weight(100)]}, TODAY)
    assert not followups_to_open([rule], 5, [weight(100)], {4: []}, TODAY)
    assert not followups_to_open([rule], 5, [fever(2)], {4: [fever(2)]}, TODAY)   # already


def test_followup_has_reason_due_date_and_owner():
    earlier = {4: [weight(130), stools(1)]}
    got = followups_to_open(CHECKIN.followups, 5, [fever(1), stools(3), weight(20)], earlier,
                            TODAY)
    assert got == (
        FollowUpToOpen("fever", "fever reported", date(2026, 3, 11), OwnerRole.DOCTOR, "fever"),
        FollowUpToOpen("diarrhoea", "stools: answered 3", date(2026, 3, 12),
                       OwnerRole.HEALTH_WORKER, "stools"),
        FollowUpToOpen("weight-range", "weight outside 2.5-25.0", date(2026, 3, 11),
                       OwnerRole.DOCTOR, "weight"),
        FollowUpToOpen("weight-loss", "weight lower than last week's", date(2026, 3, 13),
                       OwnerRole.DOCTOR, "weight"),
    )
    assert followups_to_open(CHECKIN.followups, 5, [], {4: []}, date(2026, 12, 31)) == (
        FollowUpToOpen("no-checkin", "no check-in answered for 2 week(s)", date(2027, 1, 2),
                       OwnerRole.AGENT, None),)


def test_followup_none_for_a_good_week():
    earlier = {4: [fever(2), stools(1), weight(120)]}
    assert followups_to_open(CHECKIN.followups, 5, [fever(2), stools(1), weight(125)], earlier,
                             TODAY) == ()
