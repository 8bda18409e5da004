"""The demo campaign: a handful of women on simulated phones, in four languages, each called
with the message due for her week by the real calling service (`ivr run`'s dial loop),
through the sandbox Asterisk.

Everything is the real thing (enrolment, the scheduler's plans and retries, the controller,
Asterisk, the FastAGI flow) with two liberties, both said on screen: the demo uses its own
database (<home>/demo.db, new each run, so your real one is never touched), and each demo
woman lives in a time zone where it is midday now, so her 12-15 slot is open whatever the
hour of the demo.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ivr.adapters import records
from ivr.app import running
from ivr.config import Config
from ivr.service import Dialer
from scheduler.model import Delivery, Subscriber
from scheduler.programme import Programme


@dataclass(frozen=True)
class DemoWoman:
    phone: str          # a number of the sandbox's simulated phone network (README)
    name: str
    language: str
    weeks: int          # weeks pregnant today (LMP = today - weeks), or the baby's age if infant
    infant: bool = False
    phone_does: str = ""


DEMO_WOMEN = (
    DemoWoman("919000011", "सुनीता", "hi", 12, phone_does="answers and listens"),
    DemoWoman("919000021", "प्रिया", "mr", 20, phone_does="presses 1 to hear it again"),
    DemoWoman("919000031", "Hetal", "gu", 8, phone_does="is busy"),
    DemoWoman("919000041", "Mary", "en", 30, phone_does="does not answer"),
    DemoWoman("919000076", "कविता", "hi", 16, phone_does="hangs up after 6 s"),
    DemoWoman("919000061", "सविता", "mr", 24, phone_does="rejects the call"),
    DemoWoman("919000081", "Anita", "en", 6, infant=True, phone_does="stays on"),
    DemoWoman("919000051", "Jyoti", "gu", 3, infant=True, phone_does="is on a congested network"),
)


@dataclass(frozen=True)
class DemoRow:
    woman: DemoWoman
    subscriber: Subscriber
    delivery: Delivery
    attempts: list          # store rows of her calls, in order


def midday_zone(now: datetime) -> str:
    """An Etc/GMT zone where it is about 12:00 now."""
    offset = max(-12, min(12 - now.astimezone(timezone.utc).hour, 14))
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def demo_config(config: Config, ring_timeout: float) -> Config:
    trunks = tuple(replace(t, ring_timeout=ring_timeout) for t in config.trunks)
    # its own SQLite file, even when the configured database is PostgreSQL (and its key)
    return replace(config, database=config.home / "demo.db", database_url=None,
                   erasure_key=None, trunks=trunks)


def fresh_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def run_demo(config: Config, now: datetime, *, ring_timeout: float = 10.0,
                   women: tuple[DemoWoman, ...] = DEMO_WOMEN,
                   programme: Programme | None = None) -> list[DemoRow]:
    config = demo_config(config, ring_timeout)
    fresh_database(config.database)
    zone = midday_zone(now)
    async with running(config, programme=programme) as service:
        schedule, programme = service.schedule, service.programme
        enrolled = []
        for w in women:
            anchor = now.date() - timedelta(weeks=w.weeks)
            sub = Subscriber(id=0, phone=w.phone, language=w.language, slot="12-15",
                             timezone=zone, lmp=None if w.infant else anchor,
                             child_dob=anchor if w.infant else None)
            enrolled.append((w, await schedule.enrol(sub, now, actor="demo", name=w.name,
                                                     partner="demo")))
        dialer = Dialer(service, schedule, [config.trunk("sim")],
                        lease_seconds=programme.retry.lease.total_seconds())
        await dialer.run(asyncio.Event(), until_idle=True, idle_horizon=5.0)
        rows = []
        for w, sub in enrolled:
            first = (await schedule.deliveries_of(sub.id))[0]
            rows.append(DemoRow(w, sub, first, await records.delivery_calls(service.store,
                                                                            first.id)))
        return rows


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def weeks_label(w: DemoWoman) -> str:
    return f"baby {w.weeks} wk" if w.infant else f"{w.weeks} wk pregnant"
