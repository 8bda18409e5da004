"""The scheduler's records, shaped like the store's rows. Pure.

Ids are ints (0 = not stored yet), times are timezone-aware UTC datetimes, calendar dates are
`date`s, enums are str enums whose values are the words stored in the database.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum

from ivr.errors import BadInput
from scheduler.content import Track
from scheduler.outcome import Outcome


class SchedulerError(BadInput):
    """A request the scheduler refuses (bad date, resuming an opted-out woman...): clear message."""


class SubscriberStatus(str, Enum):
    ACTIVE = "active"
    PAUSED = "paused"            # no calls until resumed; messages fall due (and supersede)
    OPTED_OUT = "opted_out"      # by her: ends everything
    DEACTIVATED = "deactivated"  # life event, invalid number...: ends everything
    COMPLETED = "completed"      # heard the programme to its end

    @property
    def ended(self) -> bool:
        return self in (SubscriberStatus.OPTED_OUT, SubscriberStatus.DEACTIVATED,
                        SubscriberStatus.COMPLETED)


class DeliveryStatus(str, Enum):
    PENDING = "pending"          # owed: attempts left (next_attempt_at) or a live attempt
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"  # every attempt failed; her missed call can still get it
    SUPERSEDED = "superseded"    # the next message fell due first
    CANCELLED = "cancelled"      # wrong track after a life event, or she left


class CallbackStatus(str, Enum):
    PENDING = "pending"
    SERVED = "served"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class AttemptKind(str, Enum):
    SCHEDULED = "scheduled"
    CALLBACK = "callback"
    TEST = "test"


class LifeEvent(str, Enum):
    MISCARRIAGE = "miscarriage"          # miscarriage or abortion
    STILL_BIRTH = "still_birth"
    INFANT_DEATH = "infant_death"
    MATERNAL_DEATH = "maternal_death"


@dataclass(slots=True)
class Subscriber:
    id: int
    language: str
    slot: str                       # a slot name of her programme, e.g. "09-12"
    timezone: str = "Asia/Kolkata"
    lmp: date | None = None         # last menstrual period
    edd: date | None = None         # expected delivery date (LMP + 280 days when only one is known)
    child_dob: date | None = None
    track: Track = Track.PREGNANCY  # as registered; the effective track is timeline.position()
    status: SubscriberStatus = SubscriberStatus.ACTIVE
    status_reason: str | None = None
    enrolled_at: datetime | None = None
    updated_at: datetime | None = None
    plan_at: datetime | None = None  # run plan_deliveries again at this instant (NEW column)
    phone: str = ""                 # digits; never used by the pure logic, never logged


@dataclass(slots=True)
class Delivery:
    """One message owed to one woman."""
    id: int
    subscriber_id: int
    message_key: str
    due_at: datetime                # local midnight of the day it falls due, in her zone
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    closed_at: datetime | None = None
    heard_share: float = 0.0        # the most she heard of it, 0..1 (NEW column)
    acquired_by: str | None = None  # lease of the live attempt, mirrored from it
    acquired_until: datetime | None = None


@dataclass(slots=True)
class CallbackRequest:
    """Her missed call: call her back first, inside the calling window."""
    id: int
    subscriber_id: int
    requested_at: datetime
    status: CallbackStatus = CallbackStatus.PENDING
    attempts: int = 0               # (NEW column)
    next_attempt_at: datetime | None = None   # (NEW column)
    served_at: datetime | None = None
    attempt_id: int | None = None   # the last attempt made for it


@dataclass(slots=True)
class Attempt:
    """One call. Live while outcome is None; the lease says who placed it and until when."""
    id: int
    subscriber_id: int
    kind: AttemptKind
    message_key: str
    number: int                     # 1.. within its delivery (or its callback request)
    claimed_at: datetime            # when it was claimed (the row's created_at; the Originate
                                    # is sent later: the row's started_at, ivr/adapters/store.py)
    delivery_id: int | None = None
    callback_id: int | None = None  # (NEW column)
    acquired_by: str | None = None  # (NEW column)
    acquired_until: datetime | None = None   # (NEW column)
    ended_at: datetime | None = None
    outcome: Outcome | None = None
    heard_share: float | None = None
    answered_at: datetime | None = None  # she answered (written during the call: the reap rule)
    phone: str = ""                 # what the call needs: her number (digits) and language
    language: str = ""

    @property
    def live(self) -> bool:
        return self.outcome is None
