"""The answered line's route serves only an Asterisk that knows the line's secret (issue 15):
a FastAGI client without it, or with a wrong one, is refused (one throttled log line without
the caller's number) and reads or changes nothing: no inbound_calls row, no play, her record
untouched.  A real FastAGI server on loopback and a real store."""
from __future__ import annotations

import asyncio
import logging

import pytest

from audio.catalogue import Catalogue
from ivr.adapters.fastagi import FastAgiServer
from ivr.adapters.schedule_store import ScheduleStore
from ivr.adapters.store import Store
from ivr.config import Config
from ivr.inbound_route import InboundRoute
from ivr.line_secret import GLOBAL_NAME, LineSecretError, line_secret, proves
from scheduler.programme import load_programme

SECRET = "k" * 40
CALLER = "919000012345"


def request() -> bytes:
    lines = ["agi_network: yes", "agi_network_script: inbound",
             "agi_channel: PJSIP/carrier-00000001", "agi_uniqueid: 1700000000.1",
             f"agi_callerid: {CALLER}", "agi_arg_1: 18005550100"]
    return ("\n".join(lines) + "\n\n").encode()


async def forged(port: int, answer: bytes) -> list[bytes]:
    """Open an inbound session; answer GET VARIABLE with `answer`, anything else with success."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
    writer.write(request())
    sent = []
    try:
        while line := await asyncio.wait_for(reader.readline(), 5):
            sent.append(line)
            writer.write(answer if line.startswith(b"GET VARIABLE") else b"200 result=0\n")
    finally:
        writer.close()
    return sent


@pytest.fixture
async def line(tmp_path):
    config = Config(home=tmp_path, database=tmp_path / "ivr.db", sounds=tmp_path / "sounds")
    store = await Store.open(config.database)
    programme = load_programme(config.programme)
    route = InboundRoute(store, ScheduleStore(store, programme), programme,
                         Catalogue(config.sounds), call_centre=False, clock=lambda: 1.7e9,
                         secret=SECRET)
    try:
        async with FastAgiServer(route, port=0) as server:
            yield store, server
    finally:
        await store.close()


@pytest.mark.parametrize("answer", [b"200 result=0\n", b"200 result=1 (" + b"x" * 40 + b")\n",
                                    b"200 result=1 (" + SECRET[:-1].encode() + b")\n"],
                         ids=["no secret", "wrong secret", "secret minus a character"])
async def test_inbound_session_without_the_line_secret_is_refused_and_changes_nothing(
        line, caplog, answer):
    store, server = line
    caplog.set_level(logging.WARNING, "ivr.inbound_route")
    sent = await forged(server.port, answer)
    assert sent == [f"GET VARIABLE {GLOBAL_NAME}\n".encode()]     # nothing played, nothing set
    assert await store.fetchall("SELECT id FROM inbound_calls") == []
    [refusal] = [r for r in caplog.records if "refused" in r.getMessage()]
    assert CALLER not in refusal.getMessage() and CALLER[-6:] not in refusal.getMessage()


async def test_inbound_session_with_the_line_secret_is_served(line):
    store, server = line
    sent = await forged(server.port, b"200 result=1 (" + SECRET.encode() + b")\n")
    assert len(sent) > 1 and sent[0] == f"GET VARIABLE {GLOBAL_NAME}\n".encode()
    rows = await asyncio.wait_for(store.fetchall("SELECT caller FROM inbound_calls"), 5)
    assert len(rows) == 1 and CALLER not in str(rows[0])


def test_inbound_line_secret_is_made_once_0600_and_compared_exactly(tmp_path):
    path = tmp_path / "line.secret"
    with pytest.raises(LineSecretError):
        line_secret(path)
    first = line_secret(path, create=True)
    assert path.stat().st_mode & 0o777 == 0o600
    assert line_secret(path, create=True) == first
    assert proves(first, first) and not proves(first, first + "x") and not proves("", "")
    assert not proves(first, None)
