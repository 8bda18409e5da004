"""Pure meaning of AMI messages: typed events from header maps, and safe action values.

panoramisk carries the bytes (ivr/adapters/ami.py); this module turns what it hands over
into dataclasses before anything reaches domain logic, and refuses values that could
inject AMI headers (a CR or LF in a caller ID would start a new header).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

from ivr.protocol.outcome import parse_int

_BAD = re.compile(r"[\r\n\x00]")
_DIGITS = re.compile(r"\+?[0-9]{3,15}")


class UnsafeValue(ValueError):
    """A value that must not be sent to Asterisk (CR, LF or NUL in it)."""


def safe(value: object) -> str:
    text = str(value)
    if _BAD.search(text):
        raise UnsafeValue(f"refusing to send a value with CR/LF/NUL to Asterisk: {text[:40]!r}")
    return text


def phone_digits(number: str) -> str:
    """'+91 90000-10001' -> '919000010001'. Raises ValueError unless 3-15 digits remain
    (ITU E.164 has at most 15); only '+', spaces, dashes, dots and parentheses may surround them."""
    cleaned = re.sub(r"[\s().-]", "", number or "")
    if not _DIGITS.fullmatch(cleaned):
        raise ValueError(f"not a phone number (digits only, 3 to 15 of them): {mask(cleaned)!r}")
    return cleaned.lstrip("+")


def mask(number: str | None) -> str:
    """Phone numbers never reach logs in clear: keep the last 3 digits."""
    if not number:
        return "-"
    text = str(number)
    return "*" * max(len(text) - 3, 0) + text[-3:] if len(text) > 3 else "***"


def channel_variables(headers: Mapping[str, object]) -> dict[str, str]:
    """`ChanVariable: NAME=value` headers (one, or a list when several) as a dict."""
    raw = headers.get("ChanVariable")
    if raw is None:
        return {}
    items = raw if isinstance(raw, list) else [raw]
    out = {}
    for item in items:
        name, sep, value = str(item).partition("=")
        if sep:
            out[name.strip()] = value
    return out


@dataclass(frozen=True)
class OriginateResponse:
    action_id: str
    success: bool
    reason: int | None
    uniqueid: str | None
    channel: str | None


@dataclass(frozen=True)
class Hangup:
    uniqueid: str
    linkedid: str | None
    channel: str
    cause: int | None
    cause_text: str | None
    variables: Mapping[str, str]


@dataclass(frozen=True)
class UserEvent:
    name: str
    headers: Mapping[str, str]


@dataclass(frozen=True)
class OtherEvent:
    name: str
    headers: Mapping[str, str] = field(default_factory=dict, compare=False)


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):      # panoramisk turns repeated headers into lists
        value = value[-1]
    text = str(value)
    return None if text in ("", "<unknown>") else text


def parse_originate_response(headers: Mapping[str, object]) -> OriginateResponse:
    return OriginateResponse(
        action_id=_text(headers.get("ActionID")) or "",
        success=_text(headers.get("Response")) == "Success",
        reason=parse_int(_text(headers.get("Reason"))),
        uniqueid=_text(headers.get("Uniqueid")),
        channel=_text(headers.get("Channel")))


def parse_event(headers: Mapping[str, object]) -> Hangup | UserEvent | OtherEvent:
    name = _text(headers.get("Event")) or ""
    if name == "Hangup":
        return Hangup(uniqueid=_text(headers.get("Uniqueid")) or "",
                      linkedid=_text(headers.get("Linkedid")),
                      channel=_text(headers.get("Channel")) or "",
                      cause=parse_int(_text(headers.get("Cause"))),
                      cause_text=_text(headers.get("Cause-txt")),
                      variables=channel_variables(headers))
    if name == "UserEvent":
        body = {str(k): _text(v) or "" for k, v in headers.items()
                if str(k) not in ("Event", "UserEvent", "Privilege", "content")}
        return UserEvent(name=_text(headers.get("UserEvent")) or "", headers=body)
    return OtherEvent(name=name, headers={str(k): _text(v) or "" for k, v in headers.items()
                                          if str(k) != "content"})
