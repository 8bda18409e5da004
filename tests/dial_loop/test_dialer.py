"""The dial loop on the fake Asterisk: each call's scripted fate comes back as its outcome,
recorded once; an answered call plays her message over FastAGI; a refused Originate costs
her no attempt; a wrong secret is refused."""
from __future__ import annotations

import asyncio

import pytest

from ivr import constants as C
from ivr.adapters.ami import AmiError
from ivr.app import running
from ivr.service import Dialer
from scheduler.model import DeliveryStatus
from tests.dial_loop.conftest import attempts, config_for, enrol, lease, schedule_of
from tests.fakes.ami_peer import (ANSWERS, BUSY, CONGESTION, HANGS_UP_MID_MESSAGE, NO_ANSWER,
                                  REFUSED, REJECTS, FakeAmi)

FATES = {"919000011": ANSWERS, "919000031": BUSY, "919000041": NO_ANSWER,
         "919000061": REJECTS, "919000051": CONGESTION, "919000071": HANGS_UP_MID_MESSAGE}
OUTCOMES = {"919000011": ("answered", 4), "919000031": ("busy", 5),
            "919000041": ("no_answer", 3), "919000061": ("rejected", 1),
            "919000051": ("congestion", 8), "919000071": ("answered", 4)}


async def test_dialer_records_each_scripted_fate_once(peer, tmp_path, sounds):
    peer._fates = FATES
    config = config_for(peer, tmp_path, sounds, ring_timeout=0.5)
    async with running(config, agi_port=0) as service:
        schedule = schedule_of(service)
        women = await enrol(schedule, list(FATES))
        dialer = Dialer(service, schedule, config.run_trunks(), lease_seconds=lease(service))
        await asyncio.wait_for(dialer.run(asyncio.Event(), until_idle=True), 20)
        rows = await attempts(service.store)
        assert peer.actions["originate"] == len(FATES)           # each woman called once
        for phone, (outcome, reason) in OUTCOMES.items():
            row = rows[women[phone]]
            assert (row["outcome"], row["reason"]) == (outcome, reason), (phone, row)
            assert row["acquired_by"] is None and row["ended_at"] is not None
        listened = rows[women["919000011"]]
        assert listened["heard_share"] == pytest.approx(1.0)
        assert listened["answered_at"] is not None
        half = rows[women["919000071"]]
        assert half["heard_share"] == pytest.approx(0.5, abs=0.01)
        assert rows[women["919000031"]]["cause"] == 17           # the dialled half's cause
        # the in-call part ran over FastAGI: her message, then the route's result
        call = next(c for c in peer.calls.values() if c.digits == "919000011")
        played = [c.split()[2] for c in call.agi_commands if c.startswith("STREAM FILE")]
        message = [p for p in played if p.rsplit("/", 1)[-1] not in C.PROMPTS]
        assert message and message[0].startswith(f"{sounds}/")        # her message
        assert call.agi_variables[C.VAR_RESULT] == "no_input"     # heard it, pressed nothing
        assert len(call.agi_commands) >= 2
        d, *_ = await schedule.deliveries_of(women["919000011"])
        assert d.status is DeliveryStatus.DELIVERED
        assert dialer.stats.placed == len(FATES)


async def test_dialer_a_refused_originate_costs_her_no_attempt(peer, tmp_path, sounds):
    peer._fates = {"919000011": REFUSED}
    config = config_for(peer, tmp_path, sounds)
    async with running(config, agi_port=0) as service:
        schedule = schedule_of(service)
        women = await enrol(schedule, ["919000011"])
        dialer = Dialer(service, schedule, config.run_trunks(), lease_seconds=lease(service))
        stop = asyncio.Event()
        loop = asyncio.create_task(dialer.run(stop))
        try:
            await peer.wait_for(lambda: peer.actions["originate"] >= 1)
            await asyncio.wait_for(_until_not_placed(dialer), 10)
        finally:
            stop.set()
            await asyncio.wait_for(loop, 10)
        row = (await attempts(service.store)).get(women["919000011"])
        assert row is None or row["outcome"] is None         # undone: due again shortly
        assert dialer.stats.not_placed == 1 and dialer.stats.placed == 1
        d, *_ = await schedule.deliveries_of(women["919000011"])
        assert d.status is not DeliveryStatus.DELIVERED


async def _until_not_placed(dialer: Dialer) -> None:
    while dialer.stats.not_placed == 0:
        await asyncio.sleep(0.02)


async def test_dialer_cannot_start_with_a_wrong_secret(peer, tmp_path, sounds):
    config = config_for(peer, tmp_path, sounds)
    wrong = FakeAmi(secret="another")
    async with wrong:
        from dataclasses import replace
        config = replace(config, ami=replace(config.ami, port=wrong.port, connect_timeout=2.0))
        with pytest.raises(AmiError, match="refused the login"):
            async with running(config, agi_port=0):
                pass
        assert wrong.actions["login"] >= 1 and wrong.actions["originate"] == 0
