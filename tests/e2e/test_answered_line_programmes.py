"""The answered line in an installation of two programmes (mMitra first, Pesinet), against the
real sandbox with sipp as the caller: a Pesinet family calling from a Mali number in national
form is found (read in Mali's region, not India's) and served by Pesinet's line: its menu's
first slot is Pesinet's (08-11), not mMitra's (09-12)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ivr.app import running
from scheduler.content import Track
from scheduler.model import Subscriber
from tests.e2e.run_helpers import linked_sounds, two_programmes
from tests.e2e.test_answered_line import LINE_DID, call_the_line, wait_for_row

pytestmark = pytest.mark.sandbox


def sounds_in_french(test_sounds, tmp_path):
    """The test catalogue with French: the Hindi recordings (test message, prompts) linked."""
    return linked_sounds(test_sounds, tmp_path, {"hi": "hi", "mr": "mr", "fr": "hi"})


async def test_answered_line_programmes_her_programme_serves_her_call(
        call_config, test_sounds, sandbox, tmp_path):
    config = two_programmes(call_config, tmp_path, sounds_in_french(test_sounds, tmp_path),
                            "pesinet")
    now = datetime.now(timezone.utc)
    async with running(config, agi_port=0) as service:
        schedules = service.schedule
        child = await schedules.of("pesinet").enrol(Subscriber(
            id=0, phone="22376123456", language="fr", slot="14-17", timezone="Africa/Bamako",
            child_dob=now.date() - timedelta(weeks=20), track=Track.INFANT), now, actor="test")
        # the message (3 s) plays whole; 3 at 4.5 s (at the menu), then slot 1
        await call_the_line(sandbox, tmp_path, service.controller.agi_url, "76123456",
                            [(4500, "3"), (2000, "1")], hang_up_after_ms=3000)
        [row] = await wait_for_row(service.store, 1)
        after = await schedules.subscriber(child.id)
    assert (row["kind"], row["subscriber_id"], row["did"]) == ("woman", child.id, LINE_DID)
    assert (row["played"], row["done"], row["keys"]) == ("latest", "slot:08-11", "31"), row
    assert after.slot == "08-11"
