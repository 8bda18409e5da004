"""Fixtures of the sandbox's own tests: the real sandbox Asterisk and a raw AMI client.

`sandbox` starts the shared sandbox (home = $IVR_HOME or var/ under the repository, as the
suite's own fixture does), FAILS (never skips) when it cannot start, and stops it at the end
of the session only if this fixture started it.
"""
from __future__ import annotations

import asyncio
import os
import random
import socket
from pathlib import Path
from typing import Callable

import pytest
from click.testing import CliRunner
from panoramisk import Manager

from ivr.commands.sandbox import command
from ivr.config import home_dir
from ivr.sandbox import Sandbox, SandboxError

ROOT = Path(__file__).resolve().parents[2]
SIPP_DIR = ROOT / "dialplan" / "sandbox" / "sipp"

Event = dict[str, object]


def free_port(kind: int = socket.SOCK_DGRAM, span: int = 1) -> int:
    """A loopback port (and the span-1 after it) nobody is bound to right now."""
    for _ in range(200):
        port = random.randrange(40000, 60000, 2)
        socks = []
        try:
            for p in range(port, port + span):
                s = socket.socket(socket.AF_INET, kind)
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no free port found")


def run_cli(home: Path, *args: str):
    """`ivr sandbox ARGS` for the given home (the group itself: no other command is loaded)."""
    return CliRunner().invoke(command, list(args), env={"IVR_HOME": str(home),
                                                          "IVR_CONFIG": None})


def udp_bound(port: int) -> bool:
    with open("/proc/net/udp") as f:
        return any(line.split()[1].endswith(f":{port:04X}") for line in f.readlines()[1:])


@pytest.fixture(scope="session")
def sandbox(request):
    home = home_dir({"IVR_HOME": os.environ.get("IVR_HOME") or str(ROOT / "var")})
    box = Sandbox(home)
    was_running = box.status().running
    try:
        status = box.start()
    except SandboxError as e:
        pytest.fail(f"the sandbox Asterisk could not be started: {e}", pytrace=False)
    # output capture swallows a plain print or write_line in a fixture: suspend it
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if capture is not None and reporter is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"sandbox: {status.version} (pid {status.pid}, AMI port "
                                f"{status.ami_port}, home {home})")
    yield box
    if not was_running:
        box.stop()


class Ami:
    """panoramisk Manager created inside the running loop, keeping every event it sees."""

    def __init__(self, manager: Manager):
        self.manager = manager
        self.events: list[Event] = []
        self._waiters: list[tuple[Callable[[Event], bool], asyncio.Future]] = []

    def on_event(self, _manager, event) -> None:
        d = {k: v for k, v in event.items() if k != "content"}
        self.events.append(d)
        for item in list(self._waiters):
            pred, fut = item
            if not fut.done() and pred(d):
                fut.set_result(d)
                self._waiters.remove(item)

    async def wait_for(self, pred: Callable[[Event], bool], timeout: float) -> Event:
        for d in self.events:
            if pred(d):
                return d
        fut = asyncio.get_running_loop().create_future()
        self._waiters.append((pred, fut))
        return await asyncio.wait_for(fut, timeout)

    async def originate(self, action_id: str, channel: str, *, context: str, exten: str = "s",
                        timeout_ms: int = 15000, variables: tuple[str, ...] = (),
                        wait: float = 30) -> dict:
        """Async Originate; returns the OriginateResponse (resolved on answer or failure)."""
        action = {"Action": "Originate", "ActionID": action_id, "Channel": channel,
                  "Context": context, "Exten": exten, "Priority": "1",
                  "Timeout": str(timeout_ms), "CallerID": "IVR <1800>", "Async": "true"}
        if variables:
            action["Variable"] = list(variables)
        reply = await asyncio.wait_for(self.manager.send_action(action), wait)
        assert isinstance(reply, list), f"Originate was not queued: {reply}"
        return dict(reply[-1])


@pytest.fixture
async def ami(sandbox):
    secret = (sandbox.root / "ami-secret").read_text().strip()
    loop = asyncio.get_running_loop()
    logged_in = loop.create_future()

    def on_login(_manager) -> None:
        if not logged_in.done():
            logged_in.set_result(True)

    manager = Manager(loop=loop, host="127.0.0.1", port=sandbox.ports.ami_port, username="ivr",
                      secret=secret, ping_delay=600, ping_interval=600, on_login=on_login,
                      # never re-send an Originate after a reconnect (REPORT gotcha 19)
                      forgetable_actions=("ping", "login", "originate"))
    client = Ami(manager)
    manager.register_event("*", client.on_event)
    await asyncio.wait_for(manager.connect(), 10)
    await asyncio.wait_for(logged_in, 10)
    yield client
    manager.close()
