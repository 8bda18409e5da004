"""Turn what Asterisk said about a call into an Outcome. Pure.

Facts measured on the sandbox (shared lab report, section 4a):
- Local channels: OriginateResponse Reason 4 answered, 5 busy, 3 no answer (after the
  Timeout), 8 congestion, 0 failed / rejected / no such extension.
- PJSIP: every SIP reject comes back as Reason 0; only the Hangup Cause tells them apart:
  17 busy (486/600), 19 no answer (480, timeout), 21 rejected (403/603), 1 unallocated (404),
  34 congestion (503), 18 no user responding (408).
"""
from __future__ import annotations

from scheduler.outcome import Outcome

REASON_FAILED = 0
REASON_HANGUP = 1
REASON_RINGING = 3      # still ringing when the Timeout expired: no answer
REASON_ANSWERED = 4
REASON_BUSY = 5
REASON_CONGESTION = 8

_BY_REASON = {
    REASON_ANSWERED: Outcome.ANSWERED,
    REASON_BUSY: Outcome.BUSY,
    REASON_RINGING: Outcome.NO_ANSWER,
    REASON_CONGESTION: Outcome.CONGESTION,
}

# Q.850 cause codes -> outcome (only the ones a mobile network really sends us).
_BY_CAUSE = {
    1: Outcome.INVALID_NUMBER,     # unallocated number (SIP 404)
    3: Outcome.INVALID_NUMBER,     # no route to destination
    17: Outcome.BUSY,              # user busy (486, 600)
    18: Outcome.NO_ANSWER,         # no user responding (408)
    19: Outcome.NO_ANSWER,         # no answer from user (480, ring timeout)
    20: Outcome.UNREACHABLE,       # subscriber absent (switched off)
    21: Outcome.REJECTED,          # call rejected (403, 603)
    22: Outcome.INVALID_NUMBER,    # number changed
    27: Outcome.UNREACHABLE,       # destination out of order
    28: Outcome.INVALID_NUMBER,    # invalid number format (484)
    34: Outcome.CONGESTION,        # no circuit available (503)
    38: Outcome.CONGESTION,        # network out of order
    41: Outcome.CONGESTION,        # temporary failure
    42: Outcome.CONGESTION,        # switching equipment congestion
}


def classify(reason: int | None, cause: int | None) -> Outcome:
    """Outcome of an originate from its OriginateResponse Reason and the Hangup Cause
    of the dialled leg (either may be unknown: None)."""
    if reason is not None and reason in _BY_REASON:
        if reason == REASON_ANSWERED:
            return Outcome.ANSWERED
        # Reason is trusted on Local channels; a specific cause, when we have one, agrees
        # with it or is more precise (e.g. 20 unreachable behind a generic no-answer).
        by_cause = _BY_CAUSE.get(cause) if cause else None
        return by_cause or _BY_REASON[reason]
    if cause:
        return _BY_CAUSE.get(cause, Outcome.FAILED)
    return Outcome.FAILED


def parse_int(value: object) -> int | None:
    """AMI header value -> int, or None for missing / '<unknown>' / garbage."""
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None
