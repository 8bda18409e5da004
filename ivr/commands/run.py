"""`ivr run` (the calling service) and `ivr status` (what it is doing)."""
from __future__ import annotations

import asyncio
import signal
import time
from datetime import datetime

import click

from ivr.adapters.store import StoreError
from ivr.commands.common import emit_json, fail, pass_settings, say
from ivr.constants import DRAIN_SECONDS
from ivr.errors import ProblemsFound
from ivr.logs import setup_logging


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
@click.option("--drain-seconds", type=click.FloatRange(min=0), default=DRAIN_SECONDS,
              show_default=True,
              help="On SIGTERM, how long live calls may go on before the service exits "
                   "(calls still up are left to Asterisk and closed by the next start, "
                   "never hung up on a woman talking to the call centre). Keep systemd's "
                   "TimeoutStopSec longer.")
@pass_settings
def run_command(settings, trunks, until_idle, log_level, drain_seconds):
    """Run the calling service: place due calls, serve missed calls, until stopped.

    SIGTERM or Ctrl-C drains: no new calls, the live ones finish (up to --drain-seconds),
    then it exits. Only one `ivr run` per database; it calls through several trunks at once, each
    within its own channels and cps, a later trunk taking what the earlier ones cannot.

    \b
    Example:
      ivr run                      # as a service (see deploy/ for the systemd unit)
      ivr run --trunk carrier      # one trunk only
    """
    from ivr.app import running
    from ivr.metrics import serving
    from ivr.notify import Notifier, notifying
    from ivr.run_lock import RunLock
    from ivr.service import Dialer

    setup_logging(log_level)
    config, programme = settings.config, settings.programme
    chosen = config.run_trunks(trunks)

    async def go():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with running(config, programmes=settings.programmes) as service:
            # each call's lease is renewed for its own programme's length (the one its claim
            # wrote: ivr/dial_loop.py); this one serves only a call that carries none
            lease = min(p.retry.lease for p in settings.programmes)
            dialer = Dialer(service, service.schedule, chosen, region=programme.region,
                            lease_seconds=lease.total_seconds())
            async with serving(config.metrics, dialer), \
                    notifying(Notifier(), lambda: dialer.loop_at, stop):
                await dialer.run(stop, until_idle=until_idle, drain_seconds=drain_seconds)
            return dialer.status()

    try:
        # one `ivr run` per SQLite database; on PostgreSQL one per node's home (several
        # nodes share the database)
        with RunLock(config.home / "node" if config.database_url else config.database):
            final = asyncio.run(go())
    except OSError as e:
        fail(str(e))                                    # an error in the journal too
    say(f"ivr run: stopped; placed {final['placed']} call(s): "
        + ", ".join(f"{n} {k}" for k, n in sorted(final["outcomes"].items())))


@click.command(name="status")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object on stdout (with --nodes: one per node, one a line).")
@click.option("--nodes", "nodes", is_flag=True,
              help="Every node (`ivr run`) sharing the database instead: its state (alive, "
                   "stale, stopped), heartbeat age, live calls per trunk, last error.")
@pass_settings
def status_command(settings, as_json, nodes):
    """Show what the service is doing: live calls per trunk, waiting work, today's counts.

    A health probe too: exits 1 (and says why on standard error) when the service is not
    running, its status is stale (hung), AMI has been disconnected for more than 30 s, the
    dial loop has not turned for 90 s, every trunk rests, or 3 errors came within a minute.
    With --nodes: exits 1 when a node is stale (no heartbeat for 3 of its intervals: it died
    or cannot reach the database). Its times are in the installation's zone ([ivr] timezone),
    else in UTC: the first line names it (with --json, each node's "timezone").

    \b
    Example:
      ivr status --json
      ivr status >/dev/null || echo "the IVR needs attention"
      ivr status --nodes
    """
    from ivr.status import health, read_status, status_json

    config = settings.config
    now = time.time()
    if nodes:
        _nodes_status(settings, now, as_json)
        return
    problems = health(config, now)
    try:
        several = [(p.name, p.timezone) for p in settings.programmes] \
            if len(settings.programmes) > 1 else []
        status = asyncio.run(read_status(config, settings.programme.timezone, now, several))
    except (StoreError, OSError) as e:
        # the health as it is now: the store may have taken its open timeout to fail (the
        # database away: the running service has noticed meanwhile)
        _say_problems(health(config, time.time()))
        fail(str(e))
    status["health"] = {"healthy": not problems, "problems": problems}
    if as_json:
        emit_json(status_json(status))
        _exit_if_unhealthy(problems)
        return
    click.echo(f"database: {status['database']}")
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
            shared = "" if t.get("cps_share") is None else \
                f" (this node's share of the nodes' {t['shared_cps']:g}: {t['cps_share']:g})"
            click.echo(f"  trunk {name}: {t['live']}/{t['channels']} live calls, "
                       f"{t['cps']:g} cps{shared}{health}")
        if service.get("backoff_until"):
            click.echo(f"  dial loop: BACKING OFF until {clock(service['backoff_until'])} after "
                       f"{service['errors_in_a_row']} error(s) in a row")
        recovered = [f"{service[k]} {what}" for k, what in (
            ("stale_closed", "attempt(s) of dead processes closed"),
            ("ami_reconnects", "AMI reconnect(s)"), ("loop_errors", "dial loop error(s)"))
            if service.get(k)]
        if recovered:
            click.echo("  since start: " + ", ".join(recovered))
        for err in service["errors"][-5:]:
            click.echo(f"  error at {clock(err['at'])}: {err['error']}")
    click.echo(f"waiting: {status['due_now']} due now, {status['pending']} pending, "
               f"{status['callbacks_pending']} callback(s)")
    today = status["today"]
    click.echo("today: " + (", ".join(f"{n} {k}" for k, n in sorted(today.items())) or "no calls"))
    for p in status.get("programmes", []):      # several: each in its own today
        click.echo(f"  {p['programme']} ({p['day']['date']}, {p['day']['timezone']}): "
                   + (", ".join(f"{n} {k}" for k, n in sorted(p["today"].items()))
                      or "no calls"))
    _exit_if_unhealthy(problems)


def _nodes_status(settings, now: float, as_json: bool) -> None:
    """`ivr status --nodes`."""
    from ivr.node_status import read_node_views
    from ivr.nodes import STALE
    from ivr.status import times_as_rfc3339
    from scheduler.slots import zone

    try:
        views = asyncio.run(read_node_views(settings.config, now))
    except (StoreError, OSError) as e:
        fail(str(e))
    tz = settings.config.installation_zone      # nodes belong to no programme
    if not views:
        say("no node has run yet")
    elif not as_json:
        click.echo(f"nodes (times in {tz}):")
    for view in views:
        if as_json:
            emit_json({**times_as_rfc3339(view, tz), "timezone": tz})
            continue
        calls = ", ".join(f"{t} {n}" for t, n in sorted(view["live_calls"].items())) or "none"
        line = (f"node {view['node']} on {view['host']} (pid {view['pid']}): {view['state']}, "
                f"heartbeat {view['heartbeat_age']:.0f} s ago; live calls: {calls}")
        if view["cps_shares"]:
            line += "; cps share: " + ", ".join(
                f"{t} {c:g}" for t, c in sorted(view["cps_shares"].items()))
        click.echo(line)
        if view["last_error"]:
            at = datetime.fromtimestamp(view["last_error_at"], zone(tz))
            click.echo(f"  last error at {at:%Y-%m-%d %H:%M:%S}: {view['last_error']}")
    _exit_if_unhealthy([f"node {v['node']} is stale: no heartbeat for "
                        f"{v['heartbeat_age']:.0f} s" for v in views if v["state"] == STALE])


def _say_problems(problems: list[str]) -> None:
    for problem in problems:
        say(f"ivr status: unhealthy: {problem}")


def _exit_if_unhealthy(problems: list[str]) -> None:
    """The health probe's answer: exit 1, saying why, when there is any problem."""
    _say_problems(problems)
    if problems:
        raise ProblemsFound()
