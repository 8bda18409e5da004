"""The demo's two scenes after its campaign (issue 15 item 7), each the real thing through the
sandbox Asterisk, like the campaign (ivr/demo.py):

- check-in: a pesinet child (programme pesinet, French) whose carer's simulated phone answers
  the week's questions with keys: her message three times (1, 1, 1: the last play allowed,
  so the call goes on to the questions), fever yes (1), stools normal (1), weight 5.1 kg
  (5 1 #). The sandbox's "presses keys" phone presses one key every 3 s from 3 s after it
  answers, so the French greeting is short (audio/demo_texts.py) and the first key reaches her
  message. The fever opens a follow-up for the centre's doctor, a worker the scene adds and
  assigns to the child. Its own database (<home>/demo-pesinet.db, new each run), as one
  installation serves one programme here; the few files of the French catalogue it plays are
  synthesised first when missing (`ivr audio demo --programme pesinet` makes them all).
- the answered line: a woman of the campaign (in <home>/demo.db) calls the line from her own
  number (sipp on the sandbox, ivr/sandbox/line_caller.py): she hears her latest message,
  presses 1 to hear it again, and hangs up; the line's record of the call is read back.
"""
from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from audio.catalogue import Entry, programme_entries
from audio.demo import FAILED, make_demo
from ivr import constants as C
from ivr.adapters import inbound_calls, records
from ivr.adapters.inbound_calls import InboundCall
from ivr.adapters.subscribers import find_live_subscriber
from ivr.app import running
from ivr.config import Config
from ivr.demo import DemoWoman, demo_config, fresh_database, midday_zone
from ivr.errors import Unavailable
from ivr.operators.staff import follow_up_rows
from ivr.phone import mask
from ivr.sandbox.instance import Sandbox
from ivr.sandbox.line_caller import call_the_line
from ivr.service import Dialer
from scheduler.followups import FollowUp, StoredAnswer, Worker
from scheduler.model import Subscriber
from scheduler.programme import Programme, load_programme

CHECK_IN_PROGRAMME = "pesinet"
CARER_KEYS = "111" + "1" + "1" + "51#"      # message x3, fever yes, stools normal, 5.1 kg
CARER = DemoWoman("91900002" + CARER_KEYS, "Aminata", "fr", 10, infant=True,
                  phone_does="answers the questions with keys")
DOCTOR = ("Dr Awa Diarra", "22370000001", "doctor")     # the partner centre's doctor
# the line: the campaign's first woman (she answers and listens), then 1 during her message
LINE_KEYS = [(2000, C.KEY_REPLAY)]
LINE_HANG_UP_MS = 6000
LINE_ROW_WAIT = 15.0


@dataclass(frozen=True)
class CheckInScene:
    carer: DemoWoman
    child: Subscriber
    doctor: Worker
    message_key: str
    calls: list[dict]               # store rows of the child's calls, in order
    answers: list[StoredAnswer]
    follow_ups: list[FollowUp]
    follow_up_rows: list[dict]      # as `ivr followups list` shows them (phone masked)


@dataclass(frozen=True)
class LineScene:
    woman: DemoWoman
    subscriber: Subscriber
    calls: list[InboundCall]        # the line's record of her calls


def scene_entries(programme: Programme, language: str, message_key: str) -> list[Entry]:
    """The files a call of the scene plays: the prompts (not the dates'), her message and the
    question prompts, in her language."""
    dates = set(C.PROMPT_DAYS) | set(C.PROMPT_MONTHS)
    entries, _ = programme_entries(programme)
    return [e for e in entries if e.lang == language and e.name not in dates
            and (e.kind != "message" or e.name == message_key)]


def ensure_audio(programme: Programme, sounds: Path, language: str, message_key: str) -> None:
    """Synthesise the scene's files that are missing (kept when there: idempotent)."""
    entries = scene_entries(programme, language, message_key)
    _, questions = programme_entries(programme)
    failed = [r for r in make_demo(entries, [m.key for m in programme.messages], sounds,
                                   workers=2, fallback=programme.fallback_language,
                                   questions=questions) if r.status == FAILED]
    if failed:
        raise Unavailable("the check-in's demo audio could not be made: "
                          + "; ".join(f"{r.entry.lang}/{r.entry.name}: {r.detail}"
                                      for r in failed[:3]))


def check_in_config(config: Config, ring_timeout: float) -> Config:
    return replace(demo_config(config, ring_timeout), database=config.home / "demo-pesinet.db")


async def run_check_in(config: Config, now: datetime, *, ring_timeout: float = 10.0,
                       carer: DemoWoman = CARER) -> CheckInScene:
    config = check_in_config(config, ring_timeout)
    fresh_database(config.database)
    programme = load_programme(CHECK_IN_PROGRAMME)
    async with running(config, programme=programme) as service:
        schedule = service.schedule
        child = await schedule.enrol(Subscriber(
            id=0, phone=carer.phone, language=carer.language, slot="11-14",
            timezone=midday_zone(now), child_dob=now.date() - timedelta(weeks=carer.weeks)),
            now, actor="demo", name=carer.name, partner="demo")
        doctor = await schedule.add_worker(*DOCTOR, now, actor="demo")
        await schedule.assign(doctor.id, child.id, now, actor="demo")
        delivery = (await schedule.deliveries_of(child.id))[0]
        await asyncio.to_thread(ensure_audio, programme, config.sounds, carer.language,
                                delivery.message_key)
        dialer = Dialer(service, schedule, [config.trunk("sim")],
                        lease_seconds=programme.retry.lease.total_seconds())
        await dialer.run(asyncio.Event(), until_idle=True, idle_horizon=5.0)
        follow_ups = await schedule.follow_ups(subscriber_id=child.id)
        return CheckInScene(
            carer=carer, child=child, doctor=doctor, message_key=delivery.message_key,
            calls=await records.delivery_calls(service.store, delivery.id),
            answers=await schedule.answers_of(child.id), follow_ups=follow_ups,
            follow_up_rows=await follow_up_rows(schedule, follow_ups, now, reveal=False,
                                                iso=False))


async def run_line_call(config: Config, woman: DemoWoman, *, programme: Programme | None = None,
                        sip_port: int | None = None) -> LineScene:
    """Her call to the line, after the campaign (its database, <home>/demo.db, is kept)."""
    config = demo_config(config, 10.0)
    if not config.database.exists():
        raise Unavailable(f"{config.database} is missing: the line's scene follows the campaign")
    port = sip_port if sip_port is not None else Sandbox(config.home).ports.sip_port
    async with running(config, programme=programme) as service:
        sub = await find_live_subscriber(service.store, woman.phone)
        if sub is None:
            raise Unavailable(f"the campaign's woman {mask(woman.phone)} is not in "
                              f"{config.database}")
        with tempfile.TemporaryDirectory(prefix="ivr-demo-line-") as workdir:
            await call_the_line(port, Path(workdir), service.controller.agi_url,
                                "+" + woman.phone, LINE_KEYS, LINE_HANG_UP_MS)
        # the route writes its record once the call has ended on its side: wait for it
        async with asyncio.timeout(LINE_ROW_WAIT):
            while not (calls := await inbound_calls.inbound_calls_of(service.store, sub.id)):
                await asyncio.sleep(0.1)
        return LineScene(woman, sub, calls)
