"""Who holds a live attempt: an owner id "<node>@<host>:<pid>:<epoch>" names the node
(ivr/nodes.py) and the process that claimed it, and whether that process still runs can be
told on its own host. "This host" is the host name (socket.gethostname()): the owner's host
part equal to ours means its pid is one of ours. Owner ids of older versions,
"<host>:<pid>:<epoch>", are read the same way (no node).

An owner on this host is dead when its pid is gone, or when the pid now belongs to a process
that started after the owner id was made (the pid was reused). An owner on another host is
never declared dead here: its lease runs out and the reap rule closes its attempts.
"""
from __future__ import annotations

import os
import socket
import time
from pathlib import Path

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def owner_id(node: str | None = None, pid: int | None = None, at: float | None = None) -> str:
    """This process's owner id; `node`: its node name (default: the host name)."""
    host = socket.gethostname()
    return (f"{node or host}@{host}:{os.getpid() if pid is None else pid}:"
            f"{int(time.time() if at is None else at)}")


def _parts(owner: str) -> tuple[str | None, str, str]:
    """(node or None for an old owner id, host, "<pid>:<epoch>")."""
    head, _, rest = owner.partition(":")
    node, at, host = head.rpartition("@")
    return (node if at else None), host, rest


def owner_node(owner: str | None) -> str | None:
    """The node holding a claim (None: nobody, or an owner id without a node)."""
    return _parts(owner)[0] if owner else None


def _boot_time() -> float | None:
    try:
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except OSError:
        return None
    return None


def process_started_at(pid: int) -> float | None:
    """When process `pid` started (epoch seconds), or None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after its last ')'
    fields = stat[stat.rindex(")") + 2:].split()
    boot = _boot_time()
    if boot is None:
        return None
    return boot + int(fields[19]) / _CLOCK_TICKS       # field 22: starttime, in clock ticks


def owner_state(owner: str | None) -> str:
    """"alive", "dead" (its process is gone from this host) or "elsewhere" (another host's,
    or not an owner id we can read: the lease decides)."""
    if not owner:
        return "dead"                  # a row nobody holds (left by an old version)
    _, host, rest = _parts(owner)
    pid_text, _, at_text = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return "elsewhere"
    started = process_started_at(int(pid_text))
    if started is None or not alive(int(pid_text)):
        return "dead"
    if at_text.isdigit() and started > int(at_text) + 2:
        return "dead"                  # the pid was reused by a younger process
    return "alive"


def alive(pid: int) -> bool:
    """The one check that process `pid` runs on this host (ivr status, recovery's owners, the
    sandbox): any thread of the process still runs (a zombie leader may outlive its other threads
    for a moment, and those still hold Asterisk's sockets)."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return False
    for task in tasks:
        try:
            state = (task / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in ("Z", "X"):
            return True
    return False
