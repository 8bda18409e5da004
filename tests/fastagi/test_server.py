"""The FastAGI server's own mechanics (binding, tasks, timeouts, failures), driven by a plain
TCP client writing AGI bytes.  What Asterisk really does on a call is tested against the real
sandbox Asterisk in test_against_asterisk.py."""
from __future__ import annotations

import asyncio
import logging

import pytest

from ivr.adapters.fastagi import AgiHangup, AgiSession, AgiTimeout, FastAgiServer

REQUEST = (b"agi_network: yes\nagi_network_script: call\nagi_channel: Local/919000011@x;2\n"
           b"agi_callerid: 919000011\nagi_uniqueid: 1764.5\nagi_arg_1: 42\n\n")


async def handler_noop(session: AgiSession) -> None:
    return None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "8.8.8.8", "example.org", "169.254.1.1",
                                  "172.217.3.4", "::ffff:8.8.8.8", "fe80::1"])
def test_refuses_to_bind_anything_but_loopback_or_private(host):
    with pytest.raises(ValueError, match="FastAGI"):
        FastAgiServer(handler_noop, host=host, port=0)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "10.1.2.3", "192.168.0.10", "localhost",
                                  "172.16.0.1", "fd12::1"])
def test_accepts_loopback_and_private_addresses(host):
    FastAgiServer(handler_noop, host=host, port=0)


@pytest.mark.parametrize("host,url", [("127.0.0.1", "agi://127.0.0.1:4573"),
                                      ("localhost", "agi://127.0.0.1:4573"),
                                      ("::1", "agi://[::1]:4573"),
                                      ("fd12::1", "agi://[fd12::1]:4573")])
def test_the_url_given_to_asterisk_brackets_ipv6(host, url):
    assert FastAgiServer(handler_noop, host=host, port=4573).url == url


async def connect(server: FastAgiServer):
    return await asyncio.wait_for(asyncio.open_connection("127.0.0.1", server.port), 5)


async def test_ephemeral_port_request_and_commands_in_order():
    seen: asyncio.Queue = asyncio.Queue()

    async def handler(session: AgiSession) -> None:
        await seen.put(session.request)
        first = await session.command("STREAM", "FILE", "/s/hi/x", "19")
        second = await session.command("GET", "VARIABLE", "IVR_ATTEMPT_ID")
        await seen.put((first, second, session.hung_up))

    async with FastAgiServer(handler, port=0) as server:
        assert server.port > 0 and server.url == f"agi://127.0.0.1:{server.port}"
        reader, writer = await connect(server)
        writer.write(REQUEST)
        request = await asyncio.wait_for(seen.get(), 5)
        assert request.route == "call" and request.args == ("42",)
        assert await asyncio.wait_for(reader.readline(), 5) == b"STREAM FILE /s/hi/x 19\n"
        writer.write(b"200 result=49 endpos=17760\n")
        assert await asyncio.wait_for(reader.readline(), 5) == b"GET VARIABLE IVR_ATTEMPT_ID\n"
        writer.write(b"HANGUP\n200 result=1 (42)\n")      # the notice comes before the reply
        first, second, hung_up = await asyncio.wait_for(seen.get(), 5)
        assert first.digit == "1" and first.endpos == 17760
        assert second.data == "42" and hung_up
        assert await asyncio.wait_for(reader.read(), 5) == b""    # handler done: closed
        writer.close()


async def test_play_result_minus_1_is_a_hangup_when_the_probe_says_so():
    outcome: asyncio.Queue = asyncio.Queue()

    async def handler(session: AgiSession) -> None:
        try:
            await session.command("STREAM", "FILE", "/s/hi/x", "")
        except AgiHangup as e:
            await outcome.put(("hangup", e.reply.endpos if e.reply else None))

    async with FastAgiServer(handler, port=0) as server:
        reader, writer = await connect(server)
        writer.write(REQUEST)
        await asyncio.wait_for(reader.readline(), 5)
        writer.write(b"200 result=-1 endpos=12160\n")
        assert await asyncio.wait_for(reader.readline(), 5) == b"CHANNEL STATUS\n"
        writer.write(b"HANGUP\n511 Command Not Permitted on a dead channel or intercept routine\n")
        assert await asyncio.wait_for(outcome.get(), 5) == ("hangup", 12160)
        writer.close()


async def test_play_result_minus_1_on_a_live_channel_is_returned():
    outcome: asyncio.Queue = asyncio.Queue()

    async def handler(session: AgiSession) -> None:
        reply = await session.command("STREAM", "FILE", "/s/missing", "")
        await outcome.put((reply.result, session.hung_up))

    async with FastAgiServer(handler, port=0) as server:
        reader, writer = await connect(server)
        writer.write(REQUEST)
        await asyncio.wait_for(reader.readline(), 5)
        writer.write(b"200 result=-1 endpos=0\n")
        assert await asyncio.wait_for(reader.readline(), 5) == b"CHANNEL STATUS\n"
        writer.write(b"200 result=6\n")
        assert await asyncio.wait_for(outcome.get(), 5) == ("-1", False)
        writer.close()


async def test_no_reply_in_time_raises_agitimeout_and_closes(caplog):
    outcome: asyncio.Queue = asyncio.Queue()

    async def handler(session: AgiSession) -> None:
        try:
            await session.command("NOOP", timeout=0.2)
        except AgiTimeout as e:
            await outcome.put(str(e))
            with pytest.raises(AgiHangup):
                await session.command("NOOP")

    async with FastAgiServer(handler, port=0) as server:
        reader, writer = await connect(server)
        writer.write(REQUEST)
        assert await asyncio.wait_for(reader.readline(), 5) == b"NOOP\n"
        message = await asyncio.wait_for(outcome.get(), 5)
        assert "within 0.2 s" in message
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()


async def test_handler_error_is_logged_without_the_number_and_the_socket_closed(caplog):
    async def handler(session: AgiSession) -> None:
        raise RuntimeError("boom")

    caplog.set_level(logging.INFO, logger="ivr.adapters.fastagi")
    async with FastAgiServer(handler, port=0) as server:
        reader, writer = await connect(server)
        writer.write(REQUEST)
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
    assert "agi[1764.5]: handler failed" in caplog.text and "boom" in caplog.text
    assert "919000011" not in caplog.text


async def test_an_incomplete_request_times_out():
    async with FastAgiServer(handler_noop, port=0, request_timeout=0.2) as server:
        reader, writer = await connect(server)
        writer.write(b"agi_network: yes\n")
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()


async def test_close_cancels_running_handlers():
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def handler(session: AgiSession) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    server = FastAgiServer(handler, port=0)
    await server.start()
    reader, writer = await connect(server)
    writer.write(REQUEST)
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.wait_for(server.close(), 15)
    assert cancelled.is_set()
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()


async def test_command_with_a_line_break_is_refused_before_sending():
    outcome: asyncio.Queue = asyncio.Queue()

    async def handler(session: AgiSession) -> None:
        with pytest.raises(ValueError):
            await session.command("SET", "VARIABLE", "X", "a\nEXEC System reboot")
        await outcome.put(await session.command("NOOP"))

    async with FastAgiServer(handler, port=0) as server:
        reader, writer = await connect(server)
        writer.write(REQUEST)
        assert await asyncio.wait_for(reader.readline(), 5) == b"NOOP\n"
        writer.write(b"200 result=0\n")
        assert (await asyncio.wait_for(outcome.get(), 5)).result == "0"
        writer.close()


# ---- garbage, floods and limits (issue 12): one log line each, never a traceback ----------

def _fastagi_records(caplog):
    return [r for r in caplog.records if r.name == "ivr.adapters.fastagi"]


@pytest.mark.parametrize("garbage", [
    bytes(range(256)) * 4 + b"\n",                   # random bytes, with a line end
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",            # another protocol
    b"agi_network: yes\nagi_channel: x",             # half a request, then the end
    b"agi_" + b"x" * (200 * 1024),                   # a huge line
    b"agi_arg_1: 42\nagi_uniqueid: 1.2\nagi_arg_1: 7\n\n",   # a repeated (injected) line
])
async def test_garbage_is_closed_with_one_log_line_and_no_traceback(caplog, garbage):
    called = []

    async def handler(session: AgiSession) -> None:
        called.append(session)

    caplog.set_level(logging.INFO, logger="ivr.adapters.fastagi")
    async with FastAgiServer(handler, port=0, request_timeout=5) as server:
        reader, writer = await connect(server)
        writer.write(garbage)
        writer.write_eof()
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
    records = _fastagi_records(caplog)
    assert called == []
    assert len(records) == 1, [r.getMessage() for r in records]
    assert records[0].exc_info is None and "Traceback" not in caplog.text
    assert "connection closed" in records[0].getMessage()


async def test_a_flood_of_garbage_is_summarised_not_logged_line_by_line(caplog):
    caplog.set_level(logging.INFO, logger="ivr.adapters.fastagi")
    async with FastAgiServer(handler_noop, port=0) as server:
        for _ in range(20):
            reader, writer = await connect(server)
            writer.write(b"\x00\xff garbage\n")
            assert await asyncio.wait_for(reader.read(), 5) == b""
            writer.close()
    assert len(_fastagi_records(caplog)) == 1


async def test_connections_beyond_the_limit_are_closed_at_once(caplog):
    release = asyncio.Event()
    served: list[str] = []

    async def handler(session: AgiSession) -> None:
        served.append(session.request.uniqueid)
        await release.wait()

    caplog.set_level(logging.INFO, logger="ivr.adapters.fastagi")
    async with FastAgiServer(handler, port=0, max_connections=2, request_timeout=30) as server:
        held = [await connect(server) for _ in range(2)]
        for _, writer in held:
            writer.write(REQUEST)
        extra_reader, extra_writer = await connect(server)
        # closed long before its request timeout (30 s): the limit, not the timeout
        assert await asyncio.wait_for(extra_reader.read(), 5) == b""
        extra_writer.close()
        assert "max_connections" in caplog.text
        release.set()
        for reader, writer in held:
            assert await asyncio.wait_for(reader.read(), 5) == b""
            writer.close()
        # the held ones are done: a new connection is served again
        reader, writer = await connect(server)
        release.clear()
        writer.write(REQUEST)
        release.set()
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
    assert len(served) == 3


def test_max_connections_must_be_positive():
    with pytest.raises(ValueError, match="max_connections"):
        FastAgiServer(handler_noop, port=0, max_connections=0)
