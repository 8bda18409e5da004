"""`ivr women export` and `ivr women erase`: her rights over her data (access, erasure).
Both audited."""
from __future__ import annotations

import click

from ivr.commands.common import confirm_destructive, emit_json, fail, pass_settings, say
from ivr.commands.options import actor_option


@click.command(name="export")
@click.argument("woman_id", type=int)
@actor_option
@pass_settings
def export_cmd(settings, woman_id, actor):
    """Print everything held about her as one JSON object (her right of access): her record,
    messages, calls, missed calls, callbacks, answers, follow-ups, workers, outreach calls
    and history, her phone number in clear, times in RFC 3339 with her zone's offset. Audited
    (who exported whom, when).

    \b
    Example:
      ivr women export 42 > woman-42.json
    """
    from ivr.adapters.erasure import export_woman
    from ivr.adapters.subscribers import audit
    from ivr.operators.session import actor_name, run, utc_now

    async def go():
        async with settings.open_schedule() as sched:
            async with sched.store.transaction():
                data = await export_woman(sched.store, woman_id)
                if data is not None:
                    await audit(sched.store, actor=actor_name(actor), action="export",
                                at=utc_now(), subscriber_id=woman_id,
                                detail={"command": "women export"})
                return data

    data = run(go())
    if data is None:
        fail(f"no woman with id {woman_id}")
    emit_json(data)


@click.command(name="erase")
@click.argument("woman_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@actor_option
@pass_settings
def erase_cmd(settings, woman_id, yes, actor):
    """Erase her personal data at her request: phone, name, dates, partner, health worker,
    consent date, the channel names of her calls and the keys she pressed, her messages' due
    dates, her answers, the reasons of her follow-ups and the details of her history, from
    every table. Anonymous counts stay (`ivr
    report` gives the same figures). A woman still enrolled is opted out first; the number
    of a woman who opted out is kept only as a keyed hash, so it is not called again (`ivr
    enrol --re-enrol` when she asks to come back). Cannot be undone.

    \b
    Example:
      ivr women export 42 > woman-42.json   # give her a copy first, if she asks
      ivr women erase 42 --yes
    """
    from ivr.adapters.erasure import erase_woman, key_path, same_number
    from ivr.operators.session import actor_name, run, utc_now

    confirm_destructive(yes, f"erase the personal data of woman {woman_id}? This cannot be undone")
    now, who = utc_now(), actor_name(actor)

    async def go():
        async with settings.open_schedule() as sched:
            her = await sched.subscriber(woman_id)
            others = await same_number(sched.store, woman_id)
            live = not her.status.ended
            done = await erase_woman(
                sched.store, woman_id, now, actor=who,
                before=(lambda: sched.opt_out(woman_id, now, actor=who, reason="erasure"))
                if live else None)
            return done, others, key_path(sched.store)

    done, others, key = run(go())
    say(f"erased woman {woman_id}: {done['calls']} call(s), {done['missed_calls']} missed "
        f"call(s), {done['messages']} message(s), {done['answers']} answer(s), "
        f"{done['history']} history row(s)"
        + (f"; her number is kept only as a keyed hash (key: {key}, back it up)"
           if done["number_hash_kept"] else ""))
    if others:
        say(f"other records on her number: woman {', '.join(map(str, others))} "
            "(erase them too if they are hers)")
