"""The queries of `ivr report`'s two-way sections (read-only): her answers to the programme's
questions, and the follow-ups opened for workers (tables of migration 008_answers). Grouped
like the other sections (ivr/adapters/reports.py's `by`), over a range [lo, hi) of epoch
seconds. ivr/operators/report_two_way.py turns the rows into the sections.

Aggregated in SQL where a count is enough (answers: counted by week, question, status and
value, never read per woman); a follow-up's rows carry no woman's id nor reason, only what
the per-worker figures need."""
from __future__ import annotations

from ivr.adapters.reports import Rows, group_column, in_range
from ivr.adapters.store import Store


async def answer_counts(store: Store, by: str | None, lo: float | None, hi: float | None,
                        programme: str) -> Rows:
    """Current answers (not superseded) given in the range by women of `programme`, counted
    (n) by group, week, question, status and value; answers from test calls never count."""
    cond, args = in_range("a.answered_at", lo, hi)
    return await store.fetchall(
        f"SELECT {group_column(by)} AS grp, a.week, a.question, a.status, a.value, COUNT(*) AS n "
        "FROM answers a JOIN subscribers s ON s.id = a.subscriber_id "
        "WHERE a.superseded_at IS NULL AND s.programme = ? AND NOT EXISTS (SELECT 1 FROM "
        "attempts t WHERE t.id = a.attempt_id AND t.kind = 'test') "
        f"AND {cond} GROUP BY grp, a.week, a.question, a.status, a.value",
        (programme, *args))


async def follow_ups(store: Store, by: str | None, lo: float | None, hi: float | None,
                     programme: str | None = None) -> Rows:
    """The follow-ups that matter to the range: opened in it, closed in it, or open now (and
    opened before its end): their owner (worker id, name and role; NULL: the role's pool),
    when opened and closed, due date and outcome."""
    opened, o_args = in_range("f.opened_at", lo, hi)
    closed, c_args = in_range("f.closed_at", lo, hi)
    before_end, e_args = in_range("f.opened_at", None, hi)
    hers, h_args = in_range("f.opened_at", None, None, programme)
    return await store.fetchall(
        f"SELECT {group_column(by)} AS grp, f.worker_id, w.name AS worker_name, f.owner_role, "
        "f.opened_at, f.closed_at, f.due_on, f.outcome "
        "FROM follow_ups f JOIN subscribers s ON s.id = f.subscriber_id "
        "LEFT JOIN workers w ON w.id = f.worker_id "
        f"WHERE (({opened}) OR (f.closed_at IS NOT NULL AND {closed}) "
        f"OR (f.closed_at IS NULL AND {before_end})) AND {hers}",
        (*o_args, *c_args, *e_args, *h_args))
