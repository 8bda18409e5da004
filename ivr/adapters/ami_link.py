"""panoramisk's link to AMI as the gateway (ivr/adapters/ami.py) uses it: the byte stream
framed by our pure codec (ivr.protocol.ami_codec, the one every AMI client here uses), the
message check (ivr.protocol.ami.refusal) before panoramisk routes anything, and a capped
exponential backoff between reconnect tries.  panoramisk keeps what it is good at: routing
answers to their actions, reconnecting, logging in again."""
from __future__ import annotations

import logging

from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from ivr.adapters.log_throttle import LogThrottle
from ivr.protocol.ami import refusal
from ivr.protocol.ami_codec import NEED_DATA, AmiMessage, AmiParser, AmiProtocolError, Banner

log = logging.getLogger("ivr.adapters.ami")

BACKOFF_FIRST = 1.0
# Reconnecting is a TCP connect to a manager on loopback or the LAN: trying every 2 s costs
# nothing and gets calls flowing again within seconds of Asterisk being back.
BACKOFF_CAP = 2.0


class _Protocol(AMIProtocol):
    """panoramisk's protocol, framed by our codec (ivr.protocol.ami_codec) instead of its own
    splitting on blank lines; drops what must not be acted on before panoramisk sees it (see
    the module doc). What panoramisk routes is its own Message, built as its parser builds it:
    a repeated name as a list, command output as "Output" (Asterisk 14+) or, for the free text
    of "Response: Follows", as its content."""

    _parser: AmiParser | None = None
    version: str | None        # panoramisk's: the banner once read

    def data_received(self, data: bytes) -> None:
        if self._parser is None:            # the banner opens the stream (none once read)
            self._parser = AmiParser(banner=self.version is None)
        self._parser.receive_data(data)
        try:
            while (event := self._parser.next_event()) is not NEED_DATA:
                if isinstance(event, Banner):
                    self.version = event.version
                elif isinstance(event, AmiMessage):
                    message = _message(event)
                    # panoramisk's own debug line (its logger; ivr/logs.py masks numbers in it)
                    self.log.debug("message interpreted: %r", message)
                    if message is not None:
                        self.handle_message(message)
        except AmiProtocolError as e:
            log.warning("AMI sent something that is not AMI (%s): closing the link", e)
            self.transport.close()

    def handle_message(self, message) -> None:
        why = refusal(message)
        if why is not None:
            self.factory.refused.log("AMI message to user %s refused and dropped: %s",
                                     self.factory.config.get("username"), why)
            return
        super().handle_message(message)


def _message(message: AmiMessage) -> Message | None:
    """Our codec's message as panoramisk's Message (None, as panoramisk's parser gives, for
    one without an Event or a Response header)."""
    headers: dict = message.as_dict()
    if "Event" not in headers and "Response" not in headers:
        return None
    content = ""
    if headers.get("Response") == "Follows":
        content = "\n".join(message.output)
    elif message.output:
        output = list(message.output)
        headers["Output"] = output if len(output) > 1 else output[0]
    return Message(headers, content)


class _Manager(Manager):
    """panoramisk's Manager with a capped exponential backoff between reconnect tries
    (it retries at a fixed interval otherwise), and our message check (_Protocol)."""

    def __init__(self, **config) -> None:
        super().__init__(protocol_factory=_Protocol, **config)
        self.refused = LogThrottle(log, logging.WARNING)

    def connection_made(self, f):
        if f.cancelled() or f.exception() is not None:
            self.reconnect_timeout = min(self.reconnect_timeout * 2, BACKOFF_CAP)
        return super().connection_made(f)
