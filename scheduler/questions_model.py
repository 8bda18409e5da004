"""The facts two-way calls produce: her answers to a message's questions, the follow-ups they open.
Pure (issue 15).

An `Answer` is what the question machine gives for one question of one call; the store adds who
(subscriber), which week and which attempt it came from. A `FollowUpToOpen` is what the follow-up
rules ask for; the store gives it an id, the woman, and open/closed status.

Values are ints: yes_no 1 = yes, 2 = no; choice: the key pressed (1-9); number: the digits typed,
as an int scaled by the question's decimals (`123#` with 1 decimal = 123, read 12.3). `text`
gives the decimal string ("12.3") for reports and CSV; `number` the exact Decimal.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum

YES = 1
NO = 2


class AnswerType(str, Enum):
    YES_NO = "yes_no"      # 1 = yes, 2 = no
    CHOICE = "choice"      # one key of the question's allowed keys (1-9)
    NUMBER = "number"      # digits ended by #, scaled by the question's decimals


class AnswerStatus(str, Enum):
    ANSWERED = "answered"
    SKIPPED = "skipped"    # silence or a wrong key twice: asked, no answer (value None)


class OwnerRole(str, Enum):
    """Who must act on a follow-up: her health worker, the agent, the centre's doctor..."""
    HEALTH_WORKER = "health_worker"
    AGENT = "agent"
    DOCTOR = "doctor"
    CALL_CENTRE = "call_centre"


@dataclass(frozen=True, slots=True)
class Answer:
    question_key: str
    status: AnswerStatus
    value: int | None = None   # None when skipped; scaled int for a number (see module doc)
    decimals: int = 0          # number: digits after the decimal point in `value`; else 0

    def __post_init__(self) -> None:
        if (self.value is None) != (self.status is AnswerStatus.SKIPPED):
            raise ValueError(f"answer to {self.question_key!r}: a value exactly when answered")
        if self.decimals < 0:
            raise ValueError(f"answer to {self.question_key!r}: decimals must be >= 0")

    @property
    def answered(self) -> bool:
        return self.status is AnswerStatus.ANSWERED

    @property
    def number(self) -> Decimal | None:
        """The exact value (12.3 for 123 with 1 decimal); None when skipped."""
        if self.value is None:
            return None
        return Decimal(self.value).scaleb(-self.decimals)

    @property
    def text(self) -> str:
        """The value as written in reports: "12.3", "1"; "" when skipped."""
        n = self.number
        return "" if n is None else f"{n:.{self.decimals}f}"


@dataclass(frozen=True, slots=True)
class FollowUpToOpen:
    """A follow-up the rules ask to open for her (the store gives it an id and a status)."""
    rule_key: str              # the rule's key in the programme file: stable, used to not repeat
    reason: str                # plain words for the worker ("fever reported", "weight dropped")
    due: date                  # the day it must be done by (her local calendar)
    owner_role: OwnerRole
    question_key: str | None = None   # the question whose answer opened it (None: absence rule)
