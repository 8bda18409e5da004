"""`ivr run --log-level debug` against the real sandbox Asterisk: panoramisk logs every AMI
event at debug, and her number appears in none of it in clear, nor her name (nor her health
worker's): the call path never reads them."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest

from ivr.adapters.schedule_store import ScheduleStore
from ivr.adapters.store import Store
from scheduler.programme import load_programme
from tests.conftest import ROOT
from tests.e2e.run_helpers import TEST_MESSAGE, all_messages_are, quick_programme, woman_on
from ivr.sandbox.run_home import TrunkLimits, run_env, write_run_config
from tests.e2e.test_crash import IVR

pytestmark = pytest.mark.sandbox

PHONE = "919000011"                 # a simulated phone that answers and listens


async def test_debug_log_of_a_real_call_has_no_number_in_clear(sandbox, test_sounds, tmp_path):
    path = quick_programme(tmp_path, gaps={}, max_attempts=1)
    all_messages_are(test_sounds, TEST_MESSAGE, path)
    home = tmp_path / "home"
    write_run_config(home, sandbox, sounds=test_sounds, programme=path,
                     trunk=TrunkLimits(ring_timeout=8))
    env = run_env(home)
    now = datetime.now(timezone.utc)
    async with await Store.open(home / "ivr.db") as store:
        await ScheduleStore(store, load_programme(path)).enrol(
            woman_on(PHONE, now), now, actor="test", name="Sunita Kale",
            health_worker="Asha Devi")
    service = await asyncio.create_subprocess_exec(
        *IVR, "run", "--until-idle", "--log-level", "debug", cwd=ROOT, env=env,
        stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(service.communicate(), 90)
    text = err.decode()
    assert service.returncode == 0, text[-2000:]
    assert "placed 1 call(s): 1 answered" in text
    events = [line for line in text.splitlines()
              if line.startswith("DEBUG panoramisk") and "Event=" in line]
    assert any("Channel='Local/******011@sim-phones" in line for line in events)   # masked
    assert PHONE not in text
    assert "Sunita" not in text and "Kale" not in text and "Asha" not in text
