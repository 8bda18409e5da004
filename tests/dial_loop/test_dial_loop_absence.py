"""`ivr run`'s dial loop sweeps for absence (ivr/absence.py) by itself: a Pesinet child
whose check-in calls of the last weeks all rang out gets the absence follow-up from the
loop's first turn, with nobody running `ivr followups absent`."""
from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from ivr.adapters.schedule_store import ScheduleStore
from ivr.app import running
from ivr.service import Dialer
from scheduler.model import Subscriber
from tests.dial_loop.conftest import config_for, lease
from tests.fakes.ami_peer import NO_ANSWER
from tests.operators.test_followup_absent_sweep import PROGRAMME, WEEK, calls_until

PHONE = "22376000001"


async def test_dial_loop_sweeps_followup_absent_weeks(peer, tmp_path, sounds):
    peer._fates = {PHONE: NO_ANSWER}
    config = replace(config_for(peer, tmp_path, sounds), programme="pesinet")
    now = datetime.now(timezone.utc)
    start = now - 3 * WEEK
    async with running(config, agi_port=0) as service:
        schedule = ScheduleStore(service.store, PROGRAMME)
        her = await schedule.enrol(Subscriber(
            id=0, phone=PHONE, language="fr", slot="08-11", timezone="Africa/Bamako",
            child_dob=(start - WEEK).date()), start)
        async with asyncio.timeout(30):
            await calls_until(schedule, now - timedelta(minutes=5))
        assert await schedule.follow_ups(subscriber_id=her.id) == []
        dialer = Dialer(service, schedule, config.run_trunks(), lease_seconds=lease(service))
        await asyncio.wait_for(dialer.run(asyncio.Event(), until_idle=True), 30)
        [f] = await schedule.follow_ups(subscriber_id=her.id)
        assert (f.rule, f.owner_role.value) == ("no-checkin", "agent")
        assert len({a.week for a in await schedule.answers_of(her.id)}) >= 2
