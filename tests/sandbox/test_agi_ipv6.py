"""Our FastAGI server bound to the IPv6 loopback: the URL it gives Asterisk (agi://[::1]:port)
really reaches it from the REAL sandbox Asterisk. Without brackets Asterisk would read
agi://::1:port as host "::1:port"."""
from __future__ import annotations

import asyncio
import socket
import uuid

import pytest

from ivr import constants as C
from ivr.adapters.fastagi import AgiSession, FastAgiServer

pytestmark = pytest.mark.sandbox


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback on this machine")
async def test_asterisk_reaches_a_fastagi_server_on_ipv6_loopback(ami):
    attempt = f"v6-{uuid.uuid4().hex[:10]}"
    reached: asyncio.Future = asyncio.get_running_loop().create_future()

    async def handler(session: AgiSession) -> None:
        if not reached.done():
            reached.set_result((session.request.route, session.request.args))

    async with FastAgiServer(handler, host="::1", port=0) as server:
        assert server.url == f"agi://[::1]:{server.port}"
        answered = await ami.originate(
            f"{attempt}-o", f"Local/9190000112@{C.CONTEXT_SIM_PHONES}",
            context=C.CONTEXT_OUTBOUND, exten=C.EXTEN_START,
            variables=(f"{C.VAR_ATTEMPT_ID}={attempt}", f"{C.VAR_LANG}=hi",
                       f"{C.VAR_AGI_URL}={server.url}"))
        assert answered["Reason"] == "4"
        route, args = await asyncio.wait_for(reached, 10)
    assert route == C.AGI_ROUTE_CALL and args[:1] == (attempt,)
