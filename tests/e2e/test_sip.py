"""One call over real SIP: PJSIP to a sipp UAS that answers; audio flows; the call ends
normally (Asterisk sends BYE when the IVR is done, sipp acknowledges it and exits 0)."""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from ivr.app import place_test_call, running
from ivr.protocol.ami import OtherEvent
from scheduler.outcome import Outcome
from tests.conftest import MESSAGE_SECONDS, ROOT, TEST_MESSAGE
from tests.e2e.agi_events import observer
from tests.sandbox.conftest import free_port

pytestmark = pytest.mark.sandbox

SCENARIO = ROOT / "dialplan" / "sandbox" / "sipp" / "uas_answer.xml"


def udp_bound(port: int) -> bool:
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        lines = Path(table).read_text().splitlines()[1:]
        if any(int(line.split()[1].rsplit(":", 1)[1], 16) == port for line in lines):
            return True
    return False


async def wait_until(predicate, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)


@dataclass
class SippPhone:
    process: asyncio.subprocess.Process
    output: str = ""           # sipp's output, once it ended


@asynccontextmanager
async def sipp_phone(scenario: Path, port: int, cwd: Path, timeout: int = 60):
    """A sipp UAS answering one call on `port` with `scenario`; on exit, waits (30 s) for it
    to end and keeps its output, or kills it."""
    assert not udp_bound(port), f"UDP {port} is taken: another sipp still running?"
    uas = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(port),
        "-mp", str(free_port(span=4)), "-m", "1", "-nostdin", "-timeout", str(timeout),
        "-timeout_error", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        cwd=cwd)
    phone = SippPhone(uas)
    try:
        await wait_until(lambda: udp_bound(port), 10)
        yield phone
        out, _ = await asyncio.wait_for(uas.communicate(), 30)
        phone.output = out.decode(errors="replace")
    finally:
        if uas.returncode is None:
            uas.kill()
            await uas.wait()


async def test_pjsip_call_to_a_sipp_phone(call_config, sandbox, tmp_path):
    port = sandbox.ports.sipp_port            # the carrier trunk's contact: the woman's phone
    assert not udp_bound(port), f"UDP {port} is taken: another sipp still running?"
    uas = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(SCENARIO), "-i", "127.0.0.1", "-p", str(port),
        "-mp", str(free_port(span=4)),
        "-m", "1", "-nostdin", "-timeout", "60", "-timeout_error",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path)
    rtcp: list[OtherEvent] = []
    try:
        await wait_until(lambda: udp_bound(port), 10)
        # RTCPSent reaches the tests' observer; the controller's own user hears only the
        # events it acts on (manager.conf eventfilter)
        def on_rtcp(e) -> None:
            if isinstance(e, OtherEvent) and e.name == "RTCPSent" and e.headers.get(
                    "Channel", "").startswith("PJSIP/carrier-"):
                rtcp.append(e)

        async with running(call_config, agi_port=0) as service, \
                observer(sandbox, call_config, on_rtcp):
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
    assert attempt.channel and attempt.channel.startswith("PJSIP/carrier-")
    assert attempt.cause == 16                           # normal clearing
    assert attempt.heard_seconds == pytest.approx(MESSAGE_SECONDS["hi"], abs=0.1)
    assert uas.returncode == 0, text[-2000:]            # sipp: one call, ended by Asterisk's BYE
    # real media: Asterisk's RTCP sender reports count the RTP packets it sent to the phone
    sent = max(int(e.headers.get("SentPackets", "0") or 0) for e in rtcp) if rtcp else 0
    assert sent > 100, rtcp                              # 50 packets a second of audio
