"""Recovery against the real sandbox: a killed or interrupted `ivr call test`, the dial loop
when the database fails, and a stop whose deadline comes while calls are up (issue 12, items
1, 2 and 4)."""
from __future__ import annotations

import asyncio
import re
import signal
import subprocess
from datetime import datetime, timezone

import pytest

from ivr.adapters.schedule_store import ScheduleStore
from ivr.adapters.store import Store
from ivr.app import running
from ivr.owner import owner_id
from ivr.service import Dialer
from scheduler.model import DeliveryStatus
from scheduler.programme import load_programme
from tests.conftest import ROOT, _tone
from tests.e2e.run_helpers import (TEST_MESSAGE, all_messages_are, quick_programme, with_programme,
                                   woman_on)
from ivr.sandbox.run_home import TrunkLimits, run_env, write_run_config
from tests.e2e.test_crash import IVR, wait_for

pytestmark = pytest.mark.sandbox


def our_channels(sandbox, attempt_id: int) -> list[str]:
    out = sandbox.cli("core show channels concise")
    return [line for line in out.splitlines() if f"ivr-{attempt_id}-" in line]


def dead_owner() -> str:
    """The owner id of a process that has ended (as a crashed `ivr run` leaves)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return owner_id(pid=child.pid)


def home_for(sandbox, test_sounds, tmp_path):
    path = quick_programme(tmp_path, gaps={"failed": "1s", "no_answer": "1s"})
    all_messages_are(test_sounds, TEST_MESSAGE, path)
    home = tmp_path / "home"
    write_run_config(home, sandbox, sounds=test_sounds, programme=path,
                     trunk=TrunkLimits(ring_timeout=8))
    env = run_env(home)
    return home, env


async def start_test_call(env, phone: str, message: str = TEST_MESSAGE):
    return await asyncio.create_subprocess_exec(
        *IVR, "call", "test", "--to", phone, "--lang", "hi", "--message", message,
        cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)


async def answered_attempt(store, child) -> int:
    async def answered():
        if child.returncode is not None:
            err = await child.stderr.read()
            pytest.fail(f"ivr call test exited {child.returncode}: {err.decode()[-1500:]}")
        return bool(await store.fetchall(
            "SELECT 1 FROM attempts WHERE answered_at IS NOT NULL AND outcome IS NULL"))
    await wait_for(answered, 30, "the test call answered")
    [row] = await store.fetchall("SELECT id FROM attempts WHERE outcome IS NULL")
    return row[0]


async def test_a_killed_call_test_is_closed_by_the_next_start(sandbox, test_sounds, tmp_path):
    """kill -9 of `ivr call test` mid-call left a live attempt with no woman; `ivr run`
    stopped on it ("no woman with id None") and, under systemd, restarted for ever. Now she
    hears her message from the dialplan's fallback, and the next start closes the attempt
    as answered without hanging up on her."""
    home, env = home_for(sandbox, test_sounds, tmp_path)
    _tone(test_sounds / "hi" / "long-msg.wav", 20.0, 440)
    globals_before = sandbox.cli("dialplan show globals")
    sounds_before = re.search(r"IVR_SOUNDS=(\S+)", globals_before).group(1)
    sandbox.cli(f"dialplan set global IVR_SOUNDS {test_sounds}")
    try:
        async with await Store.open(home / "ivr.db") as store:
            child = await start_test_call(env, "+919000081", "long-msg")   # stays on
            try:
                attempt = await answered_attempt(store, child)
            finally:
                if child.returncode is None:
                    child.send_signal(signal.SIGKILL)
                await child.wait()

            async def fallback_plays():
                return any("!ivr-agi-failed!" in c and "!Playback!" in c
                           for c in our_channels(sandbox, attempt))
            await wait_for(fallback_plays, 5, "her message played by the dialplan")
            service = await asyncio.create_subprocess_exec(
                *IVR, "run", "--until-idle", cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE)
            _, err = await asyncio.wait_for(service.communicate(), 60)
            assert service.returncode == 0, err.decode()[-2000:]
            assert f"attempt {attempt} of a dead owner" in err.decode()
            [row] = await store.fetchall(
                "SELECT outcome, acquired_by FROM attempts WHERE id = ?", (attempt,))
            assert tuple(row) == ("answered", None)
            assert await fallback_plays()                # she was not hung up on
    finally:
        sandbox.cli(f"dialplan set global IVR_SOUNDS {sounds_before}")
        for line in our_channels(sandbox, attempt) if "attempt" in locals() else []:
            sandbox.cli(f"channel request hangup {line.split('!')[0]}")


async def test_ctrl_c_hangs_up_and_closes_the_row_at_once(sandbox, test_sounds, tmp_path):
    """Ctrl-C was ignored until the call ended; a start meanwhile must leave a live test call
    of a running process alone."""
    home, env = home_for(sandbox, test_sounds, tmp_path)
    async with await Store.open(home / "ivr.db") as store:
        child = await start_test_call(env, "+919000081")          # would stay on 600 s
        try:
            attempt = await answered_attempt(store, child)
            # the service on the same database, with its own FastAGI port
            text = (home / "ivr.toml").read_text()
            run_config = home / "run.toml"
            run_config.write_text(re.sub(r"(?m)^port = (\d+)$", lambda m: "port = 0"
                                         if m.start() > text.index("[agi]") else m.group(), text))
            service = await asyncio.create_subprocess_exec(
                *IVR, "run", "--until-idle", cwd=ROOT, env={**env, "IVR_CONFIG": str(run_config)},
                stderr=asyncio.subprocess.PIPE)
            _, err = await asyncio.wait_for(service.communicate(), 60)
            assert service.returncode == 0, err.decode()[-2000:]
            [row] = await store.fetchall("SELECT outcome FROM attempts WHERE id = ?", (attempt,))
            assert row[0] is None and our_channels(sandbox, attempt)   # not hijacked
            child.send_signal(signal.SIGINT)
            _, err = await asyncio.wait_for(child.communicate(), 10)
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()
        assert child.returncode == 1 and b"interrupted" in err
        [row] = await store.fetchall("SELECT outcome, ended_at FROM attempts WHERE id = ?",
                                     (attempt,))
        assert row["outcome"] == "answered" and row["ended_at"] is not None
        await wait_for(lambda: _none(our_channels(sandbox, attempt)), 5, "channel gone")


async def _none(items) -> bool:
    return not items


async def test_database_errors_never_end_the_service(call_config, tmp_path):
    """A claim that fails (here a real SQLite trigger stands for a full disk), then a release
    that fails while her call is up: the loop backs off and shows it, the call's end is
    written once the database takes it, and her message is delivered once."""
    path = quick_programme(tmp_path, gaps={"failed": "1s"})
    all_messages_are(call_config.sounds, TEST_MESSAGE, path)
    config = with_programme(call_config, path)
    programme = load_programme(path)
    async with running(config, agi_port=0) as service:
        store = service.store
        schedule = ScheduleStore(store, programme)
        now = datetime.now(timezone.utc)
        woman = await schedule.enrol(woman_on("919000075", now), now, actor="t")  # 5 s call
        await store.execute("CREATE TRIGGER full_disk BEFORE INSERT ON attempts BEGIN "
                            "SELECT RAISE(ABORT, 'database or disk is full (test)'); END")
        dialer = Dialer(service, schedule, config.run_trunks(("sim",)),
                        lease_seconds=programme.retry.lease.total_seconds())
        stop = asyncio.Event()
        loop = asyncio.create_task(dialer.run(stop))
        try:
            async def backing_off():
                assert not loop.done(), loop
                return dialer.stats.loop_errors >= 2
            await wait_for(backing_off, 10, "two failed turns")
            shown = dialer.status()
            assert shown["errors_in_a_row"] >= 2 and shown["backoff_until"] is not None
            assert "disk is full" in shown["errors"][-1]["error"]
            await store.execute("DROP TRIGGER full_disk")
            await store.execute("CREATE TRIGGER locked BEFORE UPDATE OF outcome ON attempts "
                                "WHEN NEW.outcome IS NOT NULL BEGIN "
                                "SELECT RAISE(ABORT, 'database is locked (test)'); END")

            async def answered():
                return bool(await store.fetchall(
                    "SELECT 1 FROM attempts WHERE answered_at IS NOT NULL"))
            await wait_for(answered, 20, "her call answered")

            async def release_failed():
                return any("release" in e["error"] for e in dialer.status()["errors"])
            await wait_for(release_failed, 20, "the release refused")
            await store.execute("DROP TRIGGER locked")

            async def delivered():
                d, *_ = await schedule.deliveries_of(woman.id)
                return d.status is DeliveryStatus.DELIVERED
            await wait_for(delivered, 20, "delivered")
            assert dialer.status()["errors_in_a_row"] == 0
        finally:
            stop.set()
            await asyncio.wait_for(loop, 30)
        rows = await store.fetchall("SELECT outcome FROM attempts WHERE subscriber_id = ?",
                                    (woman.id,))
        assert [r[0] for r in rows] == ["answered"]


async def test_a_stop_deadline_leaves_the_call_centre_talk_alone(sandbox, call_config, tmp_path):
    """systemctl restart while she talks to the call centre: the drain's deadline comes, the
    service exits, and the next start closes her attempt as answered without hanging up."""
    path = quick_programme(tmp_path, gaps={"failed": "1s"})
    all_messages_are(call_config.sounds, TEST_MESSAGE, path)
    config = with_programme(call_config, path)
    from dataclasses import replace
    config = replace(config, call_centre=True)
    programme = load_programme(path)
    sandbox.cli("dialplan set global AGENT_SECONDS 60")          # a long talk with the agent
    try:
        async with running(config, agi_port=0) as service:
            store = service.store
            schedule = ScheduleStore(store, programme)
            now = datetime.now(timezone.utc)
            woman = await schedule.enrol(woman_on("9190000200", now), now, actor="t")  # keys 0,0
            first = Dialer(service, schedule, config.run_trunks(("sim",)), owner=dead_owner(),
                           lease_seconds=programme.retry.lease.total_seconds())
            stop = asyncio.Event()
            loop = asyncio.create_task(first.run(stop, drain_seconds=1.0))
            try:
                async def with_agent():
                    out = sandbox.cli("core show channels concise")
                    return "ivr-call-centre" in out
                await wait_for(with_agent, 30, "her call with the call centre")
            finally:
                stop.set()
                await asyncio.wait_for(loop, 15)        # the deadline, not the 60 s talk
            [row] = await store.fetchall("SELECT id, outcome FROM attempts")
            assert row["outcome"] is None                # left live to Asterisk
            attempt = row["id"]
            assert our_channels(sandbox, attempt)
            second = Dialer(service, schedule, config.run_trunks(("sim",)),
                            lease_seconds=programme.retry.lease.total_seconds())
            assert await second.reconcile() == 1
            [row] = await store.fetchall("SELECT outcome FROM attempts WHERE id = ?", (attempt,))
            assert row[0] == "answered"
            assert our_channels(sandbox, attempt)        # her talk goes on
            d, *_ = await schedule.deliveries_of(woman.id)
            assert d.status is DeliveryStatus.DELIVERED
    finally:
        sandbox.cli("dialplan set global AGENT_SECONDS 3")
        for line in sandbox.cli("core show channels concise").splitlines():
            if "ivr-" in line:
                sandbox.cli(f"channel request hangup {line.split('!')[0]}")


async def test_the_service_applies_the_retention_rule(call_config, tmp_path):
    """[privacy] keep_call_records: `ivr run` purges older call records by itself."""
    from dataclasses import replace
    from datetime import timedelta

    from ivr.config import PrivacySettings
    config = replace(call_config, privacy=PrivacySettings(timedelta(days=30)))
    programme = load_programme(config.programme)
    async with running(config, agi_port=0) as service:
        store = service.store
        now = datetime.now(timezone.utc).timestamp()
        for age_days in (40, 10):
            await store.execute(
                "INSERT INTO attempts (number, kind, phone, language, message_key, created_at, "
                "outcome, ended_at) VALUES (1, 'test', '919000011', 'hi', 'x', ?, 'answered', ?)",
                (now - age_days * 86400, now - age_days * 86400))
        dialer = Dialer(service, ScheduleStore(store, programme), config.run_trunks(("sim",)),
                        lease_seconds=programme.retry.lease.total_seconds())
        await asyncio.wait_for(dialer.run(asyncio.Event(), until_idle=True), 30)
        rows = await store.fetchall("SELECT created_at FROM attempts")
        assert [round((now - r[0]) / 86400) for r in rows] == [10]
