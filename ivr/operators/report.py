"""`ivr report`: what the programme achieved, from read-only queries of the store
(ivr/adapters/reports.py).

Sections (each a list of rows with a "group" key: the whole programme, or one language,
slot or enrolment partner with `by`): funnel, pickup_by_attempt, pickup_by_slot,
pickup_by_weekday, listening, failure_mix, retention, deactivation_reasons, callbacks, and
the list of women at risk of dropping out (scheduler/engagement.py's rule); her answers to
the programme's questions by week, follow-ups per worker and the answered line's use
(ivr/operators/report_two_way.py); the call centre's outreach calls
(ivr/operators/report_outreach.py).

A date range selects women enrolled in it (funnel, retention), calls placed in it (pick-up,
listening, failures) and missed calls received in it (callbacks); days are local days of
the programme's zone. Test calls never count. One scan of the attempts feeds every call
section, so a report over a million calls takes a few seconds; the calls of closed days are
read from their daily counts (ivr/adapters/report_rollup.py) when `ivr run` has rolled them.

An installation of several programmes: each section per programme (its zone, its rules), and
the counting sections' totals over them, built from the programmes' own rows (build_report).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable, Sequence

from ivr.adapters import (outreach, report_calls, report_engagement, reports,
                          reports_two_way)
from ivr.adapters.columns import epoch
from ivr.adapters.store import Store
from ivr.errors import BadInput
from ivr.operators.records import day_range, name_out, phone_out, when
from ivr.operators.report_at_risk import at_risk_list
from ivr.operators.report_outreach import outreach_calls
from ivr.operators.report_two_way import answered_line, answers_by_week, followups_by_worker
from scheduler.outcome import Outcome
from scheduler.programme import Programme
from scheduler.outreach_weeks import week_start
from scheduler.slots import zone

WEEKDAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")   # SQLite's %w order
FAILURES = tuple(o.value for o in Outcome if not o.answered)
# the columns holding a share (0..1, shown as a percentage); every other number is a count,
# minutes (median_delay_min, p90_delay_min) or weeks, shown as it is
SHARE_COLUMNS = frozenset({"rate", "reached_by_here", "share_50", "share_75", "mean_heard",
                           "share_replayed", "retained"})


@dataclass(frozen=True)
class ReportRequest:
    first: date | None = None
    last: date | None = None
    by: str | None = None          # None, "language", "slot", "partner"
    reveal: bool = False
    programme: str | None = None   # only this programme's women (None: every woman)


def _rate(n: float, d: float) -> float | None:
    return round(n / d, 4) if d else None


HEAD = ("programme", "from", "to", "by", "generated_at", "timezone")
SECTIONS = ("funnel", "pickup_by_attempt", "pickup_by_slot", "pickup_by_weekday", "listening",
            "failure_mix", "retention", "deactivation_reasons", "callbacks", "at_risk",
            "promised_calls", "answers_by_week", "followups_by_worker", "answered_line",
            "outreach")
TOTAL = "all programmes"       # the group of the totals over several programmes
NOT_ENROLLED = "(not enrolled)"


async def build_report(store: Store, programmes: Sequence[Programme], req: ReportRequest,
                       now: datetime) -> dict:
    """The report of the installation's `programmes` (the default first). `req.programme`:
    only that programme's women, in its zone, by its rules. Else, with several programmes,
    every section per programme (each in its own zone, by its own rules: its group is the
    programme's name, "pesinet: fr" with `by`), and the sections that count also their
    totals over every programme (group "all programmes"): the sum of the programmes' own
    figures, each counted in its own zone. One programme: every woman, group "all". A
    `req.programme` the installation does not run: BadInput. Phone numbers and names (the
    at-risk and promised-call lists, the workers') masked unless `req.reveal`."""
    if req.by not in reports.DIMENSIONS:
        raise ValueError(f"cannot group by {req.by!r} (language, slot or partner)")
    default = programmes[0]
    if req.programme is not None:
        chosen = [p for p in programmes if p.name == req.programme][:1]
        if not chosen:
            raise BadInput(f"no programme {req.programme!r} in this installation (it runs: "
                           f"{', '.join(p.name for p in programmes)})")
    else:
        chosen = list(programmes) if len(programmes) > 1 else [default]
    several = len(chosen) > 1
    first = chosen[0]
    out: dict[str, Any] = {"programme": ", ".join(p.name for p in chosen),
                           "from": req.first and req.first.isoformat(),
                           "to": req.last and req.last.isoformat(), "by": req.by or "all",
                           "generated_at": when(now.timestamp(), first.timezone),
                           "timezone": ", ".join(dict.fromkeys(p.timezone for p in chosen))}
    raw: dict[str, list[dict]] = defaultdict(list)
    lists: dict[str, list[dict]] = defaultdict(list)
    for p in chosen:
        # `only`: a filter when the installation runs several (one: every woman, as ever)
        only = p.name if several or req.programme is not None else None
        label = _labeller(p.name if several else None, req.by)
        part = await _programme_rows(store, p, req, now, only, nobodys=p is default)
        for key, rows in part.items():
            raw[key] += [{**r, "grp": label(r["grp"])} for r in rows]
            if several:
                total = _labeller(TOTAL, req.by)
                raw[f"{key}:total"] += [{**r, "grp": total(r["grp"])} for r in rows]
        lo, hi = day_range(req.first, req.last, p.timezone)
        today = now.astimezone(zone(p.timezone)).date()
        for key, rows in (
                ("at_risk", await at_risk_list(store, p, req.by, now, req.reveal, only)),
                ("promised_calls", await _promised_calls(store, req.by, req.reveal, only)),
                ("answers_by_week", answers_by_week(map(dict, await reports_two_way.answer_counts(
                    store, req.by, lo, hi, p.name)), p)),
                ("followups_by_worker", followups_by_worker(map(dict, await reports_two_way.
                    follow_ups(store, req.by, lo, hi, only)), lo, hi, today, req.reveal))):
            # one programme: the group as it is (no copy of 200,000 at-risk rows)
            lists[key] += [{**r, "group": label(r["group"])} for r in rows] if several else rows
        usage = await answered_line(store, lo, hi, now, only, nobodys=p is default)
        lists["answered_line"] += [{**r, "group": p.name if several else r["group"]}
                                   for r in usage]
    out.update(lists)
    for suffix in ((":total", "") if several else ("",)):
        built = {**_women(raw[f"funnel{suffix}"], raw[f"statuses{suffix}"]),
                 **_calls(raw[f"cube{suffix}"]),
                 "callbacks": _callbacks(raw[f"missed{suffix}"], raw[f"requests{suffix}"]),
                 "outreach": outreach_calls(raw[f"week{suffix}"], raw[f"outreach{suffix}"],
                                            req.reveal)}
        for key, rows in built.items():
            out[key] = out.get(key, []) + rows
    if several and lists["answered_line"]:
        out["answered_line"] = [_sum_usage(lists["answered_line"]), *lists["answered_line"]]
    return {k: out[k] for k in (*HEAD, *SECTIONS)}


def _labeller(programme: str | None, by: str | None) -> Callable[[Any], Any]:
    """A row's group in a report of several programmes: her programme's name, with `by` its
    value after it; one programme: the group as it is."""
    if programme is None:
        return lambda grp: grp
    if by is None:
        return lambda grp: programme
    return lambda grp: f"{programme}: {NOT_ENROLLED if grp is None else grp}"


def _sum_usage(rows: list[dict]) -> dict:
    return {"group": TOTAL, **{k: sum(r[k] for r in rows) for k in rows[0] if k != "group"}}


async def _programme_rows(store: Store, p: Programme, req: ReportRequest, now: datetime,
                          only: str | None, *, nobodys: bool) -> dict[str, list[dict]]:
    """The raw rows of one programme's counting sections (its women enrolled, its calls
    placed, its missed calls received, in its zone's days; `nobodys`: the missed calls of
    no woman too, the default programme's); grouped by `req.by` (grp)."""
    lo, hi = day_range(req.first, req.last, p.timezone)
    offset = (now.astimezone(zone(p.timezone)).utcoffset() or timedelta(0)).total_seconds()
    by = req.by
    women = await report_engagement.funnel(store, by, lo, hi, only)
    if women is None:           # no summary yet: every woman's calls probed
        women = await reports.funnel(store, by, lo, hi, only)
    rows: dict[str, Any] = {"funnel": women,
            "statuses": await reports.statuses(store, by, lo, hi, only),
            "cube": await report_calls.call_cube(store, by, lo, hi, offset, only),
            "missed": await reports.missed_calls(store, by, lo, hi, only, nobodys),
            "requests": await reports.callback_requests(store, by, lo, hi, only),
            "week": await outreach.call_counts(store, by, epoch(week_start(now, p.timezone)),
                                               None, only),
            "outreach": await outreach.call_counts(store, by, lo, hi, only)}
    return {k: [dict(r) for r in v] for k, v in rows.items()}


def _women(funnel_rows: list[dict], status: list[dict]) -> dict:
    # the groups in code point order, whatever the database's collation (as retention)
    funnel = _summed(funnel_rows, ("enrolled", "valid_number", "first_attempt", "first_answer"))
    retention: dict[str, dict] = {}
    reasons: dict[tuple, int] = defaultdict(int)
    for r in status:
        row = retention.setdefault(r["grp"], {"grp": r["grp"], "enrolled": 0, "active": 0,
                                              "paused": 0, "completed": 0, "opted_out": 0,
                                              "deactivated": 0})
        row[r["status"]] += r["n"]
        row["enrolled"] += r["n"]
        if r["status"] in ("opted_out", "deactivated"):
            reasons[(r["grp"], r["status_reason"] or r["status"])] += r["n"]
    for row in retention.values():
        row["retained"] = _rate(row["active"] + row["paused"] + row["completed"], row["enrolled"])
    return {"funnel": _groups(funnel),
            "retention": _groups(sorted(retention.values(), key=lambda r: r["grp"])),
            "deactivation_reasons": _groups([{"grp": k[0], "reason": k[1], "women": n}
                                             for k, n in sorted(reasons.items())])}


def _summed(rows: list[dict], columns: tuple[str, ...]) -> list[dict]:
    """Rows of the same group added up (a total's rows come from several programmes), in
    code point order of the groups."""
    out: dict[str, dict] = {}
    for r in rows:
        row = out.setdefault(r["grp"], {"grp": r["grp"], **dict.fromkeys(columns, 0)})
        for c in columns:
            row[c] += r[c] or 0
    return sorted(out.values(), key=lambda r: (r["grp"] is None, str(r["grp"])))


def _groups(rows: list[dict]) -> list[dict]:
    return [{"group": r.pop("grp"), **r} for r in rows]


def _calls(cube: list[dict]) -> dict:
    by_number: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    by_slot: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    by_day: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    listen: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0, 0.0, 0])
    mix: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FAILURES, 0))
    for r in cube:
        answered = r["outcome"] == "answered"
        n = r["n"]
        if r["kind"] == "scheduled":
            by_number[(r["grp"], r["number"])][0] += n
            by_number[(r["grp"], r["number"])][1] += n if answered else 0
        for table, key in ((by_slot, (r["grp"], r["slot"])), (by_day, (r["grp"], r["wd"]))):
            table[key][0] += n
            table[key][1] += n if answered else 0
        if answered:
            lst = listen[r["grp"]]
            lst[0] += n
            lst[1] += n if r["hb"] >= 1 else 0
            lst[2] += n if r["hb"] == 2 else 0
            lst[3] += r["heard"]
            lst[4] += n if r["replayed"] else 0
        else:
            mix[r["grp"]][r["outcome"]] += n
    return {
        "pickup_by_attempt": _pickup_by_attempt(by_number),
        "pickup_by_slot": [{"group": k[0], "slot": k[1], "calls": v[0], "answered": v[1],
                            "rate": _rate(v[1], v[0])} for k, v in sorted(by_slot.items())],
        "pickup_by_weekday": [{"group": k[0], "weekday": WEEKDAYS[k[1]], "calls": v[0],
                               "answered": v[1], "rate": _rate(v[1], v[0])}
                              for k, v in sorted(by_day.items(), key=lambda kv: (
                                  kv[0][0], (kv[0][1] + 6) % 7))],
        "listening": [{"group": k, "answered": v[0], "heard_50": v[1], "heard_75": v[2],
                       "share_50": _rate(v[1], v[0]), "share_75": _rate(v[2], v[0]),
                       "mean_heard": round(v[3] / v[0], 4) if v[0] else None,
                       "replayed": v[4], "share_replayed": _rate(v[4], v[0])}
                      for k, v in sorted(listen.items())],
        "failure_mix": [{"group": k, **v, "total": sum(v.values())}
                        for k, v in sorted(mix.items())],
    }


def _pickup_by_attempt(by_number: dict[tuple, list[int]]) -> list[dict]:
    """Answered share at attempt N, and reached by attempt N: the calls answered at attempts
    1..N over the messages tried (their first attempts), as Kilkari reports it (50% at the
    first attempt, 76% by the third). An answered call closes its message (unless the
    programme's delivered_share asks for more listening, when it may count twice)."""
    out: list[dict] = []
    seen, first = 0, 0
    for (grp, number), (calls, answered) in sorted(by_number.items()):
        if number == 1 or not out or out[-1]["group"] != grp:
            seen, first = 0, by_number.get((grp, 1), [0, 0])[0]
        seen += answered
        out.append({"group": grp, "attempt": number, "calls": calls, "answered": answered,
                    "rate": _rate(answered, calls),
                    "reached_by_here": min(1.0, round(seen / first, 4)) if first else None})
    return out


def _callbacks(missed_rows: list[dict], requests: list[dict]) -> list[dict]:
    missed = {r["grp"]: r for r in _summed(missed_rows, ("missed", "strangers"))}
    reqs: dict[str, dict] = {}
    delays: dict[str, list[float]] = defaultdict(list)
    for r in requests:
        row = reqs.setdefault(r["grp"], {"requests": 0, "served": 0, "expired": 0,
                                         "cancelled": 0, "pending": 0})
        row["requests"] += 1
        row[r["status"]] += 1
        if r["status"] == "served" and r["delay"] is not None:
            delays[r["grp"]].append(r["delay"])
    out = []
    for grp in sorted(set(missed) | set(reqs), key=str):
        m = missed.get(grp)
        d = sorted(delays[grp])
        out.append({"group": grp if grp is not None else NOT_ENROLLED,
                    "missed_calls": m["missed"] if m else 0, **reqs.get(grp, {
                        "requests": 0, "served": 0, "expired": 0, "cancelled": 0, "pending": 0}),
                    "median_delay_min": round(d[len(d) // 2] / 60, 1) if d else None,
                    "p90_delay_min": round(d[min(len(d) - 1, int(len(d) * 0.9))] / 60, 1)
                    if d else None})
    return out


async def _promised_calls(store: Store, by: str | None, reveal: bool,
                          only: str | None) -> list[dict]:
    """Women the IVR told that the call centre will call them (their opt-out by key could
    not be recorded), not yet handled, oldest first."""
    rows = await reports.promised_calls(store, by, only)
    return [{"group": r["grp"], "woman": r["subscriber_id"],
             "phone": phone_out(r["phone"], reveal), "name": name_out(r["name"], reveal),
             "language": r["language"], "why": r["reason"], "attempt": r["attempt_id"],
             "since": when(r["added_at"], r["timezone"])} for r in rows]
