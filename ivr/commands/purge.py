"""`ivr db purge`: apply the retention rule ([privacy] keep_call_records) now."""
from __future__ import annotations

import click

from ivr.commands.common import emit_json, fail, pass_settings, say


@click.command(name="purge")
@click.option("--json", "as_json", is_flag=True, help="Print what was deleted as JSON.")
@pass_settings
def purge_command(settings, as_json):
    """Delete the call records older than [privacy] keep_call_records (e.g. "400d"):
    ended calls and handled missed calls. `ivr run` does it once a day by itself. Live
    calls and missed calls not yet handled are never deleted. `ivr report` then counts
    only the calls kept (see docs/deploy.md).

    \b
    Example:
      ivr db purge
    """
    from ivr.adapters.retention import purge_call_records
    from ivr.operators.session import actor_name, run, utc_now

    config = settings.config
    keep = config.privacy.keep_call_records
    if keep is None:
        fail("no retention rule: set [privacy] keep_call_records (e.g. \"400d\") in "
             f"{config.source or 'the configuration file'}")
    now = utc_now()

    async def go():
        async with settings.open_schedule() as sched:
            return await purge_call_records(sched.store, now - keep, now=now,
                                            actor=actor_name())

    done = run(go())
    if as_json:
        emit_json(done)
    else:
        say(f"deleted {done['calls']} call(s) and {done['missed_calls']} missed call(s) "
            f"from before {done['before']}")
