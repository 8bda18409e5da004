"""Issue 12, item 7, against the real sandbox Asterisk: while a real call is live, a second
FastAGI connection that names the call's attempt id (and even its channel uniqueid) but not
its secret token is refused, and the real call goes on and is stored as it happened."""
from __future__ import annotations

import asyncio

import pytest

from ivr import constants as C
from ivr.agi_route import RESULT_REFUSED
from ivr.app import call_and_close, running
from ivr.controller import CallRequest
from scheduler.outcome import Outcome
from tests.conftest import TEST_MESSAGE
from tests.e2e.agi_events import AgiLog, observer

pytestmark = pytest.mark.sandbox

LISTENS = "919000011"        # answers, listens until the IVR hangs up


ASKS_TOKEN = f"GET VARIABLE {C.VAR_AGI_TOKEN}\n".encode()


async def forge(port: int, attempt_id: int, uniqueid: str, token: str | None = None,
                *, as_argument: str | None = None) -> list[bytes]:
    """A local process posing as Asterisk: what the server sends it. It answers the route's
    GET VARIABLE IVR_AGI_TOKEN with `token` (None: not set) and every other command as if
    '9' then '1' were pressed (on the old code this opted her out); `as_argument`: a token
    passed as the AGI's second argument, as the old dialplan did."""
    lines = ["agi_network: yes", "agi_network_script: call",
             f"agi_channel: Local/{LISTENS}@sim-phones-00000001;1",
             f"agi_uniqueid: {uniqueid}", f"agi_arg_1: {attempt_id}"]
    lines += [f"agi_arg_2: {as_argument}"] if as_argument is not None else []
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
    writer.write(("\n".join(lines) + "\n\n").encode())
    sent = []
    try:
        while line := await asyncio.wait_for(reader.readline(), 10):
            sent.append(line)
            if line == ASKS_TOKEN:
                writer.write(b"200 result=0\n" if token is None
                             else f"200 result=1 ({token})\n".encode())
            else:
                writer.write(b"200 result=57 endpos=100\n" if line.startswith(b"STREAM")
                             else b"200 result=1\n")
    finally:
        writer.close()
    return sent


async def test_a_forged_session_during_a_live_call_is_refused(sandbox, call_config):
    agi = AgiLog()
    async with running(call_config, agi_port=0) as service, observer(sandbox, call_config, agi):
        port = int(service.controller.agi_url.rsplit(":", 1)[1])
        request = CallRequest(phone=LISTENS, language="hi", message_key=TEST_MESSAGE,
                              trunk=service.config.trunk(), kind="test")
        call = asyncio.ensure_future(call_and_close(service, request))
        try:
            # the real session is running: its first command (the greeting) has ended
            first = await agi.wait_ended(lambda c: c.attempt_id in service.controller.live
                                         and c.plays(C.PROMPT_GREETING), 1, timeout=30)
            live = service.controller.live[first.attempt_id]
            assert first.uniqueid == live.channel_id        # the AGI runs on the named channel
            forged = [await forge(port, live.attempt_id, live.channel_id),
                      await forge(port, live.attempt_id, live.channel_id, "guess"),
                      await forge(port, live.attempt_id, "1764000000.1", live.agi_token),
                      await forge(port, live.attempt_id, live.channel_id,
                                  as_argument=live.agi_token)]
            assert not call.done()                          # the real call goes on
            attempt = await asyncio.wait_for(call, 60)
        finally:
            if not call.done():
                call.cancel()
                await asyncio.wait([call], timeout=10)
    refused = [ASKS_TOKEN, f"SET VARIABLE {C.VAR_RESULT} {RESULT_REFUSED}\n".encode()]
    assert forged == [refused] * 4
    # the secret never reaches Asterisk's log (verbose 3 logs every step with its arguments)
    executed = sandbox.log_file.read_text(errors="replace")
    assert "ivr-outbound:" in executed and live.agi_token not in executed
    # stored as the real call went: she listened to the end, pressed nothing, no opt-out
    assert attempt.outcome is Outcome.ANSWERED
    assert (attempt.keys, attempt.ended, attempt.plays) == ("", "no_input", 1)
    assert attempt.heard_share == pytest.approx(1.0, abs=0.02)
