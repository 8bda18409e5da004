"""Her key press over real SIP: a PJSIP call to a sipp UAS that answers and sends "1" as an
RFC 4733 telephone-event (from sipp's pcap) about 3.5 s after answer.  The IVR hears it, plays
her message a second time, and the stored attempt says so.

Uses the carrier trunk's contact port like test_sip.py: the two must not run at the same
time (they run one after the other in one pytest process).
"""
from __future__ import annotations

import asyncio

import pytest

from ivr.app import place_test_call, running
from ivr.protocol.ami import OtherEvent
from scheduler.outcome import Outcome
from tests.conftest import MESSAGE_SECONDS, ROOT, TEST_MESSAGE
from tests.e2e.agi_events import AgiCommand, AgiLog, observer
from tests.e2e.test_sip import udp_bound, wait_until
from tests.sandbox.conftest import free_port

pytestmark = pytest.mark.sandbox

SCENARIO = ROOT / "dialplan" / "sandbox" / "sipp" / "uas_answer_dtmf.xml"


async def test_rfc4733_key_1_from_a_sip_phone_replays_her_message(call_config, sandbox, tmp_path):
    port = sandbox.ports.sipp_port            # the carrier trunk's contact: the woman's phone
    assert not udp_bound(port), f"UDP {port} is taken: another sipp still running?"
    uas = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(SCENARIO), "-i", "127.0.0.1", "-p", str(port),
        "-mp", str(free_port(span=4)), "-m", "1", "-nostdin", "-timeout", "60", "-timeout_error",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path)
    agi = AgiLog()
    dtmf: list[OtherEvent] = []
    try:
        await wait_until(lambda: udp_bound(port), 10)
        def on_dtmf(e) -> None:
            if isinstance(e, OtherEvent) and e.name == "DTMFEnd":
                dtmf.append(e)

        async with running(call_config, agi_port=0) as service, \
                observer(sandbox, call_config, agi, on_dtmf):
            def ours(cmd: AgiCommand) -> bool:
                live = service.controller.live.get(cmd.attempt_id)
                return live is not None and live.channel_id == cmd.uniqueid

            call = asyncio.ensure_future(place_test_call(
                service, to="919000099", language="hi", message=TEST_MESSAGE, trunk="carrier"))
            try:
                # once she has heard it twice, she hangs up (spares the menu's time-outs)
                second = await agi.wait_ended(lambda c: ours(c) and c.plays(TEST_MESSAGE), 2,
                                              timeout=30)
                await service.controller.ami.hangup(second.channel)
                attempt = await asyncio.wait_for(call, 30)
            finally:
                if not call.done():
                    call.cancel()
                    await asyncio.wait([call], timeout=10)
        out, _ = await asyncio.wait_for(uas.communicate(), 30)
    finally:
        if uas.returncode is None:
            uas.kill()
            await uas.wait()
    text = out.decode(errors="replace")
    assert attempt.outcome is Outcome.ANSWERED, (attempt, text[-2000:])
    assert attempt.channel and attempt.channel.startswith("PJSIP/carrier-")
    assert attempt.keys == "1"
    assert attempt.heard_share == pytest.approx(1.0, abs=0.02)
    assert attempt.heard_seconds == pytest.approx(MESSAGE_SECONDS["hi"], abs=0.1)
    plays = [c for c in agi.commands(attempt.uniqueid) if c.plays(TEST_MESSAGE)]
    assert len(plays) == 2
    # Asterisk decoded exactly one "1" from the phone's RTP telephone-events
    received = [e.headers.get("Digit") for e in dtmf
                if e.headers.get("Direction") == "Received"
                and e.headers.get("Channel") == attempt.channel]
    assert received == ["1"], dtmf
    assert uas.returncode == 0, text[-2000:]            # sipp: one call, ended by Asterisk's BYE
