"""`ivr report`'s list of the women at risk of dropping out (scheduler/engagement.py's rule),
worst first: the call centre's list; and the engagements behind it (`ivr outreach`).

Read from the summary per woman (ivr/adapters/report_engagement.py) and the calls since, or
reduced per woman by the database over every call (reports.at_risk_women) while there is
no summary. A list of 200,000 women is the report's largest part: the rule is applied to
the summary's numbers (flagged_weeks), the local times written per day (records.Whens)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from ivr.adapters import report_engagement, reports
from ivr.adapters.columns import instant
from ivr.adapters.store import Store
from ivr.operators.records import Whens, name_out, phone_out
from scheduler.engagement import WEEK_SECONDS, Engagement, flagged_weeks
from scheduler.programme import Programme


async def at_risk_engagements(store: Store, programme: Programme, now: datetime,
                              only: str | None = None) -> dict[int, Engagement]:
    """The active women flagged by the programme's at-risk rule, with what the rule reads of
    her engagement (`only`: the women of that programme): the weeks unanswered and the run of
    low listening since her last well-heard answered call (that call resets both counters),
    from the summary per woman (ivr/adapters/report_engagement.py) and the calls since, or
    reduced per woman by the database over every call (reports.at_risk_women) while there is
    no summary; the rule decides."""
    flagged, _ = await _flagged(store, programme, now, only)
    return {r["subscriber_id"]: Engagement(unanswered_since=instant(r["since"]),
                                           low_listening_run=r["low_run"])
            for r, _ in flagged}


async def _flagged(store: Store, programme: Programme, now: datetime, only: str | None,
                   by: str | None = None) -> tuple[list[tuple[Any, int]], bool]:
    """The flagged women's rows, each with her whole weeks unanswered: with her contact
    columns, group (`by`) and last answer when read from the summary
    (report_engagement.at_risk_women); and whether they were (False: the summary was not
    there, reports.at_risk_women's rows)."""
    rule = programme.at_risk
    since = now.timestamp() - rule.unanswered_weeks * WEEK_SECONDS
    rows: list[Any] | None = await report_engagement.at_risk_women(
        store, low_share=rule.low_listening_share, unanswered_since=since,
        low_calls=rule.low_listening_calls, programme=only, by=by)
    known = rows is not None
    if rows is None:
        rows = await reports.at_risk_women(
            store, low_share=rule.low_listening_share, unanswered_since=since,
            low_calls=rule.low_listening_calls, programme=only)
    weeks = flagged_weeks([(r["since"], r["low_run"]) for r in rows], rule, now)
    return [(r, w) for r, w in zip(rows, weeks, strict=True) if w is not None], known


async def at_risk_list(store: Store, programme: Programme, by: str | None, now: datetime,
                       reveal: bool, only: str | None) -> list[dict]:
    """Active women flagged by the programme's at-risk rule, worst first: the call centre's
    list."""
    rule = programme.at_risk
    flagged, known = await _flagged(store, programme, now, only, by)
    weeks_of = {r["subscriber_id"]: (weeks, r["low_run"]) for r, weeks in flagged}
    women = [r for r, _ in flagged] if known else \
        await reports.women_with_last_answer(store, by, list(weeks_of))
    local = Whens()
    out = []
    for s in women:
        weeks, low_run = weeks_of[s["id"]]
        out.append({"group": s["grp"], "woman": s["id"], "phone": phone_out(s["phone"], reveal),
                    "name": name_out(s["name"], reveal), "language": s["language"],
                    "slot": s["slot"],
                    "partner": s["partner"], "weeks_unanswered": weeks,
                    "low_listening_run": low_run,
                    "why": "unanswered" if weeks >= rule.unanswered_weeks else "low listening",
                    "last_answered": local(s["last_answered"], s["timezone"])})
    out.sort(key=lambda r: (-r["weeks_unanswered"], -r["low_listening_run"], r["woman"]))
    return out
