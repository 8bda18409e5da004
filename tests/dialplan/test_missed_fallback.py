"""The missed-call fallback script on its own: validation, the row it writes, the AGI
conversation (in-process and as the real process Asterisk would start), no number in clear."""
from __future__ import annotations

import asyncio
import io
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ivr import constants as C
from ivr.adapters.store import Store
from ivr.missed_fallback import (FallbackError, install_wrapper, record_missed_call, run,
                                 valid_caller, wrapper_text)

NUMBER = "919876543210"


@pytest.fixture
def db(tmp_path) -> Path:
    path = tmp_path / "ivr.db"

    async def create() -> None:
        store = await asyncio.wait_for(Store.open(path), 10)
        await store.close()
    asyncio.run(create())
    return path


def rows(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as con:
        return con.execute("SELECT phone, did, uniqueid, handled_at, subscriber_id, callback_id "
                           "FROM missed_calls ORDER BY id").fetchall()


@pytest.mark.parametrize("raw,expected", [
    ("919876543210", "919876543210"), ("+919876543210", "+919876543210"),
    (" 09876543210 ", "09876543210"), ("", None), ("anonymous", None), ("12345", None),
    ("1234567890123456", None), ("++91987654", None), ("+91-98765-43210", "+919876543210"),
    ("91987654321;DROP", "91987654321"), ("unknown", None), ("12345678901234567890", None),
])
def test_valid_caller(raw, expected):
    assert valid_caller(raw) == expected


def test_record_writes_one_row_per_channel(db):
    first = record_missed_call(db, NUMBER, "18001234567", "1700000000.12", 1700000000.0)
    again = record_missed_call(db, NUMBER, "18001234567", "1700000000.12", 1700000001.0)
    other = record_missed_call(db, NUMBER, None, None, 1700000002.0)
    assert first == again != other
    assert rows(db) == [(NUMBER, "18001234567", "1700000000.12", None, None, None),
                        (NUMBER, None, None, None, None, None)]


@pytest.mark.parametrize("make,message", [
    (lambda tmp: tmp / "missing.db", "no database at"),
    (lambda tmp: Path("relative.db"), "must be absolute"),
])
def test_record_refuses_a_wrong_path_without_creating_it(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(FallbackError, match=message):
        record_missed_call(path, NUMBER, "1800", None, 1.0)
    assert not (tmp_path / "missing.db").exists()


def test_record_refuses_a_database_without_the_schema(tmp_path):
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    with pytest.raises(FallbackError, match="migration 002 missing"):
        record_missed_call(path, NUMBER, "1800", None, 1.0)


def test_record_gives_up_quickly_on_a_locked_database(db):
    locker = sqlite3.connect(db, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(FallbackError, match="locked"):
            record_missed_call(db, NUMBER, "1800", None, 1.0)
    finally:
        locker.execute("ROLLBACK")
        locker.close()


def env(caller: str = NUMBER) -> str:
    return ("agi_request: ivr-missed-call-fallback\nagi_channel: PJSIP/carrier-00000001\n"
            f"agi_callerid: {caller}\nagi_uniqueid: 1700000000.42\nagi_arg_1: x\n\n")


ENV = env()


def converse(argv: list[str], replies: int = 2, caller: str = NUMBER) -> tuple[int, str]:
    stdin = io.StringIO(env(caller) + "200 result=1\n" * replies)
    stdout = io.StringIO()
    code = run(argv, stdin, stdout, 1700000000.0)
    return code, stdout.getvalue()


def test_run_records_and_sets_the_row_id(db):
    code, sent = converse([str(db), "18001234567"])
    assert code == 0
    assert rows(db) == [(NUMBER, "18001234567", "1700000000.42", None, None, None)]
    assert f'SET VARIABLE "{C.VAR_MISSED_CALL_ID}" "1"' in sent
    assert "VERBOSE" in sent and NUMBER not in sent and "*********210" in sent


@pytest.mark.parametrize("argv,caller,code,said", [
    (["DB", "1800"], "anonymous", 1, "withheld or not a phone number"),
    (["", "1800"], NUMBER, 1, "IVR_DATABASE is empty"),
    (["DB"], NUMBER, 2, "usage"),
    (["/nonexistent/ivr.db", "1800"], NUMBER, 1, "no database at /nonexistent/ivr.db"),
])
def test_run_explains_what_it_did_not_record(db, argv, caller, code, said):
    argv = [str(db) if a == "DB" else a for a in argv]
    got, sent = converse(argv, caller=caller)
    assert got == code and said in sent and NUMBER not in sent
    assert f'SET VARIABLE "{C.VAR_MISSED_CALL_ID}" ""' in sent
    assert rows(db) == []


def test_run_survives_a_hang_up_after_recording(db):
    """Asterisk closed the pipe (she hung up): the row is written all the same."""
    stdin = io.StringIO(ENV)                       # no replies: EOF on the first command
    code = run([str(db), "1800"], stdin, io.StringIO(), 1.0)
    assert code == 0 and len(rows(db)) == 1


def test_the_real_process_talks_agi(db, tmp_path):
    wrapper = install_wrapper(tmp_path, sys.executable)
    assert stat.S_IMODE(wrapper.stat().st_mode) == 0o755
    assert wrapper.read_text() == wrapper_text(sys.executable)
    done = subprocess.run([str(wrapper), str(db), "18001234567"],
                          input=env("+" + NUMBER) + "200 result=1\n" * 2, capture_output=True, text=True,
                          timeout=20, env={"PATH": os.environ.get("PATH", "")})
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""                         # pyst2's debug output goes to /dev/null
    assert f'SET VARIABLE "{C.VAR_MISSED_CALL_ID}" "1"' in done.stdout
    assert rows(db)[0][0] == "+" + NUMBER


def test_install_wrapper_needs_a_directory(tmp_path):
    with pytest.raises(FallbackError, match="is not a directory"):
        install_wrapper(tmp_path / "nope", sys.executable)
