"""`ivr report`'s outreach section from its query's rows (ivr/operators/report_outreach.py):
per group, "(all)" first, the workers by name, "(none)" last; this week and total; the
workers' names as initials unless revealed."""
from ivr.operators.report_outreach import outreach_calls


def row(grp, worker_id, name, outcome, n):
    return {"grp": grp, "worker_id": worker_id, "worker_name": name, "outcome": outcome, "n": n}


def test_outreach_section_rows_per_group_and_worker():
    total = [row("hi", 2, "Zoya", "reached", 3), row("hi", 1, "Asha", "refused", 1),
             row("hi", None, None, "not_reached", 2), row("mr", 1, "Asha", "reached", 1)]
    week = [row("hi", 2, "Zoya", "reached", 1)]
    got = [(r["group"], r["worker"], r["period"], r["calls"], r["reached"], r["not_reached"],
            r["refused"], r["wrong_number"]) for r in outreach_calls(week, total, reveal=True)]
    assert got == [
        ("hi", "(all)", "this_week", 1, 1, 0, 0, 0), ("hi", "(all)", "total", 6, 3, 2, 1, 0),
        ("hi", "Asha", "this_week", 0, 0, 0, 0, 0), ("hi", "Asha", "total", 1, 0, 0, 1, 0),
        ("hi", "Zoya", "this_week", 1, 1, 0, 0, 0), ("hi", "Zoya", "total", 3, 3, 0, 0, 0),
        ("hi", "(none)", "this_week", 0, 0, 0, 0, 0), ("hi", "(none)", "total", 2, 0, 2, 0, 0),
        ("mr", "(all)", "this_week", 0, 0, 0, 0, 0), ("mr", "(all)", "total", 1, 1, 0, 0, 0),
        ("mr", "Asha", "this_week", 0, 0, 0, 0, 0), ("mr", "Asha", "total", 1, 1, 0, 0, 0),
    ]
    masked = [(r["group"], r["worker"]) for r in outreach_calls(week, total)]
    assert masked == [(g, {"Asha": "A.", "Zoya": "Z."}.get(w, w)) for g, w, *_ in got]


def test_outreach_section_is_empty_without_calls():
    assert outreach_calls([], []) == []
