"""Pure meaning of AMI messages: typed events from header maps, and safe action values.

The bytes are framed by the pure codec (ivr/protocol/ami_codec.py), which every AMI client
here uses (panoramisk's link in ivr/adapters/ami_link.py among them); this module turns the
messages into dataclasses before anything reaches domain logic, and refuses values that could
inject AMI headers (a CR or LF in a caller ID would start a new header).

Asterisk does not escape line breaks in the values it sends either: a caller ID with an
encoded CR/LF (a SIP From or P-Asserted-Identity) comes out as extra header lines, or, with a
blank line, as an event of the caller's own making (dialplan/README.md, "Caller IDs").
``refusal`` says why a message must not be acted on: a header repeated that Asterisk sends
once (panoramisk turns repeats into lists), a header name or value that cannot be Asterisk's,
and, for the events the controller acts on (Hangup, our UserEvents, OriginateResponse), any
header those events do not carry or a required one missing.  ``parse_event`` raises
UnsafeMessage for such a message.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

from ivr import constants as C
from ivr.errors import BadInput, Unavailable
from ivr.protocol.outcome import parse_int

_BAD = re.compile(r"[\r\n\x00]")


class UnsafeValue(BadInput, ValueError):
    """A value that must not be sent to Asterisk (CR, LF or NUL in it)."""


class UnsafeMessage(Unavailable, ValueError):
    """An AMI message that must not be acted on (see ``refusal``)."""


def safe(value: object) -> str:
    text = str(value)
    if _BAD.search(text):
        raise UnsafeValue(f"refusing to send a value with CR/LF/NUL to Asterisk: {text[:40]!r}")
    return text


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


# headers no message may repeat (panoramisk routes by them: a list made it raise and drop the
# connection); in the events we act on, only ChanVariable may repeat (Asterisk's own
# TestEvent repeats State: other events are left to their listeners)
_ROUTING = frozenset({"event", "response", "actionid", "commandid"})
_REPEATABLE = frozenset({"chanvariable"})
HEADER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*(\([^()\s]*\))?")
# every event may carry these (timestampevents, systemname, debug options of manager.conf)
_ANY_EVENT = {"Event", "Privilege", "Timestamp", "SystemName", "SequenceNumber", "File",
              "Line", "Func"}
# a channel's snapshot, as Hangup, UserEvent... carry it (ChanVariable: manager.conf channelvars)
_CHANNEL = {"Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName",
            "ConnectedLineNum", "ConnectedLineName", "Language", "AccountCode", "Context",
            "Exten", "Priority", "Uniqueid", "Linkedid", "TenantID", "ChanVariable"}
# the events we act on: the headers they may carry, and those they must
_KNOWN = {
    "Hangup": (_ANY_EVENT | _CHANNEL | {"Cause", "Cause-txt", "TechCause"},
               ("Privilege", "Channel", "Uniqueid")),
    "OriginateResponse": (_ANY_EVENT | {"ActionID", "Response", "Channel", "Context", "Exten",
                                        "Application", "Data", "Reason", "Uniqueid",
                                        "CallerIDNum", "CallerIDName"},
                          ("Privilege", "ActionID", "Response")),
    "Newstate": (_ANY_EVENT | _CHANNEL, ("Privilege", "Uniqueid", "ChannelState")),
}


def refusal(headers: Mapping[str, object]) -> str | None:
    """Why this AMI message must not be acted on, or None.  The reason names headers, never
    values (a value may be her number)."""
    names = [str(k) for k in headers if str(k).lower() != "content"]
    for name in names:
        if not HEADER_NAME.fullmatch(name):
            return f"a header name that is not Asterisk's ({len(name)} characters)"
    repeated = []
    for name in names:
        value = headers[name]
        values = value if isinstance(value, list) else [value]
        if len(values) > 1:
            if name.lower() in _ROUTING:
                return f"header {name} repeated"
            if name.lower() not in _REPEATABLE:
                repeated.append(name)
        if any(_BAD.search(str(v)) for v in values):
            return f"a line break in header {name}"
    event = headers.get("Event")
    if event is None:
        return None
    required: tuple[str, ...]
    allowed, required = _KNOWN.get(str(event), (None, ()))
    if event == "UserEvent":
        body = C.USER_EVENT_HEADERS.get(str(headers.get("UserEvent")))
        if body is None:
            return None                  # not one of ours: nothing acts on it
        allowed, required = _ANY_EVENT | _CHANNEL | {"UserEvent", *body}, ("Privilege",)
    if allowed is None:
        return None
    if repeated:
        return f"header {repeated[0]} repeated"
    unexpected = sorted(n for n in names if n not in allowed and not n.startswith(
        "ChanVariable("))
    if unexpected:
        return f"{event} with unexpected header(s) {', '.join(unexpected)[:80]}"
    missing = [n for n in required if not headers.get(n)]
    if missing:
        return f"{event} without {', '.join(missing)}"
    return None


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):      # panoramisk turns repeated headers into lists
        value = value[-1]
    text = str(value)
    return None if text in ("", "<unknown>") else text


def _check(headers: Mapping[str, object]) -> None:
    why = refusal(headers)
    if why is not None:
        raise UnsafeMessage(why)


def parse_originate_response(headers: Mapping[str, object]) -> OriginateResponse:
    """Raises UnsafeMessage for a message ``refusal`` refuses."""
    _check(headers)
    return OriginateResponse(
        action_id=_text(headers.get("ActionID")) or "",
        success=_text(headers.get("Response")) == "Success",
        reason=parse_int(_text(headers.get("Reason"))),
        uniqueid=_text(headers.get("Uniqueid")),
        channel=_text(headers.get("Channel")))


def parse_event(headers: Mapping[str, object]) -> Hangup | UserEvent | OtherEvent:
    """Raises UnsafeMessage for a message ``refusal`` refuses."""
    _check(headers)
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
