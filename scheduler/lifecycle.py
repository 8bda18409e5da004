"""Enrolment, birth, life events, pause, resume, opt-out: checked changes to a woman. Pure.

Each function returns the changed Subscriber (a copy) or raises SchedulerError with a clear
message; the store saves it and runs plan_deliveries() for her at once, so a change takes
effect before her next call is placed (an ended woman's pending message is cancelled, and
claims only ever pick active women).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from scheduler.content import Track
from scheduler.model import LifeEvent, SchedulerError, Subscriber, SubscriberStatus
from scheduler.programme import Programme
from scheduler.slots import local_date
from scheduler.timeline import PREGNANCY_DAYS, her_slot, her_zone, pregnancy_dates

MIN_BIRTH_DAYS = 140         # a birth before 20 weeks is a miscarriage, not a birth
MAX_PREGNANCY_DAYS = 44 * 7  # LMP further back than this without a birth: ask for the birth
EDD_TOLERANCE = 42           # days an EDD may differ from LMP + 280


def enrol(programme: Programme, sub: Subscriber, now: datetime) -> Subscriber:
    """Check a new woman's record; fills in EDD/LMP from each other, her track, times."""
    if sub.language not in programme.languages:
        raise SchedulerError(f"language {sub.language!r} is not offered by {programme.name} "
                             f"(offered: {', '.join(programme.languages)})")
    her_slot(programme, sub)
    today = local_date(now, her_zone(sub))
    if sub.child_dob is not None:
        if sub.child_dob > today:
            raise SchedulerError(f"child's date of birth {sub.child_dob} is in the future")
        last_day = max((m.day for m in programme.track(Track.INFANT)), default=-1)
        if (today - sub.child_dob).days > last_day:
            raise SchedulerError(f"child born {sub.child_dob} is past the end of the programme")
        return replace(sub, track=Track.INFANT, status=SubscriberStatus.ACTIVE,
                       enrolled_at=now, updated_at=now)
    if sub.lmp is None and sub.edd is None:
        raise SchedulerError("give the LMP, the EDD, or the child's date of birth")
    lmp, edd = pregnancy_dates(sub.lmp, sub.edd)
    if abs((edd - lmp).days - PREGNANCY_DAYS) > EDD_TOLERANCE:
        raise SchedulerError(f"EDD {edd} does not fit LMP {lmp} (expected about "
                             f"{lmp + timedelta(days=PREGNANCY_DAYS)})")
    if lmp > today:
        raise SchedulerError(f"LMP {lmp} is in the future")
    if (today - lmp).days > MAX_PREGNANCY_DAYS:
        raise SchedulerError(f"LMP {lmp} is more than 44 weeks ago: register the birth instead")
    return replace(sub, lmp=lmp, edd=edd, track=Track.PREGNANCY, status=SubscriberStatus.ACTIVE,
                   enrolled_at=now, updated_at=now)


def register_birth(sub: Subscriber, dob: date, now: datetime) -> Subscriber:
    """A live birth: she moves to the infant track, counted from the child's date of birth."""
    _not_ended(sub, "register a birth")
    if sub.child_dob is not None:
        if sub.child_dob == dob:
            return sub
        raise SchedulerError(f"a birth is already registered ({sub.child_dob})")
    if dob > local_date(now, her_zone(sub)):
        raise SchedulerError(f"date of birth {dob} is in the future")
    lmp, _ = pregnancy_dates(sub.lmp, sub.edd)
    if (dob - lmp).days < MIN_BIRTH_DAYS:
        raise SchedulerError(f"date of birth {dob} is under 20 weeks after the LMP {lmp}: "
                             "record a miscarriage instead")
    return replace(sub, child_dob=dob, track=Track.INFANT, updated_at=now)


def life_event(sub: Subscriber, event: LifeEvent, now: datetime) -> Subscriber:
    """Miscarriage or abortion, still birth, infant death, maternal death: messages stop."""
    _not_ended(sub, f"record {event.value}")
    if event in (LifeEvent.MISCARRIAGE, LifeEvent.STILL_BIRTH) and sub.child_dob is not None:
        raise SchedulerError(f"{event.value}: a live birth is registered for her "
                             f"({sub.child_dob}); did you mean infant_death?")
    if event is LifeEvent.INFANT_DEATH and sub.child_dob is None:
        raise SchedulerError("infant_death: no birth is registered for her; did you mean "
                             "still_birth?")
    return replace(sub, status=SubscriberStatus.DEACTIVATED, status_reason=event.value,
                   updated_at=now)


def pause(sub: Subscriber, now: datetime, reason: str = "paused") -> Subscriber:
    if sub.status is not SubscriberStatus.ACTIVE:
        raise SchedulerError(f"only an active woman can be paused (she is {sub.status.value})")
    return replace(sub, status=SubscriberStatus.PAUSED, status_reason=reason, updated_at=now)


def resume(sub: Subscriber, now: datetime) -> Subscriber:
    if sub.status is not SubscriberStatus.PAUSED:
        raise SchedulerError(f"only a paused woman can be resumed (she is {sub.status.value})")
    return replace(sub, status=SubscriberStatus.ACTIVE, status_reason=None, updated_at=now)


def opt_out(sub: Subscriber, now: datetime, reason: str = "by_user") -> Subscriber:
    _not_ended(sub, "opt out")
    return replace(sub, status=SubscriberStatus.OPTED_OUT, status_reason=reason, updated_at=now)


def change_slot(programme: Programme, sub: Subscriber, slot: str, now: datetime) -> Subscriber:
    """Her new time slot (a slot name of the programme); her next call moves into it."""
    _not_ended(sub, "change the time slot")
    changed = replace(sub, slot=slot, updated_at=now)
    her_slot(programme, changed)
    return changed


def fix_record(programme: Programme, before: Subscriber, fields: dict[str, object],
               now: datetime) -> Subscriber:
    """Her record with fixes (phone, language, timezone, lmp, edd; other fields given are not
    the scheduler's), checked as at enrolment. A new LMP without an EDD (or the reverse)
    drops the other date, which is derived again."""
    if before.status.ended:
        raise SchedulerError(f"woman {before.id} has left the programme "
                             f"({before.status.value}): her record is closed")
    core = {k: v for k, v in fields.items() if k in ("phone", "language", "timezone", "lmp", "edd")}
    after = replace(before, **core)  # type: ignore[arg-type]
    if "lmp" in fields and "edd" not in fields:
        after = replace(after, edd=None)
    if "edd" in fields and "lmp" not in fields:
        after = replace(after, lmp=None)
    if after.child_dob is None:
        checked = enrol(programme, after, now)
        return replace(checked, status=before.status, enrolled_at=before.enrolled_at)
    if after.language not in programme.languages:
        raise SchedulerError(f"language {after.language!r} is not offered by {programme.name}")
    return after


def deactivate(sub: Subscriber, now: datetime, reason: str) -> Subscriber:
    """Invalid number, do-not-disturb, weeks unanswered...: ends her subscription."""
    _not_ended(sub, "deactivate")
    return replace(sub, status=SubscriberStatus.DEACTIVATED, status_reason=reason, updated_at=now)


def _not_ended(sub: Subscriber, what: str) -> None:
    if sub.status.ended:
        raise SchedulerError(f"cannot {what}: her subscription has ended "
                             f"({sub.status.value}"
                             f"{': ' + sub.status_reason if sub.status_reason else ''})")
