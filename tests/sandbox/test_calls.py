"""Calls through the real sandbox: simulated phones over Local channels, the production
failure path, and real SIP (sipp) for a missed call and an answering phone."""
from __future__ import annotations

import asyncio
import random
import socket
import uuid
import wave
from pathlib import Path

import pytest

from ivr import constants as C
from tests.sandbox.conftest import SIPP_DIR, free_port, udp_bound

pytestmark = pytest.mark.sandbox

TEST_CONTEXT = "sandbox-test"


def uid(tag: str) -> str:
    """A unique ActionID: other people's AMI clients share this Asterisk."""
    return f"sbt-{uuid.uuid4().hex[:10]}-{tag}"


async def until(check, timeout: float) -> None:
    """Wait until check() holds (a condition another process sets, with no event to await)."""
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)


async def sipp(*args: str, cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        "sipp", *args, "-i", "127.0.0.1", "-m", "1", "-nostdin", "-timeout_error",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=cwd)


async def finish(proc: asyncio.subprocess.Process, timeout: float) -> str:
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    finally:
        if proc.returncode is None:
            proc.kill()
            await asyncio.wait_for(proc.wait(), 5)
    return out.decode(errors="replace")


# number -> (OriginateResponse Reason, what the simulated phone does)
BEHAVIOURS = {
    "919000011": ("4", "answers"),
    "919000031": ("5", "busy"),
    "919000041": ("3", "never answers (Timeout 2 s)"),
    "919000051": ("8", "congestion"),
    "919000061": ("0", "rejects"),
    "9190000712": ("4", "answers, hangs up later"),
    "919000081": ("4", "stays on"),
    "301": ("5", "short number: busy"),
    "98765": ("0", "unallocated number"),
}


async def test_each_sim_phone_gives_its_originate_reason(ami):
    calls = {number: ami.originate(uid(number), f"Local/{number}@{C.CONTEXT_SIM_PHONES}",
                                   context=TEST_CONTEXT, timeout_ms=2000)
             for number in BEHAVIOURS}
    results = await asyncio.gather(*calls.values())
    got = {number: r.get("Reason") for number, r in zip(calls, results, strict=True)}
    assert got == {number: reason for number, (reason, _) in BEHAVIOURS.items()}


async def test_keys_are_pressed_one_by_one_and_hang_up_after_n_seconds(ami):
    keys_call = ami.originate(uid("keys"), f"Local/9190000212@{C.CONTEXT_SIM_PHONES}",
                              context=TEST_CONTEXT, exten="listen",
                              variables=("LISTEN_SECONDS=9",))
    hangup_call = ami.originate(uid("hangup"), f"Local/9190000702@{C.CONTEXT_SIM_PHONES}",
                                context=TEST_CONTEXT, exten="listen",
                                variables=("LISTEN_SECONDS=9",))
    keys, hangup = await asyncio.gather(keys_call, hangup_call)
    assert keys["Reason"] == "4" and hangup["Reason"] == "4"

    def dtmf(digit):
        return lambda e: (e.get("Event") == "DTMFEnd" and e.get("Channel") == keys["Channel"]
                          and e.get("Direction") == "Received" and e.get("Digit") == digit)
    one = await ami.wait_for(dtmf("1"), 8)
    two = await ami.wait_for(dtmf("2"), 8)
    assert 2.5 <= float(two["Timestamp"]) - float(one["Timestamp"]) <= 4.0
    assert 2.5 <= float(one["Timestamp"]) - float(keys["Timestamp"]) <= 4.5

    gone = await ami.wait_for(lambda e: e.get("Event") == "Hangup"
                              and e.get("Channel") == hangup["Channel"], 8)
    assert 1.5 <= float(gone["Timestamp"]) - float(hangup["Timestamp"]) <= 4.0


def silence_wav(path: Path, seconds: float = 0.2) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * int(8000 * seconds))


async def test_unreachable_fastagi_apologises_in_her_language(ami, tmp_path):
    silence_wav(tmp_path / "hi" / f"{C.PROMPT_SORRY}.wav")
    attempt = uid("agi")
    dead_url = f"agi://127.0.0.1:{free_port(socket.SOCK_STREAM)}"
    answered = await ami.originate(
        uid("agi-orig"), f"Local/919000011@{C.CONTEXT_SIM_PHONES}", context=C.CONTEXT_OUTBOUND,
        exten=C.EXTEN_START,
        variables=(f"{C.VAR_ATTEMPT_ID}={attempt}", f"{C.VAR_LANG}=h!I;i",
                   f"{C.VAR_AGI_URL}={dead_url}", f"{C.GLOBAL_SOUNDS}={tmp_path}"))
    assert answered["Reason"] == "4"
    channel = answered["Channel"]
    event = await ami.wait_for(lambda e: e.get("Event") == "UserEvent"
                               and e.get("UserEvent") == C.USEREVENT_AGI_FAILED
                               and e.get(C.VAR_ATTEMPT_ID) == attempt, 10)
    assert event["Channel"] == channel
    lang = await ami.wait_for(lambda e: e.get("Event") == "Newexten" and e.get("Channel") == channel
                              and e.get("Application") == "Set"
                              and str(e.get("AppData")).startswith("CHANNEL(language)="), 5)
    assert lang["AppData"] == "CHANNEL(language)=hi"            # filtered to [a-z_]
    sorry = await ami.wait_for(lambda e: e.get("Event") == "Newexten"
                               and e.get("Channel") == channel
                               and e.get("Application") == "Playback", 5)
    assert sorry["Context"] == C.CONTEXT_APOLOGY
    assert sorry["AppData"] == f"{tmp_path}/{C.PROMPT_SORRY}"


async def test_sip_missed_call_is_rejected_unanswered_with_an_event(ami, sandbox, tmp_path):
    did = f"1800{random.randrange(10**6):06d}"
    proc = await sipp(f"127.0.0.1:{sandbox.ports.sip_port}", "-sf",
                      str(SIPP_DIR / "uac_missed.xml"), "-s", did, "-key", "caller",
                      "+91-98765-43210", "-key", "spool", str(tmp_path / "no-spool"),
                      "-p", str(free_port()), "-mp", str(free_port(span=4)), "-timeout", "15",
                      cwd=tmp_path)
    text = await finish(proc, 20)
    assert proc.returncode == 0, text[-1500:]        # got a reject, sent ACK; a 200 fails sipp
    step = await ami.wait_for(lambda e: e.get("Event") == "Newexten"
                              and e.get("Context") == C.CONTEXT_MISSED_CALL
                              and e.get("Exten") == did, 10)
    event = await ami.wait_for(lambda e: e.get("Event") == "UserEvent"
                               and e.get("UserEvent") == C.USEREVENT_MISSED_CALL
                               and e.get("Uniqueid") == step["Uniqueid"], 10)
    assert event.get(C.HEADER_MISSED_CALL_FILE, "") == ""   # no spool there: nothing written
    hangup = await ami.wait_for(lambda e: e.get("Event") == "Hangup"
                                and e.get("Uniqueid") == event["Uniqueid"], 10)
    assert hangup["Cause"] == "21"
    assert hangup["ChannelStateDesc"] != "Up"          # never answered: free for her


async def test_sip_phone_answers_presses_1_and_gets_bye(ami, tmp_path):
    port = free_port()
    proc = await sipp("-sf", str(SIPP_DIR / "uas_answer_dtmf.xml"), "-p", str(port),
                      "-mp", str(free_port(span=4)), "-timeout", "30", cwd=tmp_path)
    try:
        await until(lambda: udp_bound(port), 10)
        answered = await ami.originate(
            uid("uas"), f"PJSIP/carrier/sip:9876543210@127.0.0.1:{port}", context=TEST_CONTEXT,
            exten="listen", variables=("LISTEN_SECONDS=4.5",))
        assert answered["Reason"] == "4", answered
        assert answered["Channel"].startswith("PJSIP/carrier-")
        await ami.wait_for(lambda e: e.get("Event") == "DTMFEnd" and e.get("Digit") == "1"
                           and e.get("Channel") == answered["Channel"]
                           and e.get("Direction") == "Received", 8)
    finally:
        text = await finish(proc, 15)
    assert proc.returncode == 0, text[-1500:]         # Asterisk hung up with BYE, sipp said 200
