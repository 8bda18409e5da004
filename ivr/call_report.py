"""What came of one outbound call (ivr/call_tracker.py makes it, the shell writes it once):
its outcome, what Asterisk said, what she heard. Pure data, no asyncio."""
from __future__ import annotations

from dataclasses import dataclass

from scheduler.outcome import Outcome


@dataclass(frozen=True)
class Listening:
    """The in-call route's report: what she heard and did (written with the call's end)."""
    heard_seconds: float
    message_seconds: float
    heard_share: float
    ended: str
    keys: str
    language_played: str
    plays: int
    answers: int | None = None   # her message's questions she answered (None: none asked)


@dataclass(frozen=True)
class CallReport:
    """What came of one call: everything the attempt row's end needs, written once."""
    attempt_id: int
    outcome: Outcome
    ended_at: float
    reason: int | None = None            # OriginateResponse Reason
    cause: int | None = None             # Hangup Cause of the dialled leg
    cause_text: str | None = None        # its text, or why the call was lost
    listening: Listening | None = None   # None: not answered, or the flow did not report
    link_lost: bool = False         # AMI dropped before the outcome: it says nothing of the trunk
    unserved: bool = False          # she answered but the in-call route never had her call
                                    # (FastAGI failed): ours, it says nothing of the trunk
    placed: bool = True             # False: the Originate never became a call (NotPlaced)

    @property
    def heard_share(self) -> float | None:
        return self.listening.heard_share if self.listening is not None else None
