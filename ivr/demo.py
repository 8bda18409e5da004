"""The demo campaign: a handful of women on simulated phones, in four languages, each called
with the message due for her week, through the sandbox Asterisk.

It runs the real pieces: enrolment into the store, the scheduler's choice of message and its
decision after each attempt (delivered, or when to try again), the controller, Asterisk,
the FastAGI flow. One liberty, said on screen: the demo places each first attempt now,
whatever her time slot; the service (`ivr run`, a later issue) waits for the slot.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from ivr.adapters import deliveries, subscribers
from ivr.adapters.columns import instant
from ivr.adapters.store import Attempt
from ivr.app import Service, place_calls
from ivr.controller import CallRequest
from scheduler.model import Delivery, DeliveryStatus, Subscriber
from scheduler.outcome import Outcome
from scheduler.programme import load_programme
from scheduler.retry import after_attempt
from scheduler.timeline import current_message, due_at, her_zone, position


@dataclass(frozen=True)
class DemoWoman:
    phone: str          # a number of the sandbox's simulated phone network (README)
    name: str
    language: str
    slot: str
    weeks: int          # weeks pregnant today (LMP = today - weeks), or the baby's age if infant
    infant: bool = False
    phone_does: str = ""


DEMO_WOMEN = (
    DemoWoman("919000011", "सुनीता", "hi", "09-12", 12, phone_does="answers and listens"),
    DemoWoman("919000021", "प्रिया", "mr", "12-15", 20, phone_does="presses 1 to hear it again"),
    DemoWoman("919000031", "Hetal", "gu", "15-18", 8, phone_does="is busy"),
    DemoWoman("919000041", "Mary", "en", "18-21", 30, phone_does="does not answer"),
    DemoWoman("919000076", "कविता", "hi", "09-12", 16, phone_does="hangs up after 6 s"),
    DemoWoman("919000061", "सविता", "mr", "12-15", 24, phone_does="rejects the call"),
    DemoWoman("919000081", "Anita", "en", "15-18", 6, infant=True, phone_does="stays on"),
    DemoWoman("919000051", "Jyoti", "gu", "18-21", 3, infant=True,
              phone_does="is on a congested network"),
)


@dataclass(frozen=True)
class DemoRow:
    woman: DemoWoman
    subscriber: Subscriber
    delivery: Delivery
    attempt: Attempt | None     # None: the message was already closed (a second demo run)
    after: Delivery


async def run_demo(service: Service, now: datetime, *, ring_timeout: float = 10.0,
                   women: tuple[DemoWoman, ...] = DEMO_WOMEN) -> list[DemoRow]:
    programme = load_programme(service.config.programme)
    store = service.store
    trunk = replace(service.config.trunk("sim"), ring_timeout=ring_timeout)
    staged, rows = [], []
    for w in women:
        today = now.date()
        anchor = today - timedelta(weeks=w.weeks)
        sub = Subscriber(id=0, phone=w.phone, language=w.language, slot=w.slot,
                         timezone=programme.timezone,
                         lmp=None if w.infant else anchor,
                         child_dob=anchor if w.infant else None)
        sub, _ = await subscribers.enrol(store, sub, programme=programme.name, at=now, actor="demo",
                                     name=w.name, partner="demo")
        local_today = now.astimezone(her_zone(sub)).date()
        pos = position(programme, sub, local_today)
        message = current_message(programme, pos, local_today)
        if message is None:          # nothing due yet (too early in pregnancy)
            continue
        delivery = await deliveries.open_delivery(store, sub, message.key,
                                               due_at(message, pos, her_zone(sub)), now)
        if delivery.status is not DeliveryStatus.PENDING:
            rows.append(DemoRow(w, sub, delivery, None, delivery))
            continue
        number = await deliveries.count_attempt(store, delivery.id)
        staged.append((w, sub, delivery, CallRequest(
            phone=sub.phone, language=sub.language, message_key=message.key, trunk=trunk,
            kind="scheduled", subscriber_id=sub.id, delivery_id=delivery.id, number=number)))
    attempts = await place_calls(service, [s[3] for s in staged])
    for (w, sub, delivery, _), attempt in zip(staged, attempts):
        delivery = await deliveries.get_delivery(store, delivery.id)
        ended = instant(attempt.ended_at) or now
        outcome = attempt.outcome or Outcome.FAILED
        decision = after_attempt(programme, sub, delivery, outcome, attempt.heard_share, ended)
        await deliveries.close_or_retry(store, delivery.id, decision)
        rows.append(DemoRow(w, sub, delivery, attempt, await deliveries.get_delivery(store, delivery.id)))
    return rows


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def weeks_label(w: DemoWoman) -> str:
    return f"baby {w.weeks} wk" if w.infant else f"{w.weeks} wk pregnant"

