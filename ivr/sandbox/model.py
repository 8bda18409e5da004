"""The sandbox's public value types and its one error."""
from __future__ import annotations

from dataclasses import dataclass

from ivr.errors import Unavailable


class SandboxError(Unavailable):
    """The sandbox Asterisk could not be provisioned, started, stopped or reached.

    The message says what failed and what to do about it."""


@dataclass(frozen=True)
class SandboxStatus:
    running: bool
    pid: int | None
    version: str | None
    ami_port: int
    sip_port: int


@dataclass(frozen=True)
class Ports:
    """Every port the sandbox renders into its configuration (remembered in home/sandbox)."""
    ami_port: int = 5038
    sip_port: int = 5060
    rtp_start: int = 20000
    rtp_end: int = 30000
    agi_port: int = 4573
    sipp_port: int = 5070

    def check(self) -> None:
        for name, value in vars(self).items():
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
                raise SandboxError(f"sandbox {name} must be a port number 1..65535, got {value!r}")
        if self.rtp_start >= self.rtp_end:
            raise SandboxError(f"sandbox rtp_start ({self.rtp_start}) must be below rtp_end "
                               f"({self.rtp_end})")
        single = {"ami_port": self.ami_port, "sip_port": self.sip_port,
                  "agi_port": self.agi_port, "sipp_port": self.sipp_port}
        if len(set(single.values())) != len(single):
            raise SandboxError(f"sandbox ports must differ from each other: {single}")
        for name, value in single.items():
            if self.rtp_start <= value <= self.rtp_end:
                raise SandboxError(f"sandbox {name} {value} lies inside the RTP range "
                                   f"{self.rtp_start}-{self.rtp_end}")
