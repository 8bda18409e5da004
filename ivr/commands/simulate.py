"""`ivr simulate`: the real scheduler over simulated time, with a simulated phone population."""
from __future__ import annotations

import dataclasses
import time
from datetime import datetime, timezone

import click
from click.core import ParameterSource

from ivr.commands.common import Settings, emit_json, pass_settings, say

OUTREACH_POLICIES = ("none", "random", "at-risk", "whittle")   # scheduler.outreach_sim.POLICIES
OBJECTIVES = ("drops", "engaged")                               # scheduler.outreach.OBJECTIVES


@click.command(name="simulate")
@click.option("--programme", "programme_name", metavar="NAME",
              help="Programme name (mmitra, kilkari) or TOML file; default: the configured one.")
@click.option("--women", type=click.IntRange(min=1, max=5_000_000), default=1000,
              show_default=True,
              help="Simulated women. Memory: about 30 KB per woman-year (10,000 women over "
                   "365 days: about 300 MB, 40 s).")
@click.option("--days", type=click.IntRange(min=1, max=3660), default=365, show_default=True,
              help="Simulated days.")
@click.option("--answer-rate", type=click.FloatRange(0, 1), default=0.6, show_default=True,
              help="Mean chance a scheduled call is answered (1: every call is answered).")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed.")
@click.option("--start", type=click.DateTime(formats=["%Y-%m-%d"]), default="2026-01-05",
              show_default=True, help="First simulated day (UTC midnight).")
@click.option("--enrol", type=click.Choice(["spread", "lmp"]), default="spread",
              show_default=True, help="spread: enrolled mid-pregnancy or after birth over the "
              "first two weeks; lmp: each woman enrolled on her LMP (4 weeks of LMPs).")
@click.option("--life-events/--no-life-events", default=True, show_default=True,
              help="Births around the EDD, losses, opt-outs and pauses (off: births on the EDD).")
@click.option("--busy-share", type=click.FloatRange(0, 1), default=0.2, show_default=True,
              help="Share of unanswered calls that are busy.")
@click.option("--full-listen", type=click.FloatRange(0, 1), default=0.45, show_default=True,
              help="Share of answered calls heard to the end (the rest stop at random).")
@click.option("--missed-call-rate", type=click.FloatRange(0, 1), default=0.05, show_default=True,
              help="Chance she gives a missed call after a call she missed.")
@click.option("--timezone", "timezones", multiple=True, metavar="ZONE",
              help="Time zone(s) of the women, e.g. Europe/London (repeat; default Asia/Kolkata).")
@click.option("--outreach", type=click.Choice(OUTREACH_POLICIES), default=None,
              help="Simulate the call centre's weekly outreach instead (on its own, not the daily "
                   "calls): whom it calls, at most --capacity women a week; prints "
                   "engagement_drops, engaged_weeks, calls. Uses --women and --seed only.")
@click.option("--capacity", type=click.IntRange(min=0), default=None, metavar="K",
              help="With --outreach: live calls the call centre makes a week.")
@click.option("--weeks", type=click.IntRange(min=1, max=520), default=20, show_default=True,
              help="With --outreach: simulated weeks.")
@click.option("--objective", type=click.Choice(OBJECTIVES), default=None,
              help="With --outreach whittle: what the index rewards: drops (a week that is not "
                   "a drop; the default) or engaged (an engaging week).")
@click.option("--slot-mismatch", type=click.FloatRange(0, 1), default=None, metavar="SHARE",
              help="Give each woman a best slot (she answers half as often in the others): her "
                   "chosen slot, except for this share of women (default: off, her chance does "
                   "not depend on the time of the call).")
@click.option("--away-day-answer", type=click.FloatRange(0, 1), default=None, metavar="SHARE",
              help="With --slot-mismatch: every woman has one away weekday (drawn at random) "
                   "where she answers this share as often (default 0.5; 1: no weekday effect).")
@click.option("--retry-slots", type=click.Choice(["own", "random", "learned", "oracle"]),
              default=None,
              help="Where later attempts of a message go: own (her slot), random (any slot of "
                   "the window), learned (her answers); oracle (with --slot-mismatch: the "
                   "slot where she truly answers most, a ceiling no programme can run); "
                   "default: the programme's retry_slots.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_settings
def command(settings: Settings, programme_name: str | None, women: int, days: int,
            answer_rate: float, seed: int, start: datetime, enrol: str, life_events: bool,
            busy_share: float, full_listen: float, missed_call_rate: float,
            timezones: tuple[str, ...], outreach: str | None, capacity: int | None,
            weeks: int, objective: str | None, slot_mismatch: float | None,
            away_day_answer: float | None, retry_slots: str | None, as_json: bool) -> None:
    """Run the scheduler over simulated days with simulated phones and print the counts.

    Nothing is called and nothing is stored: the scheduler's in-memory store is used, the
    same decisions as the live service. calls_outside_slot, calls_outside_window and
    double_live_attempts are measured by the simulated network, and must be 0.

    \b
    Example:
      ivr simulate --programme mmitra --women 10000 --days 365 --answer-rate 0.6 --seed 1 --json
      ivr simulate --women 100 --days 660 --answer-rate 1 --enrol lmp --no-life-events
      ivr simulate --outreach whittle --capacity 50 --weeks 20 --seed 1 --json
      ivr simulate --outreach whittle --objective engaged --capacity 50 --json
      ivr simulate --women 2000 --days 180 --slot-mismatch 0.3 --retry-slots learned --json
    """
    if outreach is not None or capacity is not None:
        _outreach(outreach, capacity, weeks, objective, women, seed, as_json)
        return
    if objective is not None:
        raise click.UsageError("--objective goes with --outreach whittle")
    if click.get_current_context().get_parameter_source("weeks") is not ParameterSource.DEFAULT:
        raise click.UsageError("--weeks goes with --outreach (the daily simulation has --days)")
    from scheduler.policy import RetrySlots
    from scheduler.simulation import Population, simulate
    from scheduler.slots import zone

    if away_day_answer is not None and slot_mismatch is None:
        raise click.UsageError("--away-day-answer goes with --slot-mismatch")
    if retry_slots == "oracle" and slot_mismatch is None:
        raise click.UsageError("--retry-slots oracle needs --slot-mismatch")
    programme = settings.programme_named(programme_name)
    for name in timezones:
        try:
            zone(name)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="'--timezone'") from None
    population = Population(women=women, answer_rate=answer_rate, busy_share=busy_share,
                            unreachable_share=min(0.1, 1 - busy_share), full_listen=full_listen,
                            missed_call_rate=missed_call_rate, enrol=enrol,
                            life_events=life_events,
                            timezones=tuple(timezones) or (programme.timezone,),
                            slot_mismatch=slot_mismatch)
    if away_day_answer is not None:
        population = dataclasses.replace(population, away_day_answer=away_day_answer)
    say(f"simulating {women} women for {days} days of {programme.name}...")
    began = time.perf_counter()
    result = simulate(programme, population, days=days, seed=seed,
                      start=start.replace(tzinfo=timezone.utc),
                      retry_slots=RetrySlots(retry_slots)
                      if retry_slots not in (None, "oracle") else None,
                      oracle=retry_slots == "oracle")
    summary = dict(result.summary, seed=seed, answer_rate=answer_rate,
                   start=start.date().isoformat(),
                   elapsed_seconds=round(time.perf_counter() - began, 2))
    _print(summary, as_json)


def _outreach(policy: str | None, capacity: int | None, weeks: int, objective: str | None,
              women: int, seed: int, as_json: bool) -> None:
    """`--outreach`: the weekly outreach simulation (scheduler/outreach_sim.py), on its own."""
    import random

    from scheduler.outreach import DEFAULT_OBJECTIVE
    from scheduler.outreach_sim import OutreachPopulation, simulate_outreach

    if policy is None or capacity is None:
        raise click.UsageError("--outreach and --capacity go together")
    if objective is not None and policy != "whittle":
        raise click.UsageError("--objective goes with --outreach whittle")
    say(f"simulating {weeks} weeks of outreach ({policy}, capacity {capacity}) "
        f"for {women} women...")
    began = time.perf_counter()
    result = simulate_outreach(OutreachPopulation(women=women), policy, capacity, weeks,
                               random.Random(seed), objective or DEFAULT_OBJECTIVE)
    summary = dict(result.summary, seed=seed,
                   elapsed_seconds=round(time.perf_counter() - began, 2))
    _print(summary, as_json)


def _print(summary: dict[str, object], as_json: bool) -> None:
    if as_json:
        emit_json(summary)
        return
    for key, value in summary.items():
        click.echo(f"{key:26} {value}")
