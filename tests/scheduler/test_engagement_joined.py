"""scheduler.engagement.joined: the summaries of two runs of her calls, joined, are what the
rule (after_call, from_attempts) folds over both runs, on random histories cut anywhere."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from scheduler.engagement import Summary, from_attempts, joined
from scheduler.model import Attempt, AttemptKind
from scheduler.outcome import Outcome
from scheduler.policy import AtRiskRule

T0 = datetime(2026, 9, 1, tzinfo=timezone.utc)


def calls(rnd: random.Random, n: int) -> list[Attempt]:
    out = []
    for i in range(n):
        outcome = rnd.choice([Outcome.ANSWERED] * 3 + [Outcome.NO_ANSWER, Outcome.BUSY])
        heard = rnd.choice([None, 0.0, 0.1, 0.25, 0.5, 1.0]) if outcome.answered else None
        at = T0 + timedelta(hours=i * 30)
        out.append(Attempt(id=i + 1, subscriber_id=1, kind=AttemptKind.SCHEDULED,
                           message_key="m", number=1, claimed_at=at, outcome=outcome,
                           heard_share=heard, ended_at=at + timedelta(seconds=60)))
    return out


def summary(run: list[Attempt], rule: AtRiskRule) -> Summary:
    """The summary of a run alone, as reports.at_risk_women's SQL reduces it: after its last
    well-heard answered call (reset), the answered calls and the end of the call after the
    last answered one."""
    good = [i for i, a in enumerate(run) if a.outcome is Outcome.ANSWERED
            and (a.heard_share or 0) >= rule.low_listening_share]
    after = run[good[-1] + 1:] if good else run
    answered = [i for i, a in enumerate(after) if a.outcome is Outcome.ANSWERED]
    nxt = (answered[-1] + 1) if answered else 0
    end = after[nxt].ended_at if nxt < len(after) else None
    return Summary(len(answered), None if end is None else end.timestamp(), bool(good))


def test_joined_summaries_are_the_rule_over_both_runs():
    rnd = random.Random(7)
    checked = flagged = 0
    for rule in (AtRiskRule(), AtRiskRule(low_listening_share=0.5),
                 AtRiskRule(low_listening_share=0.0)):
        for _ in range(400):
            her = calls(rnd, rnd.randrange(0, 14))
            cut = rnd.randrange(0, len(her) + 1)
            got = joined(summary(her[:cut], rule), summary(her[cut:], rule))
            eng = from_attempts(her, rule)
            want = eng.unanswered_since and eng.unanswered_since.timestamp()
            assert (got.low_run, got.since) == (eng.low_listening_run, want), (rule, her, cut)
            assert got.reset == any(a.outcome is Outcome.ANSWERED and (a.heard_share or 0)
                                    >= rule.low_listening_share for a in her)
            checked += 1
            flagged += got.low_run > 0 and got.since is not None
    assert checked == 1200 and flagged > 50
