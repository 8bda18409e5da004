"""The ivr.toml of an IVR_HOME whose `ivr run` calls the simulated phones of a sandbox
Asterisk: what the end-to-end tests (tests/e2e, tests/nodes) and the drills and benchmarks
(bench/) write for their own homes. `ivr sandbox start` writes the default home's file
itself (render.toml_text)."""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ivr.sandbox.instance import Sandbox


@dataclass(frozen=True)
class TrunkLimits:
    """The one trunk `sim` (Local channels to the sandbox's simulated phones)."""
    channels: int = 10
    cps: float = 10.0
    ring_timeout: float = 20.0


def free_tcp_port() -> int:
    """A loopback TCP port nobody is bound to right now (for a FastAGI or metrics server)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_run_config(home: Path, box: Sandbox, *, database: str = "ivr.db", sounds: Path,
                     programme: Path, trunk: TrunkLimits = TrunkLimits(),
                     agi_port: int | None = None, erasure_key: Path | None = None,
                     comment: str = "") -> Path:
    """Write home/ivr.toml (the home made if missing) and return its path: the box's AMI
    port and secret, FastAGI on `agi_port` (None: a free port), the database (a path,
    relative to the home, or a URL), sounds, programme, the one trunk `sim`."""
    secret = (box.root / "ami-secret").read_text().strip()
    key = f'erasure_key = "{erasure_key}"\n' if erasure_key is not None else ""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "ivr.toml"
    path.write_text(f"""{f"# {comment}" if comment else ""}
[ivr]
database = "{database}"
{key}sounds = "{sounds}"
programme = "{programme}"
[ami]
port = {box.ports.ami_port}
secret = "{secret}"
[agi]
port = {free_tcp_port() if agi_port is None else agi_port}
[[trunk]]
name = "sim"
dial = "Local/{{digits}}@sim-phones"
channels = {trunk.channels}
cps = {trunk.cps}
ring_timeout = {trunk.ring_timeout}
""")
    return path


def run_env(home: Path) -> dict[str, str]:
    """The environment of an `ivr` subprocess for this home: ours, with IVR_HOME = home and
    no IVR_CONFIG (it reads home/ivr.toml)."""
    env = {k: v for k, v in os.environ.items() if k != "IVR_CONFIG"}
    return {**env, "IVR_HOME": str(home)}
