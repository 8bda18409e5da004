"""The in-call route tells Asterisk it has her call (IVR_SERVED=1) inside her answer's
transaction, and sends its COMMIT right after, in the same step of the event loop; it reads
Asterisk's reply only once the COMMIT returned (dialplan/README.md, "One window is left"). A
real FastAGI server on loopback and a real store, SQLite and PostgreSQL; the database read
as another program would, at the moment the route tells Asterisk and when it reads the reply."""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import pytest

from audio.catalogue import Catalogue
from ivr import constants as C
from ivr.adapters.fastagi import AgiSession, FastAgiServer
from ivr.adapters.schedule_store import ScheduleStore
from ivr.adapters.store import Store, StoreError
from ivr.agi_route import RESULT_REFUSED, CallRoute
from ivr.call_actions import Answered
from ivr.config import Config
from ivr.controller import Controller
from ivr.protocol.ami import OriginateResponse
from scheduler.programme import load_programme
from tests.fastagi.test_route_auth import ASKS_TOKEN, forged, live_call, request

SERVED = f"SET VARIABLE {C.VAR_SERVED} 1\n".encode()
UNSERVED = f"SET VARIABLE {C.VAR_SERVED} 0\n".encode()


@pytest.fixture
async def served_route(database, tmp_path):
    """(the route on the test's store, SQLite then PostgreSQL, the database read directly)"""
    config = Config(home=tmp_path, database=tmp_path / "ivr.db", sounds=tmp_path / "sounds")
    store = await Store.open(database.address, key_file=database.key_file)
    programme = load_programme(config.programme)
    route = CallRoute(Controller(config, store, agi_url=""), store, Catalogue(config.sounds),
                      programme.fallback_language, ScheduleStore(store, programme))
    try:
        yield route, database
    finally:
        await store.close()


class Outside:
    """answered_at read by another connection, with no await (as another node would)."""

    def __init__(self, database):
        self.database = database
        self.con = database.connect()

    def answered_at(self, attempt_id: int):
        [row] = self.database.run(self.con, "SELECT answered_at FROM attempts WHERE id = ?",
                                  (attempt_id,))
        if self.database.dialect == "postgresql":
            self.con.commit()           # the next read sees what is committed by then
        return row[0]


async def served_while_the_answer_raises(route, error: Exception):
    """A call served while her answer's write raises `error` (this store instance only):
    the call and what Asterisk was sent."""
    call = await live_call(route)

    async def raising(*args, **kwargs):
        raise error
    route.store.attempt_answered = raising

    async with FastAgiServer(route, port=0) as server:
        sent = await asyncio.wait_for(forged(
            server, request(str(call.attempt_id), call.channel_id), call.agi_token), 10)
        await asyncio.wait_for(call.flow_done.wait(), 10)
    return call, sent


async def test_served_sent_inside_the_answer_s_transaction_reply_read_after_commit(
        served_route, monkeypatch):
    route, database = served_route
    call = await live_call(route)
    outside = Outside(database)
    seen = []
    answered = route.store.attempt_answered

    async def spied(attempt_id, at, channel, told=None):
        def telling():
            seen.append(("told", outside.answered_at(attempt_id)))
            told()
        await answered(attempt_id, at, channel, telling)
    route.store.attempt_answered = spied        # this store instance only

    reply = AgiSession.reply

    async def spied_reply(self, timeout=None):
        if not seen or seen[-1][0] == "told":
            seen.append(("reply", outside.answered_at(call.attempt_id)))
        return await reply(self, timeout)
    monkeypatch.setattr(AgiSession, "reply", spied_reply)

    try:
        async with FastAgiServer(route, port=0) as server:
            sent = await asyncio.wait_for(forged(
                server, request(str(call.attempt_id), call.channel_id), call.agi_token), 10)
            await asyncio.wait_for(call.flow_done.wait(), 10)
    finally:
        outside.con.close()
    assert sent[:2] == [ASKS_TOKEN, SERVED]
    assert UNSERVED not in sent
    # told with the UPDATE done but not committed; committed before the reply is read
    assert seen[0] == ("told", None)
    assert seen[1][0] == "reply" and seen[1][1] is not None
    assert not call.tracker.agi_failed_seen


async def test_a_commit_that_fails_after_asterisk_was_told_clears_served(served_route):
    """Asterisk told IVR_SERVED=1, then her answer's COMMIT fails (not the database away):
    IVR_SERVED=0 (the fallback apologises), nothing written, the call ends as failed."""
    route, database = served_route
    call = await live_call(route)
    transaction = route.store.transaction

    @asynccontextmanager
    async def refused():
        async with transaction() as store:
            yield store
            raise RuntimeError("COMMIT refused")       # as the commit's own error would
    route.store.transaction = refused           # this store instance only

    async with FastAgiServer(route, port=0) as server:
        sent = await asyncio.wait_for(forged(
            server, request(str(call.attempt_id), call.channel_id), call.agi_token), 10)
        await asyncio.wait_for(call.flow_done.wait(), 10)
    assert sent == [ASKS_TOKEN, SERVED, UNSERVED]
    assert call.tracker.agi_failed_seen         # an answered call ends as failed
    assert database.sql("SELECT answered_at FROM attempts WHERE id = ?",
                        call.attempt_id) == [(None,)]


async def test_an_answer_that_cannot_be_written_tells_nothing_served(served_route):
    """Her answer's UPDATE fails (an error, not the database away): Asterisk never hears
    IVR_SERVED=1 (the fallback apologises), the call ends as failed (called again)."""
    route, database = served_route
    call, sent = await served_while_the_answer_raises(route, RuntimeError("answer write broke"))
    assert SERVED not in sent
    assert sent == [ASKS_TOKEN, UNSERVED]
    assert call.tracker.agi_failed_seen
    assert database.sql("SELECT answered_at FROM attempts WHERE id = ?",
                        call.attempt_id) == [(None,)]


async def test_the_database_away_she_is_served_and_her_answer_kept(served_route):
    """The database away before her answer is written (ivr/database_watch.py): as before,
    IVR_SERVED=1 is sent and she is served, her answer waiting in memory."""
    route, database = served_route
    call, sent = await served_while_the_answer_raises(
        route, StoreError("the database does not answer"))
    assert sent[:2] == [ASKS_TOKEN, SERVED]
    assert UNSERVED not in sent
    assert not call.tracker.agi_failed_seen


async def test_a_second_session_while_asterisk_is_told_is_refused(served_route):
    """The call is the route's (one session a call) before it tells Asterisk: a replay of
    the same request (token and channel right) meanwhile is refused."""
    route, database = served_route
    call = await live_call(route)
    replies = []

    async with FastAgiServer(route, port=0) as server:
        async def before_reply(command: bytes) -> None:
            if command == SERVED:
                replies.append(await forged(
                    server, request(str(call.attempt_id), call.channel_id), call.agi_token))

        sent = await asyncio.wait_for(forged(
            server, request(str(call.attempt_id), call.channel_id), call.agi_token,
            before_reply), 10)
        await asyncio.wait_for(call.flow_done.wait(), 10)
    assert replies == [[ASKS_TOKEN, f"SET VARIABLE {C.VAR_RESULT} {RESULT_REFUSED}\n".encode()]]
    assert sent[:2] == [ASKS_TOKEN, SERVED]
    [(at,)] = database.sql("SELECT answered_at FROM attempts WHERE id = ?", call.attempt_id)
    assert at is not None


async def test_asterisks_late_answer_waits_for_the_routes_write(served_route):
    """A busy machine: Asterisk's answer to the Originate (with the channel name) comes while
    the route writes her answer (inside its transaction, as IVR_SERVED is sent). Nothing is
    written for it before the route's own write; the channel name is written just after."""
    route, database = served_route
    call = await live_call(route)
    call.tracker.start(1000.0)
    at_served = []
    answered = route.store.attempt_answered

    async def spied(attempt_id, at, channel, told=None):
        def telling():
            call.feed(call.tracker.originate_response(1001.0, OriginateResponse(
                f"orig-{call.channel_id}", True, 4, call.channel_id, "PJSIP/sim-1")))
            at_served.append([a for a in call.todo if isinstance(a, Answered)])
            told()
        await answered(attempt_id, at, channel, telling)
    route.store.attempt_answered = spied        # this store instance only

    async with FastAgiServer(route, port=0) as server:
        await asyncio.wait_for(forged(
            server, request(str(call.attempt_id), call.channel_id), call.agi_token), 10)
        await asyncio.wait_for(call.flow_done.wait(), 10)
    assert at_served == [[]]                    # nothing to write before the route's COMMIT
    [(written,)] = database.sql("SELECT answered_at FROM attempts WHERE id = ?",
                                call.attempt_id)
    assert written is not None
    assert [a for a in call.todo if isinstance(a, Answered)] == [
        Answered(written, "PJSIP/sim-1")]      # the channel's write, after the route's
