"""`ivr outreach`: whom the call centre should call this week (list), and each call made
(done). Phone numbers and names are masked unless --reveal (audited); recording a call is
audited."""
from __future__ import annotations

import click

from ivr.commands.common import Group, emit_rows, pass_settings, say
from ivr.commands.women import _actor, _reveal
from scheduler.outreach_weeks import OUTCOMES


@click.group(name="outreach", cls=Group)
def command() -> None:
    """The call centre's weekly outreach list (list) and the calls made (done)."""


@command.command(name="list")
@click.option("--capacity", "-k", type=click.IntRange(min=1), required=True, metavar="K",
              help="How many women the call centre can call this week (at least 1).")
@click.option("--by", "by", type=click.Choice(["worker"]),
              help="Add her worker (her health worker, else another of hers) and order the "
                   "list by worker.")
@click.option("--method", type=click.Choice(["whittle", "at-risk"]), default="whittle",
              show_default=True, help="whittle: the women a call helps most (Whittle index of "
              "their engagement chain); at-risk: the programme's at-risk rule.")
@click.option("--weeks", type=click.IntRange(min=2), default=12, show_default=True,
              help="Weeks of history the engagement chains are estimated from (whittle).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per woman.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header line.")
@click.option("--programme", "programme_name", default=None,
              help="Only this programme's women; default: every programme the installation "
              "runs, each its own list of K.")
@_reveal
@pass_settings
def list_cmd(settings, capacity, by, method, weeks, as_json, as_csv, programme_name, reveal):
    """List the K women to call this week, most helped first, with the reason per woman.
    A woman whose call of this week is recorded (ivr outreach done) is not listed again;
    ended, paused and opted-out women never are. ID (the woman's id) is what `ivr outreach
    done` takes. An installation of several programmes lists each programme on its own (its
    call centre's K women; its week in its zone, its at-risk rule), the programme named on
    each row.

    \b
    Example:
      ivr outreach list --capacity 50
      ivr outreach list -k 200 --by worker --csv > this_week.csv
      ivr outreach list -k 50 --method at-risk --json
      ivr outreach list -k 50 --programme pesinet
    """
    from ivr.operators.outreach import COLUMNS, ListRequest, outreach_list
    from ivr.operators.session import audit_reveal, run, utc_now
    from ivr.operators.text import table

    if as_json and as_csv:
        raise click.UsageError("--json or --csv, not both")
    programmes = [settings.run_programme(programme_name)] if programme_name \
        else settings.programmes
    several = len(programmes) > 1
    req = ListRequest(capacity, method, by == "worker", reveal, weeks)

    async def go():
        now = utc_now()
        async with settings.open_schedule(read_only=True) as sched:
            return [(p.name, await outreach_list(sched.store, p, req, now))
                    for p in programmes]

    listings = run(go())
    if reveal:
        audit_reveal(settings.config, "outreach list",
                     [r["id"] for _, listing in listings for r in listing.rows])
    columns = (["programme"] if several else []) + \
        [c for c in COLUMNS if c != "worker" or req.by_worker]
    every = [{"week": listing.week, **({"programme": name} if several else {}), **r}
             for name, listing in listings for r in listing.rows]
    data = bool(every) and (as_json or as_csv)
    for name, listing in listings:
        of = f"{name}, " if several else ""
        if not listing.rows:
            say(f"{of}week {listing.week}: {listing.empty_because}")
        elif not data:
            say(f"{of}week {listing.week}: {len(listing.rows)} women to call ({method})")
            click.echo(table(listing.rows, [c for c in columns if c != "programme"]))
    if data:
        emit_rows(every, columns, as_json=as_json, as_csv=as_csv)


@command.command(name="done")
@click.argument("woman_id", metavar="ID", type=int)
@click.option("--outcome", required=True, type=click.Choice(OUTCOMES),
              help=f"{', '.join(OUTCOMES)}.")
@click.option("--worker", metavar="WORKER", help="Who called her (worker id or exact name).")
@_actor
@pass_settings
def done_cmd(settings, woman_id, outcome, worker, actor):
    """Record the call centre's call to woman ID this week (ID as `ivr outreach list` shows
    it), once a week, with its outcome: reached (she was spoken to: the live call the list
    learns from), not_reached, refused, wrong_number. Audited.

    \b
    Example:
      ivr outreach done 12 --outcome reached --worker "Asha Devi"
    """
    from ivr.adapters import outreach
    from ivr.operators.session import actor_name, run, utc_now
    from ivr.operators.staff import find_worker
    from scheduler.outreach_weeks import week_label, week_start

    now = utc_now()

    async def go():
        async with settings.open_schedule() as sched:
            # her week: in her programme's zone, as `ivr outreach list` counted it
            tz = (await sched.hers(woman_id)).programme.timezone
            week = week_label(week_start(now, tz), tz)
            worker_id = (await find_worker(sched, worker)).id if worker else None
            return await outreach.record(sched.store, woman_id, week, outcome, worker_id,
                                         actor_name(actor), now)

    call = run(go())
    say(f"recorded outreach call {call.id} (woman {call.subscriber_id}, week {call.week}): "
        f"{call.outcome}")
