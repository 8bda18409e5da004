"""panoramisk framed by our AMI codec (ivr/adapters/ami_link.py): fed the recorded
transcripts whole or one byte at a time, it routes what the codec reads, as its own parser
shaped it (repeated names as lists, command output as "Output" or as the content)."""
from __future__ import annotations

from ivr.adapters.ami_link import _message, _Protocol
from ivr.protocol.ami_codec import AmiMessage
from tests.protocol.test_ami_codec import TRANSCRIPTS, messages
from tests.protocol.test_fuzz import _Factory, _Transport


def test_panoramisk_framed_by_our_codec_routes_every_recorded_event():
    data = (TRANSCRIPTS / "ami-session.ami").read_bytes()
    want = [m.as_dict() for m in messages("ami-session.ami") if m.event]
    assert len(want) > 50
    for chunks in ([data], [data[i:i + 1] for i in range(len(data))]):
        protocol = _Protocol()
        protocol.connection_made(_Transport())
        protocol.factory = factory = _Factory()
        for chunk in chunks:
            protocol.data_received(chunk)
        assert protocol.version == "11.0.0"
        got = [{k: v for k, v in m.items() if k != "content"} for m in factory.dispatched]
        assert got == want and factory.lost == 0
        status = next(m for m in factory.dispatched if m["Event"] == "Status")
        assert status["Variable"] == ["IVR_ATTEMPT_ID=902", "IVR_LANG=mr"]


def test_panoramisk_drops_what_refusal_refuses():
    data = (TRANSCRIPTS / "ami-injected-callerid.ami").read_bytes()
    protocol = _Protocol()
    protocol.connection_made(_Transport())
    protocol.factory = factory = _Factory()
    protocol.version = "11.0.0"              # as if the banner was read already
    protocol.data_received(data)
    assert [m["Uniqueid"] for m in factory.dispatched] == ["ivr-1-2e9aeb", "ivr-4-4dc158"]


def test_panoramisk_gets_command_output_as_its_own_parser_gave_it():
    new = messages("ami-command.ami")
    old = messages("ami-handwritten-edge-cases.ami")
    assert _message(new[1])["Output"].startswith("Asterisk 22.")          # one line: a str
    assert _message(new[2])["Output"][-2:] == [
        "", "-= 1 extension (9 priorities) in 1 context. =-"]
    assert _message(old[1]).content.splitlines()[0].startswith("[ Context 'ivr-outbound'")
    assert _message(AmiMessage((("Foo", "bar"),))) is None              # neither kind
