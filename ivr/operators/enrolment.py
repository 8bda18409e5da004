"""Enrolling women in the store: one (`ivr enrol`) or a checked import plan (`ivr import`).

An import goes in as ONE transaction: the checks against the database (a phone already
live is a duplicate; a woman who opted out is not enrolled again by a file; the same
pregnancy already enrolled and ended is not enrolled again) and every insert happen inside
it, so a file goes in whole or not at all, and two imports cannot race on one phone.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from ivr.adapters import records
from ivr.adapters.columns import instant
from ivr.adapters.erasure import erased_numbers
from ivr.adapters.schedule_store import ScheduleStore
from ivr.adapters.store import DB_ERRORS
from ivr.operators.imports import ImportPlan, Problem, Row
from scheduler.model import SchedulerError, Subscriber

# a row refused by the rules or by the database (either store)
_REFUSED: tuple[type[Exception], ...] = (SchedulerError, *DB_ERRORS)

CHUNK = 5_000         # rows a call of enrol_many (one transaction for the whole file)


@dataclass
class ImportResult:
    enrolled: list[Subscriber] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)     # already in the store


async def known_phones(sched: ScheduleStore, phones: list[str]) -> dict[str, list[dict]]:
    """Every record of these phones, newest first."""
    return await records.phone_records(sched.store, phones)


def why_skip(row: Row, records: list[dict]) -> str | None:
    """Why this row must not enrol a new woman, given the phone's records (newest first)."""
    if not records:
        return None
    sub = row.enrolment.subscriber
    for r in records:
        if r["status"] in ("active", "paused"):
            return f"already enrolled (woman {r['id']}, {r['status']})"
    last = records[0]
    if last["status"] == "opted_out":
        day = instant(last["updated_at"]).date()
        return (f"she opted out (woman {last['id']}, {day}): a file does not enrol her "
                "again; use ivr enrol --re-enrol --consent-date if she asks to come back")
    dates = tuple(d and d.isoformat() for d in (sub.lmp, sub.edd, sub.child_dob))
    for r in records:
        theirs = (r["lmp"], r["edd"], r["child_dob"])
        if any(a is not None and a == b for a, b in zip(dates, theirs, strict=True)):
            return (f"this pregnancy is already enrolled (woman {r['id']}, {r['status']}"
                    f"{': ' + r['status_reason'] if r['status_reason'] else ''})")
    return None


async def run_import(sched: ScheduleStore, plan: ImportPlan, now: datetime, *, actor: str,
                     dry_run: bool = False,
                     progress: Callable[[int], None] | None = None) -> ImportResult:
    """Enrol the plan's good rows not already in the store, in one transaction. With
    dry_run, everything is checked and then rolled back: nothing is written."""
    result = ImportResult()
    try:
        async with sched.store.transaction():
            known = await known_phones(sched, [r.phone for r in plan.rows])
            erased = await erased_numbers(sched.store, [r.phone for r in plan.rows])
            todo = []
            for row in plan.rows:
                reason = why_skip(row, known.get(row.phone, []))
                if reason is None and row.phone in erased:
                    reason = (f"she opted out and her record was erased "
                              f"({erased[row.phone].date()}): a file does not enrol her "
                              "again; use ivr enrol --re-enrol --consent-date if she asks "
                              "to come back")
                if reason:
                    result.skipped.append(Problem(row.line, reason, duplicate=True))
                else:
                    todo.append(row)
            # each woman by her programme's store (several programmes: ivr/adapters/schedules.py)
            todo.sort(key=lambda r: (r.programme, r.line))
            for i in range(0, len(todo), CHUNK):
                part = todo[i:i + CHUNK]
                try:
                    for name in dict.fromkeys(r.programme for r in part):
                        hers = [r for r in part if r.programme == name]
                        try:
                            result.enrolled += await sched.of(name or None).enrol_many(
                                [r.enrolment for r in hers], now, actor=actor)
                        except _REFUSED:
                            part = hers            # its row numbers count in this group
                            raise
                except _REFUSED as e:
                    m = re.match(r"row (\d+): (.*)", str(e), re.S)
                    if m and int(m.group(1)) <= len(part):
                        line = part[int(m.group(1)) - 1].line
                        raise RowFailed(line, line, m.group(2)) from e
                    raise RowFailed(part[0].line, part[-1].line, e) from e
                if progress:
                    progress(len(part))
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return result


class RowFailed(Exception):
    """A row the checks passed but the store refused: the whole import was rolled back."""

    def __init__(self, first: int, last: int, error: Exception | str):
        where = f"line {first}" if first == last else f"lines {first}-{last}"
        super().__init__(f"{where}: {error} (nothing was imported)")
        self.error = error


class _DryRun(Exception):
    pass
