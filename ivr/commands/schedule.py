"""`ivr schedule preview`: what the service would call, per slot, and why (never dials)."""
from __future__ import annotations

from dataclasses import replace

import click

from ivr.commands.common import Group, emit_json, fail, pass_settings, say
from ivr.commands.enrol import parse_date_option


@click.group(name="schedule", cls=Group)
def command() -> None:
    """Look ahead at the calling schedule."""


@command.command(name="preview")
@click.option("--date", "day", callback=parse_date_option,
              help="The day to preview (default: today, from now on).")
@click.option("--summary", is_flag=True, help="Only the number of calls per slot.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per call.")
@click.option("--reveal", is_flag=True, help="Show phone numbers in clear.")
@click.option("--programme", "programme_name", default=None,
              help="Only this programme's calls; default: every programme the installation "
              "runs, each on its own (its day in its own time zone, its own slots).")
@pass_settings
def preview_cmd(settings, day, summary, as_json, reveal, programme_name):
    """Show the calls the service would place on a day, per slot, and why (first attempt,
    retry after busy..., callback after a missed call).

    It runs the same code as `ivr run` over the day, on a private snapshot of the database,
    inside a transaction that is rolled back: nothing is written, nothing is dialled, and
    the running service is not slowed down. Each woman shows at her first call of the
    day; whether she is called again depends on whether she answers. An installation of
    several programmes shows each programme on its own: the day (default: its today) in its
    time zone, its calls per its slots, their times in its zone.

    \b
    Example:
      ivr schedule preview --date 25/11/2026
      ivr schedule preview --summary
      ivr schedule preview --programme pesinet
    """
    from ivr.adapters.store import in_rolled_back_transaction, open_store
    from ivr.operators.preview import preview, snapshot
    from ivr.operators.session import audit_reveal, open_schedule, run, utc_now
    from ivr.operators.text import table
    from scheduler.slots import local_date, zone

    config = settings.config
    programmes = [settings.run_programme(programme_name)] if programme_name \
        else settings.programmes
    now = utc_now()
    # the day in each programme's zone: --date is that local date in every zone
    days = {p.name: day or local_date(now, zone(p.timezone)) for p in programmes}
    for p in programmes:
        if days[p.name] < local_date(now, zone(p.timezone)):
            raise click.BadParameter(
                f"{days[p.name]} is past" + (f" in {p.name}'s zone ({p.timezone})"
                                             if len(programmes) > 1 else "")
                + ": see what happened with ivr calls --date", param_hint="'--date'")

    async def each(database_config, **options):
        out = {}
        for p in programmes:
            async with open_schedule(database_config, [p], **options) as sched:
                if config.database_url:
                    # PostgreSQL: the day is planned inside one transaction that is then
                    # rolled back; the database is read as it is (never migrated), and the
                    # service's locks are not waited for nor skipped (Store.locks_rows)
                    sched.store.locks_rows = False
                    out[p.name] = await in_rolled_back_transaction(
                        sched.store, preview(sched, days[p.name], now, reveal=reveal))
                else:
                    out[p.name] = await preview(sched, days[p.name], now, reveal=reveal)
        return out

    async def go(copy):
        # read the database as it is first: one that needs a migration is refused
        await (await open_store(config, read_only=True)).close()
        return await each(replace(config, database=copy))

    if config.database_url:
        planned = run(each(config, read_only=True))
    else:
        if not config.database.exists():
            fail(f"no database at {config.database} yet: enrol women first (ivr enrol, "
                 "ivr import)")
        with snapshot(config.database) as copy:
            planned = run(go(copy))
    if reveal:
        audit_reveal(config, "schedule preview",
                     [c.woman for calls in planned.values() for c in calls])
    if as_json:
        for p in programmes:
            for c in planned[p.name]:
                emit_json({**c.__dict__, "at": c.at.astimezone(zone(p.timezone))
                           .isoformat(timespec="seconds")})
        return
    for p in programmes:
        calls, tz = planned[p.name], zone(p.timezone)
        of = f"{p.name} ({p.timezone}), " if len(programmes) > 1 else ""
        say(f"{of}{days[p.name]}: {len(calls)} call(s) would be placed (nothing was "
            "written or dialled)")
        for slot in p.slots:
            mine = [c for c in calls if c.slot == slot.name]
            click.echo(f"slot {slot.name} ({slot.text}): {len(mine)} call(s)")
            if summary or not mine:
                continue
            click.echo(table([{**c.__dict__, "at": c.at.astimezone(tz).strftime("%H:%M")}
                              for c in mine],
                             ["at", "woman", "phone", "language", "message", "attempt", "why"]))
            click.echo()
