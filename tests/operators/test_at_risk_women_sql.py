"""The at-risk list's per-woman reduction done by the database (reports.at_risk_women) flags
the women scheduler/engagement.py's pure rule flags, with the same weeks unanswered and run of
low listening, on random histories, on SQLite and PostgreSQL: against the rule folded over all
her calls (from_attempts), and against the calls the report read before (at_risk_attempts)
folded by the same rule. Histories: answered calls heard over and under the share (and exactly
at it, and unmeasured), every other outcome, test calls among them, calls without an end time
and calls ending late, live calls, women not active, two programmes."""
from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timezone

from bench.report_bench import TABLES, fake_rows
from ivr.adapters import reports
from ivr.adapters.store import Store
from ivr.operators.report_at_risk import at_risk_engagements
from ivr.adapters.columns import instant
from scheduler.engagement import at_risk, from_attempts, weeks_unanswered
from scheduler.model import Attempt, AttemptKind
from scheduler.outcome import Outcome
from scheduler.policy import AtRiskRule
from scheduler.programme import load_programme

DAY = 86400
END = 1796000000.0
WOMEN = 120
OUTCOMES = [o.value for o in Outcome]
RULES = (AtRiskRule(), AtRiskRule(unanswered_weeks=1, low_listening_calls=1,
                                  low_listening_share=0.5),
         AtRiskRule(unanswered_weeks=5, low_listening_calls=6, low_listening_share=0.9))


def history(rnd: random.Random) -> list[tuple]:
    """Random calls of each woman: (id, subscriber_id, number, kind, phone, language,
    message_key, created_at, ended_at, outcome, heard_share)."""
    rows, aid = [], 0
    for sid in range(1, WOMEN + 1):
        t = END - 70 * DAY + rnd.random() * 10 * DAY
        answers = rnd.random()                     # how often she answers
        for _ in range(rnd.randrange(0, 25)):
            t += rnd.choice([600, 3600, DAY, 2 * DAY, 4 * DAY])
            aid += 1
            kind = rnd.choices(["scheduled", "callback", "test"], [80, 15, 5])[0]
            outcome: str | None = "answered" if rnd.random() < answers else rnd.choice(OUTCOMES)
            heard = (rnd.choice([None, 0.0, 0.1, 0.25, 0.5, 0.9, 1.0, rnd.random()])
                     if outcome == "answered" else None)
            ended: float | None = rnd.choice([t + 60, t + 30, None, t + 5 * DAY, t - 1])
            if aid % 97 == 0:                      # a live call
                outcome, heard, ended = None, None, None
            rows.append((aid, sid, 1, kind, f"9190000{sid:05d}", "hi", "m", t, ended,
                         outcome, heard))
    return rows


async def fill(store: Store, rnd: random.Random) -> None:
    await store.execute("DELETE FROM attempts")          # the seed before's
    await store.execute("DELETE FROM subscribers")
    [subs, *_] = next(iter(fake_rows(WOMEN, WOMEN, seed=rnd.randrange(10**6), end=END)))
    table, columns = TABLES[0]
    programme = columns.index("programme")
    subs = [tuple("pesinet" if i == programme and row[0] % 7 == 0 else v
                  for i, v in enumerate(row)) for row in subs]
    await store.insert_rows(table, columns, subs)
    await store.insert_rows("attempts", (
        "id", "subscriber_id", "number", "kind", "phone", "language", "message_key",
        "created_at", "ended_at", "outcome", "heard_share"), history(rnd))


async def every_call(store: Store, only: str | None) -> dict[int, list[Attempt]]:
    """Each active woman's calls (all of them)."""
    rows = await store.fetchall(
        "SELECT a.id, a.subscriber_id, a.kind, a.created_at, a.ended_at, a.outcome, "
        "a.heard_share FROM attempts a JOIN subscribers s ON s.id = a.subscriber_id "
        "WHERE s.status = 'active'" + ("" if only is None else " AND s.programme = ?"),
        () if only is None else (only,))
    mine: dict[int, list[Attempt]] = defaultdict(list)
    for r in rows:
        mine[r["subscriber_id"]].append(Attempt(
            id=r["id"], subscriber_id=r["subscriber_id"], kind=AttemptKind(r["kind"]),
            message_key="m", number=1, claimed_at=instant(r["created_at"]),
            ended_at=instant(r["ended_at"]),
            outcome=None if r["outcome"] is None else Outcome(r["outcome"]),
            heard_share=r["heard_share"]))
    return mine


async def read_before(store: Store, rule: AtRiskRule, now: datetime,
                      only: str | None) -> dict[int, tuple[int, int]]:
    """The report's at-risk women as read before: her calls since, folded in Python."""
    rows = await reports.at_risk_attempts(
        store, low_share=rule.low_listening_share,
        unanswered_since=now.timestamp() - rule.unanswered_weeks * 7 * DAY,
        low_calls=rule.low_listening_calls, programme=only)
    mine: dict[int, list[Attempt]] = defaultdict(list)
    for r in rows:
        mine[r["subscriber_id"]].append(Attempt(
            id=r["id"], subscriber_id=r["subscriber_id"], kind=AttemptKind(r["kind"]),
            message_key=r["message_key"], number=r["number"],
            claimed_at=instant(r["created_at"]), ended_at=instant(r["ended_at"]),
            outcome=Outcome(r["outcome"]), heard_share=r["heard_share"]))
    return {sid: (weeks_unanswered(e, now), e.low_listening_run) for sid, e in
            ((sid, from_attempts(calls, rule)) for sid, calls in mine.items())
            if at_risk(e, rule, now)}


async def agree(address, seed: int) -> int:
    """Every rule, several days, both programmes and all: the three readings agree. The number
    of women flagged over all (so that a test flagging nobody fails)."""
    rnd = random.Random(seed)
    store = await Store.open(address)
    flagged = 0
    try:
        await fill(store, rnd)
        base = load_programme("mmitra")
        for rule in RULES:
            programme = replace(base, at_risk=rule)
            for days in (-30, -3, 0, 5, 17, 40):
                now = datetime.fromtimestamp(END + days * DAY + rnd.random() * DAY,
                                             timezone.utc)
                for only in (None, "mmitra", "pesinet"):
                    sql = {sid: (weeks_unanswered(e, now), e.low_listening_run) for sid, e in
                           (await at_risk_engagements(store, programme, now, only)).items()}
                    pure = {sid: (weeks_unanswered(e, now), e.low_listening_run) for sid, e in
                            ((sid, from_attempts(calls, rule)) for sid, calls in
                             (await every_call(store, only)).items())
                            if at_risk(e, rule, now)}
                    assert sql == pure, (seed, rule, days, only)
                    assert sql == await read_before(store, rule, now, only), (seed, rule, days)
                    flagged += len(sql)
    finally:
        await store.close()
    return flagged


def test_the_database_and_the_pure_rule_flag_the_same_women(database):
    flagged = [asyncio.run(agree(database.address, seed)) for seed in range(4)]
    assert all(n > 0 for n in flagged), flagged
