"""She pressed 0: the AGI route sets IVR_RESULT=call_centre and the production dialplan
transfers her to ${IVR_CALL_CENTRE} (in the sandbox, the simulated agent of sim-agent)."""
from __future__ import annotations

import asyncio
import uuid
from contextlib import asynccontextmanager

import pytest

from ivr import constants as C

pytestmark = pytest.mark.sandbox


@asynccontextmanager
async def agi_answering(result: str):
    """A FastAGI server (ephemeral port) whose one job is the AGI route's last step:
    SET VARIABLE IVR_RESULT <result>, then return to the dialplan."""
    seen: list[str] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (line := await asyncio.wait_for(reader.readline(), 10)).strip():
                seen.append(line.decode().strip())
            writer.write(f"SET VARIABLE {C.VAR_RESULT} {result}\n".encode())
            await writer.drain()
            seen.append((await asyncio.wait_for(reader.readline(), 10)).decode().strip())
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield f"agi://127.0.0.1:{server.sockets[0].getsockname()[1]}", seen
    finally:
        server.close()
        await asyncio.wait_for(server.wait_closed(), 5)


def user_event(name: str, attempt: str):
    return lambda e: (e.get("Event") == "UserEvent" and e.get("UserEvent") == name
                      and e.get(C.VAR_ATTEMPT_ID) == attempt)


async def test_call_centre_result_transfers_her_to_the_agent(ami):
    attempt = f"cc-{uuid.uuid4().hex[:10]}"
    async with agi_answering(C.RESULT_CALL_CENTRE) as (url, seen):
        answered = await ami.originate(
            f"{attempt}-o", f"Local/9190000112@{C.CONTEXT_SIM_PHONES}", context=C.CONTEXT_OUTBOUND,
            exten=C.EXTEN_START, variables=(f"{C.VAR_ATTEMPT_ID}={attempt}", f"{C.VAR_LANG}=hi",
                                            f"{C.VAR_AGI_URL}={url}", "__AGENT_SECONDS=1"))
        assert answered["Reason"] == "4"
        agent = await ami.wait_for(user_event(C.USEREVENT_SIM_AGENT, attempt), 10)
    assert f"agi_network_script: {C.AGI_ROUTE_CALL}" in seen and seen[-1] == "200 result=1"
    assert agent["Channel"].startswith(f"Local/agent@{C.CONTEXT_SIM_AGENT}")
    done = await ami.wait_for(user_event(C.USEREVENT_CALL_CENTRE, attempt), 10)
    assert done["DialStatus"] == "ANSWER" and done["Channel"] == answered["Channel"]


async def test_a_busy_call_centre_gets_her_the_apology(ami):
    attempt = f"cc-{uuid.uuid4().hex[:10]}"
    async with agi_answering(C.RESULT_CALL_CENTRE) as (url, _):
        answered = await ami.originate(
            f"{attempt}-o", f"Local/9190000112@{C.CONTEXT_SIM_PHONES}", context=C.CONTEXT_OUTBOUND,
            exten=C.EXTEN_START,
            variables=(f"{C.VAR_ATTEMPT_ID}={attempt}", f"{C.VAR_AGI_URL}={url}",
                       f"{C.GLOBAL_CALL_CENTRE}=Local/busy@{C.CONTEXT_SIM_AGENT}"))
        done = await ami.wait_for(user_event(C.USEREVENT_CALL_CENTRE, attempt), 10)
    assert done["DialStatus"] == "BUSY"
    await ami.wait_for(lambda e: e.get("Event") == "Newexten"
                       and e.get("Context") == C.CONTEXT_APOLOGY
                       and e.get("Channel") == answered["Channel"], 5)


@pytest.mark.parametrize("result", ["completed", "opted_out", "no_input"])
async def test_other_results_just_hang_up(ami, result):
    attempt = f"cc-{uuid.uuid4().hex[:10]}"
    async with agi_answering(result) as (url, _):
        answered = await ami.originate(
            f"{attempt}-o", f"Local/9190000112@{C.CONTEXT_SIM_PHONES}", context=C.CONTEXT_OUTBOUND,
            exten=C.EXTEN_START,
            variables=(f"{C.VAR_ATTEMPT_ID}={attempt}", f"{C.VAR_AGI_URL}={url}"))
        await ami.wait_for(lambda e: e.get("Event") == "Hangup"
                           and e.get("Channel") == answered["Channel"], 10)
    assert not [e for e in ami.events if e.get("Channel") == answered["Channel"]
                and e.get("Context") == C.CONTEXT_CALL_CENTRE]
