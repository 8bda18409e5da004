"""The missed-call fallback against the real sandbox, with NO controller running: the
production missed-call context runs the classic AGI script, which records the call in the
database named by IVR_DATABASE (a temp one here), and the event carries the row id."""
from __future__ import annotations

import random
import sqlite3
import uuid
from pathlib import Path

import pytest

from ivr import constants as C
from ivr.adapters.store import Store
from tests.sandbox.conftest import SIPP_DIR, free_port
from tests.sandbox.test_calls import TEST_CONTEXT, finish, sipp, until

pytestmark = pytest.mark.sandbox


async def new_database(tmp_path: Path) -> Path:
    path = tmp_path / "db" / "ivr.db"
    store = await Store.open(path)
    await store.close()
    return path


def rows(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT id, phone, did, uniqueid, handled_at, subscriber_id, "
                          "callback_id FROM missed_calls ORDER BY id").fetchall()


def missed_event(did: str):
    return lambda e: (e.get("Event") == "UserEvent" and e.get("DID") == did
                      and e.get("UserEvent") == C.USEREVENT_MISSED_CALL)


def new_did() -> str:
    return f"1800{random.randrange(10**6):06d}"


async def test_local_missed_call_is_recorded_without_the_controller(ami, sandbox, tmp_path):
    db = await new_database(tmp_path)
    did = new_did()
    reply = await ami.originate(f"mc-{uuid.uuid4().hex[:8]}", f"Local/{did}@{C.CONTEXT_MISSED_CALL}",
                                context=TEST_CONTEXT, timeout_ms=5000,
                                variables=(f"__{C.GLOBAL_DATABASE}={db}",), caller_id="919876543210")
    assert reply["Reason"] != "4"                      # never answered
    event = await ami.wait_for(missed_event(did), 10)
    assert event[C.HEADER_CALLER] == "919876543210"
    [(row_id, phone, row_did, uniqueid, handled, sub, cb)] = rows(db)
    assert event[C.HEADER_MISSED_CALL_ID] == str(row_id)
    assert (phone, row_did, handled, sub, cb) == ("919876543210", did, None, None, None)
    assert uniqueid == event["Uniqueid"]
    # the script's messages reach Asterisk's log, with its arguments, but never her number
    def agi_lines() -> list[str]:
        return [line for line in sandbox.log_file.read_text(errors="replace").splitlines()
                if "res_agi.c" in line and did in line]
    await until(lambda: agi_lines() != [], 5)           # Asterisk's logger writes in its thread
    assert not [line for line in agi_lines() if "9876543210" in line]


async def test_sip_missed_call_records_and_rejects(ami, sandbox, tmp_path):
    db = await new_database(tmp_path)
    did = new_did()
    proc = await sipp(f"127.0.0.1:{sandbox.ports.sip_port}", "-sf", str(SIPP_DIR / "uac_missed.xml"),
                      "-s", did, "-key", "caller", "+91-98765-43210", "-key", "database", str(db),
                      "-p", str(free_port()), "-mp", str(free_port(span=4)), "-timeout", "15",
                      cwd=tmp_path)
    text = await finish(proc, 20)
    assert proc.returncode == 0, text[-1500:]          # rejected, never answered
    event = await ami.wait_for(missed_event(did), 10)
    [(row_id, phone, *_)] = rows(db)
    assert (event[C.HEADER_MISSED_CALL_ID], phone) == (str(row_id), "+919876543210")


async def test_she_hangs_up_first_and_the_call_is_still_recorded(ami, sandbox, tmp_path):
    db = await new_database(tmp_path)
    did = new_did()
    proc = await sipp(f"127.0.0.1:{sandbox.ports.sip_port}", "-sf", str(SIPP_DIR / "uac_cancel.xml"),
                      "-s", did, "-key", "caller", "9876543210", "-key", "database", str(db),
                      "-p", str(free_port()), "-mp", str(free_port(span=4)), "-timeout", "15",
                      cwd=tmp_path)
    text = await finish(proc, 20)
    assert proc.returncode == 0, text[-1500:]          # CANCEL answered by 200 and 487
    event = await ami.wait_for(missed_event(did), 10)
    hangup = await ami.wait_for(lambda e: e.get("Event") == "Hangup"
                                and e.get("Uniqueid") == event["Uniqueid"], 10)
    assert hangup["Cause"] != "21"                     # she ended it, not our reject
    # the script may outlive the channel (Asterisk stops waiting for it at the hang-up)
    await until(lambda: rows(db) != [], 5)
    [(row_id, phone, row_did, uniqueid, *_)] = rows(db)
    assert (phone, row_did, uniqueid) == ("9876543210", did, event["Uniqueid"])
    assert event.get(C.HEADER_MISSED_CALL_ID, "") in ("", str(row_id))  # empty if the AGI was cut short


async def test_missing_database_still_rejects_and_tells_the_controller(ami, tmp_path):
    missing = tmp_path / "nowhere" / "ivr.db"
    did = new_did()
    reply = await ami.originate(f"mc-{uuid.uuid4().hex[:8]}", f"Local/{did}@{C.CONTEXT_MISSED_CALL}",
                                context=TEST_CONTEXT, timeout_ms=5000,
                                variables=(f"__{C.GLOBAL_DATABASE}={missing}",),
                                caller_id="919876543210")
    assert reply["Reason"] != "4"
    event = await ami.wait_for(missed_event(did), 10)
    assert event.get(C.HEADER_MISSED_CALL_ID, "") == "" and event[C.HEADER_CALLER] == "919876543210"
    assert not missing.parent.exists()                 # no database conjured up
    # (an empty header reaches panoramisk as no header at all: read it with a default)


async def test_withheld_caller_is_not_recorded(ami, tmp_path):
    db = await new_database(tmp_path)
    did = new_did()
    await ami.originate(f"mc-{uuid.uuid4().hex[:8]}", f"Local/{did}@{C.CONTEXT_MISSED_CALL}",
                        context=TEST_CONTEXT, timeout_ms=5000,
                        variables=(f"__{C.GLOBAL_DATABASE}={db}",), caller_id="anonymous")
    event = await ami.wait_for(missed_event(did), 10)
    assert event.get(C.HEADER_CALLER, "") == "" and event.get(C.HEADER_MISSED_CALL_ID, "") == ""
    assert rows(db) == []
