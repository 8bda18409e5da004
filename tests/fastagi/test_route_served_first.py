"""The in-call route tells Asterisk it has her call (IVR_SERVED=1, acknowledged) before her
answer is written (dialplan/README.md, "One window is left"): an answer in the store always
means a call whose fallback plays her message, so the reap rule's "answered" is a message she
heard. A real FastAGI server on loopback and a real store (SQLite)."""
from __future__ import annotations

import asyncio

from ivr import constants as C
from ivr.adapters.fastagi import FastAgiServer
from ivr.agi_route import RESULT_REFUSED
from ivr.call_actions import Answered
from ivr.protocol.ami import OriginateResponse
from tests.fastagi.test_route_auth import (ASKS_TOKEN, forged, live_call, request,  # noqa: F401
                                          route)

SERVED = f"SET VARIABLE {C.VAR_SERVED} 1\n".encode()
UNSERVED = f"SET VARIABLE {C.VAR_SERVED} 0\n".encode()


async def answered_at(call_route, attempt_id: int):
    [row] = await call_route.store.fetchall("SELECT answered_at FROM attempts WHERE id = ?",
                                            (attempt_id,))
    return row[0]


async def test_asterisk_is_told_before_her_answer_is_written(route):  # noqa: F811
    call = await live_call(route)
    at_served = []

    async def before_reply(command: bytes) -> None:
        if command == SERVED:        # Asterisk has it, the route waits for the reply
            at_served.append(await answered_at(route, call.attempt_id))

    async with FastAgiServer(route, port=0) as server:
        sent = await asyncio.wait_for(forged(
            server, request(str(call.attempt_id), call.channel_id), call.agi_token,
            before_reply), 10)
        await asyncio.wait_for(call.flow_done.wait(), 10)
    assert sent[:2] == [ASKS_TOKEN, SERVED]
    assert at_served == [None]                 # not written while Asterisk was being told
    assert await answered_at(route, call.attempt_id) is not None      # written after
    assert UNSERVED not in sent


async def test_an_answer_that_cannot_be_written_clears_served(route):  # noqa: F811
    """Her answer cannot be written (not the database away: an error): the route clears
    IVR_SERVED so the fallback apologises, and the call ends as failed (called again)."""
    call = await live_call(route)

    async def broken(*args, **kwargs):
        raise RuntimeError("answer write broke")
    route.store.attempt_answered = broken       # this store instance only

    async with FastAgiServer(route, port=0) as server:
        sent = await asyncio.wait_for(forged(
            server, request(str(call.attempt_id), call.channel_id), call.agi_token), 10)
        await asyncio.wait_for(call.flow_done.wait(), 10)
    assert sent == [ASKS_TOKEN, SERVED, UNSERVED]
    assert call.tracker.agi_failed_seen         # an answered call ends as failed
    assert await answered_at(route, call.attempt_id) is None


async def test_a_second_session_while_asterisk_is_told_is_refused(route):  # noqa: F811
    """The call is the route's (one session a call) before it tells Asterisk: a replay of
    the same request (token and channel right) meanwhile is refused and writes nothing."""
    call = await live_call(route)
    replies = []

    async with FastAgiServer(route, port=0) as server:
        async def before_reply(command: bytes) -> None:
            if command == SERVED:
                replies.append(await forged(
                    server, request(str(call.attempt_id), call.channel_id), call.agi_token))
                replies.append(await answered_at(route, call.attempt_id))

        sent = await asyncio.wait_for(forged(
            server, request(str(call.attempt_id), call.channel_id), call.agi_token,
            before_reply), 10)
        await asyncio.wait_for(call.flow_done.wait(), 10)
    assert replies == [[ASKS_TOKEN, f"SET VARIABLE {C.VAR_RESULT} {RESULT_REFUSED}\n".encode()],
                       None]
    assert sent[:2] == [ASKS_TOKEN, SERVED]
    assert await answered_at(route, call.attempt_id) is not None


async def test_asterisks_late_answer_waits_for_the_routes_write(route):  # noqa: F811
    """A busy machine: Asterisk's answer to the Originate (with the channel name) comes while
    the route is telling Asterisk it has her call. Nothing is written for it before the
    route's own write; the channel name is written just after it."""
    call = await live_call(route)
    call.tracker.start(1000.0)
    at_served = []

    async def before_reply(command: bytes) -> None:
        if command == SERVED:
            call.feed(call.tracker.originate_response(1001.0, OriginateResponse(
                f"orig-{call.channel_id}", True, 4, call.channel_id, "PJSIP/sim-1")))
            at_served.append([a for a in call.todo if isinstance(a, Answered)])

    async with FastAgiServer(route, port=0) as server:
        await asyncio.wait_for(forged(
            server, request(str(call.attempt_id), call.channel_id), call.agi_token,
            before_reply), 10)
        await asyncio.wait_for(call.flow_done.wait(), 10)
    assert at_served == [[]]                    # nothing to write before IVR_SERVED's reply
    written = await answered_at(route, call.attempt_id)
    assert written is not None
    assert [a for a in call.todo if isinstance(a, Answered)] == [
        Answered(written, "PJSIP/sim-1")]      # the channel's write, after the route's
