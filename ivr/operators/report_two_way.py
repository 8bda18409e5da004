"""`ivr report`'s two-way sections (issue 15), from ivr/adapters/reports_two_way.py's rows:

- answers_by_week: per group, ISO week (as stored: her local week when she answered) and
  question of the programme: answered, skipped, and the values: yes/no counts, each choice's
  count ("1=4 2=0 3=1"), a number's median, min and max. Only counts and these figures, never
  one woman's answer beside her identity. Small cells: a median/min/max over fewer than
  MIN_CELL answers would be (nearly) one child's own measure, so it is shown as "<5" instead;
  counts are exact, as in every other section of the report (who may read it is the staff
  who already see her record).
- followups_by_worker: per group and owner (a worker, or a role's pool when she has no
  worker of the rule's role): opened and closed in the range, open and overdue now (overdue:
  open and its due date before today, the programme's zone), closed by outcome, and the
  median days from opening to closing of those closed in the range.
- answered_line: the answered line's use in the range (ivr/adapters/inbound_calls.py's
  line_usage): calls by caller kind (woman, unknown, agent), and what was done on them (slot
  or language changed, birth reported, opted out, children answered for by an agent, calls
  passed to the call centre). One row (group "all", whatever `by`: an unknown caller has no
  language, slot or partner); nothing when nobody called. With a programme: the calls about
  its women (hers, or an agent's about its child); the calls about nobody (an unknown
  caller, an agent who answered for no child) are the default programme's, whose line
  served them.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from ivr.adapters.inbound_calls import line_usage
from ivr.adapters.store import Store
from ivr.operators.records import name_out
from scheduler.followups import OUTCOMES
from scheduler.programme import Programme
from scheduler.questions_model import NO, YES, AnswerType

MIN_CELL = 5
SMALL = f"<{MIN_CELL}"
POOL = "(pool)"


def answers_by_week(rows: Iterable[Mapping[str, Any]], programme: Programme) -> list[dict]:
    order = {q.key: i for i, q in enumerate(programme.questions)}
    cells: dict[tuple, dict] = {}
    for r in rows:
        cell = cells.setdefault((r["grp"], r["week"], r["question"]),
                                {"answered": 0, "skipped": 0, "values": defaultdict(int)})
        cell[r["status"]] += r["n"]
        if r["status"] == "answered":
            cell["values"][r["value"]] += r["n"]
    out = []
    for (grp, week, key), cell in sorted(cells.items(), key=lambda kv: (
            str(kv[0][0]), kv[0][1], order.get(kv[0][2], len(order)), kv[0][2])):
        out.append({"group": grp, "week": week, "question": key, "answered": cell["answered"],
                    "skipped": cell["skipped"],
                    **_distribution(programme, key, cell["values"])})
    return out


def _distribution(programme: Programme, key: str, values: Mapping[str, int]) -> dict:
    out: dict[str, Any] = {"type": None, "yes": None, "no": None, "choices": None,
                           "median": None, "min": None, "max": None}
    try:
        q = programme.question(key)
    except KeyError:                   # not (or no longer) in the programme file: counts only
        return out
    out["type"] = q.type.value
    if q.type is AnswerType.YES_NO:
        out["yes"], out["no"] = values.get(str(YES), 0), values.get(str(NO), 0)
    elif q.type is AnswerType.CHOICE:
        out["choices"] = " ".join(f"{k}={values.get(str(k), 0)}" for k in q.keys)
    else:
        numbers = sorted(n for v, count in values.items() for n in [Decimal(v)] * count)
        if 0 < len(numbers) < MIN_CELL:
            out.update(median=SMALL, min=SMALL, max=SMALL)
        elif numbers:
            out.update(median=float(statistics.median(numbers)), min=float(numbers[0]),
                       max=float(numbers[-1]))
    return out


def followups_by_worker(rows: Iterable[Mapping[str, Any]], lo: float | None, hi: float | None,
                         today: date, reveal: bool = False) -> list[dict]:
    """Per owner; a worker's name masked unless `reveal`."""
    owners: dict[tuple, dict] = {}
    days: dict[tuple, list[float]] = defaultdict(list)
    for r in rows:
        key = (r["grp"], r["owner_role"], r["worker_id"] is None, r["worker_id"] or 0)
        row = owners.setdefault(key, {
            "group": r["grp"], "worker": r["worker_id"],
            "name": name_out(r["worker_name"], reveal) if r["worker_id"] is not None else POOL,
            "role": r["owner_role"], "opened": 0, "closed": 0, "open": 0, "overdue": 0,
            **dict.fromkeys(OUTCOMES, 0)})
        row["opened"] += _within(r["opened_at"], lo, hi)
        if r["closed_at"] is None:
            row["open"] += 1
            row["overdue"] += r["due_on"] < today.isoformat()
        elif _within(r["closed_at"], lo, hi):
            row["closed"] += 1
            row[r["outcome"]] += 1
            days[key].append((r["closed_at"] - r["opened_at"]) / 86400)
    return [{**row, "median_days_to_close": round(statistics.median(days[k]), 1)
             if days[k] else None} for k, row in sorted(owners.items(), key=lambda kv: (
                 str(kv[0][0]), kv[0][1], kv[0][2], kv[0][3]))]


def _within(t: float, lo: float | None, hi: float | None) -> bool:
    return (lo is None or t >= lo) and (hi is None or t < hi)


async def answered_line(store: Store, lo: float | None, hi: float | None, now: datetime,
                        programme: str | None = None, *, nobodys: bool = True) -> list[dict]:
    """`programme`: the calls about its women (and with `nobodys` the calls about nobody,
    which the default programme's line served); None: every call."""
    since = datetime.fromtimestamp(lo if lo is not None else 0, timezone.utc)
    until = datetime.fromtimestamp(hi, timezone.utc) if hi is not None else now + timedelta(days=1)
    usage = await line_usage(store, since, until, programme, nobodys)
    calls = sum(v for k, v in usage.items() if k.startswith("calls_"))
    return [{"group": "all", "calls": calls, **usage}] if calls else []
