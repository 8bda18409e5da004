import pytest

from ivr.adapters.ami import Originate
from ivr.protocol.ami import (Hangup, OtherEvent, UnsafeValue, UserEvent, channel_variables,
                              parse_event, parse_originate_response, safe)


def test_hangup_event_is_typed_with_its_channel_variables():
    ev = parse_event({"Event": "Hangup", "Privilege": "call,all",
                      "Channel": "Local/100@sim-phones-00000001;2",
                      "Uniqueid": "ivr-7-abc-2", "Linkedid": "ivr-7-abc", "Cause": "17",
                      "Cause-txt": "User busy", "ChanVariable": "IVR_ATTEMPT_ID=7"})
    assert ev == Hangup(uniqueid="ivr-7-abc-2", linkedid="ivr-7-abc",
                        channel="Local/100@sim-phones-00000001;2", cause=17,
                        cause_text="User busy", variables={"IVR_ATTEMPT_ID": "7"})


def test_repeated_channel_variables_become_a_dict():
    assert channel_variables({"ChanVariable": ["A=1", "B=x=y", "junk"]}) == {"A": "1", "B": "x=y"}
    assert channel_variables({}) == {}


def test_user_event_keeps_its_body_only():
    ev = parse_event({"Event": "UserEvent", "UserEvent": "IvrMissedCall", "Privilege": "user,all",
                      "MissedCallFile": "1764500000.12.missed"})
    assert isinstance(ev, UserEvent) and ev.name == "IvrMissedCall"
    assert ev.headers == {"MissedCallFile": "1764500000.12.missed"}


def test_other_events_are_only_named():
    assert parse_event({"Event": "Newchannel", "Channel": "x"}) == OtherEvent("Newchannel")


def test_failed_originate_response_has_no_uniqueid():
    r = parse_originate_response({"Event": "OriginateResponse", "Privilege": "call,all",
                                  "ActionID": "orig-1",
                                  "Response": "Failure", "Reason": "0", "Uniqueid": "<unknown>",
                                  "Channel": "Local/600@sim-phones"})
    assert (r.success, r.reason, r.uniqueid, r.action_id) == (False, 0, None, "orig-1")


@pytest.mark.parametrize("value", ["a\r\nAction: Command", "x\n", "nul\x00"])
def test_values_that_could_inject_headers_are_refused(value):
    with pytest.raises(UnsafeValue):
        safe(value)
    with pytest.raises(UnsafeValue):
        Originate(action_id="a", channel="Local/1@x", context="c", exten="s", timeout=1,
                  channel_id="i", caller_id=value).action()


def test_originate_action_carries_ids_and_variables():
    a = Originate(action_id="orig-1", channel="PJSIP/919000010001@carrier", context="ivr-outbound",
                  exten="s", timeout=30, channel_id="ivr-1-ab",
                  variables={"__IVR_ATTEMPT_ID": "1", "IVR_LANG": "hi"}).action()
    assert a["Timeout"] == "30000" and a["Async"] == "true"
    assert a["ChannelId"] == "ivr-1-ab" and a["OtherChannelId"] == "ivr-1-ab-2"
    assert a["Variable"] == ["__IVR_ATTEMPT_ID=1", "IVR_LANG=hi"]


# ---- caller IDs with line breaks (issue 12, item 8) ----------------------------------------

import asyncio  # noqa: E402
import logging  # noqa: E402
from pathlib import Path  # noqa: E402

from panoramisk.message import Message  # noqa: E402

from ivr import constants as C  # noqa: E402
from ivr.adapters.ami import AmiGateway  # noqa: E402
from ivr.config import AmiSettings  # noqa: E402
from ivr.protocol.ami import UnsafeMessage, refusal  # noqa: E402

INJECTED = (Path(__file__).parent.parent / "transcripts" / "ami-injected-callerid.ami").read_bytes()


def messages(data: bytes) -> list[Message]:
    """Split and parse as panoramisk does (blank line, then 'Key: value' lines)."""
    out = []
    for part in data.decode().split("\r\n\r\n"):
        m = Message.from_line(part.strip())
        if m is not None:
            out.append(m)
    return out


def test_recorded_injections_are_refused_and_clean_events_kept():
    """Recorded on the sandbox: a missed call's From and a callee's P-Asserted-Identity with
    an encoded CR/LF (the injected 'Event: Hangup' and 'X: 1' lines)."""
    got = messages(INJECTED)
    assert [m["Event"] for m in got] == [["UserEvent", "Hangup"], "OriginateResponse",
                                         ["Hangup", "Hangup"], "Hangup"]
    assert [refusal(m) for m in got] == ["header Event repeated", None,
                                         "header Event repeated", None]
    for m in (got[0], got[2]):
        with pytest.raises(UnsafeMessage):
            parse_event(m)
    assert parse_event(got[3]).uniqueid == "ivr-4-4dc158"


HANGUP = ("Event: Hangup\r\nPrivilege: call,all\r\nChannel: PJSIP/carrier-00000001\r\n"
          "CallerIDNum: {cid}\r\nCallerIDName: x\r\nUniqueid: ivr-3-abcdef\r\n"
          "Linkedid: ivr-3-abcdef\r\nChanVariable: IVR_ATTEMPT_ID=3\r\nCause: 16\r\n"
          "Cause-txt: Normal Clearing")


@pytest.mark.parametrize("cid, why", [
    # a forged Hangup of another live call, the real headers after it: Uniqueid twice
    ("+91\r\n\r\nEvent: Hangup\r\nPrivilege: call,all\r\nChannel: x\r\nUniqueid: ivr-5-aaaaaa"
     "\r\nCause: 16", "header Uniqueid repeated"),
    # a forged missed call of another number, the real Hangup's headers after it
    ("+91\r\n\r\nEvent: UserEvent\r\nPrivilege: user,all\r\nUserEvent: IvrMissedCall\r\n"
     "MissedCallFile: x.missed", "UserEvent with unexpected header(s) Cause, Cause-txt"),
    ("+91\r\nAction: Command\r\nCommand: core stop now", "Hangup with unexpected header(s) "
                                                        "Action, Command"),
    ("+91\nEvent: Hangup", "a line break in header CallerIDNum"),        # a lone LF stays in
    ("+91\r\nbad name: 1", "a header name that is not Asterisk's (8 characters)"),
])
def test_forged_headers_in_a_caller_id_are_refused(cid, why):
    got = messages((HANGUP.format(cid=cid) + "\r\n\r\n").encode())
    reasons = [refusal(m) for m in got]
    assert why in reasons, reasons
    # nothing of it is acted on: every part is refused, or is the harmless truncated start
    for m, reason in zip(got, reasons, strict=True):
        if reason is None:
            assert m.get("Uniqueid") is None and m.get("Caller") is None, m


@pytest.mark.parametrize("headers, why", [
    ({"Event": "Hangup", "Privilege": "call,all", "Channel": "x"}, "Hangup without Uniqueid"),
    ({"Event": "UserEvent", "Privilege": "user,all", "UserEvent": C.USEREVENT_MISSED_CALL,
      "MissedCallFile": "x.missed", "Action": "x"}, "UserEvent with unexpected header(s) Action"),
    ({"Event": "OriginateResponse", "Privilege": "call,all", "ActionID": "orig-ivr-1-a",
      "Response": "Success", "Reason": "4", "Cause": "16"},
     "OriginateResponse with unexpected header(s) Cause"),
    ({"Event": "Hangup", "Privilege": ["call,all", "call,all"], "Uniqueid": "a", "Channel": "c"},
     "header Privilege repeated"),
    # panoramisk routes by these: a list there made it raise and drop the connection
    ({"Response": "Success", "ActionID": ["orig-ivr-1-a", "x"]}, "header ActionID repeated"),
    ({"Event": ["Newchannel", "Shutdown"], "Channel": "c"}, "header Event repeated"),
    ({"Event": "Newchannel", "Response": ["Success", "Error"]}, "header Response repeated"),
])
def test_unexpected_or_missing_headers_are_refused(headers, why):
    assert refusal(headers) == why


@pytest.mark.parametrize("headers", [
    {"Event": "UserEvent", "Privilege": "user,all", "UserEvent": C.USEREVENT_CALL_CENTRE,
     C.VAR_ATTEMPT_ID: "3", "DialStatus": "ANSWER", "Channel": "c", "Uniqueid": "u"},
    {"Event": "UserEvent", "Privilege": "user,all", "UserEvent": "SomeoneElses", "Foo": "1"},
    {"Event": "Hangup", "Privilege": "call,all", "Channel": "c", "Uniqueid": "u",
     "ChanVariable": ["IVR_ATTEMPT_ID=3", "OTHER=1"], "TechCause": "403", "content": ""},
    {"Response": "Success", "Output": ["line 1", "line 2"], "ActionID": "a"},
    {"Event": "Newchannel", "Privilege": "call,all", "Channel": "c", "AnythingElse": "1"},
    # Asterisk 22's own TestEvent (CallIDChange) repeats State: not an event we act on
    {"Event": "TestEvent", "Privilege": "reporting,all", "Type": "StateChange",
     "State": ["CallIDChange", "CallIDChange"], "Channel": "PJSIP/carrier-00000000"},
])
def test_what_asterisk_really_sends_is_accepted(headers):
    assert refusal(headers) is None


async def fake_asterisk(payload: bytes, logged_in: asyncio.Event):
    """A loopback AMI server: banner, accepts the login, then sends `payload`."""
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        login = await reader.readuntil(b"\r\n\r\n")
        action_id = [line.split(b": ", 1)[1] for line in login.split(b"\r\n")
                     if line.startswith(b"ActionID: ")][0]
        writer.write(b"Response: Success\r\nActionID: " + action_id +
                     b"\r\nMessage: Authentication accepted\r\n\r\n")
        logged_in.set()
        writer.write(payload)
        try:
            await reader.read()          # until the client closes
        finally:
            writer.close()
    return await asyncio.start_server(serve, "127.0.0.1", 0)


async def test_the_gateway_drops_injected_messages_and_keeps_its_connection(caplog):
    """Before: panoramisk raised on the repeated Event header and dropped the connection
    (every live call then lost its AMI link)."""
    logged_in, got_one, seen, lost = asyncio.Event(), asyncio.Event(), [], []
    caplog.set_level(logging.WARNING)
    server = await fake_asterisk(INJECTED, logged_in)
    port = server.sockets[0].getsockname()[1]

    def listener(event) -> None:
        seen.append(event)
        if type(event).__name__ == "Hangup":
            got_one.set()

    gateway = AmiGateway(AmiSettings(port=port, secret="x", ping_interval=60), listener,
                         on_disconnect=lambda: lost.append(1))
    try:
        await asyncio.wait_for(gateway.connect(), 10)
        await asyncio.wait_for(logged_in.wait(), 5)
        await asyncio.wait_for(got_one.wait(), 5)     # the one clean Hangup comes last
        # well-formed events pass (an OriginateResponse is handed over too: after a
        # reconnect it tells a taken-back call's outcome); nothing forged does
        assert [(type(e).__name__, getattr(e, "uniqueid", None)) for e in seen] == [
            ("OriginateResponse", "ivr-1-2e9aeb"), ("Hangup", "ivr-4-4dc158")]
        assert gateway.connected and not lost and gateway.reconnects == 0
        refused = [r for r in caplog.records if "refused" in r.getMessage()]
        assert len(refused) == 1 and "header Event repeated" in refused[0].getMessage()
        assert "to user ivr refused" in refused[0].getMessage()
        assert "+91999" not in caplog.text and "919800000001" not in caplog.text
    finally:
        await gateway.close()
        server.close()
        await server.wait_closed()
