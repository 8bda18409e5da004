"""`ivr status` as a health probe: exit 0 healthy, 1 down or unhealthy, saying why."""
from __future__ import annotations

import asyncio
import json
import os
import time

import pytest
from click.testing import CliRunner

from cli import main
from tests.test_run_cli import create_database
from ivr.status import problems

NOW = 1_000_000.0


def healthy(**changes) -> dict:
    data = {"pid": 1, "updated_at": NOW - 1, "ami_connected": True, "ami_down_since": None,
            "loop_at": NOW - 20, "errors": [],
            "trunks": {"a": {"live": 0, "channels": 30, "cps": 10, "failed_in_a_row": 0,
                             "resting_until": None},
                       "b": {"live": 0, "channels": 30, "cps": 10, "failed_in_a_row": 5,
                             "resting_until": NOW + 60}}}
    data.update(changes)
    return data


def test_a_running_service_with_one_trunk_resting_is_healthy():
    assert problems(healthy(), NOW, alive=True) == []
    assert problems(healthy(ami_connected=False, ami_down_since=NOW - 29), NOW, alive=True) == []


@pytest.mark.parametrize("changes, alive, why", [
    ({}, False, "not running: process 1 is gone"),
    ({"updated_at": NOW - 12}, True, "hung: its status is 12 s old"),
    ({"ami_connected": False, "ami_down_since": NOW - 31}, True, "AMI disconnected for 31 s"),
    ({"loop_at": NOW - 100}, True, "the dial loop has not turned for 100 s"),
    ({"trunks": {"a": {"resting_until": NOW + 5}}}, True, "every trunk is resting after failed"),
    ({"errors": [{"at": NOW - 50, "error": "x"}, {"at": NOW - 30, "error": "y"},
                 {"at": NOW - 1, "error": "OperationalError('database is locked')"}]}, True,
     "3 errors in the last 60 s, the latest: OperationalError('database is locked')"),
])
def test_each_rule_makes_it_unhealthy(changes, alive, why):
    found = problems(healthy(**changes), NOW, alive=alive)
    assert len(found) == 1 and found[0].startswith(why), found


def test_old_errors_do_not_count():
    errors = [{"at": NOW - 61, "error": "x"}] * 5 + [{"at": NOW - 1, "error": "y"}]
    assert problems(healthy(errors=errors), NOW, alive=True) == []


def status_file(home, data) -> None:
    (home / "run").mkdir(exist_ok=True)
    (home / "run" / "status.json").write_text(json.dumps(data))


def ivr_status(home, *args):
    return CliRunner().invoke(main, ["status", *args], env={"IVR_HOME": str(home)})


def test_ivr_status_exits_1_when_the_service_is_down(tmp_path):
    asyncio.run(create_database(tmp_path / "ivr.db"))
    result = ivr_status(tmp_path)
    assert result.exit_code == 1
    assert "service: not running" in result.stdout
    assert f"ivr status: unhealthy: not running (no {tmp_path}/run/status.json)" in result.stderr
    status_file(tmp_path, healthy(pid=2 ** 22 + 1, updated_at=time.time()))   # no such pid
    result = ivr_status(tmp_path, "--json")
    assert result.exit_code == 1
    shown = json.loads(result.stdout)
    assert shown["health"]["healthy"] is False
    assert shown["health"]["problems"][0].startswith("not running: process 4194305 is gone")


def test_ivr_status_exits_0_when_healthy_and_1_when_ami_stays_down(tmp_path):
    asyncio.run(create_database(tmp_path / "ivr.db"))
    now = time.time()
    status_file(tmp_path, healthy(pid=os.getpid(), updated_at=now, loop_at=now))
    result = ivr_status(tmp_path, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["health"] == {"healthy": True, "problems": []}
    status_file(tmp_path, healthy(pid=os.getpid(), updated_at=now, loop_at=now,
                                  ami_connected=False, ami_down_since=now - 45))
    result = ivr_status(tmp_path)
    assert result.exit_code == 1
    assert "AMI DISCONNECTED" in result.stdout
    assert "ivr status: unhealthy: AMI disconnected for 45 s" in result.stderr
