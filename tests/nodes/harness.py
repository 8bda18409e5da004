"""Several calling nodes on this machine, for the end-to-end tests of issue 14.

A node is a private sandbox Asterisk (its own home and ports: AMI, SIP, RTP range, FastAGI,
sipp; the shared sandbox's unpacked Asterisk, never a second download) and an `ivr run`
subprocess with its own configuration file (its trunk, its AMI and FastAGI ports, its node
name, the database: its own or a shared one, a path or a URL).

    async with Cluster(tmp_path, sandbox, sounds, programme, databases) as cluster:
        for node in cluster.nodes:
            await node.run()
        cluster.nodes[2].kill()              # kill -9, on demand
        ...
Leaving the block stops every `ivr run` and every Asterisk it started, also when the test
failed. Each node's `ivr run` writes its log to <home>/run.log; Asterisk's own log is
<home>/sandbox/rt/log/messages.log (tests/nodes/asterisk_log.py reads it).
"""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ivr.sandbox import Sandbox
from ivr.sandbox.run_home import TrunkLimits, write_run_config
from tests.conftest import ROOT
from tests.sandbox.conftest import free_port

RTP_BASE = 33000          # node i: RTP ports RTP_BASE + 1000 i .. + 999 (private_box: 32000)
STOP_SECONDS = 20.0       # SIGTERM, then this long for the drain, then SIGKILL
_TICKS = os.sysconf("SC_CLK_TCK")
NODE_TRUNK = TrunkLimits(channels=100, cps=25.0, ring_timeout=8.0)


def ivr_command() -> list[str]:
    """The installed `ivr` next to this Python (.venv/bin/ivr), else the checkout's cli.py."""
    script = Path(sys.executable).parent / "ivr"
    return [str(script)] if script.exists() else [sys.executable, "-c", "import cli; cli.main()"]


def cpu_seconds(pid: int, *, waited_children: bool = False) -> float:
    """User + system CPU time of a live process (0 when it is gone); with waited_children,
    plus that of its children it has waited for (a server's ended backends)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    used = int(fields[11]) + int(fields[12])
    if waited_children:
        used += int(fields[13]) + int(fields[14])
    return used / _TICKS


@dataclass
class Node:
    name: str
    home: Path
    box: Sandbox
    database: str
    processes: list[asyncio.subprocess.Process] = field(default_factory=list)
    cpu: float = 0.0          # CPU seconds of this node's `ivr run` processes that have ended

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("IVR_")}
        return {**env, "IVR_HOME": str(self.home), "IVR_CONFIG": str(self.home / "ivr.toml"),
                "IVR_NODE": self.name}

    @property
    def asterisk_log(self) -> Path:
        return self.box.log_file

    @property
    def process(self) -> asyncio.subprocess.Process | None:
        """The node's current `ivr run`, if it still runs."""
        last = self.processes[-1] if self.processes else None
        return last if last is not None and last.returncode is None else None

    async def run(self, *args: str) -> asyncio.subprocess.Process:
        """Start `ivr run ARGS` for this node (its log appended to <home>/run.log)."""
        if self.process is not None:
            raise AssertionError(f"node {self.name}: ivr run already runs")
        with open(self.home / "run.log", "ab") as log:
            proc = await asyncio.create_subprocess_exec(
                *ivr_command(), "run", "--drain-seconds", "10", *args, cwd=ROOT, env=self.env,
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log)
        self.processes.append(proc)
        return proc

    def kill(self) -> None:
        """kill -9 of the node's `ivr run` (the caller awaits `ended()`)."""
        proc = self.process
        if proc is None:
            raise AssertionError(f"node {self.name}: no ivr run to kill")
        self.cpu += cpu_seconds(proc.pid)
        proc.send_signal(signal.SIGKILL)

    async def ended(self, timeout: float) -> int:
        """Wait for the node's last `ivr run` to exit; its exit code."""
        proc = self.processes[-1]
        return await asyncio.wait_for(proc.wait(), timeout)

    async def stop(self, timeout: float = STOP_SECONDS) -> int | None:
        """SIGTERM (the service drains its live calls), SIGKILL after `timeout`."""
        proc = self.process
        if proc is None:
            return self.processes[-1].returncode if self.processes else None
        self.cpu += cpu_seconds(proc.pid)
        proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            proc.send_signal(signal.SIGKILL)
            return await proc.wait()

    def run_log(self, tail: int = 3000) -> str:
        path = self.home / "run.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""


def _ports(count: int) -> list[dict[str, int]]:
    """Free loopback ports for `count` sandboxes, no two alike."""
    while True:
        chosen = [{"ami_port": free_port(socket.SOCK_STREAM), "sip_port": free_port(),
                   "agi_port": free_port(socket.SOCK_STREAM), "sipp_port": free_port(),
                   "rtp_start": RTP_BASE + 1000 * i, "rtp_end": RTP_BASE + 1000 * i + 999}
                  for i in range(count)]
        singles = [p for ports in chosen for k, p in ports.items() if not k.startswith("rtp")]
        if len(set(singles)) == len(singles):
            return chosen


class Cluster:
    def __init__(self, base: Path, sandbox: Sandbox, sounds: Path, programme: Path,
                 databases: Sequence[str | None], trunk: TrunkLimits = NODE_TRUNK):
        """One node per entry of `databases`: a path or URL the node uses (several nodes may
        share one), or None for the node's own <home>/ivr.db (its schema created when its
        Asterisk starts)."""
        self.base = base
        self.nodes: list[Node] = []
        self._shared = sandbox
        self._sounds = sounds
        self._programme = programme
        self._databases = list(databases)
        self._trunk = trunk
        self.asterisk_cpu: dict[str, float] = {}

    async def __aenter__(self) -> "Cluster":
        for i, (database, ports) in enumerate(zip(self._databases, _ports(len(self._databases)),
                                                  strict=True)):
            name = f"n{i + 1}"
            home = self.base / name                  # short: Asterisk's control socket path
            (home / "sandbox").mkdir(parents=True)
            (home / "sandbox" / "prefix").symlink_to(self._shared.prefix)
            # the dialplan's fallback plays <home>/sounds/<lang>/<message>.wav (IVR_SOUNDS)
            (home / "sounds").symlink_to(self._sounds)
            box = Sandbox(home, **ports)
            self.nodes.append(Node(name, home, box, database or str(home / "ivr.db")))
        started = False
        try:
            await asyncio.gather(*(asyncio.to_thread(n.box.start) for n in self.nodes))
            for n in self.nodes:
                write_run_config(
                    n.home, n.box, database=n.database, sounds=n.home / "sounds",
                    programme=self._programme, trunk=self._trunk, agi_port=n.box.ports.agi_port,
                    # one key for every node (ivr/adapters/erasure.py): they may share a store
                    erasure_key=self.base / "erasure.key",
                    comment=f"node {n.name} of a test cluster (tests/nodes/harness.py)")
            started = True
        finally:
            if not started:                 # those that did start are stopped
                await self._stop_all()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stop_all()

    async def _stop_all(self) -> None:
        try:
            await asyncio.gather(*(n.stop() for n in self.nodes))
        finally:
            for n in self.nodes:
                pid = n.box.status().pid
                if pid is not None:
                    self.asterisk_cpu[n.name] = cpu_seconds(pid)
            await asyncio.gather(*(asyncio.to_thread(n.box.stop) for n in self.nodes),
                                 return_exceptions=True)

    def cpu_report(self) -> str:
        """CPU seconds of the Asterisks (read before they stopped) and of the `ivr run`s."""
        runs = sum(n.cpu for n in self.nodes)
        stars = sum(self.asterisk_cpu.values())
        return f"CPU: Asterisks {stars:.1f} s, ivr run {runs:.1f} s"


SIPP = ROOT / "dialplan" / "sandbox" / "sipp"


async def missed_call(node: Node, phone: str, did: str, timeout: float = 30) -> None:
    """A woman rings the node's service number `did` from `phone` (sipp UAC over SIP to the
    node's Asterisk): it must be rejected unanswered and spooled to the node's missed-call
    spool (its production path), as tests/e2e/test_missed_call.py does on the shared one."""
    spool = node.home / "spool" / "missed"
    uac = await asyncio.create_subprocess_exec(
        "sipp", f"127.0.0.1:{node.box.ports.sip_port}", "-sf", str(SIPP / "uac_missed.xml"),
        "-s", did, "-key", "caller", "+" + phone, "-key", "spool", str(spool),
        "-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_port(span=4)), "-m", "1",
        "-nostdin", "-timeout", "20", "-timeout_error",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=node.home)
    out, _ = await asyncio.wait_for(uac.communicate(), timeout)
    assert uac.returncode == 0, out.decode(errors="replace")[-1500:]
