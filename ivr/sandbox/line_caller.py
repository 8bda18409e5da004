"""A caller of the answered line on the sandbox (the demo and the sandbox tests): sipp INVITEs
the line's DID (18005550100: sandbox-from-carrier -> the production [ivr-inbound]) from a
caller ID, is answered, keys RFC 4733 DTMF at set times, and hangs up (or waits for Asterisk's
BYE). A FastAGI server other than the configured one is named in the SIP header
X-Ivr-Test-Agi-Url (sandbox only: sandbox-from-carrier honours it).
"""
from __future__ import annotations

import asyncio
import random
import socket
import struct
from pathlib import Path

from ivr.sandbox.model import SandboxError

LINE_DID = "18005550100"
DTMF = Path("/usr/share/sip-tester")       # sipp's recordings of RFC 4733 keys (sip-tester)
SIP_HEAD = """
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      Call-ID: [call_id]
      Max-Forwards: 70"""


def free_port(kind: int = socket.SOCK_DGRAM, span: int = 1) -> int:
    """A loopback port (and the span-1 after it) nobody is bound to right now."""
    for _ in range(200):
        port = random.randrange(40000, 60000, 2)
        socks = []
        try:
            for p in range(port, port + span):
                s = socket.socket(socket.AF_INET, kind)
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise SandboxError("no free loopback port for sipp")


def key_press(key: str, n: int, into: Path) -> Path:
    """sipp's RFC 4733 recording of `key` as the n-th key of a call: every recording has the
    same RTP sequence numbers and timestamp, and Asterisk takes a second event with the
    timestamp of the last one for a repeat of it; each press gets later ones."""
    data = bytearray((DTMF / f"dtmf_2833_{'pound' if key == '#' else key}.pcap").read_bytes())
    link = {1: 14, 113: 16}[struct.unpack_from("<I", data, 20)[0]]   # Ethernet, Linux SLL
    at = 24
    while at < len(data):
        length = struct.unpack_from("<I", data, at + 8)[0]
        ip = at + 16 + link
        rtp = ip + (data[ip] & 15) * 4 + 8
        seq, stamp = struct.unpack_from(">HI", data, rtp + 2)
        struct.pack_into(">HI", data, rtp + 2, (seq + 100 * n) & 0xFFFF,
                         (stamp + 80000 * n) & 0xFFFFFFFF)
        at += 16 + length
    path = into / f"key-{n}.pcap"
    path.write_bytes(bytes(data))
    return path


def caller_scenario(keys: list[tuple[int, str]], hang_up_after_ms: int | None,
                    into: Path) -> str:
    """A sipp UAC: INVITE the DID (-s), answered, then each (pause ms, key) as RFC 4733
    DTMF; then BYE after `hang_up_after_ms`, or (None) wait for Asterisk's BYE."""
    presses = "\n".join(
        f'  <pause milliseconds="{pause}"/>\n  <nop><action><exec play_pcap_audio='
        f'"{key_press(key, n, into)}"/></action></nop>'
        for n, (pause, key) in enumerate(keys, start=1))
    if hang_up_after_ms is None:
        end = """  <recv request="BYE" timeout="90000"/>
  <send><![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

  ]]></send>"""
    else:
        end = f"""  <pause milliseconds="{hang_up_after_ms}"/>
  <send retrans="500"><![CDATA[
      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0{SIP_HEAD}
      From: <sip:[caller]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      CSeq: 2 BYE
      Content-Length: 0

  ]]></send>
  <recv response="200"/>"""
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="answered-line caller">
  <send retrans="500"><![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0{SIP_HEAD}
      From: <sip:[caller]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      CSeq: 1 INVITE
      Contact: <sip:[caller]@[local_ip]:[local_port]>
      X-Ivr-Test-Agi-Url: [agi]
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-16

  ]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true"/>
  <send><![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0{SIP_HEAD}
      [last_From:]
      [last_To:]
      CSeq: 1 ACK
      Content-Length: 0

  ]]></send>
{presses}
{end}
</scenario>
"""


async def call_the_line(sip_port: int, workdir: Path, agi_url: str, caller: str,
                        keys: list[tuple[int, str]], hang_up_after_ms: int | None,
                        timeout: float = 150.0) -> None:
    """One call to the line from `caller` (a caller ID) through the sandbox Asterisk on
    `sip_port`; returns when sipp has ended it; SandboxError when sipp failed."""
    scenario = workdir / f"line-{caller.lstrip('+')}.xml"
    scenario.write_text(caller_scenario(keys, hang_up_after_ms, workdir), encoding="utf-8")
    try:
        uac = await asyncio.create_subprocess_exec(
            "sipp", f"127.0.0.1:{sip_port}", "-sf", str(scenario), "-s", LINE_DID,
            "-key", "caller", caller, "-key", "agi", agi_url, "-i", "127.0.0.1",
            "-p", str(free_port()), "-mp", str(free_port(span=4)), "-m", "1", "-nostdin",
            "-timeout", str(int(timeout - 30)), "-timeout_error",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=workdir)
    except FileNotFoundError:
        raise SandboxError("the line's caller needs sipp, which is not installed: "
                           "apt-get install --no-install-recommends sip-tester") from None
    try:
        out, _ = await asyncio.wait_for(uac.communicate(), timeout)
    except TimeoutError:
        uac.kill()
        await uac.wait()
        raise SandboxError(f"sipp's call to the line did not end in {timeout:.0f} s") from None
    if uac.returncode != 0:
        raise SandboxError(f"sipp's call to the line failed ({uac.returncode}): "
                           + out.decode(errors="replace")[-2000:])
