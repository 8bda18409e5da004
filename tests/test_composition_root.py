"""One composition root: a command loads the configuration and the programme once, opens the
database once and builds one ScheduleStore (ivr/commands/common.py, Settings; ivr/app.py,
running). Counted in a real process by tests/count_loads.py."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone

import pytest

from ivr.adapters.schedule_store import ScheduleStore
from ivr.adapters.store import Store
from ivr.sandbox.run_home import run_env
from scheduler.programme import load_programme
from tests.conftest import ROOT


def counts_of(home, *args: str, timeout: float = 120) -> tuple[int, dict, str]:
    env = run_env(home)
    done = subprocess.run([sys.executable, "-m", "tests.count_loads", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    return done.returncode, json.loads(done.stdout.splitlines()[-1]), done.stderr


def test_ivr_run_loads_the_programme_once_before_it_reaches_asterisk(tmp_path):
    """No Asterisk on the AMI port: `ivr run` fails at the login, having loaded each once
    (before the one composition root it had loaded the programme twice by then)."""
    (tmp_path / "ivr.toml").write_text(
        '[ami]\nport = 1\nsecret = "x"\nconnect_timeout = 0.5\n'
        '[[trunk]]\nname = "a"\ndial = "Local/{digits}@x"\n', encoding="utf-8")
    code, counts, err = counts_of(tmp_path, "run", "--until-idle")
    assert code == 1 and "error: AMI at 127.0.0.1:1 did not answer" in err, err
    assert counts == {"config": 1, "programme": 1, "store": 1, "schedule": 1}


def test_an_operator_command_loads_each_once(tmp_path):
    today = date.today()
    code, counts, err = counts_of(
        tmp_path, "enrol", "--phone", "+919000011", "--unchecked-number", "--lang", "hi",
        "--lmp", (today - timedelta(weeks=12)).isoformat(), "--consent-date", today.isoformat())
    assert code == 0 and "enrolled woman 1" in err, err
    assert counts == {"config": 1, "programme": 1, "store": 1, "schedule": 1}


def test_ivr_status_loads_the_programme_once(tmp_path):
    """`ivr status` (no service running: exit 1) reads today's counts in the programme's zone
    from the programme the composition root loaded (ivr/status.py no longer loads its own)."""
    code, counts, err = counts_of(tmp_path, "status")
    assert code == 1 and "not running" in err, err
    assert counts["programme"] == 1 and counts["config"] == 1, counts


@pytest.mark.sandbox
def test_ivr_run_until_idle_builds_everything_once(sandbox, test_sounds, tmp_path):
    """A real `ivr run --until-idle` against the sandbox, one woman called: the configuration,
    the programme, the database and the ScheduleStore, each once for the whole service (the
    dial loop and the AGI route share them)."""
    from tests.e2e.run_helpers import TEST_MESSAGE, all_messages_are, quick_programme, woman_on
    from ivr.sandbox.run_home import TrunkLimits, write_run_config

    path = quick_programme(tmp_path, gaps={}, max_attempts=1)
    all_messages_are(test_sounds, TEST_MESSAGE, path)
    home = tmp_path / "home"
    write_run_config(home, sandbox, sounds=test_sounds, programme=path,
                     trunk=TrunkLimits(ring_timeout=8))
    now = datetime.now(timezone.utc)

    async def enrol():
        async with await Store.open(home / "ivr.db") as store:
            await ScheduleStore(store, load_programme(path)).enrol(
                woman_on("919000011", now), now, actor="test")
    asyncio.run(enrol())
    code, counts, err = counts_of(home, "run", "--until-idle")
    assert code == 0, err[-2000:]
    assert "placed 1 call(s): 1 answered" in err
    assert counts == {"config": 1, "programme": 1, "store": 1, "schedule": 1}


def test_schedules_are_built_only_by_schedules():
    """tests/count_loads.py counts the Schedules a command builds: in production code only
    Schedules builds a ScheduleStore (one per programme), so that count is every one."""
    import re
    builders = [str(p.relative_to(ROOT)) for d in ("ivr", "scheduler")
                for p in (ROOT / d).rglob("*.py")
                if re.search(r"\bScheduleStore\(", p.read_text(encoding="utf-8"))]
    assert builders == ["ivr/adapters/schedules.py"]
