"""What the operators' commands share: the store and programme of the configuration, who is
acting (for the audit trail), and running one coroutine."""
from __future__ import annotations

import asyncio
import getpass
import os
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import AsyncIterator, Sequence

from ivr.adapters.schedules import Schedules
from ivr.adapters.store import open_store
from ivr.config import Config
from scheduler.programme import Programme, load_programme


def actor_name(explicit: str | None = None) -> str:
    """Who makes a change: --actor, else $IVR_ACTOR, else cli:<login name>."""
    if explicit:
        return explicit
    if os.environ.get("IVR_ACTOR"):
        return os.environ["IVR_ACTOR"]
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def programme_of(config: Config) -> Programme:
    return load_programme(config.programme)


@asynccontextmanager
async def open_schedule(config: Config,
                        programmes: Programme | Sequence[Programme] | None = None, *,
                        read_only: bool = False) -> AsyncIterator[Schedules]:
    """The scheduling store of these programmes (one, or several), else of the configured
    ones. read_only: for the commands that only read (never create, migrate nor write it)."""
    if programmes is None:
        programmes = [load_programme(name) for name in config.programmes]
    elif isinstance(programmes, Programme):
        programmes = [programmes]
    store = await open_store(config, read_only=read_only)
    try:
        yield Schedules(store, programmes)
    finally:
        await store.close()


def run(coro):
    """Run a command's coroutine (a store that cannot be opened is an Unavailable: exit 1)."""
    return asyncio.run(coro)


def audit_reveal(config: Config, command: str, women: list[int] | None,
                 actor: str | None = None) -> None:
    """--reveal showed phone numbers and names in clear: an audit row says who (as every
    change does), which command and which women (their ids, or "list" when the command lists
    many)."""
    from ivr.adapters.subscribers import audit

    ids = None if women is None else sorted(set(women))

    async def go():
        async with await open_store(config) as store:
            await audit(store, actor=actor_name(actor), action="reveal", at=utc_now(),
                        subscriber_id=ids[0] if ids and len(ids) == 1 else None,
                        detail={"command": command, "women": "list" if ids is None else ids})
    run(go())
