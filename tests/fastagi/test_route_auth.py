"""The FastAGI route serves only the live call's own session (issue 12, item 7): FastAGI has
no authentication, so a local process that connects during a live call with the right attempt
id but without the call's token, or on another channel, or a second time, is refused (result
variable set, one log line) and writes nothing.  A real FastAGI server on loopback and a real
store; the same against the real Asterisk is in tests/e2e/test_agi_token.py."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict

import pytest

from audio.catalogue import Catalogue
from ivr import constants as C
from ivr.adapters.fastagi import FastAgiServer
from ivr.adapters.schedule_store import ScheduleStore
from ivr.adapters.store import NewAttempt, Store
from ivr.agi_route import RESULT_REFUSED, CallRoute
from ivr.config import Config, Trunk
from ivr.controller import CallRequest, Controller, LiveCall
from scheduler.programme import load_programme


def request(attempt: str, uniqueid: str, *extra: str) -> bytes:
    lines = ["agi_network: yes", "agi_network_script: call",
             "agi_channel: Local/919000011@sim-phones-0000001;1", f"agi_uniqueid: {uniqueid}",
             f"agi_arg_1: {attempt}"] + [f"agi_arg_{i}: {v}" for i, v in enumerate(extra, 2)]
    return ("\n".join(lines) + "\n\n").encode()


ASKS_TOKEN = f"GET VARIABLE {C.VAR_AGI_TOKEN}\n".encode()


@pytest.fixture
async def route(tmp_path):
    config = Config(home=tmp_path, database=tmp_path / "ivr.db", sounds=tmp_path / "sounds")
    store = await Store.open(config.database)
    controller = Controller(config, store, agi_url="")
    programme = load_programme(config.programme)
    route = CallRoute(controller, store, Catalogue(config.sounds), programme.fallback_language,
                      ScheduleStore(store, programme))
    try:
        yield route
    finally:
        await store.close()


async def live_call(route: CallRoute) -> LiveCall:
    attempt_id = await route.store.create_attempt(
        NewAttempt(phone="919000011", language="hi", message_key="test-msg"), 1000.0)
    await route.store.attempt_started(attempt_id, 1001.0, f"ivr-{attempt_id}-abc123", "sim")
    call = LiveCall(attempt_id, CallRequest(phone="919000011", language="hi",
                                            message_key="test-msg",
                                            trunk=Trunk("sim", "x/{digits}")),
                    f"ivr-{attempt_id}-abc123")
    route.controller.live[attempt_id] = call
    return call


async def forged(server: FastAgiServer, data: bytes, token: str | None = None,
                 before_reply: Callable[[bytes], Awaitable[None]] | None = None) -> list[bytes]:
    """Send one request; answer GET VARIABLE IVR_AGI_TOKEN with `token` (None: not set on the
    channel) and every other command with success (once `before_reply(command)` returned);
    what the server sent."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", server.port), 5)
    writer.write(data)
    sent = []
    try:
        while line := await asyncio.wait_for(reader.readline(), 5):
            sent.append(line)
            if line == ASKS_TOKEN:
                writer.write(b"200 result=0\n" if token is None
                             else f"200 result=1 ({token})\n".encode())
            else:
                if before_reply is not None:
                    await before_reply(line)
                writer.write(b"200 result=57 endpos=100\n")      # '9' pressed, for a play
    finally:
        writer.close()
    return sent


@pytest.mark.parametrize("how", ["no token", "wrong token", "right token, other channel",
                                 "right token, the Local channel's second half",
                                 "right token as an argument only"])
async def test_a_forged_session_is_refused_and_writes_nothing(route, caplog, how):
    call = await live_call(route)
    before = asdict(await route.store.attempt(call.attempt_id))
    uniqueid, token = {
        "no token": (call.channel_id, None),
        "wrong token": (call.channel_id, "x" * len(call.agi_token)),
        "right token, other channel": ("1764.5", call.agi_token),
        "right token, the Local channel's second half": (call.channel_id + "-2", call.agi_token),
        "right token as an argument only": (call.channel_id, None),   # Asterisk logs arguments
    }[how]
    extra = (call.agi_token,) if how == "right token as an argument only" else ()
    caplog.set_level(logging.INFO)
    async with FastAgiServer(route, port=0) as server:
        sent = await forged(server, request(str(call.attempt_id), uniqueid, *extra), token)
    assert sent == [ASKS_TOKEN, f"SET VARIABLE {C.VAR_RESULT} {RESULT_REFUSED}\n".encode()]
    assert not call.agi_started and not call.flow_done.is_set()
    assert asdict(await route.store.attempt(call.attempt_id)) == before
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1 and refusals[0].exc_info is None
    assert call.agi_token not in caplog.text and "919000011" not in caplog.text


async def test_the_calls_own_session_is_served_once(route, caplog):
    call = await live_call(route)
    caplog.set_level(logging.INFO)
    async with FastAgiServer(route, port=0) as server:
        real = asyncio.ensure_future(
            forged(server, request(str(call.attempt_id), call.channel_id), call.agi_token))
        await asyncio.wait_for(call.flow_done.wait(), 10)
        sent = await asyncio.wait_for(real, 10)
        # the real one got the flow, once her answer was written (here: no recording in the
        # catalogue, so "no_audio")
        assert sent == [ASKS_TOKEN, f"SET VARIABLE {C.VAR_SERVED} 1\n".encode(),
                        f"SET VARIABLE {C.VAR_RESULT} no_audio\n".encode()]
        [row] = await route.store.fetchall("SELECT answered_at FROM attempts WHERE id = ?",
                                           (call.attempt_id,))
        assert row[0] is not None
        # a replay of the same request (token and channel right) is refused: one session a call
        again = await forged(server, request(str(call.attempt_id), call.channel_id),
                             call.agi_token)
    assert again == [ASKS_TOKEN, f"SET VARIABLE {C.VAR_RESULT} {RESULT_REFUSED}\n".encode()]
    assert "has its session already" in caplog.text


async def test_an_unknown_attempt_is_refused(route):
    async with FastAgiServer(route, port=0) as server:
        sent = await forged(server, request("999", "ivr-999-abc"), "token")
    assert sent == [f"SET VARIABLE {C.VAR_RESULT} {RESULT_REFUSED}\n".encode()]
