"""The report as one self-contained HTML page: tables and matplotlib charts (Agg backend),
the PNGs embedded as base64, so the file can be opened anywhere and sent on by e-mail."""
from __future__ import annotations

import base64
import html
import io

from ivr.operators.report import SHARE_COLUMNS

SECTIONS = (
    ("funnel", "Funnel: enrolled, valid number, first call attempted, first call answered"),
    ("pickup_by_attempt", "Pick-up by attempt number"),
    ("pickup_by_slot", "Pick-up by time slot"),
    ("pickup_by_weekday", "Pick-up by weekday"),
    ("listening", "Listening: answered calls heard at least 50% / 75%, and replayed (key 1)"),
    ("failure_mix", "Failure mix (calls not answered)"),
    ("retention", "Retention"),
    ("deactivation_reasons", "Deactivation and opt-out reasons"),
    ("callbacks", "Missed calls and callbacks"),
    ("at_risk", "Women at risk of dropping out (call-centre list)"),
    ("promised_calls", "Women promised a call by the call centre (their opt-out by key failed)"),
    ("answers_by_week", "Answers by week, per question (median, min, max shown as <5 under 5 "
                        "answers)"),
    ("followups_by_worker", "Follow-ups per worker and role pool: opened and closed in the "
                            "range, open and overdue now"),
    ("answered_line", "Answered line: calls by caller (woman, unknown, agent) and what was done "
                      "on them"),
    ("outreach", "Outreach calls by the call centre, per worker: this week and in the range, "
                 "by outcome"),
)


LABELS = {"rate": "answered", "reached_by_here": "reached by then", "share_50": "heard >= 50%",
          "share_75": "heard >= 75%", "share_replayed": "replayed"}


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _groups(rows: list[dict]) -> list:
    return sorted({r["group"] for r in rows}, key=str)


def _bars(plt, rows: list[dict], x: str, ys: list[str], title: str, ylabel: str,
          percent: bool = False):
    """Grouped bars: one colour per (group, y)."""
    if not rows:
        return None
    groups = _groups(rows)
    xs = list(dict.fromkeys(r[x] for r in rows))
    series = [(g, y) for g in groups for y in ys]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    width = 0.8 / len(series)
    for i, (g, y) in enumerate(series):
        values = {r[x]: (r[y] or 0) for r in rows if r["group"] == g}
        heights = [values.get(v, 0) * (100 if percent else 1) for v in xs]
        label = " ".join(str(p) for p in ((g if len(groups) > 1 else None),
                                          (LABELS.get(y, y) if len(ys) > 1 else None))
                         if p) or None
        ax.bar([j + i * width - 0.4 + width / 2 for j in range(len(xs))], heights, width,
               label=label)
    ax.set_xticks(range(len(xs)), [str(v).replace("_", " ") for v in xs],
                  rotation=30 if len(xs) > 5 else 0, ha="right" if len(xs) > 5 else "center")
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    if percent:
        ax.set_ylim(0, 100)
    if len(series) > 1:
        ax.legend(fontsize=8, ncols=min(4, len(series)), loc="upper center",
                  bbox_to_anchor=(0.5, -0.22 if len(xs) > 5 else -0.12), frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return fig


def charts(report: dict) -> list[tuple[str, str]]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # labels come from the data (partner names, reasons): never parse them as mathtext,
    # where "$x^{$" is a syntax error and "$a$" a formula
    with matplotlib.rc_context({"text.parse_math": False, "text.usetex": False}):
        return _charts(plt, report)


def _charts(plt, report: dict) -> list[tuple[str, str]]:
    funnel = [dict(group=r["group"], step=step, women=r[key]) for r in report["funnel"]
              for step, key in (("enrolled", "enrolled"), ("valid number", "valid_number"),
                                ("first attempt", "first_attempt"),
                                ("first answer", "first_answer"))]
    mix = [dict(group=r["group"], outcome=o, calls=r[o]) for r in report["failure_mix"]
           for o in r if o not in ("group", "total")]
    specs = [
        ("funnel", _bars(plt, funnel, "step", ["women"], "Funnel", "women")),
        ("pickup_by_attempt", _bars(plt, report["pickup_by_attempt"], "attempt",
                                    ["rate", "reached_by_here"],
                                    "Answered at attempt N, and reached by attempt N", "%",
                                    percent=True)),
        ("pickup_by_slot", _bars(plt, report["pickup_by_slot"], "slot", ["rate"],
                                 "Pick-up by time slot", "% answered", percent=True)),
        ("pickup_by_weekday", _bars(plt, report["pickup_by_weekday"], "weekday", ["rate"],
                                    "Pick-up by weekday", "% answered", percent=True)),
        ("listening", _bars(plt, [dict(r, group="all", who=r["group"])
                                  for r in report["listening"]],
                            "who", ["share_50", "share_75", "share_replayed"],
                            "Answered calls heard at least 50% and 75%, and replayed", "%",
                            percent=True)),
        ("failure_mix", _bars(plt, mix, "outcome", ["calls"], "Calls not answered, by outcome",
                              "calls")),
        ("retention", _bars(plt, [dict(group=r["group"], status=k, women=r[k])
                                  for r in report["retention"]
                                  for k in ("active", "paused", "completed", "opted_out",
                                            "deactivated")],
                            "status", ["women"], "Where the women enrolled are now", "women")),
        ("deactivation_reasons", _bars(plt, report["deactivation_reasons"], "reason", ["women"],
                                       "Why women left", "women")),
        ("answers_by_week", _bars(plt, [dict(r, group=_joined(r["group"], r["question"]))
                                        for r in report["answers_by_week"]],
                                  "week", ["answered"], "Questions answered, by week",
                                  "answers")),
        ("followups_by_worker", _bars(plt, [dict(r, group="all", who=_joined(
                                          r["group"], f"{r['role']} pool" if r["worker"] is None
                                          else f"{r['name']} ({r['role']})"))
                                          for r in report["followups_by_worker"]],
                                      "who", ["open", "overdue"],
                                      "Follow-ups open and overdue now", "follow-ups")),
        ("answered_line", _bars(plt, [dict(group="all", what=k, n=v)
                                      for r in report["answered_line"] for k, v in r.items()
                                      if k not in ("group", "calls")],
                                "what", ["n"], "Answered line: calls, and what was done",
                                "calls")),
        ("outreach", _bars(plt, [dict(r, group=_joined(r["group"], r["period"].replace("_", " ")))
                                 for r in report["outreach"]],
                           "worker", ["calls"], "Outreach calls per worker", "calls")),
    ]
    out = []
    for name, fig in specs:
        if fig is not None:
            out.append((name, _png(fig)))
            plt.close(fig)
    return out


def _joined(group, label: str) -> str:
    """A chart's series name: the label, after its group when the report is broken down."""
    return label if group == "all" else f"{group} {label}"


def _table(rows: list[dict], limit: int = 500) -> str:
    if not rows:
        return "<p class=empty>nothing in this range</p>"
    cols = list(rows[0])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(c), c))}</td>" for c in cols)
                   + "</tr>" for r in rows[:limit])
    more = f"<p>... and {len(rows) - limit} more (see --csv)</p>" if len(rows) > limit else ""
    return f"<table><tr>{head}</tr>{body}</table>{more}"


def _fmt(v, column: str) -> str:
    """A cell as text: the column's kind decides, not the value's size: a share is a
    percentage (0.5 -> 50.0%), any other number stays a number (a 0.5-minute delay: 0.5)."""
    if v is None:
        return "-"
    if column in SHARE_COLUMNS and isinstance(v, (int, float)):
        return f"{v:.1%}"
    if isinstance(v, float):
        return f"{v:.1f}"
    return str(v)


def render(report: dict) -> str:
    pictures = dict(charts(report))
    title = (f"{report['programme']} report, {report['from'] or 'start'} to "
             f"{report['to'] or 'today'}, by {report['by']}")
    parts = [f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}"
             "</title><style>body{font-family:sans-serif;max-width:60em;margin:auto;padding:1em}"
             "table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #ccc;"
             "padding:2px 6px;text-align:right}th{background:#eee}img{max-width:100%}"
             "</style></head><body>",
             f"<h1>{html.escape(title)}</h1><p>Generated {html.escape(report['generated_at'])}"
             f" ({html.escape(report['timezone'])})."
             + (" Phone numbers and names are in clear: handle with care.</p>"
                if report.get("revealed") else " Phone numbers and names are masked.</p>")]
    for key, heading in SECTIONS:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        if key in pictures:
            parts.append(f"<img alt='{key}' src='data:image/png;base64,{pictures[key]}'>")
        parts.append(_table(report[key]))
    parts.append("</body></html>")
    return "\n".join(parts)
