"""What one call attempt came to. One word per meaning, used by store, CLI and reports."""
from enum import Enum


class Outcome(str, Enum):
    ANSWERED = "answered"            # she picked up (listening is measured separately)
    BUSY = "busy"                    # user busy (cause 17, Reason 5)
    NO_ANSWER = "no_answer"          # rang out (cause 19 / 18, Reason 3)
    CONGESTION = "congestion"        # network or trunk congestion (cause 34/38/42, Reason 8)
    REJECTED = "rejected"            # call rejected (cause 21): declined, DND
    INVALID_NUMBER = "invalid_number"  # unallocated number (cause 1, 28)
    UNREACHABLE = "unreachable"      # switched off / out of coverage (cause 20, 27)
    FAILED = "failed"                # anything else: no route, originate error, dropped

    @property
    def answered(self) -> bool:
        return self is Outcome.ANSWERED


# Outcomes worth another attempt by the retry policy (the others close a delivery
# or mark the number bad).
RETRYABLE = frozenset({Outcome.BUSY, Outcome.NO_ANSWER, Outcome.CONGESTION,
                       Outcome.UNREACHABLE, Outcome.FAILED, Outcome.REJECTED})
