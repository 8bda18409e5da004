"""`ivr import FILE.csv`: enrol a batch of women from a hospital or NGO."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ivr.commands.common import emit_json, fail, is_terminal, pass_settings, say
from ivr.commands.enrol import free_text_option
from ivr.errors import ProblemsFound



@click.command(name="import")
@click.argument("file", required=False,
                type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--template", is_flag=True, help="Print the CSV header and one example row.")
@click.option("--dry-run", is_flag=True, help="Check everything, write nothing.")
@click.option("--strict", is_flag=True, help="Import nothing when any row is bad.")
@click.option("--unchecked-numbers", is_flag=True,
              help="Keep phone digits as given, without checking they are valid numbers "
              "(the sandbox's simulated phones).")
@click.option("--programme", "programme_name", default=None,
              help="The women's programme, one the installation runs ([ivr] programmes): "
              "needed when it runs several; default: its only one.")
@click.option("--actor", default=None, callback=free_text_option,
              help="Who imports, for the record (default: $IVR_ACTOR or cli:<login>).")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object per problem, then a summary object.")
@pass_settings
def command(settings, file, template, dry_run, strict, unchecked_numbers, programme_name, actor,
            as_json):
    """Enrol the women listed in a CSV file (from `ivr import --template`); FILE `-` reads
    standard input.

    \b
    Columns (a header line first; UTF-8, a BOM is fine; names in any script):
      phone          required; +91 98765 43210, 098765 43210 or 9876543210
      name           optional
      language       required; a language of the programme, e.g. hi, mr
      slot           optional; a slot of the programme, e.g. 09-12
      lmp, edd       last menstrual period, expected delivery date (one is enough)
      child_dob      instead of LMP/EDD: she starts on the infant messages
      partner        optional; enrolment partner: hospital or NGO
      health_worker  optional
      consent_date   required; the day she agreed to the calls
      timezone       optional; IANA zone, default the programme's
      programme      optional; her programme (default: --programme, or the only one the
                     installation runs)

    Dates: 2026-03-15, 15/03/2026, 15-03-2026, 15.03.2026, 15 Mar 2026 (numbers are read
    day first, as India writes them). Blank lines are skipped.

    Every bad row is reported on standard error with its line number and reason; the good
    rows go in together in one transaction (with --strict, only when no row is bad). A row
    with a control character or an invisible bidi control (U+202E...) in any cell refuses
    the whole file: nothing is imported.
    Importing the same file again adds nobody: a phone already enrolled (active or paused)
    is a duplicate, reported and skipped, not a second woman; so is a pregnancy already
    enrolled and ended, and a woman who opted out, even one whose record was erased
    (enrol her again with `ivr enrol --re-enrol` only when she asks). Exit 0 when no row is
    bad (duplicates are not errors), 1 when some are.

    \b
    Example:
      ivr import --template > women.csv     # fill it in, then:
      ivr import women.csv --dry-run
      ivr import women.csv
      curl -s https://partner.example/export.csv | ivr import -
    """
    from ivr.operators import enrolment, imports
    from ivr.operators.session import actor_name, run, utc_now
    from scheduler.model import SchedulerError

    if template:
        click.echo(imports.template(utc_now().date()), nl=False)
        return
    if file is None:
        raise click.UsageError("give the CSV file to import (or --template)")
    try:
        if str(file) == "-":
            data, file = sys.stdin.buffer.read(), "<stdin>"
        else:
            data = file.read_bytes()
    except OSError as e:
        fail(f"cannot read {file}: {e.strerror or e}")
    # the rows' default programme: --programme, else the only one (several: each row names hers)
    programme = (settings.run_programme(programme_name)
                 if programme_name or len(settings.programmes) == 1 else None)
    now = utc_now()
    if is_terminal():
        say(f"checking {file}...")
    try:
        plan = imports.parse(data, programme, now, check_numbers=not unchecked_numbers,
                             programmes=settings.programmes)
    except imports.ImportFileError as e:
        fail(f"{file}: {e}")

    def report(problems, label):
        for p in problems:
            if as_json:
                emit_json({"line": p.line, "problem": label, "reason": p.reason})
            else:
                say(f"{file}, line {p.line}: {label}: {p.reason}")

    report(plan.errors, "error")
    if plan.refused:
        raise ProblemsFound(f"{len(plan.refused)} row(s) with control or bidi-control characters "
                            f"(line(s) {', '.join(str(p.line) for p in plan.refused)}): "
                            "nothing imported")
    if strict and plan.errors:
        raise ProblemsFound(f"{len(plan.errors)} bad row(s): nothing imported (--strict)")

    async def go():
        async with settings.open_schedule() as sched:
            if not (is_terminal() and plan.rows):
                return await enrolment.run_import(sched, plan, now, actor=actor_name(actor),
                                                  dry_run=dry_run)
            with click.progressbar(length=len(plan.rows), label="importing",
                                   file=sys.stderr) as bar:
                return await enrolment.run_import(sched, plan, now, actor=actor_name(actor),
                                                  dry_run=dry_run, progress=bar.update)

    try:
        result = run(go())
    except enrolment.RowFailed as e:
        fail(f"{file}, {e}")
    except SchedulerError as e:                  # e.g. the erasure key is missing
        fail(f"{file}: {e} (nothing was imported)")
    report(sorted(plan.duplicates + result.skipped, key=lambda p: p.line), "duplicate")
    summary = {"file": str(file), "rows": plan.lines, "enrolled": len(result.enrolled),
               "duplicates": len(plan.duplicates) + len(result.skipped),
               "errors": len(plan.errors), "dry_run": dry_run}
    if as_json:
        emit_json(summary)
    else:
        verb = "would enrol" if dry_run else "enrolled"
        click.echo(f"{plan.lines} row(s): {verb} {summary['enrolled']}, "
                   f"{summary['duplicates']} duplicate(s) skipped, {summary['errors']} bad "
                   f"row(s){' (nothing written: --dry-run)' if dry_run else ''}")
    if plan.errors:
        raise ProblemsFound()

