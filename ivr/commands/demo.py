"""`ivr demo`: the demo campaign against the sandbox Asterisk."""
from __future__ import annotations

import asyncio

import click

from ivr.adapters.ami import AmiError
from ivr.adapters.store import StoreError
from ivr.commands.call import attempt_summary
from ivr.commands.common import emit_json, fail, pass_settings, say
from ivr.protocol.ami import mask
from scheduler.timeline import her_zone


@click.command(name="demo")
@click.option("--ring-timeout", default=10.0, show_default=True, type=click.FloatRange(1, 120),
              help="Seconds a phone rings before the call counts as not answered.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per woman on stdout.")
@pass_settings
def command(settings, ring_timeout, as_json):
    """Run a small demo campaign: enrol demo women on simulated phones and call them.

    Eight women in Hindi, Marathi, Gujarati and English, each on a simulated phone that
    answers, presses a key, is busy, rings out, hangs up, rejects, stays on or is congested.
    Each gets the message due for her week; outcomes are printed and stored in SQLite.
    Needs the sandbox (ivr sandbox start) and the demo audio (ivr audio demo).

    \b
    Example:
      ivr sandbox start && ivr audio demo && ivr demo
    """
    from ivr.app import running
    from ivr.demo import run_demo, utc_now, weeks_label

    config = settings.config

    async def go():
        async with running(config) as service:
            return await run_demo(service, utc_now(), ring_timeout=ring_timeout)

    say("demo: calling the demo women now through the sandbox Asterisk "
        "(the demo ignores their time slots; the service waits for them)")
    try:
        rows = asyncio.run(go())
    except (AmiError, StoreError, OSError) as e:
        fail(f"{e}\n(is the sandbox running? `ivr sandbox start`; is there audio? `ivr audio demo`)")
    counts: dict[str, int] = {}
    for r in rows:
        w, a, after = r.woman, r.attempt, r.after
        outcome = a.outcome.value if a and a.outcome else "(already closed)"
        counts[outcome] = counts.get(outcome, 0) + 1
        if as_json:
            emit_json({"woman": r.subscriber.id, "phone": mask(w.phone), "language": w.language,
                       "where": weeks_label(w), "message": r.delivery.message_key,
                       "delivery": after.status.value, "attempts": after.attempts,
                       "next_attempt_at": after.next_attempt_at,
                       "attempt": attempt_summary(a) if a else None})
            continue
        heard = (f"heard {a.heard_seconds:4.1f}/{a.message_seconds:4.1f} s"
                 if a and a.heard_seconds is not None else "")
        nxt = (f"next try {after.next_attempt_at.astimezone(her_zone(r.subscriber)):%Y-%m-%d %H:%M %Z}"
               if after.next_attempt_at else "")
        click.echo(f"{mask(w.phone):>12}  {w.language}  {weeks_label(w):<17} "
                   f"{r.delivery.message_key:<13} {w.phone_does:<28} -> {outcome:<12} "
                   f"{heard:<20} {after.status.value:<11} {nxt}".rstrip())
    say("demo: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        + f"; stored in {config.database}")
