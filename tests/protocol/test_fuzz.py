"""Fuzzing the pure codecs with hypothesis (issue 12, item 9): the AGI codec, the AMI message
check and its parsing (as panoramisk frames it, through our protocol class), and the
caller-ID normaliser.  Properties: nothing but the documented error types ever comes out;
bytes fed whole or one at a time give the same events; the normaliser gives None or E.164
digits.  Each test stays well under a few seconds (max_examples)."""
from __future__ import annotations

import logging
import re

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ivr.adapters.ami_link import _Protocol
from ivr.adapters.log_throttle import LogThrottle
from ivr.protocol.agi import (EOF, NEED_DATA, AgiParser, AgiProtocolError, AgiReply, AgiRequest,
                              encode_command, parse_reply)
from ivr.phone import Phone
from ivr.protocol.ami import (Hangup, OtherEvent, UnsafeMessage, UserEvent, parse_event,
                              parse_originate_response, refusal)
from ivr.protocol.ami_codec import (AmiMessage, AmiParser, AmiProtocolError, Banner,
                                    parse_buffer)
from tests.protocol.test_agi import unquote

FAST = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

# ---- AGI ---------------------------------------------------------------------------------

AGI_PIECES = st.sampled_from([
    b"agi_network: yes\n", b"agi_network_script: call\n", b"agi_arg_1: 5\n", b"agi_arg_1: 6\n",
    b"agi_uniqueid: ivr-5-abc\n", b"agi_callerid: 919000011\r\n", b"\n", b"\r\n",
    b"200 result=0 endpos=100\n", b"200 result=49 endpos=17760\n", b"200 result= (timeout)\n",
    b"200 result=1 (a (b) c)\n", b"HANGUP\n", b"520-Invalid command syntax.\n",
    b"520 End of proper usage.\n", b"100 result=0 Trying...\n", b"510 Invalid\n",
    b"511 Command Not Permitted\n", b"agi_", b"200 ", b"result=", b"\xff\xfe", b"\x00"])
AGI_BYTES = st.lists(st.one_of(AGI_PIECES, st.binary(max_size=12)), max_size=25).map(b"".join)


def events_until_eof(parser, chunks: list[bytes],
                     error: type[Exception]) -> tuple[list, str | None]:
    """Every event of an h11-style parser until EOF, and the protocol error that ended it (its
    message), if any."""
    out: list = []
    try:
        for chunk in [*chunks, b""]:
            parser.receive_data(chunk)
            while (event := parser.next_event()) is not NEED_DATA:
                out.append(event)
                if event is EOF:
                    return out, None
    except error as e:
        return out, str(e)
    return out, None


def agi_events(chunks: list[bytes]) -> tuple[list, str | None]:
    return events_until_eof(AgiParser(), chunks, AgiProtocolError)


@FAST
@given(data=AGI_BYTES, cuts=st.lists(st.integers(0, 400), max_size=8))
@example(data=b"agi_arg_1: 5\nagi_arg_1: 6\n\n", cuts=[])
def test_agi_bytes_whole_chunked_or_one_at_a_time_give_the_same_events(data, cuts):
    whole = agi_events([data])
    bounds = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    chunked = agi_events([data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)])
    bytewise = agi_events([data[i:i + 1] for i in range(len(data))])
    assert whole == chunked == bytewise
    events, error = whole
    assert error is not None or events[-1:] == [EOF]
    for event in events:
        assert isinstance(event, (AgiRequest, AgiReply)) or event is EOF or type(
            event).__name__ == "AgiHangupNotice"
        if isinstance(event, AgiRequest):           # only agi_* names, each once
            assert all(k.startswith("agi_") for k in event.env)


@FAST
@given(st.text(max_size=60))
def test_any_reply_line_parses_or_is_a_protocol_error(text):
    try:
        reply = parse_reply(text)
    except AgiProtocolError:
        assert not re.match(r"^\d{3}[ -]", text, re.DOTALL)
        return
    assert 0 <= reply.code <= 999 and reply.text == text
    assert reply.digit is None or reply.digit in "0123456789*#ABCD"


WORD = st.text(st.characters(blacklist_characters="\r\n\x00", blacklist_categories=("Cs",)),
               max_size=20)


@FAST
@given(st.lists(WORD, min_size=1, max_size=5))
def test_any_command_word_reads_back_as_sent_by_asterisk(words):
    line = encode_command("SET", "VARIABLE", *words).decode()
    assert line.endswith("\n") and line.count("\n") == 1
    assert unquote(line.rstrip("\n")) == ["SET", "VARIABLE", *words]


@FAST
@given(WORD, st.sampled_from(["\r", "\n", "\x00"]), WORD)
def test_a_word_with_a_line_break_or_nul_is_never_sent(before, bad, after):
    try:
        encode_command("SET", "VARIABLE", "X", before + bad + after)
    except ValueError:
        return
    raise AssertionError("a CR, LF or NUL went out")


# ---- AMI ---------------------------------------------------------------------------------

NAMES = st.sampled_from(["Event", "Privilege", "Channel", "Uniqueid", "Linkedid", "Cause",
                         "Cause-txt", "UserEvent", "Caller", "DID", "MissedCallId", "ActionID",
                         "Response", "Reason", "ChanVariable", "CallerIDNum", "IVR_ATTEMPT_ID",
                         "DialStatus", "Output", "X", "Action", "bad name", "ChanVariable(a)"])
VALUES = st.one_of(
    st.sampled_from(["Hangup", "UserEvent", "OriginateResponse", "IvrMissedCall", "IvrCallCentre",
                     "Newchannel", "call,all", "user,all", "Success", "ivr-5-abc", "16", "",
                     "<unknown>", "IVR_ATTEMPT_ID=5", "+91\r\nEvent: Hangup", "x\ny"]),
    st.text(max_size=12))
HEADERS = st.dictionaries(st.one_of(NAMES, st.text(min_size=1, max_size=8)),
                          st.one_of(VALUES, st.lists(VALUES, min_size=2, max_size=3)),
                          max_size=10)


@FAST
@given(HEADERS)
def test_any_header_map_is_typed_or_refused_never_anything_else(headers):
    why = refusal(headers)
    try:
        event = parse_event(headers)
    except UnsafeMessage as e:
        assert why is not None and str(e) == why
    else:
        assert why is None
        assert isinstance(event, (Hangup, UserEvent, OtherEvent))
        if isinstance(event, (Hangup, UserEvent)):     # what we act on carries no line break
            texts = [*getattr(event, "variables", {}).values(),
                     *getattr(event, "headers", {}).values(),
                     getattr(event, "uniqueid", ""), getattr(event, "channel", "")]
            assert not any(re.search(r"[\r\n\x00]", t) for t in texts)
    try:
        parse_originate_response(headers)
    except UnsafeMessage:
        assert why is not None


class _Factory:
    """What panoramisk's protocol needs of its Manager, recording what it would dispatch."""
    save_stream = None
    config = {"username": "fuzz"}

    def __init__(self) -> None:
        self.dispatched: list[dict] = []
        self.lost = 0
        self.refused = LogThrottle(logging.getLogger("fuzz"), logging.DEBUG)

    def dispatch(self, message) -> None:
        self.dispatched.append(dict(message))

    def connection_lost(self, exc) -> None:
        self.lost += 1


class _Transport:
    def close(self) -> None:
        pass


def ami_dispatched(chunks: list[bytes]) -> tuple[list[dict], int]:
    """What panoramisk would dispatch, and how often it would drop the connection."""
    protocol = _Protocol()
    protocol.connection_made(_Transport())
    protocol.factory = factory = _Factory()
    protocol.version = "11.0.0"
    for chunk in chunks:
        protocol.data_received(chunk)
    return factory.dispatched, factory.lost


AMI_LINES = st.lists(st.one_of(
    st.sampled_from(["Event: Hangup", "Event: UserEvent", "Event: Shutdown", "Privilege: call,all",
                     "Uniqueid: ivr-5-abc", "Channel: PJSIP/x", "UserEvent: IvrMissedCall",
                     "Caller: 919000011", "CallerIDNum: +91", "Response: Success",
                     "ActionID: orig-ivr-5-abc", "ChanVariable: A=1", "", "X: 1"]),
    st.text(st.characters(max_codepoint=127, blacklist_categories=("Cs",)), max_size=15)),
    max_size=30)


@FAST
@given(AMI_LINES)
@example(["Event: Hangup", "Privilege: call,all", "CallerIDNum: +91", "Event: Hangup", "X: 1",
          "Uniqueid: ivr-5-abc", ""])
def test_ami_bytes_whole_or_one_at_a_time_dispatch_the_same_and_never_drop_the_link(lines):
    data = ("\r\n".join(lines) + "\r\n\r\n").encode()
    whole, lost = ami_dispatched([data])
    assert (whole, lost) == ami_dispatched([data[i:i + 1] for i in range(len(data))])
    for message in whole:                  # only what the check lets through is routed
        assert refusal(message) is None
    # the link drops only on a well-formed Shutdown (panoramisk's own rule; the controller's
    # user never reads the system class, so Asterisk sends it none), never on a malformed one
    shutdowns = sum(str(m.get("Event", "")).lower() == "shutdown" for m in whole)
    assert lost == (1 if shutdowns else 0)


# ---- caller IDs ----------------------------------------------------------------------------

CALLER = st.one_of(
    st.text(max_size=25),
    st.from_regex(r"\A\+?[0-9 ().-]{0,22}\Z"),
    st.builds(lambda p, d: p + d, st.sampled_from(["", "+", "+91", "0", "91", "+254", "00"]),
              st.text("0123456789", max_size=16)))


@settings(max_examples=400, deadline=None)
@given(CALLER, st.sampled_from(["IN", "KE", "US"]))
def test_the_normaliser_gives_none_or_e164_digits(raw, region):
    phone = Phone.from_caller_id(raw, region)
    assert phone is None or re.fullmatch(r"[1-9][0-9]{2,14}", phone.digits), phone.digits
    if phone is not None:                  # stable: normalising her stored number again keeps it
        assert Phone.from_caller_id(phone.e164, region) == phone


# ---- the AMI codec -----------------------------------------------------------------------

AMI_PIECES = st.sampled_from([
    b"Asterisk Call Manager/11.0.0\r\n", b"Response: Success\r\n", b"Response: Follows\r\n",
    b"Event: Hangup\r\n", b"ActionID: 5\r\n", b"Output: x\r\n", b"Output: \r\n",
    b"ChanVariable: A=1\r\n", b"Variable: B=2\r\n", b"--END COMMAND--\r\n", b"\r\n", b"\n",
    b"\r", b"free text\n", b"Privilege: Command\r\n", b"x--END COMMAND--\r\n", b": \r\n",
    b"\xe0\xa4\xb8", b"\xff", b"\x00"])
AMI_BYTES = st.lists(st.one_of(AMI_PIECES, st.binary(max_size=10)), max_size=30).map(b"".join)


def codec_events(chunks: list[bytes], banner: bool) -> tuple[list, str | None]:
    return events_until_eof(AmiParser(banner=banner), chunks, AmiProtocolError)


@FAST
@given(data=AMI_BYTES, cuts=st.lists(st.integers(0, 400), max_size=8), banner=st.booleans())
def test_ami_codec_whole_chunked_or_one_byte_at_a_time_give_the_same_messages(data, cuts,
                                                                              banner):
    whole = codec_events([data], banner)
    bounds = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    assert codec_events([data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)],
                        banner) == whole
    assert codec_events([data[i:i + 1] for i in range(len(data))], banner) == whole
    events, error = whole
    assert error is not None or events[-1:] == [EOF]
    for event in events:
        assert event is EOF or isinstance(event, (AmiMessage, Banner))
        if isinstance(event, AmiMessage):       # no line break survives into a value
            assert event.headers or event.output
            assert not any("\n" in v for _, v in event.headers)
            assert not any("\n" in line for line in event.output)
    # parse_buffer (wazo-amid's shape) hands over the same messages and keeps the rest
    seen: list[AmiMessage] = []
    try:
        rest = parse_buffer(data, seen.append, banner=banner)
    except AmiProtocolError:
        return
    assert seen == [e for e in events if isinstance(e, AmiMessage)][:len(seen)]
    assert data.endswith(rest)
