"""`ivr demo`: the demo campaign against the sandbox Asterisk."""
from __future__ import annotations

import asyncio

import click

from ivr.adapters.ami import AmiError
from ivr.adapters.store import StoreError
from ivr.commands.common import emit_json, fail, pass_settings, say
from ivr.logs import setup_logging
from ivr.phone import mask


@click.command(name="demo")
@click.option("--ring-timeout", default=10.0, show_default=True, type=click.FloatRange(1, 120),
              help="Seconds a phone rings before the call counts as not answered.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per woman on stdout.")
@pass_settings
def command(settings, ring_timeout, as_json):
    """Run a small demo campaign: enrol demo women on simulated phones and call them.

    Eight women in Hindi, Marathi, Gujarati and English, each on a simulated phone that
    answers, presses a key, is busy, rings out, hangs up, rejects, stays on or is congested.
    The calling service (the dial loop of `ivr run`) calls each with the message due for her
    week, retries by the programme's policy, and stops when nothing more is due soon.
    What happened is stored in <home>/demo.db (new each run; your real database is not touched).
    Needs the sandbox (ivr sandbox start) and the demo audio (ivr audio demo).

    \b
    Example:
      ivr sandbox start && ivr audio demo && ivr demo
    """
    from ivr.demo import run_demo, utc_now, weeks_label

    setup_logging("warning")             # warnings on stderr, numbers masked

    config = settings.config
    say("demo: calling the demo women now through the sandbox Asterisk (each demo woman lives "
        "where it is midday now, so her 12-15 slot is open)")
    try:
        rows = asyncio.run(run_demo(config, utc_now(), ring_timeout=ring_timeout,
                                    programme=settings.programme))
    except (AmiError, StoreError, OSError) as e:
        fail(f"{e}\n(is the sandbox running? `ivr sandbox start`; "
             "is there audio? `ivr audio demo`)")
    counts: dict[str, int] = {}
    for r in rows:
        w, d = r.woman, r.delivery
        outcomes = [a["outcome"] for a in r.attempts]
        for o in outcomes:
            counts[o] = counts.get(o, 0) + 1
        if as_json:
            emit_json({"woman": r.subscriber.id, "phone": mask(w.phone), "language": w.language,
                       "where": weeks_label(w), "message": d.message_key,
                       "phone_does": w.phone_does, "calls": r.attempts})
            continue
        last = r.attempts[-1] if r.attempts else None
        heard = (f"heard {last['heard_seconds']:4.1f}/{last['message_seconds']:4.1f} s"
                 if last and last["heard_seconds"] is not None else "")
        then = d.status.value
        if d.next_attempt_at is not None:
            minutes = (d.next_attempt_at - utc_now()).total_seconds() / 60
            then = (f"retry in {minutes:.0f} min" if minutes < 120
                    else f"retry in {minutes / 60:.0f} h")
        click.echo(f"{mask(w.phone):>12}  {w.language}  {weeks_label(w):<17} "
                   f"{d.message_key:<13} {w.phone_does:<28} -> {' '.join(outcomes) or '-':<12} "
                   f"{heard:<20} {then}".rstrip())
    say("demo: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        + f" calls; stored in {config.home / 'demo.db'}")
