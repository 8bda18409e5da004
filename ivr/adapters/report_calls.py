"""`ivr report`'s calls (read-only): the rolled days (ivr/adapters/report_rollup.py) that lie
whole in the report's range, read from report_calls; every other instant of the range read
from the call rows (ivr/adapters/reports.py's call_cube); and, for the women whose values
changed since their calls were rolled (not rekeyed yet), those calls moved from their old
group to their new one. The rows are those of reports.call_cube, netted: one per group,
none with no call, so the report is the one the call rows alone give."""
from __future__ import annotations

from collections.abc import Iterable

from ivr.adapters import reports
from ivr.adapters.report_rollup import (WOMAN, changed_women, day_bounds, rolled_calls_of,
                                        whole_offset)
from ivr.adapters.store import Store

CUBE = ("grp", "kind", "number", "slot", "wd", "outcome", "hb", "replayed")


def spans(lo: float | None, hi: float | None, offset: int,
          rolled: Iterable[int]) -> tuple[tuple[int, int] | None, list[tuple]]:
    """The rolled days lying whole in [lo, hi): (first, last) of the run that holds them
    (None: none); and the parts of [lo, hi) they leave, each (start, end) with None for an
    open end."""
    inside = sorted(d for d in rolled
                    if (lo is None or day_bounds(offset, d)[0] >= lo)
                    and (hi is None or day_bounds(offset, d)[1] <= hi))
    if not inside:
        return None, [(lo, hi)]
    rest: list[tuple] = []
    start: float | None = lo
    for d in inside:
        a, b = day_bounds(offset, d)
        if start is None or start < a:
            rest.append((start, a))
        start = b
    end = float(day_bounds(offset, inside[-1])[1])
    if hi is None or end < hi:
        rest.append((end, hi))
    return (inside[0], inside[-1]), rest


def _group(by: str | None, values: tuple) -> str:
    """Her group, from her values in WOMAN's order (as reports.DIMENSIONS)."""
    return "all" if by is None else values[WOMAN.index(by)]


async def call_cube(store: Store, by: str | None, lo: float | None, hi: float | None,
                    offset: float, programme: str | None = None) -> list[dict]:
    """reports.call_cube's rows over [lo, hi), the closed days read from the rollup."""
    whole = whole_offset(offset)
    rolled = [] if whole is None else [r[0] for r in await store.fetchall(
        "SELECT day FROM report_days WHERE utc_offset = ?", (whole,))]
    days, rest = spans(lo, hi, whole or 0, rolled)
    rows: list[dict] = []
    for a, b in rest:
        rows += map(dict, await reports.call_cube(store, by, a, b, offset, programme))
    if days is None or whole is None:
        return rows
    cond, args = reports.in_range("s.day", days[0], days[1] + 1, programme)
    rows += map(dict, await store.fetchall(
        f"SELECT {reports.group_column(by)} AS grp, s.kind, s.number, s.slot, "
        "(s.day + 4) % 7 AS wd, s.outcome, s.hb, s.replayed, CAST(SUM(s.n) AS INTEGER) AS n, "
        "SUM(s.heard) AS heard FROM report_calls s WHERE s.utc_offset = ? AND "
        f"{cond} GROUP BY grp, s.kind, s.number, s.slot, wd, s.outcome, s.hb, s.replayed",
        (whole, *args)))
    rows += await _moved(store, by, whole, days, programme)
    return _netted(rows)


async def _moved(store: Store, by: str | None, offset: int, days: tuple[int, int],
                 programme: str | None) -> list[dict]:
    """The rolled calls of the women whose values changed: out of their old group (n and
    heard negative), into their new one."""
    changed = {c["sid"]: c for c in await changed_women(store)}
    out = []
    for r in await rolled_calls_of(store, list(changed), offset, days):
        for values, sign in ((changed[r["sid"]]["old"], -1), (changed[r["sid"]]["new"], 1)):
            if programme is not None and values[0] != programme:
                continue
            out.append({"grp": _group(by, values), "kind": r["kind"], "number": r["number"],
                        "slot": values[2], "wd": (r["day"] + 4) % 7, "outcome": r["outcome"],
                        "hb": r["hb"], "replayed": r["replayed"], "n": sign * r["n"],
                        "heard": sign * r["heard"]})
    return out


def _netted(rows: list[dict]) -> list[dict]:
    cells: dict[tuple, dict] = {}
    for r in rows:
        key = tuple(r[k] for k in CUBE)
        cell = cells.get(key)
        if cell is None:
            cells[key] = dict(r)
        else:
            cell["n"] += r["n"]
            cell["heard"] += r["heard"]
    return [c for c in cells.values() if c["n"]]
