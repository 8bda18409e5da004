"""A running `ivr run` closes the live attempt of an `ivr call test` killed after the service
started (kill -9 mid-call), on its periodic sweep: the row no longer stays live until the
service's next start (bench/drills.py, drill kill-test, counted it as a lost attempt)."""
from __future__ import annotations

import asyncio
import signal

import pytest

from ivr import dial_loop
from ivr.adapters.schedule_store import ScheduleStore
from ivr.app import running
from ivr.config import load_config
from ivr.service import Dialer
from scheduler.programme import load_programme
from tests.e2e.test_crash import wait_for
from tests.e2e.test_recovery import answered_attempt, home_for, start_test_call

pytestmark = pytest.mark.sandbox


async def test_the_running_service_closes_a_killed_test_call(sandbox, test_sounds, tmp_path,
                                                              monkeypatch):
    monkeypatch.setattr(dial_loop, "SWEEP_EVERY", 0.5)
    monkeypatch.setattr(dial_loop, "MAX_SLEEP", 0.5)
    home, env = home_for(sandbox, test_sounds, tmp_path)
    config = load_config(home / "ivr.toml", env={"IVR_HOME": str(home)})
    programme = load_programme(config.programme)
    async with running(config, agi_port=0) as service:
        store = service.store
        dialer = Dialer(service, ScheduleStore(store, programme), config.run_trunks(()),
                        lease_seconds=programme.retry.lease.total_seconds())
        stop = asyncio.Event()
        loop = asyncio.create_task(dialer.run(stop))
        child = await start_test_call(env, "+919000081")          # answers, stays on
        try:
            attempt = await answered_attempt(store, child)
            await asyncio.sleep(1.0)      # sweeps while it lives: its row is left alone
            [row] = await store.fetchall("SELECT outcome FROM attempts WHERE id = ?", (attempt,))
            assert row[0] is None
            child.send_signal(signal.SIGKILL)
            await asyncio.wait_for(child.wait(), 10)

            async def closed():
                assert not loop.done(), loop
                rows = await store.fetchall("SELECT outcome FROM attempts WHERE id = ?",
                                            (attempt,))
                return rows[0][0] is not None
            await wait_for(closed, 10, "the killed test call's row closed by the sweep")
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()
            stop.set()
            await asyncio.wait_for(loop, 30)
        [row] = await store.fetchall("SELECT outcome, ended_at FROM attempts WHERE id = ?",
                                     (attempt,))
        assert row["outcome"] == "answered" and row["ended_at"] is not None
        assert dialer.stats.stale_closed == 1
