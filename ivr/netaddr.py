"""Addresses the controller may listen on or hand to Asterisk. Pure (stdlib ipaddress only).

FastAGI has no authentication, so its server binds only a loopback or private address: the
same check for the configuration file (ivr/config.py) and the server (ivr/adapters/fastagi.py).
"""
from __future__ import annotations

import ipaddress

REFUSED = ("FastAGI has no authentication: bind it to loopback (127.0.0.1, ::1) or a private "
           "address (10/8, 172.16/12, 192.168/16, fc00::/7), never 0.0.0.0 or a public one")


def private_host(host: str, what: str = "FastAGI host") -> str:
    """The address to bind for `host` if it is loopback or private; ValueError otherwise.

    Only literal IP addresses are accepted, and the name "localhost" (which gives 127.0.0.1):
    other host names are refused, not resolved, because what a name resolves to can change
    after the check. Private means what ipaddress calls private (RFC 1918 for IPv4, so
    172.16.0.0/12 only: 172.217.x.x is public), without the unspecified address (0.0.0.0, ::),
    link-local, multicast and reserved ranges. An IPv4-mapped IPv6 address is judged as the
    IPv4 address it carries."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{what} {host!r} is not an IP address: give a literal loopback or "
                         f"private address (or localhost); {REFUSED}") from None
    judged = (addr.ipv4_mapped or addr) if isinstance(addr, ipaddress.IPv6Address) else addr
    if not judged.is_loopback and (judged.is_unspecified or judged.is_multicast
                                   or judged.is_link_local or judged.is_reserved
                                   or not judged.is_private):
        raise ValueError(f"{what} {host!r} refused: {REFUSED}")
    return host


def agi_url(host: str, port: int) -> str:
    """agi://host:port as Asterisk reads it: an IPv6 literal goes in brackets (agi://[::1]:4573),
    else Asterisk would take its last group for the port."""
    try:
        if isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address):
            host = f"[{host}]"
    except ValueError:
        pass                                    # a name or an IPv4 address: as it is
    return f"agi://{host}:{port}"
