"""`ivr demo`: the demo campaign against the sandbox Asterisk."""
from __future__ import annotations

import asyncio

import click

from ivr.adapters.ami import AmiError
from ivr.adapters.store import StoreError
from ivr.commands.common import emit_json, fail, pass_settings, say
from ivr.logs import setup_logging
from ivr.operators.text import table
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
    Then two scenes: a pesinet check-in (a child's carer answers the week's questions with
    keys, fever yes: a follow-up opens for the centre's doctor; <home>/demo-pesinet.db), and a
    call to the answered line from the number of a woman of the campaign (she hears her
    latest message and presses 1 to hear it again; sipp is her phone).
    Needs the sandbox (ivr sandbox start) and the demo audio (ivr audio demo).

    \b
    Example:
      ivr sandbox start && ivr audio demo && ivr demo
    """
    from ivr.demo import DEMO_WOMEN, run_demo, utc_now
    from ivr.demo_scenes import CARER, run_check_in, run_line_call

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
    campaign(rows, as_json, config)

    say(f"demo: a pesinet check-in (its own database, {config.home / 'demo-pesinet.db'}): "
        f"{CARER.name}'s baby, {CARER.weeks} weeks, in French; her phone answers the week's "
        "questions with keys (fever: yes); the fever opens a follow-up for the centre's doctor")
    try:
        check_in = asyncio.run(run_check_in(config, utc_now(), ring_timeout=ring_timeout))
    except (AmiError, StoreError, OSError) as e:
        fail(f"the check-in: {e}")
    show_check_in(check_in, as_json)

    woman = DEMO_WOMEN[0]
    say(f"demo: a call to the answered line from a known number: {woman.name} "
        f"({mask(woman.phone)}) calls it, hears her latest message, presses 1 to hear it "
        "again and hangs up")
    try:
        line = asyncio.run(run_line_call(config, woman, programme=settings.programme))
    except (AmiError, StoreError, OSError, TimeoutError) as e:
        fail(f"the line's call: {e}")
    show_line(line, as_json)


def campaign(rows, as_json, config):
    """The campaign's table: one line per woman."""
    from ivr.demo import utc_now, weeks_label
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


YES_NO = {"1": "yes", "2": "no"}


def show_check_in(scene, as_json):
    """The child's call, the answers stored and the follow-ups opened (as `ivr followups
    list` shows them: the phone masked)."""
    from ivr.demo import weeks_label
    answers = [{"question": a.question, "week": a.week, "value": a.value,
                "status": a.status.value, "attempt": a.attempt_id} for a in scene.answers]
    if as_json:
        emit_json({"scene": "check_in", "child": scene.child.id,
                   "phone": mask(scene.child.phone), "message": scene.message_key,
                   "calls": scene.calls, "answers": answers,
                   "follow_ups": scene.follow_up_rows})
        return
    outcomes = " ".join(c["outcome"] for c in scene.calls) or "-"
    click.echo(f"{mask(scene.child.phone):>12}  {scene.child.language}  "
               f"{weeks_label(scene.carer):<17} {scene.message_key:<13} "
               f"{scene.carer.phone_does:<28} -> {outcomes}")
    said = ", ".join(f"{a['question']} {a['value']}"
                     + (f" ({YES_NO[a['value']]})" if a["question"] == "fever"
                        and a["value"] in YES_NO else "")
                     if a["value"] is not None else f"{a['question']} {a['status']}"
                     for a in answers)
    week = answers[0]["week"] if answers else "-"
    click.echo(f"  answers stored for {week}: {said or 'none'}")
    if not scene.follow_up_rows:
        click.echo("  no follow-up opened")
        return
    click.echo("  follow-ups opened (ivr followups list):")
    for line in table(scene.follow_up_rows, ["id", "woman", "phone", "rule", "reason",
                                             "due_on", "state", "owner"]).splitlines():
        click.echo("    " + line)


def show_line(scene, as_json):
    """What the line recorded of her call."""
    rows = [{"caller": c.caller, "kind": c.kind, "played": " ".join(c.played),
             "keys": c.keys, "done": " ".join(c.done) or "-", "ended": c.ended,
             "seconds": round((c.ended_at - c.started_at).total_seconds(), 1)}
            for c in scene.calls]
    if as_json:
        emit_json({"scene": "answered_line", "woman": scene.subscriber.id, "calls": rows})
        return
    click.echo("  the line recorded (inbound_calls in demo.db):")
    for line in table(rows, ["caller", "kind", "played", "keys", "done", "ended",
                             "seconds"]).splitlines():
        click.echo("    " + line)
