"""The missed-call fallback script on its own: validation, the spool file it writes (whole or
not at all), the AGI conversation (in-process and as the real process Asterisk would start),
no number in clear, no database anywhere near it."""
from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ivr import constants as C
from ivr import missed_spool
from ivr.intake import prepare_spool
from ivr.missed_fallback import FallbackError, install_wrapper, run, wrapper_text
from ivr.missed_spool import SpooledCall, SpoolError, decode, encode
from ivr.phone import Phone

NUMBER = "919876543210"
CALL = SpooledCall(NUMBER, "18001234567", 1700000000.25, "1700000000.42")


@pytest.fixture
def spool(tmp_path) -> Path:
    path = tmp_path / "spool" / "missed"
    prepare_spool(path)
    return path


def files(spool: Path) -> list[str]:
    return sorted(p.name for p in spool.iterdir() if p.name != "bad")


@pytest.mark.parametrize("raw,expected", [
    ("919876543210", "919876543210"), ("+919876543210", "+919876543210"),
    (" 09876543210 ", "09876543210"), ("", None), ("anonymous", None), ("12345", None),
    ("1234567890123456", None), ("++91987654", None), ("+91-98765-43210", "+919876543210"),
    ("91987654321;DROP", "91987654321"), ("unknown", None), ("12345678901234567890", None),
])
def test_reduced_caller_id(raw, expected):
    assert Phone.reduced_caller_id(raw) == expected


def test_a_file_round_trips_and_no_part_of_one_is_a_call():
    data = encode(CALL)
    assert decode(data) == CALL
    assert json.loads(data) == {"caller": NUMBER, "did": "18001234567",
                                "received_at": 1700000000.25, "uniqueid": "1700000000.42"}
    for cut in range(len(data) - 1):        # a half-written file is never read as a call
        with pytest.raises(SpoolError):
            decode(data[:cut])


@pytest.mark.parametrize("value,why", [
    ({"caller": NUMBER, "did": None, "received_at": 1.0}, "keys must be exactly"),
    ({**CALL._asdict(), "extra": 1}, "keys must be exactly"),
    ({**CALL._asdict(), "caller": "anonymous"}, "caller is not a phone number"),
    ({**CALL._asdict(), "caller": 919876543210}, "caller is not a phone number"),
    ({**CALL._asdict(), "did": "18-00"}, "did is not digits"),
    ({**CALL._asdict(), "received_at": "now"}, "received_at is not a time"),
    ({**CALL._asdict(), "received_at": True}, "received_at is not a time"),
    ({**CALL._asdict(), "uniqueid": "../../etc/passwd"}, "uniqueid is not"),
    ([1, 2], "keys must be exactly"),
])
def test_a_foreign_file_is_refused(value, why):
    with pytest.raises(SpoolError, match=why):
        decode(json.dumps(value).encode())


def test_an_oversized_file_is_refused():
    with pytest.raises(SpoolError, match="more than a missed call holds"):
        decode(b" " * 2000)


def test_write_is_whole_and_readable_by_the_controller(spool):
    old = os.umask(0o077)                   # Asterisk's umask must not matter
    try:
        path = missed_spool.write(spool, CALL)
    finally:
        os.umask(old)
    assert path == spool / "1700000000.42.missed" and files(spool) == [path.name]
    assert stat.S_IMODE(path.stat().st_mode) == missed_spool.FILE_MODE
    assert decode(path.read_bytes()) == CALL


def test_write_never_creates_the_spool(tmp_path):
    with pytest.raises(SpoolError, match="no spool directory at"):
        missed_spool.write(tmp_path / "nowhere", CALL)
    assert not (tmp_path / "nowhere").exists()


def env(caller: str = NUMBER, uniqueid: str = "1700000000.42") -> str:
    return ("agi_request: ivr-missed-call-fallback\nagi_channel: PJSIP/carrier-00000001\n"
            f"agi_callerid: {caller}\nagi_uniqueid: {uniqueid}\nagi_arg_1: x\n\n")


def converse(argv: list[str], replies: int = 2, **kw) -> tuple[int, str]:
    stdin = io.StringIO(env(**kw) + "200 result=1\n" * replies)
    stdout = io.StringIO()
    code = run(argv, stdin, stdout, 1700000000.25)
    return code, stdout.getvalue()


def test_run_spools_and_names_the_file(spool):
    code, sent = converse([str(spool), "18001234567"])
    assert code == 0
    assert files(spool) == ["1700000000.42.missed"]
    assert decode((spool / "1700000000.42.missed").read_bytes()) == CALL
    assert f'SET VARIABLE "{C.VAR_MISSED_CALL_FILE}" "1700000000.42.missed"' in sent
    assert "VERBOSE" in sent and NUMBER not in sent and "*********210" in sent


def test_a_missing_uniqueid_gets_a_made_up_one(spool):
    code, _ = converse([str(spool), "1800"], uniqueid="")
    [name] = files(spool)
    assert code == 0 and name.startswith("fallback-") and decode((spool / name).read_bytes())


@pytest.mark.parametrize("argv,caller,code,said", [
    (["SPOOL", "1800"], "anonymous", 1, "withheld or not a phone number"),
    (["", "1800"], NUMBER, 1, "must be an absolute directory"),
    (["relative/spool", "1800"], NUMBER, 1, "must be an absolute directory"),
    (["SPOOL"], NUMBER, 2, "usage"),
    (["/nonexistent/spool", "1800"], NUMBER, 1, "no spool directory at /nonexistent/spool"),
])
def test_run_explains_what_it_did_not_record(spool, argv, caller, code, said):
    argv = [str(spool) if a == "SPOOL" else a for a in argv]
    got, sent = converse(argv, caller=caller)
    assert got == code and said in sent and NUMBER not in sent
    assert f'SET VARIABLE "{C.VAR_MISSED_CALL_FILE}" ""' in sent
    assert files(spool) == []


def test_run_survives_a_hang_up_after_spooling(spool):
    """Asterisk closed the pipe (she hung up): the file is written all the same."""
    stdin = io.StringIO(env())                     # no replies: EOF on the first command
    code = run([str(spool), "1800"], stdin, io.StringIO(), 1.0)
    assert code == 0 and files(spool) == ["1700000000.42.missed"]


def test_the_real_process_talks_agi_and_knows_no_database(spool, tmp_path):
    wrapper = install_wrapper(tmp_path, sys.executable)
    assert stat.S_IMODE(wrapper.stat().st_mode) == 0o755
    assert wrapper.read_text() == wrapper_text(sys.executable)
    done = subprocess.run([str(wrapper), str(spool), "18001234567"],
                          input=env("+" + NUMBER) + "200 result=1\n" * 2, capture_output=True,
                          text=True, timeout=20, env={"PATH": os.environ.get("PATH", "")})
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""                         # pyst2's debug output goes to /dev/null
    assert f'SET VARIABLE "{C.VAR_MISSED_CALL_FILE}" "1700000000.42.missed"' in done.stdout
    assert decode((spool / "1700000000.42.missed").read_bytes()).caller == "+" + NUMBER
    loaded = subprocess.run(
        [sys.executable, "-I", "-c", "import sys, ivr.missed_fallback, asterisk.agi; "
         "print(sorted(m for m in sys.modules if 'sqlite' in m or m.startswith('ivr.adapters')))"],
        capture_output=True, text=True, timeout=20, cwd=Path(__file__).parents[2])
    assert loaded.stdout.strip() == "[]", loaded.stderr    # no way to a database in the script


def test_install_wrapper_needs_a_directory(tmp_path):
    with pytest.raises(FallbackError, match="is not a directory"):
        install_wrapper(tmp_path / "nope", sys.executable)
