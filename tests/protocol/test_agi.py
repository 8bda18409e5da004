"""The pure AGI codec: recorded transcripts (tests/transcripts/*.agi, bytes as Asterisk sent
them) give the same events fed whole and one byte at a time, and the events we expect."""
from __future__ import annotations

from pathlib import Path

import pytest

from ivr.protocol.agi import (EOF, MAX_LINE, NEED_DATA, AgiHangupNotice, AgiParser,
                              AgiProtocolError, AgiReply, AgiRequest, encode_command,
                              parse_reply, quote_word)

TRANSCRIPTS = Path(__file__).resolve().parent.parent / "transcripts"


def transcripts() -> list[Path]:
    return sorted(TRANSCRIPTS.glob("*.agi"))


def events_of(chunks) -> list:
    parser = AgiParser()
    out = []
    for chunk in [*chunks, b""]:
        parser.receive_data(chunk)
        while True:
            event = parser.next_event()
            if event is NEED_DATA:
                break
            out.append(event)
            if event is EOF:
                return out
    return out


def summary(event):
    if isinstance(event, AgiRequest):
        return ("request", event.route, event.args, event.language)
    if isinstance(event, AgiReply):
        return (event.code, event.result, event.data, event.endpos, event.timeout)
    if isinstance(event, AgiHangupNotice):
        return "HANGUP"
    return repr(event)


# What each transcript must parse to (after the request).  Recorded ones come from
# tests/transcripts/record.py against the sandbox Asterisk; "handwritten-*" are written by hand.
EXPECTED = {
    "play-to-end.agi": [
        ("request", "call", ("0",), "hi"),
        (200, "0", None, 8000, False),            # STREAM FILE of a 1 s file, to the end
        (200, "1", "0", None, False),             # GET VARIABLE IVR_ATTEMPT_ID
        (200, "1", "hi", None, False),            # GET VARIABLE CHANNEL(language)
        (200, "", None, None, True),              # GET DATA, nothing pressed
        (510, "", None, None, False),             # FROB NICATE
        (520, "", None, None, False),             # STREAM FILE without arguments: usage
        (200, "-1", None, 0, False),              # STREAM FILE of a missing file
        (200, "6", None, None, False),            # CHANNEL STATUS: 6 = up (still live)
        (200, "1", None, None, False),            # SET VARIABLE
        "EOF",
    ],
    "digit-interrupt.agi": [
        ("request", "call", ("1",), "hi"),
        (200, "49", None, 25760, False),          # '1' pressed ~3.2 s into the play
        (200, "9", None, None, False),            # GET DATA: '9'
        (200, "1", None, None, False),
        "EOF",
    ],
    "hangup-mid-play.agi": [
        ("request", "call", ("2",), "hi"),
        (200, "-1", None, 24160, False),          # hung up 3 s into the play
        "HANGUP",                                 # ... said before the NEXT command's reply
        (511, "", None, None, False),             # CHANNEL STATUS on a dead channel
        (200, "1", "2", None, False),             # GET VARIABLE still works dead
        (511, "", None, None, False),             # STREAM FILE refused
        (200, "1", None, None, False),            # SET VARIABLE works dead
        "EOF",
    ],
    "handwritten-edge-cases.agi": [
        ("request", "call", ("42", "with: colon"), "hi"),
        (200, "12", None, None, True),
        (200, "0", None, None, False),            # the provisional "100 Trying..." comes before it
        (200, "1", "dtmf", 8000, False),
        (200, "1", "a (nested) value", None, False),
        (520, "", None, None, False),
        (520, "", None, None, False),
        (200, "0", None, 4000, False),
        "HANGUP",
        (511, "", None, None, False),
        "EOF",
    ],
}


def expected_for(name: str):
    return EXPECTED.get(name)


@pytest.mark.parametrize("path", transcripts(), ids=lambda p: p.name)
def test_transcript_fed_whole_or_byte_by_byte_gives_the_same_events(path):
    data = path.read_bytes()
    whole = events_of([data])
    bytewise = events_of([data[i:i + 1] for i in range(len(data))])
    assert whole == bytewise
    assert isinstance(whole[0], AgiRequest) and whole[-1] is EOF


@pytest.mark.parametrize("path", transcripts(), ids=lambda p: p.name)
def test_transcript_gives_the_expected_events(path):
    want = expected_for(path.name)
    assert want is not None, f"add the expected events of {path.name} to EXPECTED"
    got = [summary(e) for e in events_of([path.read_bytes()])]
    # the provisional 100 is an event of the parser too; the session skips it
    got = [g for g in got if not (isinstance(g, tuple) and g[0] == 100)]
    assert got == want


def test_there_are_recorded_and_handwritten_transcripts():
    names = [p.name for p in transcripts()]
    assert any(n.startswith("handwritten-") for n in names)
    assert any(not n.startswith("handwritten-") for n in names), "record some: record.py"


def test_non_ascii_and_invalid_utf8_caller_name_decode_without_crashing():
    request = events_of([(TRANSCRIPTS / "handwritten-edge-cases.agi").read_bytes()])[0]
    name = request.env["agi_calleridname"]
    assert name.startswith("सुनीता ")
    assert "\ufffd" in name                      # the invalid bytes became replacement chars
    assert request.callerid == "919000011" and request.uniqueid == "1764000000.21"
    assert request.channel.startswith("Local/")


def test_recorded_usage_reply_keeps_all_its_lines():
    events = events_of([(TRANSCRIPTS / "play-to-end.agi").read_bytes()])
    usage = next(e for e in events if isinstance(e, AgiReply) and e.code == 520)
    assert usage.text.startswith("520-Invalid command syntax.")
    assert usage.text.endswith("520 End of proper usage.") and "PLAYBACKSTATUS" in usage.text
    assert events[0].env["agi_calleridname"] == "सुनीता देवी"


def test_provisional_reply_is_marked():
    events = events_of([b"agi_network: yes\n\n100 result=0 Trying...\n"])
    assert events[1].provisional and events[1].code == 100


@pytest.mark.parametrize("text, code, result, data, endpos, timeout, digit", [
    ("200 result=0 endpos=22290", 200, "0", None, 22290, False, None),
    ("200 result=49 endpos=17760", 200, "49", None, 17760, False, "1"),
    ("200 result=57 endpos=1", 200, "57", None, 1, False, "9"),
    ("200 result=-1 endpos=12160", 200, "-1", None, 12160, False, None),
    ("200 result= (timeout)", 200, "", None, None, True, None),
    ("200 result=1 (1001)", 200, "1", "1001", None, False, None),
    ("200 result=0", 200, "0", None, None, False, None),
    ("200 result=1 ()", 200, "1", "", None, False, None),
    ("200 result=-1 Gosub label not found", 200, "-1", None, None, False, None),
    ("200 result=1 (timeout) endpos=800", 200, "1", None, 800, True, None),
    ("510 Invalid or unknown command", 510, "", None, None, False, None),
    ("511 Command Not Permitted on a dead channel", 511, "", None, None, False, None),
    ("503 result=-2 Memory allocation failure", 503, "-2", None, None, False, None),
])
def test_parse_reply(text, code, result, data, endpos, timeout, digit):
    r = parse_reply(text)
    assert (r.code, r.result, r.data, r.endpos, r.timeout, r.digit, r.text) == (
        code, result, data, endpos, timeout, digit, text)
    assert r.ok is (code == 200)


def test_hangup_between_replies_does_not_shift_them():
    events = events_of([b"agi_network: yes\n\n200 result=-1 endpos=12160\nHANGUP\n"
                        b"200 result=1 (raw1)\n"])
    assert [summary(e) for e in events[1:]] == [
        (200, "-1", None, 12160, False), "HANGUP", (200, "1", "raw1", None, False), "EOF"]


@pytest.mark.parametrize("data, message", [
    (b"hello\n", "bad request line"),
    (b"agi_network: yes\n\nnot a reply\n", "not an AGI reply"),
    (b"agi_network: yes\n\n200 result=0", "closed in the middle"),
    (b"agi_network: yes\n", "closed in the middle"),
    (b"agi_network: yes\n\n520-usage\nmore\n", "closed in the middle"),
    (b"agi_network: yes\n\n" + b"2" * (MAX_LINE + 2), "line longer"),
])
def test_bad_input_is_a_clear_protocol_error(data, message):
    with pytest.raises(AgiProtocolError, match=message):
        events_of([data])


def test_no_data_after_eof():
    parser = AgiParser()
    parser.receive_data(b"")
    assert parser.next_event() is EOF
    assert parser.next_event() is EOF
    with pytest.raises(AgiProtocolError):
        parser.receive_data(b"x")


def test_need_data_until_the_request_is_complete():
    parser = AgiParser()
    parser.receive_data(b"agi_network: yes\nagi_arg_1: 5")
    assert parser.next_event() is NEED_DATA
    parser.receive_data(b"\n\n")
    event = parser.next_event()
    assert isinstance(event, AgiRequest) and event.args == ("5",)
    assert parser.next_event() is NEED_DATA


@pytest.mark.parametrize("env, route", [
    ({"agi_network_script": "call"}, "call"),
    ({"agi_network_script": "call?x=1"}, "call"),
    ({"agi_request": "agi://127.0.0.1:4573/call"}, "call"),
    ({"agi_request": "agi://127.0.0.1:4573/"}, ""),
    ({}, ""),
])
def test_request_route(env, route):
    assert AgiRequest(env).route == route


def test_request_args_stop_at_the_first_gap():
    env = {"agi_arg_1": "a", "agi_arg_2": "", "agi_arg_4": "d"}
    assert AgiRequest(env).args == ("a", "")


@pytest.mark.parametrize("words, wire", [
    (("ANSWER",), b"ANSWER\n"),
    (("STREAM", "FILE", "/s/hi/x", "109"), b"STREAM FILE /s/hi/x 109\n"),
    (("STREAM", "FILE", "/s/x", ""), b'STREAM FILE /s/x ""\n'),
    (("SET", "VARIABLE", "N", "two words"), b'SET VARIABLE N "two words"\n'),
    (("SET", "VARIABLE", "N", 'say "hi" \\o/'), b'SET VARIABLE N "say \\"hi\\" \\\\o/"\n'),
    (("SET", "VARIABLE", "N", "सुनीता"), 'SET VARIABLE N सुनीता\n'.encode()),
    (("SET", "VARIABLE", "N", "a\tb"), b'SET VARIABLE N "a\tb"\n'),
])
def test_encode_command(words, wire):
    assert encode_command(*words) == wire


@pytest.mark.parametrize("bad", ["x\r\nHANGUP", "x\nEXEC System rm", "cr\r", "nul\0"])
def test_encode_command_refuses_line_breaks_and_nul(bad):
    with pytest.raises(ValueError, match="command injection"):
        encode_command("SET", "VARIABLE", "N", bad)


@pytest.mark.parametrize("words", [(), ("",), ("STREAM FILE", "x")])
def test_encode_command_needs_a_plain_command_name(words):
    with pytest.raises(ValueError):
        encode_command(*words)


def test_quote_word_refuses_non_strings():
    with pytest.raises(TypeError):
        quote_word(5)  # type: ignore[arg-type]


def unquote(line: str) -> list[str]:
    """Asterisk's parse_args (res_agi.c), transcribed: whitespace splits, "..." groups,
    backslash escapes the next character."""
    words, cur, quoted, escaped, started = [], [], False, False, False
    for ch in line:
        if ch == '"' and not escaped:
            quoted = not quoted
            started = True
        elif ch in " \t" and not quoted and not escaped:
            if started:
                words.append("".join(cur))
            cur, started = [], False
        elif ch == "\\" and not escaped:
            escaped = True
            continue
        else:
            cur.append(ch)
            started = True
        escaped = False
    if started:
        words.append("".join(cur))
    return words


@pytest.mark.parametrize("value", ["", "plain", "two words", 'q"uote', "back\\slash", '\\"',
                                   "tab\there", " lead", "trail ", '""', "सुनीता देवी"])
def test_encoded_words_read_back_as_sent(value):
    line = encode_command("SET", "VARIABLE", "N", value).decode().rstrip("\n")
    assert unquote(line) == ["SET", "VARIABLE", "N", value]
