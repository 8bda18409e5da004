"""`ivr run` with retry_slots = "learned" on the real sandbox: a woman whose history says she
never answers in her own slot (12-15) and answers at 15-18 gets her retry at 15-18, inside the
window. Her phone never answers (the sandbox phones answer by number, not by time), so every
call of hers ends "no answer": her first in her own slot, her retry where the rule sent it.
The service's clock (the dial loop's and the controller's) is moved on to the retry's time
instead of waiting three hours."""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone

import pytest

from ivr.adapters.schedule_store import ScheduleStore
from ivr.app import running
from ivr.service import Dialer
from scheduler.model import DeliveryStatus
from scheduler.programme import load_programme
from scheduler.slots import zone
from tests.e2e.run_helpers import (TEST_MESSAGE, all_messages_are, quick_programme, with_programme,
                                   woman_on)

pytestmark = pytest.mark.sandbox

NO_ANSWER = "919000041"
# her history before this run: 9 calls in her slot, none answered; 6 at 15-18, 5 answered
HISTORY = [("12-15", 9, 0, 9, 0), ("15-18", 6, 5, 0, 0)]


def learned_programme(tmp_path):
    path = quick_programme(tmp_path, gaps={"no_answer": "1s"}, max_attempts=2, per_day=3)
    text = path.read_text(encoding="utf-8").replace("[retry]\n",
                                                    '[retry]\nretry_slots = "learned"\n', 1)
    path.write_text(text, encoding="utf-8")
    load_programme(path)
    return path


async def test_run_places_her_retry_in_the_learned_slot_inside_the_window(call_config,
                                                                            tmp_path):
    path = learned_programme(tmp_path)
    all_messages_are(call_config.sounds, TEST_MESSAGE, path)
    config = with_programme(call_config, path)
    programme = load_programme(path)
    shift = [0.0]

    def clock() -> float:
        return time.time() + shift[0]

    async with running(config, agi_port=0) as service:
        service.controller.clock = clock
        schedule = ScheduleStore(service.store, programme)
        now = datetime.now(timezone.utc)
        sub = await schedule.enrol(woman_on(NO_ANSWER, now), now, actor="test")
        for slot, calls, answered, own_calls, own_answered in HISTORY:
            await service.store.execute(
                "INSERT INTO slot_answers (subscriber_id, slot, calls, answered, own_calls, "
                "own_answered) VALUES (?, ?, ?, ?, ?, ?)",
                (sub.id, slot, calls, answered, own_calls, own_answered))
        tz = zone(sub.timezone)

        async def run_until_idle():
            dialer = Dialer(service, schedule, config.run_trunks(("sim",)), clock=clock,
                            lease_seconds=programme.retry.lease.total_seconds())
            await asyncio.wait_for(dialer.run(asyncio.Event(), until_idle=True), 60)
            return dialer

        first = await run_until_idle()           # her first call, now, in her own slot
        assert first.stats.outcomes == {"no_answer": 1}
        [d] = await schedule.deliveries_of(sub.id)
        assert d.status is DeliveryStatus.PENDING and d.attempts == 1
        retry_at = d.next_attempt_at.astimezone(tz)
        # the rule sent her retry to 15-18, today, at its opening (not 1 s later in 12-15)
        assert retry_at.date() == now.astimezone(tz).date()
        assert (retry_at.hour, retry_at.minute) == (15, 0), retry_at

        shift[0] = d.next_attempt_at.timestamp() - time.time() + 1.0   # her retry is due
        second = await run_until_idle()
        assert second.stats.outcomes == {"no_answer": 1}
        rows = await service.store.fetchall(
            "SELECT number, outcome, started_at FROM attempts "
            "WHERE subscriber_id = ? ORDER BY number", (sub.id,))
        assert [(r["number"], r["outcome"]) for r in rows] == [(1, "no_answer"), (2, "no_answer")]
        local = [datetime.fromtimestamp(r["started_at"], timezone.utc).astimezone(tz)
                 for r in rows]
        assert 12 <= local[0].hour < 15                    # her own slot
        assert 15 <= local[1].hour < 18, local[1]          # the learned slot, on the real line
        assert all(programme.window.contains(x.time()) for x in local)
        [d] = [x for x in await schedule.deliveries_of(sub.id) if x.id == d.id]
        assert d.status is DeliveryStatus.UNDELIVERED and d.attempts == 2
        counts = await service.store.fetchall(
            "SELECT slot, calls, answered FROM slot_answers WHERE subscriber_id = ? "
            "ORDER BY slot", (sub.id,))
        assert [tuple(r) for r in counts] == [("12-15", 10, 0), ("15-18", 7, 5)]
