"""`ivr run` and `ivr status` at the command line, without Asterisk."""
import asyncio
import json
import os
import time

from click.testing import CliRunner

from cli import main
from ivr.adapters.store import Store


async def create_database(path):
    await (await Store.open(path)).close()


def write(tmp_path, text):
    p = tmp_path / "ivr.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_ivr_run_refuses_an_unknown_trunk_before_it_connects(tmp_path):
    write(tmp_path, '[[trunk]]\nname = "a"\ndial = "L/{digits}"\n')
    result = CliRunner().invoke(main, ["run", "--trunk", "b"], env={"IVR_HOME": str(tmp_path)})
    assert result.exit_code == 1
    assert "no trunk named 'b'; configured: a" in result.output
    assert not (tmp_path / "run").exists()          # it took no lock and wrote no status


def test_ivr_status_shows_a_resting_trunk(tmp_path):
    asyncio.run(create_database(tmp_path / "ivr.db"))      # `ivr status` never creates it
    now = time.time()
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "status.json").write_text(json.dumps({
        "pid": os.getpid(), "updated_at": now, "ami_connected": True, "errors": [],
        "trunks": {"a": {"live": 0, "channels": 30, "cps": 10, "failed_in_a_row": 5,
                         "resting_until": now + 60},
                   "b": {"live": 3, "channels": 30, "cps": 10, "failed_in_a_row": 0,
                         "resting_until": None}}}))
    result = CliRunner().invoke(main, ["status"], env={"IVR_HOME": str(tmp_path)})
    assert result.exit_code == 0, result.output
    lines = {line.split(":")[0].strip(): line for line in result.output.splitlines()}
    until = time.strftime("%H:%M:%S", time.localtime(now + 60))
    assert lines["trunk a"].endswith(f"RESTING until {until} after 5 failed calls in a row")
    assert lines["trunk b"].endswith("3/30 live calls, 10 cps")


def test_ivr_status_shows_the_dial_loop_backing_off_and_what_was_recovered(tmp_path):
    asyncio.run(create_database(tmp_path / "ivr.db"))
    now = time.time()
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "status.json").write_text(json.dumps({
        "pid": os.getpid(), "updated_at": now, "ami_connected": True, "trunks": {},
        "errors": [{"at": now, "error": "dial loop: OperationalError('database is locked')"}],
        "backoff_until": now + 8, "errors_in_a_row": 4, "loop_errors": 4, "stale_closed": 2,
        "ami_reconnects": 1}))
    result = CliRunner().invoke(main, ["status"], env={"IVR_HOME": str(tmp_path)})
    until = time.strftime("%H:%M:%S", time.localtime(now + 8))
    assert f"dial loop: BACKING OFF until {until} after 4 error(s) in a row" in result.output
    assert ("since start: 2 attempt(s) of dead processes closed, 1 AMI reconnect(s), "
            "4 dial loop error(s)") in result.output
    assert "database is locked" in result.output
    assert result.exit_code == 1                      # unhealthy while it backs off
    assert "backing off after 4 error(s) in a row" in result.output
