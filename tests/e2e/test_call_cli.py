"""`ivr call test` from the command line, against the sandbox."""
from __future__ import annotations

import json
import socket
import sqlite3
from contextlib import closing

import pytest
from click.testing import CliRunner

from cli import main
from tests.conftest import TEST_MESSAGE

pytestmark = pytest.mark.sandbox


def config_file(sandbox, tmp_path, sounds) -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        agi_port = s.getsockname()[1]
    secret = (sandbox.root / "ami-secret").read_text().strip()
    path = tmp_path / "ivr.toml"
    path.write_text(f'[ivr]\ndatabase = "{tmp_path / "ivr.db"}"\nsounds = "{sounds}"\n'
                    f'[ami]\nport = {sandbox.ports.ami_port}\nsecret = "{secret}"\n'
                    f'[agi]\nport = {agi_port}\n'
                    '[[trunk]]\nname = "sim"\ndial = "Local/{digits}@sim-phones"\n'
                    'ring_timeout = 5\n')
    return str(path)


def test_call_test_prints_and_stores_the_outcome(sandbox, test_sounds, tmp_path):
    cfg = config_file(sandbox, tmp_path, test_sounds)
    result = CliRunner().invoke(main, ["--config", cfg, "call", "test", "--to", "+91 90000 31",
                                       "--lang", "hi", "--message", TEST_MESSAGE, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["outcome"] == "busy" and out["cause"] == 17 and out["to"] == "******031"
    assert "919000031" not in result.output                   # masked unless --reveal
    with closing(sqlite3.connect(tmp_path / "ivr.db")) as conn:
        assert conn.execute("SELECT COUNT(*) FROM audit WHERE action = 'reveal'").fetchone() \
            == (0,)
    shown = CliRunner().invoke(main, ["--config", cfg, "call", "test", "--to", "+91 90000 31",
                                      "--lang", "hi", "--message", TEST_MESSAGE, "--reveal"],
                               env={"IVR_ACTOR": "tester-3"})
    assert shown.exit_code == 0 and "919000031" in shown.output, shown.output
    with closing(sqlite3.connect(tmp_path / "ivr.db")) as conn:           # --reveal: audited
        rows = conn.execute("SELECT actor, detail FROM audit WHERE action = 'reveal'").fetchall()
    assert [(a, json.loads(d)["command"]) for a, d in rows] == [("tester-3", "call test")]


@pytest.mark.parametrize("args,message", [
    (["--to", "12", "--lang", "hi", "--message", TEST_MESSAGE], "not a phone number"),
    (["--to", "919000011", "--lang", "hi", "--message", "no-such-message"], "no recording"),
    (["--to", "919000011", "--lang", "HINDI", "--message", TEST_MESSAGE], "language"),
])
def test_bad_input_is_refused_before_dialling(sandbox, test_sounds, tmp_path, args, message):
    cfg = config_file(sandbox, tmp_path, test_sounds)
    result = CliRunner().invoke(main, ["--config", cfg, "call", "test", *args])
    assert result.exit_code == 1 and message in result.stderr, result.output
    db = tmp_path / "ivr.db"
    if db.exists():                                           # nothing was dialled nor stored
        with closing(sqlite3.connect(db)) as conn:
            assert conn.execute("SELECT COUNT(*) FROM attempts").fetchone()[0] == 0
