"""`ivr report`'s outreach section: the call centre's outreach calls (`ivr outreach done`),
per group and worker ("(all)" first, then each worker, "(none)" when no worker was named),
this week (the programme's local week, from Monday) and in the report's range ("total"):
calls, and calls by outcome. Counts only, no woman's identity; a worker's name masked unless
`reveal`."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ivr.operators.records import name_out
from scheduler.outreach_weeks import OUTCOMES

ALL, NONE = "(all)", "(none)"
PERIODS = ("this_week", "total")


def outreach_calls(this_week: Iterable[Mapping[str, Any]],
                   total: Iterable[Mapping[str, Any]], reveal: bool = False) -> list[dict]:
    cells: dict[tuple, dict] = {}
    for period, rows in zip(PERIODS, (this_week, total), strict=True):
        for r in rows:
            name = r["worker_name"] if r["worker_id"] is not None else NONE
            for who in (ALL, (name, r["worker_id"] or 0)):
                cell = cells.setdefault((str(r["grp"]), who, period),
                                        {"calls": 0, **dict.fromkeys(OUTCOMES, 0)})
                cell["calls"] += r["n"]
                cell[r["outcome"]] += r["n"]
    groups_workers = sorted({(g, w) for g, w, _ in cells}, key=lambda gw: (gw[0], _order(gw[1])))
    out = []
    for g, w in groups_workers:
        for period in PERIODS:
            cell = cells.get((g, w, period), {"calls": 0, **dict.fromkeys(OUTCOMES, 0)})
            shown = w if w == ALL else w[0] if w[0] == NONE else name_out(w[0], reveal)
            out.append({"group": g, "worker": shown, "period": period, **cell})
    return out


def _order(who) -> tuple:
    """(all) first, then the workers by name (and id), (none) last."""
    if who == ALL:
        return (0, "", 0)
    return (2 if who[0] == NONE else 1, who[0], who[1])
