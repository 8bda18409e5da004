"""Fixtures of the sandbox's own tests: a raw AMI client on the real sandbox Asterisk.

The `sandbox` session fixture itself lives in tests/conftest.py (one for the whole suite).
`ami` logs in as the sandbox's test observer (the controller's rights, plus DTMF, dialplan and
AGI events); `controller_ami` as the controller's own least-privilege user from ivr.toml.
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Callable

import pytest
from click.testing import CliRunner
from panoramisk import Manager

from ivr.commands.sandbox import command
from ivr.config import load_config
from ivr.sandbox.line_caller import free_port  # noqa: F401 (the tests' import of it)

ROOT = Path(__file__).resolve().parents[2]
SIPP_DIR = ROOT / "dialplan" / "sandbox" / "sipp"

Event = dict[str, object]


def run_cli(home: Path, *args: str):
    """`ivr sandbox ARGS` for the given home (the group itself: no other command is loaded)."""
    return CliRunner().invoke(command, list(args), env={"IVR_HOME": str(home),
                                                          "IVR_CONFIG": None})


def udp_bound(port: int) -> bool:
    with open("/proc/net/udp") as f:
        return any(line.split()[1].endswith(f":{port:04X}") for line in f.readlines()[1:])


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

    async def send(self, action: dict, wait: float = 10):
        """Any action; returns panoramisk's reply (a Message, or a list for event lists)."""
        return await asyncio.wait_for(self.manager.send_action(action), wait)

    async def originate(self, action_id: str, channel: str, *, context: str, exten: str = "s",
                        timeout_ms: int = 15000, variables: tuple[str, ...] = (),
                        wait: float = 30, caller_id: str = "IVR <1800>",
                        channel_id: str | None = None) -> dict:
        """Async Originate; returns the OriginateResponse (resolved on answer or failure).
        channel_id: the channel's Uniqueid (the controller's user hears the Hangup of its
        own "ivr-..." channels only: manager.conf eventfilter)."""
        action = {"Action": "Originate", "ActionID": action_id, "Channel": channel,
                  "Context": context, "Exten": exten, "Priority": "1",
                  "Timeout": str(timeout_ms), "CallerID": caller_id, "Async": "true"}
        if channel_id:
            action["ChannelId"] = channel_id
        if variables:
            action["Variable"] = list(variables)
        reply = await asyncio.wait_for(self.manager.send_action(action), wait)
        assert isinstance(reply, list), f"Originate was not queued: {reply}"
        return dict(reply[-1])


async def connect(sandbox, username: str, secret: str):
    loop = asyncio.get_running_loop()
    logged_in = loop.create_future()

    def on_login(_manager) -> None:
        if not logged_in.done():
            logged_in.set_result(True)

    manager = Manager(loop=loop, host="127.0.0.1", port=sandbox.ports.ami_port, username=username,
                      secret=secret, ping_delay=600, ping_interval=600, on_login=on_login,
                      # never re-send an Originate after a reconnect (REPORT gotcha 19)
                      forgetable_actions=("ping", "login", "originate"))
    client = Ami(manager)
    manager.register_event("*", client.on_event)
    await asyncio.wait_for(manager.connect(), 10)
    await asyncio.wait_for(logged_in, 10)
    return client


@pytest.fixture
async def ami(sandbox):
    client = await connect(sandbox, *sandbox.test_user())
    yield client
    client.manager.close()


@pytest.fixture
async def controller_ami(sandbox):
    """The controller's user, exactly as ivr.toml names it (the production rights)."""
    cfg = load_config(sandbox.home / "ivr.toml", env={"IVR_HOME": str(sandbox.home)})
    client = await connect(sandbox, cfg.ami.username, cfg.ami.secret)
    yield client
    client.manager.close()
