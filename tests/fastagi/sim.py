"""Test helpers: place calls to the sandbox's simulated phones with panoramisk, and make
short test sounds with sox.  Used by tests/fastagi and tests/transcripts/record.py.

panoramisk traps closed here (lab report 13-19): the Manager is created inside the running
loop with loop=, login is awaited through the authenticated future, "originate" is never
re-sent after a reconnect, and every wait is bounded.
"""
from __future__ import annotations

import asyncio
import subprocess
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

from panoramisk import Manager

from ivr import constants as C
from ivr.config import AmiSettings


@asynccontextmanager
async def ami(settings: AmiSettings, timeout: float = 10) -> AsyncIterator[Manager]:
    loop = asyncio.get_running_loop()
    logged_in: asyncio.Future[bool] = loop.create_future()

    def on_connect(manager: Manager) -> None:
        pending = manager.authenticated_future
        if pending is None:
            return

        def done(fut: asyncio.Future) -> None:
            if not logged_in.done():
                ok = not fut.cancelled() and fut.exception() is None and fut.result().success
                logged_in.set_result(bool(ok))
        pending.add_done_callback(done)

    manager = Manager(loop=loop, host=settings.host, port=settings.port,
                      username=settings.username, secret=settings.secret, ping_delay=60,
                      reconnect_timeout=1, on_connect=on_connect,
                      forgetable_actions=("ping", "login", "logoff", "originate"))
    manager.connect()
    try:
        if not await asyncio.wait_for(logged_in, timeout):
            raise RuntimeError("AMI login refused")
        yield manager
    finally:
        manager.close()


async def originate(manager: Manager, digits: str, attempt_id: int, agi_url: str,
                    language: str = "hi", caller_id: str | None = None,
                    ring_timeout: float = 10) -> dict:
    """Call Local/<digits>@sim-phones; once answered it runs ivr-outbound (our AGI).
    Returns the OriginateResponse (Reason 4 = answered)."""
    action = {
        "Action": "Originate", "ActionID": f"fastagi-test-{attempt_id}",
        "Channel": f"Local/{digits}@{C.CONTEXT_SIM_PHONES}",
        "Context": C.CONTEXT_OUTBOUND, "Exten": C.EXTEN_START, "Priority": "1",
        "Timeout": str(int(ring_timeout * 1000)), "Async": "true",
        "Variable": [f"{C.VAR_ATTEMPT_ID}={attempt_id}", f"{C.VAR_LANG}={language}",
                     f"{C.VAR_AGI_URL}={agi_url}"],
    }
    if caller_id:
        action["CallerID"] = caller_id
    reply = await asyncio.wait_for(manager.send_action(action), ring_timeout + 20)
    messages = reply if isinstance(reply, list) else [reply]
    for message in messages:
        if message.get("Event") == "OriginateResponse":
            return dict(message)
    raise RuntimeError(f"Originate refused: {messages[0]!r}")


def tone(path: Path, seconds: float, freq: int = 440) -> Path:
    """An 8 kHz mono 16-bit WAV tone (sox): what Asterisk plays without transcoding."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(path), "synth",
                    str(seconds), "sine", str(freq), "vol", "0.3"], check=True, timeout=30)
    return path


def make_sounds(root: Path, language: str, lengths: dict[str, float]) -> Path:
    """<root>/<language>/<name>.wav for each name; returns root (sound paths: root/<name>)."""
    for i, (name, seconds) in enumerate(lengths.items()):
        tone(root / language / f"{name}.wav", seconds, 330 + 110 * i)
    return root
