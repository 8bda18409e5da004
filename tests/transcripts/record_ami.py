"""Record real AMI transcripts from the sandbox Asterisk into tests/transcripts/*.ami.

    ip netns exec <ns> .venv/bin/python -m tests.transcripts.record_ami   # repository root

Starts (or reuses) the sandbox in $IVR_HOME or ./var and talks to its AMI over a raw socket:
every byte Asterisk sends is stored exactly as received (<name>.ami); the actions sent are
written, secrets masked, to <name>.sent (for people; the tests do not read it).  Our codec
only tells the recorder when an answer is complete.  Scenarios:

    ami-session         the test user, events on: Login, Ping, ShowDialPlan (found, missing),
                        CoreShowChannels (idle), Command (not permitted), Originate of a Local
                        channel that answers (its events up to the Hangup; our AGI port is
                        closed, so the dialplan's fallback runs), an Originate held by Wait(4)
                        with CoreShowChannels and Status with two Variables (repeated lines)
                        during it, a busy Originate, Logoff
    ami-login-refused   Login with a wrong secret
    ami-command         Command by a user allowed to (a temporary user added to the rendered
                        manager.conf for the recording, removed after it): Output lines

The expected messages of each transcript are written by hand in tests/protocol/test_ami_codec.py.
"""
from __future__ import annotations

import os
import secrets
import socket
import sys
import time
from pathlib import Path
from typing import Callable

from ivr import constants as C
from ivr.config import home_dir
from ivr.protocol.ami_codec import EOF, NEED_DATA, AmiMessage, AmiParser, encode_action
from ivr.sandbox import Sandbox

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
RECORDER = "ivr-recorder"
CLOSED_AGI = "agi://127.0.0.1:9"          # nothing listens: the dialplan's fallback path


class Session:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.got = bytearray()
        self.sent: list[str] = []
        self.parser = AmiParser()
        self.messages: list[AmiMessage] = []

    def send(self, fields: dict, mask: tuple[str, ...] = ()) -> None:
        self.sock.sendall(encode_action(fields))
        self.sent.append("".join(f"{k}: {'****' if k in mask else v}\n" for k, v in
                                 fields.items()) + "\n")

    def until(self, done: Callable[[AmiMessage], bool], timeout: float = 20) -> AmiMessage:
        deadline = time.monotonic() + timeout
        while True:
            for i, message in enumerate(self.messages):
                if done(message):
                    del self.messages[i]
                    return message
            self.sock.settimeout(max(deadline - time.monotonic(), 0.01))
            data = self.sock.recv(65536)
            self.got += data
            self.parser.receive_data(data)
            while (event := self.parser.next_event()) not in (NEED_DATA, EOF):
                if isinstance(event, AmiMessage):
                    self.messages.append(event)
            if not data:
                raise EOFError("AMI closed the connection")

    def action(self, fields: dict, *, listed: bool = False, mask: tuple[str, ...] = ()) -> None:
        self.send(fields, mask)
        aid = fields["ActionID"]
        reply = self.until(lambda m: m.action_id == aid and m.response is not None)
        if listed and reply.get("EventList", "").lower() == "start":
            self.until(lambda m: m.action_id == aid and m.get("EventList") == "Complete")

    def close_after_eof(self, timeout: float = 10) -> None:
        try:
            self.until(lambda m: False, timeout)
        except EOFError:
            pass
        self.sock.close()

    def save(self, name: str) -> None:
        (HERE / f"{name}.ami").write_bytes(bytes(self.got))
        (HERE / f"{name}.sent").write_text("".join(self.sent))
        print(f"recorded {HERE / (name + '.ami')}", file=sys.stderr)


def originate(s: Session, aid: str, digits: str, channel_id: str, timeout_ms: int) -> None:
    s.send({"Action": "Originate", "ActionID": aid,
            "Channel": f"Local/{digits}@{C.CONTEXT_SIM_PHONES}",
            "Context": C.CONTEXT_OUTBOUND, "Exten": C.EXTEN_START, "Priority": "1",
            "Timeout": str(timeout_ms), "Async": "true", "ChannelId": channel_id,
            "OtherChannelId": channel_id + "-2",
            "Variable": [f"{C.VAR_ATTEMPT_ID}=900", f"{C.VAR_LANG}=hi",
                         f"{C.VAR_AGI_URL}={CLOSED_AGI}"]})


def session(box: Sandbox) -> None:
    user, secret = box.test_user()
    s = Session(box.ports.ami_port)
    s.action({"Action": "Login", "ActionID": "rec-1", "Username": user, "Secret": secret,
              "Events": "call,user"}, mask=("Secret",))
    s.action({"Action": "Ping", "ActionID": "rec-2"})
    s.action({"Action": "ShowDialPlan", "ActionID": "rec-3", "Context": C.CONTEXT_OUTBOUND},
             listed=True)
    s.action({"Action": "ShowDialPlan", "ActionID": "rec-4", "Context": "no-such-context"})
    s.action({"Action": "CoreShowChannels", "ActionID": "rec-5"}, listed=True)
    s.action({"Action": "Command", "ActionID": "rec-6", "Command": "core show version"})
    # answers after 1 s, hangs up after 2 s: the fallback apologises meanwhile
    originate(s, "rec-7", "9190000702", "ivr-900-rec", 10000)
    s.until(lambda m: m.action_id == "rec-7" and m.response is not None)
    s.until(lambda m: m.event == "OriginateResponse")
    s.until(lambda m: m.event == "Hangup" and m.get("Uniqueid") == "ivr-900-rec", 30)
    # a phone that stays on, held by Wait(4): channels to list, variables to ask for
    s.send({"Action": "Originate", "ActionID": "rec-8",
            "Channel": f"Local/9190000800@{C.CONTEXT_SIM_PHONES}", "Application": "Wait",
            "Data": "4", "Timeout": "5000", "Async": "true", "ChannelId": "ivr-902-rec",
            "OtherChannelId": "ivr-902-rec-2",
            "Variable": [f"{C.VAR_ATTEMPT_ID}=902", f"{C.VAR_LANG}=mr"]})
    s.until(lambda m: m.event == "OriginateResponse")
    s.action({"Action": "CoreShowChannels", "ActionID": "rec-9"}, listed=True)
    s.action({"Action": "Status", "ActionID": "rec-10", "Channel": "ivr-902-rec",
              "Variables": f"{C.VAR_ATTEMPT_ID},{C.VAR_LANG}"}, listed=True)
    s.until(lambda m: m.event == "Hangup" and m.get("Uniqueid") == "ivr-902-rec", 30)
    originate(s, "rec-11", "9190000300", "ivr-901-rec", 5000)       # busy
    s.until(lambda m: m.event == "OriginateResponse", 20)
    s.until(lambda m: m.event == "Hangup" and m.get("Uniqueid") == "ivr-901-rec", 20)
    s.send({"Action": "Logoff", "ActionID": "rec-12"})
    s.close_after_eof()
    s.save("ami-session")


def refused(box: Sandbox) -> None:
    s = Session(box.ports.ami_port)
    s.action({"Action": "Login", "ActionID": "rec-1", "Username": box.test_user()[0],
              "Secret": "wrong-" + secrets.token_hex(4)}, mask=("Secret",))
    s.close_after_eof()
    s.save("ami-login-refused")


def command(box: Sandbox) -> None:
    conf = box.etc / "manager.conf"
    original = conf.read_text()
    secret = secrets.token_hex(12)
    conf.write_text(original + f"\n[{RECORDER}]\nsecret = {secret}\ndeny = 0.0.0.0/0.0.0.0\n"
                    "permit = 127.0.0.1/255.255.255.255\nread = system\nwrite = command\n")
    try:
        box.cli("manager reload")
        s = Session(box.ports.ami_port)
        s.action({"Action": "Login", "ActionID": "rec-1", "Username": RECORDER,
                  "Secret": secret, "Events": "off"}, mask=("Secret",))
        s.action({"Action": "Command", "ActionID": "rec-2", "Command": "core show version"})
        s.action({"Action": "Command", "ActionID": "rec-3",
                  "Command": f"dialplan show {C.CONTEXT_AGI_FAILED}"})
        s.action({"Action": "Command", "ActionID": "rec-4", "Command": "no such command"})
        s.send({"Action": "Logoff", "ActionID": "rec-5"})
        s.close_after_eof()
        s.save("ami-command")
    finally:
        conf.write_text(original)
        box.cli("manager reload")


def main() -> int:
    box = Sandbox(home_dir({"IVR_HOME": os.environ.get("IVR_HOME") or str(ROOT / "var")}))
    box.start()
    session(box)
    refused(box)
    command(box)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
