"""What the call tracker (ivr/call_tracker.py) asks its shell (ivr/controller.py) to do: send
the Originate, say her phone was reached, write her answer, list Asterisk's channels, hang
channels up, release the attempt with the call's report. Pure data."""
from __future__ import annotations

from dataclasses import dataclass

from ivr.call_report import CallReport


@dataclass(frozen=True)
class SendOriginate:
    """Write the call's Originate now; answer with originate_response or originate_failed."""


@dataclass(frozen=True)
class Reached:
    """Her phone rings, or she answered (said once)."""


@dataclass(frozen=True)
class Answered:
    """Write the attempt's answer time now (a crash then closes it as answered). Said once,
    when the in-call route takes her call, before it plays anything: the dialplan's fallback
    plays her message only to a call whose answer is written (dialplan/ivr-fallback.conf)."""
    at: float
    channel: str | None


@dataclass(frozen=True)
class ListChannels:
    """Ask Asterisk for its channels; answer with channels(). `cut`: to hang the call up
    (longer than MAX_CALL_SECONDS)."""
    cut: bool = False


@dataclass(frozen=True)
class HangUp:
    """Hang up these channels (names from the list Asterisk gave just now)."""
    channels: tuple[str, ...]


@dataclass(frozen=True)
class Release:
    """The call is over: close its attempt with this report."""
    report: CallReport


Action = SendOriginate | Reached | Answered | ListChannels | HangUp | Release
