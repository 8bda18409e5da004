"""`ivr report`: funnel, pick-up, listening, failures, retention, at-risk, callbacks, answers
by week, follow-ups per worker, the answered line, outreach calls."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ivr.commands.common import emit_json, fail, pass_settings, say
from ivr.commands.enrol import parse_date_option
from ivr.files import write_private
from ivr.operators.csvout import CsvOut

TITLES = {"funnel": "Funnel", "pickup_by_attempt": "Pick-up by attempt number",
          "pickup_by_slot": "Pick-up by slot", "pickup_by_weekday": "Pick-up by weekday",
          "listening": "Listening", "failure_mix": "Failure mix", "retention": "Retention",
          "deactivation_reasons": "Deactivation reasons",
          "callbacks": "Missed calls and callbacks", "at_risk": "Women at risk of dropping out",
          "promised_calls": "Women promised a call by the call centre",
          "answers_by_week": "Answers by week, per question",
          "followups_by_worker": "Follow-ups per worker (and role pool)",
          "answered_line": "Answered line: calls and what callers did",
          "outreach": "Outreach calls by the call centre, per worker: this week and total"}


@click.command(name="report")
@click.option("--from", "first", callback=parse_date_option, help="First day (default: the start).")
@click.option("--to", "last", callback=parse_date_option,
              help="Last day, included (default: today).")
@click.option("--by", type=click.Choice(["language", "slot", "partner"]),
              help="Break every figure down by language, slot or enrolment partner.")
@click.option("--json", "as_json", is_flag=True, help="The whole report as one JSON object.")
@click.option("--csv", "as_csv", is_flag=True,
              help="CSV on standard output: section,group,row,column,value.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write one self-contained HTML page with charts to this file.")
@click.option("--section", type=click.Choice(list(TITLES)),
              help="Only this section; with --csv, as a plain table (one row per line).")
@click.option("--reveal", is_flag=True, help="Show phone numbers and names "
              "(at-risk and promised-call lists, workers) in clear (audited).")
@click.option("--programme", "programme_name", default=None,
              help="Only this programme's women (its zone, at-risk rule and questions); "
              "default: every programme, each by its own, and their totals.")
@pass_settings
def command(settings, first, last, by, as_json, as_csv, html_path, section, reveal,
            programme_name):
    """Report on the programme: funnel (enrolled, valid number, first attempt, first
    answer), pick-up by attempt number, slot and weekday, listening (heard at least 50% and
    75%, replayed with key 1), failure mix, retention and deactivation reasons, missed-call
    callbacks and their delay, the women at risk of dropping out (a list the call centre
    can work through), the answers to the programme's questions by week (answered, skipped,
    yes/no and choice counts, a number's median, min and max: "<5" under 5 answers), and the
    follow-ups per worker or role pool (opened, closed by outcome, open, overdue, median days
    to close), the answered line's use (calls by caller kind, what was done on them), and
    the call centre's outreach calls per worker, this week and in all, by outcome.

    Women enrolled, calls placed and missed calls received between --from and --to count
    (local days of the programme's zone); test calls never count. An installation of
    several programmes: every section per programme (each in its own zone, by its own
    rules) and the totals of the counting sections ("all programmes"); --programme for
    one.

    \b
    Example:
      ivr report --from 01/11/2026 --to 30/11/2026 --by partner
      ivr report --by language --html report.html
      ivr report --section at_risk --csv --reveal > to_call.csv   # for the call centre
    """
    from ivr.operators.report import ReportRequest, build_report
    from ivr.operators.session import audit_reveal, run, utc_now

    if as_json and as_csv:
        raise click.UsageError("choose --json or --csv, not both")
    if first and last and first > last:
        raise click.UsageError(f"--from {first} is after --to {last}")
    config = settings.config
    # checked, and a filter only when the installation runs several (one: every woman)
    only = settings.run_programme(programme_name).name if programme_name else None
    only = only if len(settings.programmes) > 1 else None
    now = utc_now()

    async def go():
        async with settings.open_schedule(read_only=True) as sched:
            return await build_report(sched.store, settings.programmes,
                                      ReportRequest(first, last, by, reveal, only), now)

    report = run(go())
    report["revealed"] = reveal
    if reveal:
        audit_reveal(config, "report", [r["woman"] for section in ("at_risk", "promised_calls")
                                        for r in report[section]])
    if html_path is not None:
        from ivr.operators.report_html import render
        try:
            write_private(html_path, render(report))     # 0600 from its first byte
        except OSError as e:
            fail(f"cannot write {html_path}: {e.strerror or e}")
        say(f"wrote {html_path}")
    if section is not None and html_path is None:
        rows = report[section]
        if as_json:
            for row in rows:
                emit_json(row)
        elif as_csv:
            w = CsvOut(sys.stdout)
            columns = list(rows[0]) if rows else ["group"]
            w.writerow(columns)
            w.writerows([[r[c] for c in columns] for r in rows])
        else:
            _print({**report, **{k: (report[k] if k == section else []) for k in TITLES}},
                   only=section)
        return
    if as_json:
        emit_json(report)
    elif as_csv:
        w = CsvOut(sys.stdout)
        w.writerow(["section", "group", "row", "column", "value"])
        for key in TITLES:
            for i, row in enumerate(report[key], start=1):
                for col, value in row.items():
                    if col != "group":
                        w.writerow([key, row["group"], i, col, value])
    elif html_path is None:
        _print(report)


def _print(report: dict, only: str | None = None) -> None:
    from ivr.operators.text import table

    click.echo(f"{report['programme']}: {report['from'] or 'start'} to {report['to'] or 'today'}"
               f", by {report['by']} (generated {report['generated_at']})")
    for key, title in TITLES.items():
        if only is not None and key != only:
            continue
        rows = report[key]
        click.echo(f"\n{title}:")
        if not rows:
            click.echo("  (nothing)")
            continue
        shown = rows[:50]
        click.echo(table(shown, list(shown[0])))
        if len(rows) > len(shown):
            click.echo(f"... {len(rows) - len(shown)} more (--csv or --json for all)")
