"""`ivr followups`: what the programme's rules asked a health worker, agent or doctor to do
about a woman (list, close). Phone numbers and workers' names are masked unless --reveal
(audited); closing is audited."""
from __future__ import annotations

from datetime import timedelta

import click

from ivr.commands.common import Group, emit_json, emit_rows, pass_settings, say
from ivr.commands.women import _actor, _reveal
from scheduler.followups import OUTCOMES


@click.group(name="followups", cls=Group)
def command() -> None:
    """Follow-ups opened for workers by the programme's rules (list, close, absent)."""


@command.command(name="list")
@click.option("--for", "worker", metavar="WORKER",
              help="Only this worker's (id or exact name): theirs and their role's pool.")
@click.option("--open/--all", "open_only", default=True, show_default=True,
              help="Only the open follow-ups, or every one.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per follow-up.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header line.")
@_reveal
@pass_settings
def list_cmd(settings, worker, open_only, as_json, as_csv, reveal):
    """List follow-ups by due date. state: open, overdue (due before her today, in her zone) or
    closed; owner: the worker, or "pool" when she has no worker of the role. Its times are in
    her zone.

    \b
    Example:
      ivr followups list --for "Asha Devi"
      ivr followups list --all --csv > followups.csv
    """
    from ivr.operators.session import audit_reveal, run, utc_now
    from ivr.operators.staff import FOLLOW_UP_COLUMNS, find_worker, follow_up_rows
    from ivr.operators.text import table

    if as_json and as_csv:
        raise click.UsageError("--json or --csv, not both")
    now = utc_now()

    async def go():
        async with settings.open_schedule(read_only=True) as sched:
            worker_id = (await find_worker(sched, worker)).id if worker else None
            found = await sched.follow_ups(open_only=open_only, worker_id=worker_id)
            return await follow_up_rows(sched, found, now, reveal=reveal, iso=as_json)

    rows = run(go())
    if reveal:
        audit_reveal(settings.config, "followups list", [r["woman"] for r in rows])
    if emit_rows(rows, FOLLOW_UP_COLUMNS, as_json=as_json, as_csv=as_csv):
        return
    if not rows:
        say("no follow-up" + (" open" if open_only else ""))
    else:
        click.echo(table(rows, ["id", "woman", "phone", "rule", "reason", "due_on", "state",
                                "owner", "outcome"]))


@command.command(name="close")
@click.argument("follow_up_id", type=int)
@click.option("--outcome", required=True, type=click.Choice(OUTCOMES),
              help="visited, reached, not_reached, referred, ask_to_come or no_action.")
@click.option("--come-on", "come_on", type=click.DateTime(["%Y-%m-%d"]), metavar="DATE",
              help="With ask_to_come: the day the health centre expects her (YYYY-MM-DD, "
                   "today or later).")
@_actor
@pass_settings
def close_cmd(settings, follow_up_id, outcome, come_on, actor):
    """Close a follow-up with its outcome, once: visited (seen at home), reached (by phone),
    not_reached, referred (to a clinic or hospital), ask_to_come (the doctor asks her to come
    to the health centre on --come-on DATE: she gets a call in her language, "please come to
    the health centre on <date>", within her slot and retried like her messages), no_action
    (reviewed, nothing to do).

    \b
    Example:
      ivr followups close 12 --outcome visited
      ivr followups close 14 --outcome ask_to_come --come-on 2026-12-07
    """
    from ivr.operators.session import actor_name, run, utc_now

    day = come_on.date() if come_on is not None else None

    async def go():
        async with settings.open_schedule() as sched:
            return await sched.close_follow_up(follow_up_id, outcome, actor_name(actor),
                                               utc_now(), come_on=day)

    f = run(go())
    say(f"closed follow-up {f.id} (woman {f.subscriber_id}, {f.rule}): {outcome}"
        + (f"; she will be called and asked to come on {day.isoformat()}" if day else ""))


@command.command(name="absent")
@click.option("--days", default=14, show_default=True, type=click.IntRange(1, 366),
              help="Read the check-ins that ended in the last DAYS days.")
@click.option("--json", "as_json", is_flag=True, help="The counts as one JSON object.")
@pass_settings
def absent_cmd(settings, days, as_json):
    """Write the silent weeks of the check-ins whose calls all went unanswered (ended
    undelivered or superseded in the last --days days) and open the absence follow-ups
    (absent_weeks rules) they complete. `ivr run` does this every hour by itself; a second
    run writes nothing new.

    \b
    Example:
      ivr followups absent --days 30
    """
    from ivr.absence import AbsenceSweep
    from ivr.operators.session import run, utc_now

    now = utc_now()

    async def go():
        async with settings.open_schedule() as sched:
            return await AbsenceSweep(sched).sweep(now - timedelta(days=days), now, now)

    r = run(go())
    if as_json:
        emit_json({"checked": r.checked, "silent_weeks": r.weeks, "opened": r.opened})
    else:
        say(f"{r.checked} check-in(s) ended unanswered read: {r.weeks} silent week(s) written, "
            f"{r.opened} follow-up(s) opened")
