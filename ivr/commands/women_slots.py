"""`ivr women suggest-slots`: the women whose answers say another time slot suits them better,
for the call centre to confirm with her. It changes nothing."""
from __future__ import annotations

import click

from ivr.commands.common import emit_rows, pass_settings, say


@click.command(name="suggest-slots")
@click.option("--min-calls", type=click.IntRange(min=1), default=5, show_default=True,
              help="Only women with at least this many calls in her slot and in the other.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per woman.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header line.")
@click.option("--reveal", is_flag=True, help="Show phone numbers in clear.")
@pass_settings
def suggest_slots_command(settings, min_calls, as_json, as_csv, reveal):
    """List active women whose answers say another slot suits them better: her slot, the
    suggested one, her estimated chance to answer in each (her calls shrunk toward everyone's)
    and her calls in each. Listed only when the other slot beats hers with a probability of
    0.99 or more over the slots compared (with no slot truly better for anyone, under 1 %
    of the women are listed by chance). Nothing is changed: confirm with her, then
    `ivr women update ID --slot ...`. Each woman is read by her programme's slots.

    \b
    Example:
      ivr women suggest-slots
      ivr women suggest-slots --min-calls 8 --csv > slots.csv
    """
    from ivr.operators.session import audit_reveal, run
    from ivr.operators.slot_answers import SUGGESTION_COLUMNS, suggest_slots
    from ivr.operators.text import table

    if as_json and as_csv:
        raise click.UsageError("--json or --csv, not both")

    async def go():
        # several programmes: each woman by her programme's slots
        several = len(settings.programmes) > 1
        async with settings.open_schedule(read_only=True) as sched:
            found = [r for p in settings.programmes for r in await suggest_slots(
                sched.store, p, min_calls=min_calls, reveal=reveal, only=several)]
        return sorted(found, key=lambda r: r["id"])

    rows = run(go())
    if reveal:
        audit_reveal(settings.config, "women suggest-slots", [r["id"] for r in rows])
    if emit_rows(rows, SUGGESTION_COLUMNS, as_json=as_json, as_csv=as_csv):
        return
    if not rows:
        say(f"no woman's answers suggest another slot (with {min_calls}+ calls in both)")
    else:
        click.echo(table(rows, list(SUGGESTION_COLUMNS),
                         ["id", "phone", "slot", "suggested", "chance", "chance there",
                          "calls", "calls there", "p(better)"]))
