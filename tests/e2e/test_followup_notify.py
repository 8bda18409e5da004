"""The doctor's "ask her to come" against the real sandbox Asterisk (issue 15, item 2): the
follow-up closed with ask_to_come and a date, the dial loop calls her weekly message and then
her notification, one after the other; the simulated phone answers and listens; Asterisk
played the notification prompt, then the day's prompts (day of the month, month); both
deliveries are delivered and the notification's attempt row says what played."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from ivr import constants as C
from ivr.adapters.schedule_store import ScheduleStore
from ivr.app import running
from ivr.service import Dialer
from scheduler.model import DeliveryStatus
from ivr.agi_route import day_prompts
from scheduler.notifications import come_key
from scheduler.programme import load_programme
from scheduler.questions_model import FollowUpToOpen, OwnerRole
from scheduler.slots import local_date
from tests.e2e.agi_events import AgiLog, observer
from tests.e2e.run_helpers import (TEST_MESSAGE, all_messages_are, quick_programme, with_programme,
                                   woman_on)

pytestmark = pytest.mark.sandbox

LISTENS = "919000011"          # answers and listens until the IVR hangs up


async def test_followup_ask_to_come_calls_her_and_says_the_day(call_config, sandbox, tmp_path):
    path = quick_programme(tmp_path, gaps={"no_answer": "2s"})
    all_messages_are(call_config.sounds, TEST_MESSAGE, path)
    config = with_programme(call_config, path)
    programme = load_programme(path)
    agi = AgiLog()
    async with running(config, agi_port=0) as service, observer(sandbox, config, agi):
        schedule = ScheduleStore(service.store, programme)
        now = datetime.now(timezone.utc)
        sub = await schedule.enrol(woman_on(LISTENS, now), now, actor="test")
        await schedule.run_plans(now)
        f = await schedule.open_follow_up(sub.id, FollowUpToOpen(
            "weight_loss", "weight lower than last week", now.date(), OwnerRole.DOCTOR), now)
        assert f is not None
        come_on = local_date(now, ZoneInfo(sub.timezone)) + timedelta(days=3)
        await schedule.close_follow_up(f.id, "ask_to_come", "dr-test", now, come_on=come_on)

        dialer = Dialer(service, schedule, config.run_trunks(("sim",)),
                        lease_seconds=programme.retry.lease.total_seconds())
        await asyncio.wait_for(dialer.run(asyncio.Event(), until_idle=True), 120)

        rows = [dict(r) for r in await service.store.fetchall(
            "SELECT a.message_key, a.outcome, a.heard_share, a.ended, a.uniqueid, a.started_at, "
            "a.ended_at, a.delivery_id FROM attempts a WHERE a.subscriber_id = ? ORDER BY a.id",
            (sub.id,))]
        deliveries = {d.message_key: d for d in await schedule.deliveries_of(sub.id)}

    key = come_key(come_on)
    assert [r["message_key"] for r in rows][-1] == key and len(rows) == 2
    weekly, notify = rows
    assert weekly["ended_at"] <= notify["started_at"]          # one call at a time
    assert (notify["outcome"], notify["ended"]) == ("answered", "no_input")
    assert notify["heard_share"] == pytest.approx(1.0)
    assert deliveries[key].status is DeliveryStatus.DELIVERED
    assert deliveries[weekly["message_key"]].status is DeliveryStatus.DELIVERED
    said = agi.commands(notify["uniqueid"])
    played = [c.command.split()[2].rsplit("/", 1)[-1] for c in said if c.verb == "STREAM FILE"]
    day, month = day_prompts(come_on)
    at = played.index(C.PROMPT_NOTIFY_COME)
    assert played[at:at + 3] == [C.PROMPT_NOTIFY_COME, day, month], played
    other = [c.command for c in agi.commands(weekly["uniqueid"])]
    assert other and not any("ivr-day-" in c or C.PROMPT_NOTIFY_COME in c for c in other)
