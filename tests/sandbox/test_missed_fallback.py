"""The missed-call fallback against the real sandbox, with NO controller running: the
production missed-call context runs the classic AGI script, which drops the call into the
spool named by IVR_MISSED_SPOOL (a temp one here), and the event names only that file.
Asterisk is never told where the database is."""
from __future__ import annotations

import os
import random
import signal
import stat
import uuid
from pathlib import Path

import pytest

from ivr import constants as C
from ivr import missed_spool
from ivr.intake import prepare_spool
from tests.sandbox.conftest import SIPP_DIR, free_port
from tests.sandbox.test_calls import TEST_CONTEXT, finish, sipp, until
from tests.test_intake import held_pid

pytestmark = pytest.mark.sandbox


def new_spool(tmp_path: Path) -> Path:
    path = tmp_path / "spool" / "missed"
    prepare_spool(path)
    return path


def spooled(spool: Path) -> list[missed_spool.SpooledCall]:
    return [missed_spool.decode(p.read_bytes()) for p in sorted(spool.glob("*.missed"))]


def sip_event(uniqueids: set[str]):
    return lambda e: (e.get("Event") == "UserEvent"
                      and e.get("UserEvent") == C.USEREVENT_MISSED_CALL
                      and e.get("Uniqueid") in uniqueids)


def new_did() -> str:
    return f"1800{random.randrange(10**6):06d}"


def asterisk_uid(sandbox) -> int:
    status = Path(f"/proc/{sandbox.status().pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])


async def originate_missed(ami, did: str, spool: Path | str, caller: str):
    return await ami.originate(f"mc-{uuid.uuid4().hex[:8]}", f"Local/{did}@{C.CONTEXT_MISSED_CALL}",
                               context=TEST_CONTEXT, timeout_ms=5000,
                               variables=(f"__{C.GLOBAL_MISSED_SPOOL}={spool}",),
                               caller_id=caller)


def local_event(did: str):
    return lambda e: (e.get("Event") == "UserEvent"
                      and e.get("UserEvent") == C.USEREVENT_MISSED_CALL
                      and e.get("Channel", "").startswith(f"Local/{did}@"))


async def test_local_missed_call_is_spooled_without_the_controller(ami, sandbox, tmp_path):
    spool = new_spool(tmp_path)
    did = new_did()
    reply = await originate_missed(ami, did, spool, "919876543210")
    assert reply["Reason"] != "4"                      # never answered
    event = await ami.wait_for(local_event(did), 10)
    name = event[C.HEADER_MISSED_CALL_FILE]
    assert name == event["Uniqueid"] + missed_spool.SUFFIX
    [call] = spooled(spool)
    assert (call.caller, call.did, call.uniqueid) == ("919876543210", did, event["Uniqueid"])
    # the event tells nothing but the file's name (no number, no DID of the caller's making)
    assert "Caller" not in event and "DID" not in event and "MissedCallId" not in event
    # written by Asterisk's user, readable by the controller through the 0730 spool only
    path = spool / name
    assert path.stat().st_uid == asterisk_uid(sandbox)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert stat.S_IMODE(spool.stat().st_mode) == 0o730
    assert sorted(p.name for p in spool.iterdir()) == sorted(["bad", name])   # no temporary left
    # the script's messages reach Asterisk's log, with its arguments, but never her number
    def agi_lines() -> list[str]:
        return [line for line in sandbox.log_file.read_text(errors="replace").splitlines()
                if "res_agi.c" in line and did in line]
    await until(lambda: agi_lines() != [], 5)           # Asterisk's logger writes in its thread
    assert not [line for line in agi_lines() if "9876543210" in line]


async def sip_missed_call(sandbox, tmp_path: Path, did: str, spool: Path, caller: str,
                          scenario: Path = SIPP_DIR / "uac_missed.xml", *keys: str):
    return await sipp(f"127.0.0.1:{sandbox.ports.sip_port}", "-sf", str(scenario),
                      "-s", did, "-key", "caller", caller, "-key", "spool", str(spool), *keys,
                      "-p", str(free_port()), "-mp", str(free_port(span=4)), "-timeout", "15",
                      cwd=tmp_path)


async def test_sip_missed_call_spools_and_rejects(ami, sandbox, tmp_path):
    spool = new_spool(tmp_path)
    did = new_did()
    proc = await sip_missed_call(sandbox, tmp_path, did, spool, "+91-98765-43210")
    text = await finish(proc, 20)
    assert proc.returncode == 0, text[-1500:]          # rejected, never answered
    [call] = spooled(spool)
    assert (call.caller, call.did) == ("+919876543210", did)
    event = await ami.wait_for(sip_event({call.uniqueid}), 10)
    assert event[C.HEADER_MISSED_CALL_FILE] == call.uniqueid + missed_spool.SUFFIX


async def test_she_hangs_up_first_and_the_call_is_still_spooled(ami, sandbox, tmp_path):
    spool = new_spool(tmp_path)
    did = new_did()
    proc = await sip_missed_call(sandbox, tmp_path, did, spool, "9876543210",
                                 SIPP_DIR / "uac_cancel.xml")
    text = await finish(proc, 20)
    assert proc.returncode == 0, text[-1500:]          # CANCEL answered by 200 and 487
    # the script may outlive the channel (Asterisk stops waiting for it at the hang-up)
    await until(lambda: spooled(spool) != [], 15)        # a loaded machine starts Python slowly
    [call] = spooled(spool)
    assert (call.caller, call.did) == ("9876543210", did)
    event = await ami.wait_for(sip_event({call.uniqueid}), 10)
    hangup = await ami.wait_for(lambda e: e.get("Event") == "Hangup"
                                and e.get("Uniqueid") == call.uniqueid, 10)
    assert hangup["Cause"] != "21"                     # she ended it, not our reject
    # empty if the AGI was cut short: the controller then looks for <Uniqueid>.missed
    assert event.get(C.HEADER_MISSED_CALL_FILE, "") in ("", call.uniqueid + missed_spool.SUFFIX)


async def test_a_missing_spool_still_rejects_and_tells_the_controller(ami, tmp_path):
    missing = tmp_path / "nowhere" / "missed"
    did = new_did()
    reply = await originate_missed(ami, did, missing, "919876543210")
    assert reply["Reason"] != "4"
    event = await ami.wait_for(local_event(did), 10)
    assert event.get(C.HEADER_MISSED_CALL_FILE, "") == ""
    assert not missing.parent.exists()                 # no spool conjured up
    # (an empty header reaches panoramisk as no header at all: read it with a default)


async def test_withheld_caller_is_not_recorded(ami, tmp_path):
    spool = new_spool(tmp_path)
    did = new_did()
    await originate_missed(ami, did, spool, "anonymous")
    event = await ami.wait_for(local_event(did), 10)
    assert event.get(C.HEADER_MISSED_CALL_FILE, "") == "" and spooled(spool) == []


async def test_a_script_killed_half_way_is_run_again_and_knows_no_database(ami, sandbox,
                                                                           tmp_path):
    """kill -9 the fallback script Asterisk started, half-way through its file (held there by
    the test hook): the dialplan runs it once more and her call is spooled whole; the held
    process had no path to the database in its arguments or environment."""
    spool = new_spool(tmp_path)
    hold = tmp_path / "hold"
    hold.mkdir()
    os.mkfifo(hold / "fifo")
    scenario = tmp_path / "uac_missed_hold.xml"
    scenario.write_text((SIPP_DIR / "uac_missed.xml").read_text().replace(
        "X-Ivr-Test-Spool: [spool]", "X-Ivr-Test-Spool: [spool]\n      X-Ivr-Test-Hold: [hold]"))
    did = new_did()
    proc = await sip_missed_call(sandbox, tmp_path, did, spool, "919876543210", scenario,
                                 "-key", "hold", str(hold))
    try:
        pid = await held_pid(hold, 15)                  # the first run is at its half-way point
        seen = (Path(f"/proc/{pid}/cmdline").read_bytes() + b"\n"
                + Path(f"/proc/{pid}/environ").read_bytes()).decode(errors="replace")
        [temp] = [p.name for p in spool.iterdir() if missed_spool.is_temp_file(p.name)]
        os.kill(pid, signal.SIGKILL)
    finally:
        text = await finish(proc, 20)
    assert proc.returncode == 0, text[-1500:]          # still rejected, never answered
    assert str(spool) in seen and did in seen          # its arguments: the spool and the DID
    for secret in ("ivr.db", str(sandbox.home / "ivr.db"), "IVR_DATABASE", "9876543210"):
        assert secret not in seen
    [call] = spooled(spool)                            # the second run wrote it whole
    assert (call.caller, call.did) == ("919876543210", did)
    event = await ami.wait_for(sip_event({call.uniqueid}), 10)
    assert event[C.HEADER_MISSED_CALL_FILE] == call.uniqueid + missed_spool.SUFFIX
    assert (spool / temp).exists()                     # the half file: never a call
    with pytest.raises(missed_spool.SpoolError):
        missed_spool.decode((spool / temp).read_bytes())
