"""The AMI-kick drill of bench/drills.py in short form (issue 12, "Proof"): four women on
simulated phones, some ringing and some listening when Asterisk kicks the service's AMI
session (a real `ivr run` against a private sandbox Asterisk). Counted from Asterisk's own
view (the phones' SimPhoneEnded events): nobody hears her message twice, no attempt is
lost, nobody is hung up on."""
from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

import pytest

from bench import drills
from bench.service_common import make_sounds
from tests.e2e.run_helpers import quick_programme

pytestmark = pytest.mark.sandbox


async def test_a_kicked_ami_session_loses_no_call(sandbox, tmp_path):
    programme = quick_programme(tmp_path, gaps={"failed": "1s", "no_answer": "1s"})
    sounds = tmp_path / "sounds"
    make_sounds(sounds, programme, drills.MESSAGE_SECONDS)
    base = Path(tempfile.mkdtemp(prefix="drill-"))     # Asterisk's control socket path is short
    try:
        result = await asyncio.wait_for(
            drills.run_drill("ami-kick", 4, base, sounds, programme), 90)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert result.error is None, result
    c = result.counts
    # the kick happened while calls rang and played, and the service logged in again
    assert result.back_at is not None and result.back_at > result.failed_at
    ringing, answered = result.live_at_failure
    assert ringing >= 1 and answered >= 1, result.notes
    # every call placed was seen ending by its phone, and every woman got her message
    assert c.placed >= 4 and result.phones_ended == c.placed, result
    assert c.delivered == 4 and c.delivered_unheard == [], result
    assert c.duplicates == [], result.details
    assert c.lost == [], result.details
    assert c.cut_by_us == [] and c.cut_by_failure == [], result.details
