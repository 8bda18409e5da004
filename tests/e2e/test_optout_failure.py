"""Issue 12: an opt-out by key is recorded BEFORE she is told it is done.  Against the real
sandbox Asterisk: her row is made unwritable by a real SQLite trigger in the test's private
database, she presses 9 then 1, and she hears the "failed" prompt (the call centre will call
her), stays subscribed, and is on the call centre's list."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from ivr import constants as C
from ivr.adapters.schedule_store import ScheduleStore
from ivr.agi_route import CALL_CENTRE_OPT_OUT
from ivr.app import running
from ivr.controller import CallRequest
from ivr.flow import ENDED_OPT_OUT_FAILED
from scheduler.model import Subscriber
from scheduler.outcome import Outcome
from scheduler.programme import load_programme
from tests.conftest import TEST_MESSAGE
from tests.e2e.agi_events import AgiLog, observer

pytestmark = pytest.mark.sandbox

OPT_OUT = "9190000291"         # 9 during her message, then 1 to confirm

UNWRITABLE = """CREATE TRIGGER test_subscriber_unwritable BEFORE UPDATE ON subscribers
WHEN NEW.status IS NOT OLD.status
BEGIN SELECT RAISE(ABORT, 'test: her row cannot be written'); END"""


async def test_an_opt_out_that_cannot_be_written_plays_the_failed_prompt(sandbox, call_config):
    agi = AgiLog()
    async with running(call_config, agi_port=0) as service, observer(sandbox, call_config, agi):
        store = service.store
        schedule = ScheduleStore(store, load_programme(service.config.programme))
        now = datetime.fromtimestamp(service.controller.clock(), timezone.utc)
        woman = await schedule.enrol(Subscriber(id=0, language="hi", slot="09-12", phone=OPT_OUT,
                                                lmp=now.date() - timedelta(weeks=12)),
                                     now, actor="test")
        due = min(d.next_attempt_at for d in await schedule.deliveries_of(woman.id)
                  if d.next_attempt_at is not None)
        [claimed] = await schedule.claim(due, owner="test-optout-fails", limit=10)
        await store.execute(UNWRITABLE)
        request = CallRequest(phone=OPT_OUT, language="hi", message_key=TEST_MESSAGE,
                              trunk=service.config.trunk(), kind="scheduled",
                              subscriber_id=woman.id, delivery_id=claimed.delivery_id,
                              number=claimed.number)
        report = await asyncio.wait_for(service.controller.place_call(request, claimed.id), 60)
        attempt = await store.attempt(claimed.id)
        status = (await store.fetchall("SELECT status FROM subscribers WHERE id = ?",
                                       (woman.id,)))[0][0]
        listed = [dict(r) for r in await store.fetchall("SELECT * FROM call_centre_list")]
        audit = [r["action"] for r in await store.fetchall(
            "SELECT action FROM audit WHERE subscriber_id = ?", (woman.id,))]
        # what Asterisk ran comes on the observer's own AMI link: wait for the last command
        await agi.wait_ended(lambda c: c.uniqueid == attempt.uniqueid
                             and c.verb == "SET VARIABLE", 1, timeout=10)
        commands = agi.commands(attempt.uniqueid)
    assert report.outcome is Outcome.ANSWERED
    assert (attempt.keys, attempt.ended) == ("91", ENDED_OPT_OUT_FAILED)
    script = [c.command.split()[2].strip('"').rsplit("/", 1)[-1] if c.verb in (
        "STREAM FILE", "GET DATA") else c.command for c in commands]
    assert C.PROMPT_OPTOUT_DONE not in script
    assert script[-2:] == [C.PROMPT_OPTOUT_FAILED,
                           f"SET VARIABLE {C.VAR_RESULT} {ENDED_OPT_OUT_FAILED}"], script
    assert status == "active"                   # the write failed: nothing half-done
    assert "opt_out" not in audit
    assert [(r["subscriber_id"], r["attempt_id"], r["reason"], r["done_at"]) for r in listed] == [
        (woman.id, claimed.id, CALL_CENTRE_OPT_OUT, None)]
    assert attempt.answered_at <= listed[0]["added_at"]
