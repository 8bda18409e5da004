"""`ivr workers`: health workers, agents, doctors and call-centre members, and the women they
follow. Every change is audited; phone numbers and names are masked unless --reveal (audited);
times are in the installation's zone ([ivr] timezone), else UTC."""
from __future__ import annotations

import click

from ivr.commands.common import Group, emit_json, pass_settings, say
from ivr.commands.enrol import free_text_option
from ivr.commands.women import _actor, _reveal
from scheduler.followups import ROLES


@click.group(name="workers", cls=Group)
def command() -> None:
    """Health workers and whom they follow (add, list, assign, unassign)."""


@command.command(name="add")
@click.option("--name", required=True, callback=free_text_option, help="The worker's name.")
@click.option("--phone", required=True, help="The worker's phone number.")
@click.option("--role", required=True, type=click.Choice(ROLES),
              help="health_worker, agent, doctor or call_centre.")
@click.option("--json", "as_json", is_flag=True, help="Print the worker as JSON.")
@_actor
@_reveal
@pass_settings
def add_cmd(settings, name, phone, role, as_json, actor, reveal):
    """Add a worker. One active worker per phone number. With several programmes a national
    number is read in each programme's region (one that reads in two needs +country).

    \b
    Example:
      ivr workers add --name "Asha Devi" --phone "+91 98123 45001" --role health_worker
    """
    from ivr.operators.records import name_out, phone_out
    from ivr.operators.session import actor_name, audit_reveal, run, utc_now
    from ivr.phone import Phone, PhoneError

    # the number read in each programme's region (a worker serves whichever programme's
    # women): one reading, else +country is needed
    read, errors = set(), []
    for p in settings.programmes:
        try:
            read.add(Phone.parse(phone, p.region, foreign=p.allow_foreign_numbers).digits)
        except PhoneError as e:
            errors.append(str(e))
    if not read:
        raise click.BadParameter(errors[0], param_hint="--phone")
    if len(read) > 1:
        raise click.BadParameter(f"{phone!r} is a national number in more than one of the "
                                 "programmes' regions: give it with +country",
                                 param_hint="--phone")
    digits = read.pop()

    async def go():
        async with settings.open_schedule() as sched:
            return await sched.add_worker(name, digits, role, utc_now(), actor=actor_name(actor))

    w = run(go())
    if reveal:
        audit_reveal(settings.config, "workers add", [], actor)
    out = {"id": w.id, "name": name_out(w.name, reveal), "phone": phone_out(w.phone, reveal),
           "role": w.role.value}
    if as_json:
        emit_json(out)
    else:
        click.echo(f"worker {w.id}: {out['name']}, {w.role.value}, {out['phone']}")
    say(f"added worker {w.id}")


@command.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per worker.")
@_reveal
@pass_settings
def list_cmd(settings, as_json, reveal):
    """List the active workers, with how many women each follows and their open follow-ups.
    Times (added) are in the installation's zone ([ivr] timezone), else in UTC: the header
    names it.

    \b
    Example:
      ivr workers list
    """
    from ivr.operators.session import audit_reveal, run
    from ivr.operators.staff import worker_rows
    from ivr.operators.text import table

    tz = settings.config.installation_zone      # workers belong to no programme

    async def go():
        async with settings.open_schedule(read_only=True) as sched:
            return await worker_rows(sched, tz, reveal=reveal, iso=as_json)

    rows = run(go())
    if reveal:
        audit_reveal(settings.config, "workers list", None)
    if as_json:
        for r in rows:
            emit_json(r)
        return
    if not rows:
        say("no worker yet (add one: ivr workers add --name ... --phone ... --role ...)")
        return
    click.echo(table(rows, ["id", "name", "phone", "role", "women", "open_follow_ups",
                            "created_at"],
                     ["id", "name", "phone", "role", "women", "open follow-ups",
                      f"added ({tz})"]))


def _assignment_command(name: str, summary: str, example: str):
    @command.command(name=name, help=f"{summary}\n\n\b\nExample:\n  {example}")
    @click.argument("worker")
    @click.option("--woman", "woman_id", type=int, required=True, help="The woman's id.")
    @_actor
    @_reveal
    @pass_settings
    def cmd(settings, worker, woman_id, actor, reveal):
        from ivr.operators.records import name_out
        from ivr.operators.session import actor_name, audit_reveal, run, utc_now
        from ivr.operators.staff import find_worker

        async def go():
            async with settings.open_schedule() as sched:
                w = await find_worker(sched, worker)
                change = sched.assign if name == "assign" else sched.unassign
                await change(w.id, woman_id, utc_now(), actor=actor_name(actor))
                return w

        w = run(go())
        if reveal:
            audit_reveal(settings.config, f"workers {name}", [woman_id], actor)
        say(f"{name}: worker {w.id} ({name_out(w.name, reveal)}, {w.role.value}) "
            f"{'follows' if name == 'assign' else 'no longer follows'} woman {woman_id}")
    return cmd


assign_cmd = _assignment_command(
    "assign", "The worker (id or exact name) follows the woman from now on, in place of her "
    "worker of the same role. Her follow-ups opened from now on are theirs.",
    "ivr workers assign \"Asha Devi\" --woman 42")
unassign_cmd = _assignment_command(
    "unassign", "The worker (id or exact name) no longer follows the woman.",
    "ivr workers unassign 3 --woman 42")
