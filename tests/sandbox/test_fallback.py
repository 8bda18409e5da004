"""The dialplan's fallback (dialplan/ivr-fallback.conf) against the real sandbox Asterisk: what
she hears when the controller cannot serve her call.

(a) the in-call route never had her call (FastAGI unreachable; or the session opened but the
    controller went away before the route set IVR_SERVED, which it sends just before
    her answer's COMMIT): the apology only, never her message (her attempt is closed as failed and
    she is called again: hearing it now would make twice);
(b) the route had her call (IVR_SERVED=1, sent just before her answer's COMMIT) and went away
    during it: the greeting and her message (the attempt is closed as answered).
"""
from __future__ import annotations

import asyncio
import socket

import pytest

from ivr import constants as C
from tests.sandbox.conftest import free_port
from tests.sandbox.test_calls import silence_wav, uid

pytestmark = pytest.mark.sandbox

MESSAGE = "fallback-test-msg"


async def controller_gone(served: bool, cleared: bool = False,
                          ) -> tuple[str, asyncio.Server, asyncio.Event]:
    """A FastAGI server that takes the session and goes away at once, as a killed `ivr run`
    would; with `served`, after it set IVR_SERVED=1 as the route does before it writes her
    answer; with `cleared`, after it set it back to 0, as the route does when her answer
    cannot be written. Returns its URL, the server, and an event set once the session ended."""
    ended = asyncio.Event()

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10):
                while (await reader.readline()).strip():      # the agi_* environment
                    pass
                for value in ("1", "0") if cleared else ("1",) if served else ():
                    writer.write(f"SET VARIABLE {C.VAR_SERVED} {value}\n".encode())
                    await writer.drain()
                    assert (await reader.readline()).startswith(b"200 result=1")
        finally:
            writer.close()
            ended.set()

    server = await asyncio.start_server(session, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return f"agi://127.0.0.1:{port}", server, ended


async def heard(ami, url: str, sounds, attempt: str) -> tuple[str, list[str]]:
    """Originate a call to a simulated phone that answers, into ivr-outbound with the FastAGI
    URL `url`; return its channel and the files Asterisk played to it until its Hangup."""
    answered = await ami.originate(
        uid("fb-orig"), f"Local/919000011@{C.CONTEXT_SIM_PHONES}", context=C.CONTEXT_OUTBOUND,
        exten=C.EXTEN_START,
        variables=(f"{C.VAR_ATTEMPT_ID}={attempt}", f"{C.VAR_LANG}=hi",
                   f"{C.VAR_MESSAGE}={MESSAGE}", f"{C.VAR_AGI_URL}={url}",
                   f"{C.GLOBAL_SOUNDS}={sounds}"))
    assert answered["Reason"] == "4"
    channel = str(answered["Channel"])
    event = await ami.wait_for(lambda e: e.get("Event") == "UserEvent"
                               and e.get("UserEvent") == C.USEREVENT_AGI_FAILED
                               and e.get(C.VAR_ATTEMPT_ID) == attempt, 10)
    assert event["Channel"] == channel                   # the controller is told either way
    await ami.wait_for(lambda e: e.get("Event") == "Hangup" and e.get("Channel") == channel, 15)
    plays = [str(e["AppData"]) for e in ami.events
             if e.get("Event") == "Newexten" and e.get("Channel") == channel
             and e.get("Application") == "Playback"]
    return channel, plays


@pytest.fixture
def sounds(tmp_path):
    for name in (C.PROMPT_SORRY, C.PROMPT_GREETING, MESSAGE):
        silence_wav(tmp_path / "hi" / f"{name}.wav")
    return tmp_path


async def test_unreachable_fastagi_apologises_and_never_plays_her_message(ami, sounds):
    """(a) AGISTATUS=FAILURE: her message exists, yet she hears the apology only."""
    dead_url = f"agi://127.0.0.1:{free_port(socket.SOCK_STREAM)}"
    _, plays = await heard(ami, dead_url, sounds, uid("fb-a"))
    assert plays == [f"{sounds}/{C.PROMPT_SORRY}"]


async def test_a_controller_gone_before_it_wrote_her_answer_apologises_only(ami, sounds):
    """(a) the session opened but IVR_SERVED was never set (AGISTATUS=SUCCESS, no
    IVR_RESULT): nobody wrote her answer, so the apology only."""
    url, server, ended = await controller_gone(served=False)
    async with server:
        _, plays = await heard(ami, url, sounds, uid("fb-a2"))
        await asyncio.wait_for(ended.wait(), 5)
    assert plays == [f"{sounds}/{C.PROMPT_SORRY}"]


async def test_a_controller_gone_during_her_call_plays_her_message(ami, sounds):
    """(b) IVR_SERVED=1 (her answer is written next), then the controller went away: she
    hears the greeting and her message, not the apology."""
    url, server, ended = await controller_gone(served=True)
    async with server:
        _, plays = await heard(ami, url, sounds, uid("fb-b"))
        await asyncio.wait_for(ended.wait(), 5)
    assert plays == [f"{sounds}/{C.PROMPT_GREETING}", f"{sounds}/{MESSAGE}"]


async def test_a_controller_that_could_not_write_her_answer_apologises_only(ami, sounds):
    """(a) IVR_SERVED=1, then 0 (her answer could not be written: the call ends as failed
    and she is called again), then the controller went away: the apology only."""
    url, server, ended = await controller_gone(served=True, cleared=True)
    async with server:
        _, plays = await heard(ami, url, sounds, uid("fb-a3"))
        await asyncio.wait_for(ended.wait(), 5)
    assert plays == [f"{sounds}/{C.PROMPT_SORRY}"]
