"""A short blocking AMI client on the pure codec (ivr.protocol.ami_codec), for one-shot
commands: `ivr dialplan check --live` and the sandbox's readiness login.  Every read and write
has a timeout; the controller uses the asyncio gateway (ivr/adapters/ami.py) instead."""
from __future__ import annotations

import itertools
import socket
from typing import Self

from ivr.errors import Unavailable
from ivr.protocol.ami_codec import (EOF, NEED_DATA, AmiMessage, AmiParser, AmiProtocolError,
                                    Banner, encode_action)


class AmiUnreachable(Unavailable):
    """AMI could not be reached, is not AMI, or the link broke; the message says which."""


class BlockingAmi:
    def __init__(self, host: str, port: int, timeout: float, *, id_prefix: str = "ivr"):
        self._ids = itertools.count(1)
        self._prefix = id_prefix
        self._parser = AmiParser()
        try:
            self._sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as e:
            raise AmiUnreachable(f"AMI at {host}:{port}: {e.strerror or e} (is Asterisk "
                                 "running, and manager.conf enabled?)") from None
        self._sock.settimeout(timeout)
        try:
            banner = self._next()
        except AmiUnreachable:
            self.close()
            raise
        if not (isinstance(banner, Banner) and banner.is_asterisk):
            self.close()
            text = banner.text if isinstance(banner, Banner) else repr(banner)
            raise AmiUnreachable(f"{host}:{port} is not AMI (banner {text[:60]!r})")
        self.banner = banner

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _next(self) -> Banner | AmiMessage:
        try:
            while (event := self._parser.next_event()) is NEED_DATA:
                try:
                    data = self._sock.recv(65536)
                except OSError as e:
                    raise AmiUnreachable(f"AMI read failed: {e}") from None
                self._parser.receive_data(data)
        except AmiProtocolError as e:
            raise AmiUnreachable(f"AMI sent something that is not AMI: {e}") from None
        if event is EOF:
            raise AmiUnreachable("AMI closed the connection")
        assert isinstance(event, (Banner, AmiMessage))
        return event

    def message(self) -> AmiMessage:
        event = self._next()
        if not isinstance(event, AmiMessage):
            raise AmiUnreachable("AMI sent a second banner")
        return event

    def send(self, fields: dict[str, object]) -> str:
        """Write one action (an ActionID added); returns its ActionID."""
        action_id = f"{self._prefix}-{next(self._ids)}"
        try:
            self._sock.sendall(encode_action({**fields, "ActionID": action_id}))
        except OSError as e:
            raise AmiUnreachable(f"AMI write failed: {e}") from None
        return action_id

    def action(self, fields: dict[str, object]) -> list[AmiMessage]:
        """The response, then the events of its event list (if it has one)."""
        action_id = self.send(fields)
        while True:
            response = self.message()
            if response.action_id == action_id and response.response and not response.event:
                break
        out = [response]
        if (response.get("EventList") or "").lower() == "start":
            while True:
                event = self.message()
                if event.action_id != action_id:
                    continue
                if (event.get("EventList") or "").lower() == "complete":
                    break
                out.append(event)
        return out

    def login(self, username: str, secret: str, events: str = "off") -> AmiMessage:
        """Asterisk's answer to the Login (Response Success, or Error and its Message)."""
        return self.action({"Action": "Login", "Username": username, "Secret": secret,
                            "Events": events})[0]
