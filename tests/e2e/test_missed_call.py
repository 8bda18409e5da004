"""A missed call from a sipp phone becomes a callback that a sipp UAS answers: with the
controller running (the event's fast path), and rung while it is down (spooled, then called
back when it starts)."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest

from ivr.adapters.schedule_store import ScheduleStore
from ivr.adapters.store import Store
from ivr.app import running
from ivr.intake import prepare_spool
from ivr.service import Dialer
from scheduler.model import CallbackStatus
from scheduler.programme import load_programme
from tests.conftest import ROOT
from tests.e2e.run_helpers import (TEST_MESSAGE, all_messages_are, quick_programme, with_programme,
                                   woman_on)
from tests.e2e.test_sip import udp_bound, wait_until
from tests.sandbox.conftest import free_port

pytestmark = pytest.mark.sandbox

SIPP = ROOT / "dialplan" / "sandbox" / "sipp"
DID = "18001234567"


async def test_missed_call_from_sipp_is_called_back(call_config, sandbox, tmp_path):
    path = quick_programme(tmp_path, gaps={})
    all_messages_are(call_config.sounds, TEST_MESSAGE, path)
    config = with_programme(call_config, path)
    programme = load_programme(path)
    phone = "919000099"
    prepare_spool(config.spool)
    port = sandbox.ports.sipp_port
    assert not udp_bound(port)
    uas = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(SIPP / "uas_answer.xml"), "-i", "127.0.0.1", "-p", str(port),
        "-mp", str(free_port(span=4)), "-m", "1", "-nostdin", "-timeout", "60", "-timeout_error",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path)
    try:
        await wait_until(lambda: udp_bound(port), 10)
        async with running(config, agi_port=0) as service:
            schedule = ScheduleStore(service.store, programme)
            now = datetime.now(timezone.utc)
            sub = await schedule.enrol(woman_on(phone, now), now, actor="test")
            # her scheduled message is not due yet: only her missed call can make a call now
            await service.store.execute(
                "UPDATE deliveries SET next_attempt_at = next_attempt_at + 86400 "
                "WHERE subscriber_id = ?", (sub.id,))
            dialer = Dialer(service, schedule, [config.trunk("carrier")],
                            lease_seconds=programme.retry.lease.total_seconds())
            stop = asyncio.Event()
            loop_task = asyncio.create_task(dialer.run(stop))
            uac = await asyncio.create_subprocess_exec(
                "sipp", f"127.0.0.1:{sandbox.ports.sip_port}", "-sf", str(SIPP / "uac_missed.xml"),
                "-s", DID, "-key", "caller", "+" + phone, "-key", "spool",
                str(config.spool), "-i", "127.0.0.1",
                "-p", str(free_port()), "-mp", str(free_port(span=4)), "-m", "1", "-nostdin",
                "-timeout", "20", "-timeout_error",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path)
            uac_out, _ = await asyncio.wait_for(uac.communicate(), 30)
            assert uac.returncode == 0, uac_out.decode()[-1500:]   # rejected, never answered

            async def served():
                rows = await service.store.fetchall(
                    "SELECT status FROM callback_requests WHERE subscriber_id = ?", (sub.id,))
                return rows and rows[0][0] == CallbackStatus.SERVED.value
            async with asyncio.timeout(60):
                while not await served():
                    await asyncio.sleep(0.2)
            stop.set()
            await asyncio.wait_for(loop_task, 30)
            # (other test runs on the shared sandbox may send missed calls of their own:
            # those are other, unknown numbers, handled and masked)
            missed = await service.store.fetchall(
                "SELECT phone, did, subscriber_id, callback_id, handled_at, received_at "
                "FROM missed_calls WHERE did = ? AND phone NOT LIKE '*%'", (DID,))
            attempt = (await service.store.fetchall(
                "SELECT kind, outcome, started_at, heard_share FROM attempts "
                "WHERE subscriber_id = ?", (sub.id,)))
        out, _ = await asyncio.wait_for(uas.communicate(), 30)
    finally:
        for p in (uas,):
            if p.returncode is None:
                p.kill()
                await p.wait()
    assert uas.returncode == 0, out.decode()[-1500:]          # answered the callback, got BYE
    assert len(missed) == 1, [dict(r) for r in missed]
    [m] = missed
    assert (m["phone"], m["did"], m["subscriber_id"]) == (phone, DID, sub.id)
    assert m["callback_id"] is not None and m["handled_at"] is not None
    assert len(attempt) == 1, attempt
    [a] = attempt
    assert (a["kind"], a["outcome"]) == ("callback", "answered") and a["heard_share"] > 0.9
    latency = a["started_at"] - m["received_at"]
    assert latency < 2.0, latency                              # issue 4: within 2 s (p95)


async def test_missed_call_while_the_controller_is_down_is_called_back_when_it_starts(
        call_config, sandbox, tmp_path):
    path = quick_programme(tmp_path, gaps={})
    all_messages_are(call_config.sounds, TEST_MESSAGE, path)
    config = with_programme(call_config, path)
    programme = load_programme(path)
    phone = "919000098"
    did = "18001234568"
    store = await asyncio.wait_for(Store.open(config.database), 10)
    try:
        schedule = ScheduleStore(store, programme)
        now = datetime.now(timezone.utc)
        sub = await schedule.enrol(woman_on(phone, now), now, actor="test")
        await store.execute("UPDATE deliveries SET next_attempt_at = next_attempt_at + 86400 "
                            "WHERE subscriber_id = ?", (sub.id,))
    finally:
        await store.close()
    prepare_spool(config.spool)
    # no controller: Asterisk rejects her call and spools it
    uac = await asyncio.create_subprocess_exec(
        "sipp", f"127.0.0.1:{sandbox.ports.sip_port}", "-sf", str(SIPP / "uac_missed.xml"),
        "-s", did, "-key", "caller", phone, "-key", "spool", str(config.spool),
        "-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_port(span=4)), "-m", "1",
        "-nostdin", "-timeout", "20", "-timeout_error",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path)
    uac_out, _ = await asyncio.wait_for(uac.communicate(), 30)
    assert uac.returncode == 0, uac_out.decode()[-1500:]
    [spooled] = list(config.spool.glob("*.missed"))
    # then the controller starts: the start-up sweep ingests the file and calls her back
    port = sandbox.ports.sipp_port
    assert not udp_bound(port)
    uas = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(SIPP / "uas_answer.xml"), "-i", "127.0.0.1", "-p", str(port),
        "-mp", str(free_port(span=4)), "-m", "1", "-nostdin", "-timeout", "60", "-timeout_error",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path)
    try:
        await wait_until(lambda: udp_bound(port), 10)
        async with running(config, agi_port=0) as service:
            schedule = ScheduleStore(service.store, programme)
            dialer = Dialer(service, schedule, [config.trunk("carrier")],
                            lease_seconds=programme.retry.lease.total_seconds())
            stop = asyncio.Event()
            loop_task = asyncio.create_task(dialer.run(stop))

            async def served():
                rows = await service.store.fetchall(
                    "SELECT status FROM callback_requests WHERE subscriber_id = ?", (sub.id,))
                return rows and rows[0][0] == CallbackStatus.SERVED.value
            async with asyncio.timeout(60):
                while not await served():
                    await asyncio.sleep(0.2)
            stop.set()
            await asyncio.wait_for(loop_task, 30)
            missed = await service.store.fetchall(
                "SELECT phone, did, subscriber_id, uniqueid FROM missed_calls WHERE did = ?",
                (did,))
        out, _ = await asyncio.wait_for(uas.communicate(), 30)
    finally:
        if uas.returncode is None:
            uas.kill()
            await uas.wait()
    assert uas.returncode == 0, out.decode()[-1500:]
    assert [tuple(r) for r in missed] == [(phone, did, sub.id, spooled.stem)]
    assert not spooled.exists()                    # deleted once its row was committed
