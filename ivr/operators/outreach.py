"""`ivr outreach list`: the women the call centre should call this week, ranked, with the
reason per woman; phone numbers and names (hers, her worker's) masked unless `reveal`.

whittle (the default): the weekly histories of the last `weeks` weeks (ivr/adapters/
outreach.py's rows, scheduler/outreach_weeks.py's histories) estimate the engagement chains
of every woman of the programme (scheduler/outreach.py `estimate`); the active women not
called this week yet are ranked by the Whittle index of their state (`rank`). at-risk: the
programme's at-risk rule (the report's list), longest unanswered first (`rank_at_risk`).
Women ended, paused or opted out are never listed; nor is a woman whose call of this week
is recorded already (`ivr outreach done`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ivr.adapters import outreach, reports
from ivr.adapters.columns import epoch
from ivr.adapters.store import Store
from ivr.adapters.workers import Workers
from ivr.errors import BadInput
from ivr.operators.records import name_out, phone_out
from ivr.operators.report_at_risk import at_risk_engagements
from scheduler.engagement import Engagement, weeks_unanswered
from scheduler.outreach import estimate, rank, rank_at_risk
from scheduler.outreach_weeks import WEEK_SECONDS, histories, transitions, week_label, week_start
from scheduler.policy import AtRiskRule
from scheduler.programme import Programme
from scheduler.questions_model import OwnerRole

METHODS = ("whittle", "at-risk")
COLUMNS = ["rank", "id", "phone", "name", "language", "slot", "worker", "reason"]
NO_WORKER = "(none)"
DEFAULT_WEEKS = 12


@dataclass(frozen=True)
class ListRequest:
    capacity: int
    method: str = "whittle"
    by_worker: bool = False
    reveal: bool = False
    weeks: int = DEFAULT_WEEKS        # the history the chains are estimated from


@dataclass(frozen=True)
class Listing:
    week: str                         # the ISO week the list is for
    rows: list[dict]
    empty_because: str | None = None  # why nothing is listed


def check_request(req: ListRequest) -> None:
    if req.capacity < 1:
        raise BadInput(f"--capacity must be at least 1 (calls the call centre can make this "
                       f"week), not {req.capacity}")
    if req.method not in METHODS:
        raise BadInput(f"unknown method {req.method!r} (one of: {', '.join(METHODS)})")
    if req.weeks < 2:
        raise BadInput(f"--weeks must be at least 2 (a week and the next), not {req.weeks}")


async def outreach_list(store: Store, programme: Programme, req: ListRequest,
                        now: datetime) -> Listing:
    check_request(req)
    start = week_start(now, programme.timezone)
    week = week_label(start, programme.timezone)
    called = await outreach.called_in_week(store, week)
    if req.method == "whittle":
        chosen, empty = await _whittle(store, programme, req, epoch(start), called)
    else:
        chosen, empty = await _at_risk(store, programme, req.capacity, now, called)
    if not chosen:
        return Listing(week, [], empty)
    return Listing(week, await _rows(store, chosen, req), None)


async def _whittle(store: Store, programme: Programme, req: ListRequest, start: float,
                   called: set[int]) -> tuple[list[tuple[int, str]], str]:
    first = -req.weeks
    women = await outreach.women(store, programme.name, start, start + first * WEEK_SECONDS)
    weeks = histories(women, await outreach.week_rows(store, programme.name, start, first),
                      first)
    if transitions(weeks) == 0:
        return [], ("no weekly history yet: the list learns from women's weeks (two complete "
                    "weeks of calls at least); nothing listed")
    model = estimate(weeks)
    eligible = {w.subscriber_id: weeks[w.subscriber_id] for w in women
                if w.active and w.subscriber_id not in called}
    picks = rank(eligible, model, req.capacity)
    return ([(p.subscriber_id, p.outreach_reason) for p in picks],
            "no woman to call this week: a call would raise no uncalled woman's engagement")


async def _at_risk(store: Store, programme: Programme, capacity: int, now: datetime,
                   called: set[int]) -> tuple[list[tuple[int, str]], str]:
    rule = programme.at_risk
    flagged = {sid: eng for sid, eng in
               (await at_risk_engagements(store, programme, now, only=programme.name)).items()
               if sid not in called}
    ids = rank_at_risk(flagged, rule, now, capacity)
    return ([(sid, _at_risk_reason(flagged[sid], rule, now)) for sid in ids],
            "no woman at risk who was not called this week")


def _at_risk_reason(eng: Engagement, rule: AtRiskRule, now: datetime) -> str:
    weeks = weeks_unanswered(eng, now)
    if weeks >= rule.unanswered_weeks:
        return f"at risk: no call answered for {weeks} weeks"
    return (f"at risk: her last {eng.low_listening_run} answered calls heard under "
            f"{rule.low_listening_share:.0%}")


async def _rows(store: Store, chosen: list[tuple[int, str]], req: ListRequest) -> list[dict]:
    found = {r["id"]: r for r in await reports.women_with_last_answer(
        store, None, [sid for sid, _ in chosen])}
    workers = await _workers_of(store) if req.by_worker else {}
    shown = {name: name_out(name, req.reveal) for name in await _worker_names(store)} \
        if req.by_worker else {}
    rows = []
    for n, (sid, reason) in enumerate(chosen, start=1):
        r = found[sid]
        rows.append({"rank": n, "id": sid, "phone": phone_out(r["phone"], req.reveal),
                     "name": name_out(r["name"], req.reveal), "language": r["language"],
                     "slot": r["slot"],
                     **({"worker": workers.get(sid, NO_WORKER)} if req.by_worker else {}),
                     "reason": reason})
    if req.by_worker:
        # ordered by the workers' names, each shown masked unless revealed
        rows.sort(key=lambda r: (r["worker"] == NO_WORKER, r["worker"], r["rank"]))
        for row in rows:
            row["worker"] = shown.get(row["worker"], row["worker"])
    return rows


async def _worker_names(store: Store) -> list[str]:
    return [w.name for w in await Workers(store).workers()]


async def _workers_of(store: Store) -> dict[int, str]:
    """Each woman's worker: her health worker, else her worker of another role (in the
    roles' order); two queries for every woman."""
    staff = Workers(store)
    names = {w.id: w.name for w in await staff.workers()}
    order = list(OwnerRole)
    best: dict[int, tuple[int, str]] = {}
    for a in await staff.assignments():
        rank_of_role = order.index(a.role)
        if a.subscriber_id not in best or rank_of_role < best[a.subscriber_id][0]:
            best[a.subscriber_id] = (rank_of_role, names.get(a.worker_id, f"worker {a.worker_id}"))
    return {sid: name for sid, (_, name) in best.items()}
