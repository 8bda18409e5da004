"""`ivr calls`: the calls placed, with filters."""
from __future__ import annotations

import click

from ivr.commands.common import emit_json, pass_settings, say
from ivr.commands.enrol import parse_date_option

OUTCOMES = ("answered", "busy", "no_answer", "congestion", "rejected", "invalid_number",
            "unreachable", "failed", "live")


@click.command(name="calls")
@click.option("--woman", "woman_id", type=int, help="Only her calls (her id).")
@click.option("--date", "day", callback=parse_date_option, help="Only calls on this day.")
@click.option("--from", "first", callback=parse_date_option, help="From this day on.")
@click.option("--to", "last", callback=parse_date_option, help="Up to this day (included).")
@click.option("--outcome", type=click.Choice(OUTCOMES),
              help="Only this outcome (live: in progress).")
@click.option("--message", help="Only this message key, e.g. mmitra-p017.")
@click.option("--kind", type=click.Choice(["scheduled", "callback", "test"]),
              help="Only this kind.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per call.")
@click.option("--reveal", is_flag=True, help="Show phone numbers in clear.")
@pass_settings
def command(settings, woman_id, day, first, last, outcome, message, kind, limit, as_json, reveal):
    """List calls, latest first. Days are local days in the programme's time zone (several
    programmes: each call's in her programme's zone, its time too; a test call's in the
    first programme's).
    "answers": how many of her message's questions she answered in the call (empty: none
    was asked); the answers themselves are in `ivr women show`.

    \b
    Example:
      ivr calls --date 24/11/2026 --outcome busy
      ivr calls --woman 42 --json
    """
    from ivr.operators.records import find_calls
    from ivr.operators.session import audit_reveal, run
    from ivr.operators.text import table

    if day is not None and (first or last):
        raise click.UsageError("give --date, or --from/--to, not both")
    if day is not None:
        first = last = day
    if first and last and first > last:
        raise click.UsageError(f"--from {first} is after --to {last}")
    programmes = settings.programmes
    zones = [(p.name, p.timezone) for p in programmes] if len(programmes) > 1 else []

    async def go():
        async with settings.open_schedule(read_only=True) as sched:
            return await find_calls(sched.store, woman_id=woman_id, first=first, last=last,
                                    outcome=outcome, message=message, kind=kind, limit=limit,
                                    reveal=reveal, tz=programmes[0].timezone, iso=as_json,
                                    zones=zones)

    rows = run(go())
    if reveal:
        audit_reveal(settings.config, "calls", [r["woman"] for r in rows if r["woman"]])
    if as_json:
        for r in rows:
            emit_json(r)
        return
    if not rows:
        say("no call matches")
        return
    click.echo(table(rows, ["id", "at", "woman", "phone", "kind", "message", "attempt",
                            "outcome", "seconds", "heard", "plays", "keys", "answers"]))
    if len(rows) == limit:
        say(f"(the latest {limit}; --limit for more)")
