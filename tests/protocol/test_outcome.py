import pytest

from ivr.protocol.outcome import classify, parse_int
from scheduler.outcome import Outcome

# Facts measured on the sandbox (lab report 4a and the PJSIP reject table).
CASES = [
    # reason, cause, outcome                 what Asterisk said
    (4, 16, Outcome.ANSWERED),              # answered (Local and PJSIP)
    (4, None, Outcome.ANSWERED),
    (5, 17, Outcome.BUSY),                  # Local Busy()
    (5, None, Outcome.BUSY),
    (3, 19, Outcome.NO_ANSWER),             # rang out after the Timeout
    (3, None, Outcome.NO_ANSWER),
    (8, 34, Outcome.CONGESTION),            # Local Congestion()
    (0, 21, Outcome.REJECTED),              # Hangup(21), SIP 403 / 603
    (0, 17, Outcome.BUSY),                  # SIP 486 / 600 (PJSIP: Reason is always 0)
    (0, 19, Outcome.NO_ANSWER),             # SIP 480
    (0, 18, Outcome.NO_ANSWER),             # SIP 408
    (0, 1, Outcome.INVALID_NUMBER),         # SIP 404
    (0, 34, Outcome.CONGESTION),            # SIP 503
    (0, 20, Outcome.UNREACHABLE),           # subscriber absent (switched off)
    (0, 0, Outcome.FAILED),                 # no such extension
    (0, None, Outcome.FAILED),
    (None, None, Outcome.FAILED),           # never got an OriginateResponse
    (0, 99, Outcome.FAILED),                # a cause we do not know
    (3, 20, Outcome.UNREACHABLE),           # a precise cause beats a generic no-answer
]


@pytest.mark.parametrize("reason,cause,expected", CASES)
def test_classify(reason, cause, expected):
    assert classify(reason, cause) is expected


@pytest.mark.parametrize("raw,value", [("4", 4), (" 17 ", 17), ("<unknown>", None), ("", None),
                                       (None, None), (3, 3)])
def test_parse_int(raw, value):
    assert parse_int(raw) == value
