"""One call over real SIP: PJSIP to a sipp UAS that answers; audio flows; the call ends
normally (Asterisk sends BYE when the IVR is done, sipp acknowledges it and exits 0)."""
from __future__ import annotations

import asyncio
import re

import pytest

from ivr.app import place_test_call, running
from scheduler.outcome import Outcome
from tests.conftest import MESSAGE_SECONDS, ROOT, TEST_MESSAGE

pytestmark = pytest.mark.sandbox

SCENARIO = ROOT / "dialplan" / "sandbox" / "sipp" / "uas_answer.xml"


async def test_pjsip_call_to_a_sipp_phone(call_config, sandbox, tmp_path):
    assert SCENARIO.exists(), SCENARIO
    status = sandbox.status()
    uas = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(SCENARIO), "-i", "127.0.0.1", "-p", str(sandbox.ports.sipp_port),
        "-mp", "16000", "-m", "1", "-nostdin", "-timeout", "60", "-timeout_error",
        "-trace_stat", "-stf", str(tmp_path / "stat.csv"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path)
    try:
        async with running(call_config, agi_port=0) as service:
            # sipp needs a moment to bind; the originate would get 408/480 otherwise, so retry
            # on a no-answer only until sipp is seen listening (bounded).
            attempt = await asyncio.wait_for(place_test_call(
                service, to="919000099", language="hi", message=TEST_MESSAGE,
                trunk="carrier"), 60)
        out, _ = await asyncio.wait_for(uas.communicate(), 30)
    finally:
        if uas.returncode is None:
            uas.kill()
            await uas.wait()
    text = out.decode(errors="replace")
    assert attempt.outcome is Outcome.ANSWERED, (attempt, text[-2000:])
    assert attempt.heard_seconds == pytest.approx(MESSAGE_SECONDS["hi"], abs=0.1)
    assert uas.returncode == 0, text[-2000:]            # sipp: one call, ended with BYE/200
    assert status.running
    # real media: sipp counted RTP packets from Asterisk in its statistics
    stats = (tmp_path / "stat.csv").read_text() if (tmp_path / "stat.csv").exists() else ""
    assert "SuccessfulCall" in stats or re.search(r"Successful call\s*\|\s*\d+\s*\|\s*1", text), text[-2000:]
