"""systemd's notify protocol on real unix datagram sockets, and log lines for journald."""
from __future__ import annotations

import asyncio
import logging
import os
import socket

import pytest

from ivr.journal import JournalFormatter, log_formatter, priority, stderr_is_journal
from ivr.notify import Notifier, Supervisor


@pytest.fixture
def listener(tmp_path):
    """A unix datagram socket standing for systemd's notify socket."""
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.bind(str(path))
        s.setblocking(False)
        yield str(path), s


def received(sock) -> list[str]:
    out = []
    while True:
        try:
            out.append(sock.recv(4096).decode())
        except BlockingIOError:
            return out


def test_notifier_sends_datagrams_to_a_path_socket(listener):
    path, sock = listener
    notifier = Notifier({"NOTIFY_SOCKET": path})
    assert notifier.notify("READY=1") and notifier.notify("STATUS=calling")
    assert received(sock) == ["READY=1", "STATUS=calling"]


def test_notifier_reaches_an_abstract_socket():
    name = f"ivr-test-notify-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.bind("\0" + name)
        s.setblocking(False)
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).notify("WATCHDOG=1")
        assert received(s) == ["WATCHDOG=1"]


def test_notifier_without_systemd_or_with_a_dead_socket_does_nothing(tmp_path, caplog):
    assert Notifier({}).notify("READY=1") is False
    assert Notifier({"NOTIFY_SOCKET": "vsock:2:1"}).address is None
    dead = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    with caplog.at_level(logging.WARNING):
        assert dead.notify("READY=1") is False and dead.notify("WATCHDOG=1") is False
    assert len([r for r in caplog.records if "cannot notify" in r.message]) == 1   # warned once


def test_watchdog_interval_is_half_of_watchdog_usec_and_only_for_this_pid():
    assert Notifier({"WATCHDOG_USEC": "20000000"}).watchdog_interval == 10.0
    assert Notifier({"WATCHDOG_USEC": "20000000",
                     "WATCHDOG_PID": str(os.getpid())}).watchdog_interval == 10.0
    assert Notifier({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "1"}).watchdog_interval is None
    assert Notifier({"WATCHDOG_USEC": "0"}).watchdog_interval is None
    assert Notifier({}).watchdog_interval is None


def test_supervisor_ready_at_first_turn_pings_while_fresh_and_says_stopping(listener):
    path, sock = listener
    now, beat = [1000.0], [None]
    stop = asyncio.Event()
    sup = Supervisor(Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "4000000"}),
                     lambda: beat[0], stop, clock=lambda: now[0], fresh=90)
    assert sup.tick() == 0.2 and received(sock) == []          # the loop has not turned yet
    beat[0] = 1000.0
    assert sup.tick() == 2.0
    assert received(sock) == ["READY=1", "WATCHDOG=1"]
    now[0] = 1080.0
    sup.tick()
    assert received(sock) == ["WATCHDOG=1"]                     # 80 s old: still fresh
    now[0] = 1091.0
    sup.tick()
    assert received(sock) == []                                 # hung: no ping, systemd acts
    beat[0] = 1091.0
    stop.set()
    sup.tick()
    assert received(sock) == ["STOPPING=1", "WATCHDOG=1"]
    now[0] = 1500.0                                             # draining: pings go on
    sup.tick()
    sup.say_stopping()
    assert received(sock) == ["WATCHDOG=1"]                     # STOPPING=1 said once


async def test_supervisor_task_without_watchdog_says_ready_then_stopping(listener):
    path, sock = listener
    stop = asyncio.Event()
    sup = Supervisor(Notifier({"NOTIFY_SOCKET": path}), lambda: 1.0, stop)
    task = asyncio.create_task(sup.run())
    async with asyncio.timeout(5):
        while not sup.ready:
            await asyncio.sleep(0)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert received(sock) == ["READY=1", "STOPPING=1"]


@pytest.mark.parametrize("level, number", [(logging.CRITICAL, 2), (logging.ERROR, 3),
                                           (logging.WARNING, 4), (logging.INFO, 6),
                                           (logging.DEBUG, 7), (5, 7)])
def test_syslog_priority_of_each_level(level, number):
    assert priority(level) == number


def record(level, msg, exc_info=None):
    return logging.LogRecord("ivr.service", level, __file__, 1, msg, (), exc_info)


def test_journal_formatter_prefixes_every_line_with_the_priority():
    fmt = JournalFormatter("%(levelname)s %(name)s: %(message)s")
    assert fmt.format(record(logging.WARNING, "trunk resting")) == \
        "<4>WARNING ivr.service: trunk resting"
    assert fmt.format(record(logging.INFO, "a\nb")) == "<6>INFO ivr.service: a\n<6>b"
    try:
        raise ValueError("boom")
    except ValueError:
        import sys
        text = fmt.format(record(logging.ERROR, "failed", sys.exc_info()))
    assert text.splitlines()[0] == "<3>ERROR ivr.service: failed"
    assert all(line.startswith("<3>") for line in text.splitlines())
    assert "ValueError: boom" in text


def test_journal_only_when_stderr_is_the_journal_stream(tmp_path):
    with open(tmp_path / "stream", "w") as stream:
        st = os.fstat(stream.fileno())
        mine = f"{st.st_dev}:{st.st_ino}"
        assert stderr_is_journal({"JOURNAL_STREAM": mine}, stream)
        assert not stderr_is_journal({"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino + 1}"}, stream)
        assert not stderr_is_journal({}, stream)
        assert not stderr_is_journal({"JOURNAL_STREAM": "junk"}, stream)
        assert isinstance(log_formatter("%(message)s", {"JOURNAL_STREAM": mine}, stream),
                          JournalFormatter)
        plain = log_formatter("%(message)s", {}, stream)
        assert not isinstance(plain, JournalFormatter)
        assert plain.format(record(logging.WARNING, "as before")) == "as before"


def test_journal_prefix_for_lines_written_without_logging(tmp_path):
    from ivr.journal import journal_prefix
    with open(tmp_path / "stream", "w") as stream:
        st = os.fstat(stream.fileno())
        assert journal_prefix(3, {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}, stream) == "<3>"
        assert journal_prefix(3, {}, stream) == ""


def unit_settings() -> dict[str, str]:
    from tests.conftest import ROOT
    text = (ROOT / "deploy" / "ivr.service").read_text()
    return dict(line.split("=", 1) for line in text.splitlines()
                if "=" in line and not line.startswith("#"))


def test_the_systemd_unit_is_type_notify_with_a_watchdog_and_documented_stop_timeout():
    from tests.conftest import ROOT
    unit = unit_settings()
    assert (unit["Type"], unit["NotifyAccess"]) == ("notify", "main")
    assert int(unit["WatchdogSec"]) >= 10               # pings every half of it
    deploy = (ROOT / "docs" / "deploy.md").read_text()
    assert f"`TimeoutStopSec={unit['TimeoutStopSec']}`" in deploy
    assert f"`WatchdogSec={unit['WatchdogSec']}`" in deploy


def test_systemd_waits_longer_than_the_drain():
    """systemctl restart gave the drain 30 s while a call may last minutes: the unit's stop
    timeout is longer than the drain deadline it passes to `ivr run`."""
    import re

    from tests.conftest import ROOT
    text = (ROOT / "deploy" / "ivr.service").read_text()
    starts = re.findall(r"(?m)^ExecStart=(.+)$", text)
    drain = float(re.search(r"--drain-seconds (\d+)", starts[-1]).group(1))
    assert float(unit_settings()["TimeoutStopSec"]) >= drain + 15
