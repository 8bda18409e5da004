"""`ivr run` (the calling service) and `ivr status` (what it is doing)."""
from __future__ import annotations

import asyncio
import logging
import signal
import time

import click

from ivr.adapters.ami import AmiError
from ivr.adapters.store import StoreError
from ivr.commands.common import emit_json, fail, pass_settings, say
from ivr.config import ConfigError


def setup_logging(level: str) -> None:
    """One line per event on standard error, no timestamps of our own: journald (or the
    terminal) adds them. Phone numbers are masked where they are logged."""
    logging.basicConfig(level=getattr(logging, level.upper()),
                        format="%(levelname)s %(name)s: %(message)s")


def clock(epoch: float) -> str:
    """A time of today as the operator reads it: local HH:MM:SS."""
    return time.strftime("%H:%M:%S", time.localtime(epoch))


@click.command(name="run")
@click.option("--trunk", "trunks", multiple=True, metavar="NAME",
              help="Trunk to call through; repeat for several, in order of preference "
                   "(default: every trunk without run = false, in the file's order).")
@click.option("--until-idle", is_flag=True,
              help="Stop when nothing is due and no call is live (demos, tests).")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]))
@pass_settings
def run_command(settings, trunks, until_idle, log_level):
    """Run the calling service: place due calls, serve missed calls, until stopped.

    SIGTERM or Ctrl-C drains: no new calls, the live ones finish, then it exits.
    Only one `ivr run` per state directory; it calls through several trunks at once, each
    within its own channels and cps, a later trunk taking what the earlier ones cannot.

    \b
    Example:
      ivr run                      # as a service (see deploy/ for the systemd unit)
      ivr run --trunk carrier      # one trunk only
    """
    from ivr.app import running
    from ivr.adapters.schedule_store import ScheduleStore
    from ivr.service import Dialer, RunError, RunLock
    from scheduler.programme import load_programme

    setup_logging(log_level)
    config = settings.config
    try:
        chosen = config.run_trunks(trunks)
    except ConfigError as e:
        fail(str(e))

    async def go():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        programme = load_programme(config.programme)
        async with running(config) as service:
            schedule = ScheduleStore(service.store, programme)
            dialer = Dialer(service, schedule, chosen, region=programme.region,
                            lease_seconds=programme.retry.lease.total_seconds())
            await dialer.run(stop, until_idle=until_idle)
            return dialer.status()

    try:
        with RunLock(config.home):
            final = asyncio.run(go())
    except (RunError, AmiError, StoreError, OSError) as e:
        fail(str(e))
    say(f"ivr run: stopped; placed {final['placed']} call(s): "
        + ", ".join(f"{n} {k}" for k, n in sorted(final["outcomes"].items())))


@click.command(name="status")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@pass_settings
def status_command(settings, as_json):
    """Show what the service is doing: live calls per trunk, waiting work, today's counts.

    \b
    Example:
      ivr status --json
    """
    from ivr.status import read_status, status_json

    config = settings.config
    try:
        status = asyncio.run(read_status(config, time.time()))
    except (StoreError, OSError) as e:
        fail(str(e))
    if as_json:
        emit_json(status_json(status))
        return
    service = status["service"]
    if service is None:
        click.echo("service: not running")
    else:
        click.echo(f"service: running (pid {service['pid']}), AMI "
                   f"{'connected' if service['ami_connected'] else 'DISCONNECTED'}")
        for name, t in service["trunks"].items():
            health = ""
            if t.get("resting_until"):
                health = (f", RESTING until {clock(t['resting_until'])} after "
                          f"{t['failed_in_a_row']} failed calls in a row")
            click.echo(f"  trunk {name}: {t['live']}/{t['channels']} live calls, "
                       f"{t['cps']:g} cps{health}")
        for e in service["errors"][-5:]:
            click.echo(f"  error at {clock(e['at'])}: {e['error']}")
    click.echo(f"waiting: {status['due_now']} due now, {status['pending']} pending, "
               f"{status['callbacks_pending']} callback(s)")
    today = status["today"]
    click.echo("today: " + (", ".join(f"{n} {k}" for k, n in sorted(today.items())) or "no calls"))

