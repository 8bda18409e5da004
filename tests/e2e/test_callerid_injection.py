"""Issue 12, item 8, against the real sandbox Asterisk and sipp: while a real call is live and
followed by the controller, missed calls arrive whose SIP From user part carries encoded
CR/LF forging (a) a Hangup of the live call's own channel and (b) an IvrMissedCall of an
enrolled woman who never called.  Asterisk decodes them into raw line breaks in every event
that carries the caller ID; the manager.conf eventfilter, the missed-call context's caller-ID
sanitising and the controller's message check (ivr/protocol/ami.py) must keep them out.

Before: the forged Hangup reached the controller inside Newchannel and ended the live call
for it; the forged IvrMissedCall inside the real one."""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from urllib.parse import quote

import pytest

from ivr import constants as C
from ivr.adapters.schedule_store import ScheduleStore
from ivr.app import call_and_close, place_test_call, running
from ivr.controller import CallRequest
from ivr.intake import prepare_spool
from ivr.protocol.ami import UserEvent
from ivr.service import Dialer
from scheduler.outcome import Outcome
from scheduler.programme import load_programme
from tests.conftest import ROOT
from tests.e2e.agi_events import AgiLog, observer
from tests.e2e.run_helpers import (TEST_MESSAGE, all_messages_are, quick_programme, with_programme,
                                   woman_on)
from tests.sandbox.conftest import free_port

pytestmark = pytest.mark.sandbox

SIPP = ROOT / "dialplan" / "sandbox" / "sipp"
DID = "18001234567"
LISTENS = "919000011"          # the live call: answers and listens to the end (about 14 s)
FORGED = "919000013"           # enrolled; must get no missed call nor callback


def injected(caller: str, *forged_lines: str) -> str:
    """A From user part: her number, a blank line, a forged message, a blank line (which
    cuts the real event's remaining headers off into a message of their own)."""
    text = caller + "\r\n\r\n" + "\r\n".join(forged_lines) + "\r\n\r\nX: 1"
    return quote(text, safe="+")


async def missed_call(sandbox, spool, caller: str, tmp_path) -> None:
    uac = await asyncio.create_subprocess_exec(
        "sipp", f"127.0.0.1:{sandbox.ports.sip_port}", "-sf", str(SIPP / "uac_missed.xml"),
        "-s", DID, "-key", "caller", caller, "-key", "spool", str(spool),
        "-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_port(span=4)), "-m", "1",
        "-nostdin", "-timeout", "20", "-timeout_error",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path)
    out, _ = await asyncio.wait_for(uac.communicate(), 30)
    assert uac.returncode == 0, out.decode()[-1500:]            # rejected, never answered


async def test_forged_events_in_caller_ids_do_not_touch_live_calls(call_config, sandbox,
                                                                  tmp_path, caplog):
    path = quick_programme(tmp_path, gaps={})
    all_messages_are(call_config.sounds, TEST_MESSAGE, path)
    config = with_programme(call_config, path)
    programme = load_programme(path)
    agi = AgiLog()
    caplog.set_level(logging.INFO)
    prepare_spool(config.spool)
    async with running(config, agi_port=0) as service, observer(sandbox, config, agi):
        user_events: list[UserEvent] = []
        two_missed = asyncio.Event()

        def on_event(event) -> None:
            if isinstance(event, UserEvent) and event.name == C.USEREVENT_MISSED_CALL:
                user_events.append(event)
                if len(user_events) == 2:
                    two_missed.set()
        service.controller.ami.add_listener(on_event)
        schedule = ScheduleStore(service.store, programme)
        now = datetime.now(timezone.utc)
        victim = await schedule.enrol(woman_on(FORGED, now), now, actor="test")
        await service.store.execute(     # nothing of hers is due: only a missed call could call
            "UPDATE deliveries SET next_attempt_at = next_attempt_at + 86400 "
            "WHERE subscriber_id = ?", (victim.id,))
        dialer = Dialer(service, schedule, [config.trunk()],
                        lease_seconds=programme.retry.lease.total_seconds())
        stop = asyncio.Event()
        loop_task = asyncio.create_task(dialer.run(stop))
        request = CallRequest(phone=LISTENS, language="hi", message_key=TEST_MESSAGE,
                              trunk=config.trunk(), kind="test")
        call = asyncio.ensure_future(call_and_close(service, request))
        try:
            first = await agi.wait_ended(lambda c: c.attempt_id in service.controller.live
                                         and c.plays(C.PROMPT_GREETING), 1, timeout=30)
            live = service.controller.live[first.attempt_id]
            # (a) a Hangup of the live call's own channel (the worst case: its id guessed)
            await missed_call(sandbox, config.spool, injected(
                "+919800000001", "Event: Hangup", "Privilege: call,all",
                "Channel: PJSIP/carrier-00000000", f"Uniqueid: {live.channel_id}",
                f"Linkedid: {live.channel_id}", "Cause: 16", "Cause-txt: Normal Clearing"),
                tmp_path)
            # (b) a missed call of an enrolled woman who never called
            await missed_call(sandbox, config.spool, injected(
                "+919800000002", "Event: UserEvent", "Privilege: user,all",
                f"UserEvent: {C.USEREVENT_MISSED_CALL}",
                f"{C.HEADER_MISSED_CALL_FILE}: forged.missed"), tmp_path)
            await asyncio.wait_for(two_missed.wait(), 10)
            assert not live.tracker.ended and not call.done()     # the live call goes on
            attempt = await asyncio.wait_for(call, 60)
            stop.set()
            await asyncio.wait_for(loop_task, 30)
            missed = [dict(r) for r in await service.store.fetchall(
                "SELECT phone, subscriber_id, handled_at FROM missed_calls")]
            callbacks = await service.store.fetchall(
                "SELECT id FROM callback_requests WHERE subscriber_id = ?", (victim.id,))
        finally:
            stop.set()
            for task in (call, loop_task):
                if not task.done():
                    task.cancel()
                    await asyncio.wait([task], timeout=10)
    # the live call ran to its natural end, stored as it happened
    assert attempt.outcome is Outcome.ANSWERED
    assert (attempt.ended, attempt.keys) == ("no_input", "")
    assert attempt.heard_share == pytest.approx(1.0, abs=0.02)
    # the two real missed calls came through, each once, their callers only digits (the
    # event names its spool file: the caller is in the file, never in the event's body)
    assert len(user_events) == 2
    for event in user_events:
        assert event.headers[C.HEADER_MISSED_CALL_FILE].endswith(".missed")
        assert event.headers[C.HEADER_MISSED_CALL_FILE] != "forged.missed"
        assert set(event.headers["CallerIDNum"]) <= set("+0123456789")
    # (their digits are her number and the forged lines' digits run together: an unknown
    # number, recorded masked for the counts, never called back)
    assert len(missed) == 2 and all(m["handled_at"] is not None for m in missed), missed
    assert all(m["subscriber_id"] is None and m["phone"].startswith("*") for m in missed)
    assert FORGED not in str(missed) and callbacks == []
    # nothing forged reached the controller: no message even needed refusing (the tests'
    # observer, which reads every event unfiltered, did get forged ones: refused there)
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert not [m for m in refused if f"user {config.ami.username} " in m], refused


async def test_a_callee_identity_with_line_breaks_changes_nothing(call_config, sandbox, tmp_path,
                                                                 caplog):
    """The answering side (her phone, her carrier) sends a P-Asserted-Identity with an encoded
    CR/LF (the sandbox's carrier trunk trusts it: trust_id_inbound).  Before: it reached our
    own channel's Hangup event as an extra 'Event:' line, panoramisk raised on it and dropped
    the AMI connection, and the AGI request carried it (refused as not AGI: no IVR for her)."""
    port = sandbox.ports.sipp_port
    pai = quote("+91999\r\nEvent: Hangup\r\nX: 1", safe="+")
    scenario = tmp_path / "uas_answer_pai.xml"
    text = (SIPP / "uas_answer.xml").read_text(encoding="utf-8")
    contact = "      Contact: <sip:[local_ip]:[local_port];transport=[transport]>\n"
    assert text.count(contact) >= 2          # 180, 200 (and the 200 to the BYE)
    scenario.write_text(text.replace(
        contact, contact + f'      P-Asserted-Identity: "Evil" <sip:{pai}@127.0.0.1>\n'),
        encoding="utf-8")
    uas = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(port),
        "-mp", str(free_port(span=4)), "-m", "1", "-nostdin", "-timeout", "60", "-timeout_error",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path)
    caplog.set_level(logging.INFO)
    try:
        async with running(call_config, agi_port=0) as service:
            attempt = await asyncio.wait_for(place_test_call(
                service, to="919000099", language="hi", message=TEST_MESSAGE,
                trunk="carrier"), 60)
            reconnects = service.controller.ami.reconnects
            connected = service.controller.ami.connected
        out, _ = await asyncio.wait_for(uas.communicate(), 30)
    finally:
        if uas.returncode is None:
            uas.kill()
            await uas.wait()
    assert uas.returncode == 0, out.decode(errors="replace")[-1500:]
    assert connected and reconnects == 0                   # the AMI link never dropped
    assert attempt.outcome is Outcome.ANSWERED and attempt.cause == 16
    assert (attempt.ended, attempt.plays) == ("no_input", 1)   # her IVR ran: the flow's end
    assert "not AGI" not in caplog.text and "Connection lost" not in caplog.text
