"""kill -9 of `ivr run` with calls in flight, then a restart: nothing lost, nothing twice."""
from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
from datetime import datetime, timezone

import pytest

from ivr import constants as C
from ivr.adapters.schedule_store import ScheduleStore
from ivr.adapters.store import Store
from ivr.sandbox.run_home import TrunkLimits, run_env, write_run_config
from scheduler.model import DeliveryStatus
from scheduler.programme import load_programme
from tests.conftest import ROOT
from tests.e2e.run_helpers import TEST_MESSAGE, all_messages_are, quick_programme, woman_on
from tests.nodes import asterisk_log

pytestmark = pytest.mark.sandbox

IVR = [sys.executable, "-c", "import cli; cli.main()"]


async def wait_for(predicate, timeout: float, what: str):
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.2)      # polling the store: the other process writes it


async def test_kill_9_with_calls_in_flight_then_restart(sandbox, test_sounds, tmp_path):
    """The answered calls go on in the dialplan's fallback, which plays her message (the
    route had her call: ivr-fallback.conf case (b)): what Asterisk played is checked in its
    own log, not only in the store."""
    log_from = sandbox.log_file.stat().st_size
    sounds_before = re.search(r"IVR_SOUNDS=(\S+)", sandbox.cli("dialplan show globals"))
    sandbox.cli(f"dialplan set global {C.GLOBAL_SOUNDS} {test_sounds}")   # her message there
    try:
        await kill_9_then_restart(sandbox, test_sounds, tmp_path, log_from)
    finally:
        if sounds_before:
            sandbox.cli(f"dialplan set global {C.GLOBAL_SOUNDS} {sounds_before.group(1)}")


async def kill_9_then_restart(sandbox, test_sounds, tmp_path, log_from: int) -> None:
    path = quick_programme(tmp_path, gaps={"no_answer": "1s", "failed": "1s"}, per_day=2)
    all_messages_are(test_sounds, TEST_MESSAGE, path)
    home = tmp_path / "home"
    write_run_config(home, sandbox, sounds=test_sounds, programme=path,
                     trunk=TrunkLimits(ring_timeout=8))
    env = run_env(home)
    now = datetime.now(timezone.utc)
    listening = ["919000081", "919000082"]           # answer and stay on
    ringing = "919000041"                            # never answers
    async with await Store.open(home / "ivr.db") as store:
        schedule = ScheduleStore(store, load_programme(path))
        ids = {p: (await schedule.enrol(woman_on(p, now), now, actor="test")).id
               for p in [*listening, ringing]}

        async def in_flight():
            rows = await store.fetchall(
                "SELECT phone, answered_at FROM attempts WHERE outcome IS NULL")
            answered = {r["phone"] for r in rows if r["answered_at"]}
            return set(listening) <= answered and ringing in {r["phone"] for r in rows}

        first = await asyncio.create_subprocess_exec(*IVR, "run", cwd=ROOT, env=env,
                                                     stderr=asyncio.subprocess.PIPE)
        try:
            await wait_for(in_flight, 30, "calls in flight")
        except TimeoutError:
            if first.returncode is not None:
                err = await first.stderr.read()
                pytest.fail(f"ivr run exited {first.returncode}: {err.decode()[-2000:]}")
            raise
        finally:
            if first.returncode is None:
                first.send_signal(signal.SIGKILL)
            await first.wait()
        live = await store.fetchall("SELECT id, phone FROM attempts WHERE outcome IS NULL")
        assert len(live) == 3                           # the crash left them open

        second = await asyncio.create_subprocess_exec(
            *IVR, "run", "--until-idle", cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(second.communicate(), 90)
        assert second.returncode == 0, err.decode()[-2000:]
        assert await store.fetchall("SELECT id FROM attempts WHERE outcome IS NULL") == []
        for phone in listening:       # answered before the crash: delivered, never called again
            [d, *_] = await schedule.deliveries_of(ids[phone])
            rows = await store.fetchall("SELECT outcome FROM attempts WHERE delivery_id = ?",
                                        (d.id,))
            assert d.status is DeliveryStatus.DELIVERED and [r[0] for r in rows] == ["answered"]
        [d] = await schedule.deliveries_of(ids[ringing])
        rows = await store.fetchall(
            "SELECT number, outcome FROM attempts WHERE delivery_id = ? ORDER BY number", (d.id,))
        # the ringing call was lost with the process: recorded as failed, retried by the policy
        assert [tuple(r) for r in rows] == [(1, "failed"), (2, "no_answer")]
        assert d.status is DeliveryStatus.PENDING and d.attempts == 2
        # and Asterisk kept none of our channels once the fallback's plays ended
        async def none_left():
            channels = sandbox.cli("core show channels concise")
            return not any(f"ivr-{r['id']}-" in channels for r in live)
        await wait_for(none_left, 30, "the fallback's calls ended")
    # what Asterisk played: each answered woman heard her message to its end on her one call
    with open(sandbox.log_file, "rb") as f:
        f.seek(log_from)
        text = f.read().decode(errors="replace")
    heard = asterisk_log.deliveries(asterisk_log.heard(
        "sandbox", text, asterisk_log.SoundLengths(test_sounds)))
    assert {p: sum(c for (phone, _), c in heard.items() if phone == p) for p in listening} \
        == {p: 1 for p in listening}
    assert {p: asterisk_log.dialled(text)[p] for p in listening} == {p: 1 for p in listening}


async def test_sigterm_drains_and_status_shows_the_live_call(sandbox, test_sounds, tmp_path):
    path = quick_programme(tmp_path, gaps={})
    all_messages_are(test_sounds, TEST_MESSAGE, path)
    home = tmp_path / "home"
    write_run_config(home, sandbox, sounds=test_sounds, programme=path,
                     trunk=TrunkLimits(channels=1, ring_timeout=8))
    env = run_env(home)
    now = datetime.now(timezone.utc)
    async with await Store.open(home / "ivr.db") as store:
        schedule = ScheduleStore(store, load_programme(path))
        first = (await schedule.enrol(woman_on("919000081", now), now, actor="t")).id   # stays on
        waiting = (await schedule.enrol(woman_on("919000082", now), now, actor="t")).id

        async def answered():
            return bool(await store.fetchall(
                "SELECT 1 FROM attempts WHERE subscriber_id = ? AND answered_at IS NOT NULL",
                (first,)))

        service = await asyncio.create_subprocess_exec(*IVR, "run", cwd=ROOT, env=env,
                                                       stderr=asyncio.subprocess.PIPE)
        try:
            await wait_for(answered, 30, "her call answered")
            status = await asyncio.create_subprocess_exec(
                *IVR, "status", "--json", cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE)
            out, _ = await asyncio.wait_for(status.communicate(), 30)
            service.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(service.communicate(), 60)
        finally:
            if service.returncode is None:
                service.kill()
                await service.wait()
        shown = json.loads(out)
        assert shown["service"]["trunks"]["sim"]["live"] == 1
        assert shown["live_attempts"] == 1 and shown["pending"] >= 1
        assert service.returncode == 0, err.decode()[-1500:]
        # the live call finished and was released; the waiting woman was never called
        rows = await store.fetchall("SELECT subscriber_id, outcome FROM attempts")
        assert [tuple(r) for r in rows] == [(first, "answered")]
        assert (await store.fetchall("SELECT COUNT(*) FROM attempts WHERE subscriber_id = ?",
                                     (waiting,)))[0][0] == 0
        assert await store.fetchall("SELECT id FROM deliveries WHERE acquired_by IS NOT NULL") == []
