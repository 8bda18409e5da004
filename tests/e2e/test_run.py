"""`ivr run`'s dial loop against the real sandbox: retries by the policy, pacing, callbacks."""
from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from ivr.adapters.schedule_store import ScheduleStore
from ivr.app import running
from ivr.service import Dialer
from scheduler.model import DeliveryStatus
from scheduler.outcome import Outcome
from scheduler.programme import load_programme
from tests.e2e.run_helpers import (TEST_MESSAGE, all_messages_are, quick_programme, with_programme,
                                   woman_on)

pytestmark = pytest.mark.sandbox


def enrolling(phones):
    """The set-up that enrols a woman on each of these phones."""
    async def enrol(schedule, now):
        for phone in phones:
            await schedule.enrol(woman_on(phone, now), now, actor="test")
    return enrol


async def run_until_idle(config, setup, check, *, trunks=("sim",), timeout=120):
    """Enrol with `setup(schedule, now)`, run the dial loop through the trunks named until
    nothing is due now, then `check(schedule, dialer)` (the store is still open)."""
    programme = load_programme(config.programme)
    async with running(config, agi_port=0) as service:
        schedule = ScheduleStore(service.store, programme)
        await setup(schedule, datetime.now(timezone.utc))
        dialer = Dialer(service, schedule, config.run_trunks(trunks),
                        lease_seconds=programme.retry.lease.total_seconds())
        await asyncio.wait_for(dialer.run(asyncio.Event(), until_idle=True), timeout)
        await check(schedule, dialer)


async def test_failures_are_retried_by_the_policy(call_config, tmp_path):
    path = quick_programme(tmp_path, gaps={"busy": "1s", "no_answer": "4s", "congestion": "1s",
                                          "rejected": "2s"}, max_attempts=9, per_day=3)
    all_messages_are(call_config.sounds, TEST_MESSAGE, path)
    config = with_programme(call_config, path)
    numbers = {"919000031": "busy", "919000041": "no_answer", "919000051": "congestion",
               "919000061": "rejected"}
    ids = {}

    async def enrol(schedule, now):
        for phone in numbers:
            ids[phone] = (await schedule.enrol(woman_on(phone, now), now, actor="test")).id

    policy = load_programme(path).retry
    gaps_of = {}

    async def check(schedule, dialer):
        for phone, outcome in numbers.items():
            [d] = await schedule.deliveries_of(ids[phone])
            rows = await schedule.store.fetchall(
                "SELECT number, outcome, started_at, ended_at FROM attempts WHERE delivery_id = ? "
                "ORDER BY number", (d.id,))
            # three a day, then the next day's opening of her slot; still owed, not delivered
            assert [r["number"] for r in rows] == [1, 2, 3], phone
            assert {r["outcome"] for r in rows} == {outcome}, phone
            assert d.status is DeliveryStatus.PENDING and d.attempts == 3
            assert d.next_attempt_at.timestamp() > time.time() + 3600
            gaps = [b["started_at"] - a["ended_at"] for a, b in zip(rows, rows[1:], strict=False)]
            assert min(gaps) >= policy.gap(Outcome(outcome)).total_seconds() - 0.3, (phone, gaps)
            gaps_of[outcome] = gaps
        assert max(gaps_of["busy"]) < min(gaps_of["no_answer"])      # busy is retried sooner
        assert dialer.stats.outcomes == {"busy": 3, "no_answer": 3, "congestion": 3, "rejected": 3}

    await run_until_idle(config, enrol, check)


async def test_pacing_keeps_to_the_trunks_channels_and_calls_per_second(call_config, tmp_path):
    path = quick_programme(tmp_path, gaps={})
    all_messages_are(call_config.sounds, TEST_MESSAGE, path)
    channels, cps = 4, 2.0
    config = with_programme(call_config, path)
    config = replace(config, trunks=tuple(replace(t, channels=channels, cps=cps)
                                          for t in config.trunks))
    phones = [f"7{i:02d}" for i in range(1, 13)]        # answer, hang up after 5 s

    async def check(schedule, dialer):
        rows = await schedule.store.fetchall(
            "SELECT started_at, ended_at, outcome FROM attempts ORDER BY started_at")
        assert len(rows) == len(phones) and {r["outcome"] for r in rows} == {"answered"}
        # never more than `channels` calls at once, and the limit was used while work waited
        assert set_ups_in_any_second(rows) <= cps
        assert most_at_once(rows) == channels

    await run_until_idle(config, enrolling(phones), check)


def set_ups_in_any_second(rows) -> int:
    starts = sorted(r["started_at"] for r in rows)
    return max(sum(1 for u in starts[i:] if u < t + 1.0) for i, t in enumerate(starts))


def most_at_once(rows) -> int:
    edges = sorted([(r["started_at"], 1) for r in rows] + [(r["ended_at"], -1) for r in rows],
                   key=lambda e: (e[0], e[1]))
    live = peak = 0
    for _, step in edges:
        live += step
        peak = max(peak, live)
    return peak


async def test_several_trunks_each_keep_their_limits_and_the_second_takes_the_overflow(
        call_config, tmp_path):
    path = quick_programme(tmp_path, gaps={})
    all_messages_are(call_config.sounds, TEST_MESSAGE, path)
    sim = call_config.trunk("sim")
    limits = {"first": (2, 2.0), "second": (3, 1.0)}          # channels, cps
    config = replace(with_programme(call_config, path), trunks=tuple(
        replace(sim, name=name, channels=channels, cps=cps)
        for name, (channels, cps) in limits.items()) + (replace(sim, name="spare", run=False),))
    phones = [f"7{i:02d}" for i in range(1, 13)]        # answer, hang up after 5 s

    async def check(schedule, dialer):
        rows = await schedule.store.fetchall(
            "SELECT trunk, started_at, ended_at, outcome FROM attempts")
        assert len(rows) == len(phones) and {r["outcome"] for r in rows} == {"answered"}
        by_trunk = {name: [r for r in rows if r["trunk"] == name] for name in limits}
        assert sum(map(len, by_trunk.values())) == len(rows)        # never the spare trunk
        for name, (channels, cps) in limits.items():
            assert set_ups_in_any_second(by_trunk[name]) <= cps, name
            assert most_at_once(by_trunk[name]) == channels, name
        assert set(dialer.status()["trunks"]) == set(limits)

    await run_until_idle(config, enrolling(phones), check, trunks=())


async def test_a_trunk_that_keeps_failing_rests_and_the_next_trunk_takes_its_calls(
        call_config, tmp_path):
    path = quick_programme(tmp_path, gaps={"failed": "1s", "congestion": "1s"})
    all_messages_are(call_config.sounds, TEST_MESSAGE, path)
    sim = call_config.trunk("sim")
    down = replace(sim, name="down", dial="Local/{digits}@no-such-context", channels=2, cps=5.0,
                   rest_after=2, rest_seconds=3600.0)
    config = replace(with_programme(call_config, path),
                     trunks=(down, replace(sim, channels=6, cps=5.0)))
    phones = [f"7{i:02d}" for i in range(1, 7)]        # answer, hang up after 5 s

    async def check(schedule, dialer):
        rows = await schedule.store.fetchall(
            "SELECT subscriber_id, trunk, outcome FROM attempts ORDER BY id")
        on_down = [r for r in rows if r["trunk"] == "down"]
        # the first claim gave "down" its two calls; both failed, then it rested
        assert [r["outcome"] for r in on_down] == ["failed", "failed"], [tuple(r) for r in rows]
        # every woman was reached through "sim", those two on their second attempt
        answered = {r["subscriber_id"] for r in rows if r["outcome"] == "answered"}
        assert len(answered) == len(phones) and len(rows) == len(phones) + 2
        shown = dialer.status()["trunks"]["down"]
        assert shown["failed_in_a_row"] == 2 and shown["resting_until"] > time.time() + 3000

    await run_until_idle(config, enrolling(phones), check, trunks=())
