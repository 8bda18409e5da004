"""The knobs of a programme that are not content: retries, callbacks, the at-risk rule. Pure."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from scheduler.outcome import Outcome

DEFAULT_GAPS = (
    (Outcome.BUSY, timedelta(minutes=20)),         # she is on the phone: try again soon
    (Outcome.NO_ANSWER, timedelta(minutes=60)),
    (Outcome.CONGESTION, timedelta(minutes=10)),   # our side or the network: soon
    (Outcome.UNREACHABLE, timedelta(minutes=60)),
    (Outcome.REJECTED, timedelta(minutes=90)),
    (Outcome.FAILED, timedelta(minutes=30)),
)


class RetrySlots(str, Enum):
    """Where the later attempts of a message go (the first always goes in her chosen slot):
    OWN her chosen slot; LEARNED the slot her answers say suits her (scheduler/retry_slots.py);
    RANDOM any programme slot, a comparator for the simulation only (no programme file)."""
    OWN = "own"
    LEARNED = "learned"
    RANDOM = "random"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 9               # per message
    per_day: int = 3                    # at most this many attempts of one message a day
    gaps: tuple[tuple[Outcome, timedelta], ...] = DEFAULT_GAPS   # same-day wait, by outcome
    supersede: bool = True              # close a pending message as superseded when the next
                                        # falls due
    delivered_share: float = 0.0        # an answered call delivers when she heard at least
                                        # this share
    lease: timedelta = timedelta(minutes=5)   # a claim not released by then is reaped
    deactivate_after_weeks_unanswered: int = 0  # 0: off; else see scheduler/unanswered.py
    retry_slots: RetrySlots = RetrySlots.OWN    # the slot of a message's later attempts
    retry_slots_by_weekday: bool = False        # learned: her cells per slot and weekday

    def gap(self, outcome: Outcome) -> timedelta:
        for o, gap in self.gaps:
            if o is outcome:
                return gap
        return timedelta(minutes=60)


@dataclass(frozen=True)
class CallbackPolicy:
    merge: timedelta = timedelta(minutes=10)  # missed calls this close make one request
    max_attempts: int = 3
    gap: timedelta = timedelta(minutes=10)
    heard_in_full: float = 0.9          # a message heard at least this share is heard in full
    expire: timedelta = timedelta(hours=48)   # an unserved request is dropped after this


@dataclass(frozen=True)
class AtRiskRule:
    unanswered_weeks: int = 3           # consecutive weeks with calls and none answered
    low_listening_calls: int = 3        # consecutive answered calls heard under the share below
    low_listening_share: float = 0.25
