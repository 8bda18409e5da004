"""`ivr call test`: one call end to end, for engineers checking a trunk or the sandbox."""
from __future__ import annotations

import asyncio
import signal

import click

from ivr.adapters.store import CallRecord
from ivr.commands.common import Group, emit_json, fail, pass_settings, say
from ivr.logs import setup_logging
from ivr.phone import mask


@click.group(name="call", cls=Group)
def command() -> None:
    """Place calls by hand."""


def attempt_summary(a: CallRecord, reveal: bool = False) -> dict:
    return {
        "attempt": a.id, "to": a.phone if reveal else mask(a.phone), "trunk": a.trunk,
        "language": a.language, "language_played": a.language_played, "message": a.message_key,
        "outcome": a.outcome.value if a.outcome else None, "reason": a.reason, "cause": a.cause,
        "cause_text": a.cause_text, "heard_seconds": a.heard_seconds,
        "message_seconds": a.message_seconds, "heard_share": a.heard_share, "ended": a.ended,
        "keys": a.keys,
        "ring_seconds": round(a.answered_at - a.started_at, 2)
        if a.answered_at and a.started_at else None,
        "call_seconds": round(a.ended_at - a.started_at, 2)
        if a.ended_at and a.started_at else None,
    }


def format_attempt(s: dict) -> str:
    heard = ("" if s["heard_seconds"] is None else
             f" heard {s['heard_seconds']:.1f}/{s['message_seconds']:.1f} s"
             f" ({s['heard_share']:.0%}, {s['ended']})")
    cause = (f" cause {s['cause']} {s['cause_text'] or ''}".rstrip()
             if s["cause"] is not None else "")
    return (f"attempt {s['attempt']}: {s['to']} {s['language']} {s['message']} -> "
            f"{s['outcome']}{cause}{heard}")


@command.command(name="test")
@click.option("--to", "to", required=True, help="Phone number to call, digits (E.164, + optional).")
@click.option("--lang", "language", required=True, help="Language code, e.g. hi, mr, gu, en.")
@click.option("--message", required=True, help="Message key (or prompt name) to play.")
@click.option("--trunk", default=None,
              help="Trunk name from the configuration (default: the first).")
@click.option("--json", "as_json", is_flag=True, help="Print the stored attempt as JSON.")
@click.option("--reveal", is_flag=True, help="Show the phone number in clear.")
@pass_settings
def test_call(settings, to, language, message, trunk, as_json, reveal):
    """Call one phone number now, play one message, store and print the outcome.

    \b
    Example (the sandbox's simulated phone that answers and presses 1):
      ivr call test --to +919000021 --lang hi --message mmitra-p001
    """
    from ivr.app import place_test_call, running

    setup_logging("warning")             # warnings on stderr, numbers masked

    async def go():
        # Ctrl-C or SIGTERM: hang the call up and close its row now, not when it ends
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        async with running(settings.config, programme=settings.programme) as service:
            return await place_test_call(service, to=to, language=language, message=message,
                                         trunk=trunk)
    try:
        attempt = asyncio.run(go())
    except asyncio.CancelledError:
        fail("interrupted: the call was hung up and its attempt closed")
    except OSError as e:
        fail(str(e))
    if reveal:
        from ivr.operators.session import audit_reveal
        audit_reveal(settings.config, "call test", [])
    summary = attempt_summary(attempt, reveal)
    if as_json:
        emit_json(summary)
    else:
        click.echo(format_attempt(summary))
    if attempt.outcome is None:
        say("warning: the call did not reach an outcome")
