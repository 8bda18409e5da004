"""The pure AMI codec: recorded transcripts (tests/transcripts/*.ami, bytes as the sandbox
Asterisk sent them, recorded by tests/transcripts/record_ami.py) give the same messages fed
whole, in chunks and one byte at a time, and the messages we expect."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.protocol.ami import UnsafeValue, parse_event, parse_originate_response, refusal
from ivr.protocol.ami_codec import (EOF, MAX_LINE, NEED_DATA, AmiMessage, AmiParser,
                                    AmiProtocolError, Banner, encode_action, parse_buffer)

TRANSCRIPTS = Path(__file__).resolve().parent.parent / "transcripts"


def transcripts() -> list[Path]:
    return sorted(TRANSCRIPTS.glob("*.ami"))


def events_of(chunks, *, banner: bool = True) -> list:
    parser = AmiParser(banner=banner)
    out = []
    for chunk in [*chunks, b""]:
        parser.receive_data(chunk)
        while (event := parser.next_event()) is not NEED_DATA:
            out.append(event)
            if event is EOF:
                return out
    return out


def messages(name: str) -> list[AmiMessage]:
    events = events_of([(TRANSCRIPTS / name).read_bytes()])
    assert events[-1] is EOF
    return [e for e in events if isinstance(e, AmiMessage)]


def responses(msgs: list[AmiMessage]) -> list[tuple[str | None, str | None]]:
    """(ActionID, Response) of the answers (an OriginateResponse event has a Response too)."""
    return [(m.action_id, m.response) for m in msgs if m.response and not m.event]


@pytest.mark.parametrize("path", transcripts(), ids=lambda p: p.name)
def test_transcript_whole_chunked_and_one_byte_at_a_time_agree(path):
    data = path.read_bytes()
    whole = events_of([data])
    assert whole[-1] is EOF and len(whole) > 2
    assert events_of([data[i:i + 1] for i in range(len(data))]) == whole
    assert events_of([data[i:i + 7] for i in range(0, len(data), 7)]) == whole


def test_recorded_transcripts_are_there():
    names = {p.name for p in transcripts()}
    assert {"ami-session.ami", "ami-login-refused.ami", "ami-command.ami"} <= names


def test_session_banner_and_every_answer_in_order():
    events = events_of([(TRANSCRIPTS / "ami-session.ami").read_bytes()])
    assert events[0] == Banner("Asterisk Call Manager/11.0.0")
    assert events[0].is_asterisk and events[0].version == "11.0.0"
    msgs = messages("ami-session.ami")
    assert responses(msgs) == [
        ("rec-1", "Success"), ("rec-2", "Success"), ("rec-3", "Success"), ("rec-4", "Error"),
        ("rec-5", "Success"), ("rec-6", "Error"), ("rec-7", "Success"), ("rec-8", "Success"),
        ("rec-9", "Success"), ("rec-10", "Success"), ("rec-11", "Success"),
        ("rec-12", "Goodbye")]
    by_id = {m.action_id: m for m in msgs if m.response is not None}
    assert by_id["rec-1"].get("Message") == "Authentication accepted"
    assert by_id["rec-2"].get("Ping") == "Pong"
    assert by_id["rec-6"].get("message") == "Permission denied"        # any case
    assert "Timestamp" in by_id["rec-2"] and "Nope" not in by_id["rec-2"]


def test_session_dialplan_listing_names_the_outbound_context():
    msgs = [m for m in messages("ami-session.ami") if m.action_id == "rec-3"]
    assert msgs[0].get("EventList") == "start"
    steps = [m for m in msgs if m.event == "ListDialplan"]
    assert len(steps) == 12 and {m.get("Context") for m in steps} == {"ivr-outbound"}
    assert msgs[-1].event == "ShowDialPlanComplete" and msgs[-1].get("ListItems") == "12"


def test_session_channels_status_variables_and_call_events():
    msgs = messages("ami-session.ami")
    listed = [m for m in msgs if m.action_id == "rec-9" and m.event == "CoreShowChannel"]
    assert {m.get("Uniqueid") for m in listed} == {"ivr-902-rec", "ivr-902-rec-2"}
    status = next(m for m in msgs if m.event == "Status")
    assert status.get_all("Variable") == ["IVR_ATTEMPT_ID=902", "IVR_LANG=mr"]
    assert status.variables() == {"IVR_ATTEMPT_ID": "902", "IVR_LANG": "mr"}
    assert status.as_dict()["Variable"] == ["IVR_ATTEMPT_ID=902", "IVR_LANG=mr"]
    outcomes = [parse_originate_response(m.as_dict()) for m in msgs
                if m.event == "OriginateResponse"]
    assert [(o.action_id, o.success, o.reason) for o in outcomes] == [
        ("rec-7", True, 4), ("rec-8", True, 4), ("rec-11", False, 5)]
    hangups = [parse_event(m.as_dict()) for m in msgs if m.event == "Hangup"
               and m.get("Uniqueid") in ("ivr-900-rec", "ivr-902-rec", "ivr-901-rec")]
    assert [(h.uniqueid, h.cause) for h in hangups] == [
        ("ivr-900-rec", 16), ("ivr-902-rec", 0), ("ivr-901-rec", 0)]   # 17 (busy) is on -2
    assert hangups[0].variables == {"IVR_ATTEMPT_ID": "900"}
    # every message Asterisk sent is one our refusal check accepts
    assert [refusal(m.as_dict()) for m in msgs] == [None] * len(msgs)


def test_login_refused():
    assert responses(messages("ami-login-refused.ami")) == [("rec-1", "Error")]
    assert messages("ami-login-refused.ami")[0].get("Message") == "Authentication failed"


def test_command_output_lines_asterisk_14_and_later():
    msgs = messages("ami-command.ami")
    assert responses(msgs) == [("rec-1", "Success"), ("rec-2", "Success"),
                               ("rec-3", "Success"), ("rec-4", "Error"), ("rec-5", "Goodbye")]
    version, dialplan, unknown = msgs[1:4]
    assert len(version.output) == 1 and version.output[0].startswith("Asterisk 22.")
    assert version.get("Output") is None        # output is not a header
    assert dialplan.output[0] == "[ Context 'ivr-agi-failed' created by 'pbx_config' ]"
    assert dialplan.output[-2:] == ("", "-= 1 extension (9 priorities) in 1 context. =-")
    assert dialplan.output[1].startswith("  's' =>")           # leading spaces kept
    assert unknown.output[0].startswith("No such command 'no such command'")


def test_handwritten_old_follows_style_and_oddities():
    events = events_of([(TRANSCRIPTS / "ami-handwritten-edge-cases.ami").read_bytes()])
    assert events[0] == Banner("Asterisk Call Manager/1.1")
    old1, old2, old3, lf_only, utf8 = [e for e in events if isinstance(e, AmiMessage)]
    assert old1.headers == (("Response", "Follows"), ("Privilege", "Command"),
                            ("ActionID", "old-1"))
    assert old1.output == ("Asterisk 11.25.3 built by root @ build on a x86_64 running Linux",)
    assert old2.output[2:] == ("", "Note: a blank line above is output, not the end",
                               "-= 1 extension (1 priority) in 1 context. =-")
    assert old3.output == ("Asterisk 13 style line", "  indented")
    assert lf_only.variables() == {"A": "1", "B": "2=3"}
    assert lf_only.get("NoColonLine") == "" and lf_only.get("Empty") == ""
    assert refusal(lf_only.as_dict()) is None
    assert utf8.get("Value") == "सुनीता" and utf8.output == ("a", "", "b")


def test_the_injected_caller_id_transcript_gives_messages_refusal_refuses():
    msgs = events_of([(TRANSCRIPTS / "ami-injected-callerid.ami").read_bytes()], banner=False)
    msgs = [m for m in msgs if isinstance(m, AmiMessage)]
    assert [refusal(m.as_dict()) for m in msgs] == [
        "header Event repeated", None, "header Event repeated", None]


def test_parse_buffer_returns_the_unfinished_rest():
    seen: list[AmiMessage] = []
    raw = b"Response: Success\r\nPing: Pong\r\n\r\nEvent: Hangup\r\nUniq"
    rest = parse_buffer(raw, seen.append)
    assert [m.get("Ping") for m in seen] == ["Pong"] and rest == b"Event: Hangup\r\nUniq"
    assert parse_buffer(rest + b"ueid: 1\r\n\r\n", seen.append) == b""
    assert seen[-1].get("Uniqueid") == "1"
    assert parse_buffer(b"Asterisk Call Manager/9.0\r\nRe", seen.append, banner=True) == b"Re"
    assert parse_buffer(b"", seen.append) == b"" and len(seen) == 2


def test_end_of_file_mid_message_is_an_error_and_clean_eof_is_eof():
    parser = AmiParser(banner=False)
    parser.receive_data(b"Response: Success\r\n")
    parser.receive_data(b"")
    with pytest.raises(AmiProtocolError):
        parser.next_event()
    assert parser.next_event() is EOF
    assert events_of([b"\r\n\r\n"], banner=False) == [EOF]
    with pytest.raises(AmiProtocolError):
        parser.receive_data(b"more")


def test_limits():
    parser = AmiParser(banner=False)
    parser.receive_data(b"A" * (MAX_LINE + 1))
    with pytest.raises(AmiProtocolError):
        parser.next_event()
    follows = AmiParser(banner=False)      # a Follows that never ends cannot grow for ever
    follows.receive_data(b"Response: Follows\r\n" + b"x\r\n\r\n" * 200_001)
    with pytest.raises(AmiProtocolError):
        while follows.next_event() is not NEED_DATA:
            pass


def test_encode_action_writes_repeats_and_refuses_injection():
    assert encode_action({"Action": "Ping", "ActionID": "1"}) == (
        b"Action: Ping\r\nActionID: 1\r\n\r\n")
    assert encode_action({"Action": "Originate", "Variable": ["A=1", "B=2"]}) == (
        b"Action: Originate\r\nVariable: A=1\r\nVariable: B=2\r\n\r\n")
    assert encode_action([("Action", "Setvar"), ("Value", "सुनीता")]).decode() == (
        "Action: Setvar\r\nValue: सुनीता\r\n\r\n")
    for bad in ({"Action": "Ping\r\nAction: Logoff"}, {"Action": "x", "Variable": ["A=1\n"]},
                {"Bad\nName": "x"}, {"Action": "a\0b"}):
        with pytest.raises(UnsafeValue):
            encode_action(bad)
    with pytest.raises(ValueError):
        encode_action({"Not a name": "x"})
    with pytest.raises(ValueError):
        encode_action({})


NAMES = st.sampled_from(["Action", "ActionID", "Variable", "Channel", "Output", "X-Y_1"])
VALUES = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\0"),
                 max_size=20)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.tuples(NAMES, VALUES), min_size=1, max_size=6), max_size=5))
def test_what_encode_action_writes_parses_back(actions):
    data = b"".join(encode_action(a) for a in actions)
    got = [e for e in events_of([data], banner=False) if isinstance(e, AmiMessage)]
    assert len(got) == len(actions)
    for message, action in zip(got, actions, strict=True):
        assert list(message.headers) == [(k, v) for k, v in action if k != "Output"]
        assert list(message.output) == [v for k, v in action if k == "Output"]
