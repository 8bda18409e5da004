"""Nodes: several `ivr run` processes, each with its own Asterisk, sharing one database. Pure:
the rules over the `nodes` table's rows (ivr/adapters/nodes.py reads and writes them) with
the time passed in.

- A node's name (`[ivr] node`, IVR_NODE, default the host name): 1-32 of [A-Za-z0-9._-]. It
  names the node's row, the owner id of its claims (ivr/owner.py) and its Asterisk's
  `systemname` (the prefix of every Uniqueid, so missed calls of two Asterisks never collide).
- A node's state, from its row and the reader's clock: "stopped" (it marked itself stopped on
  a clean exit), "stale" (no heartbeat for more than STALE_BEATS of its own intervals: it died,
  hangs or cannot reach the database) or "alive".
- The share of a trunk's `shared_cps` a node may use (docs/nodes.md): at most the cap divided
  by the alive nodes that run that trunk, at most what the others leave (the cap minus their
  current shares, as they last wrote them), never above its own `cps`. A node lowers its share
  at once and raises it only after the others wrote theirs lower, so the nodes together stay
  under the cap while shares change.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from ivr.errors import BadInput

NODE_RE = re.compile(r"[A-Za-z0-9._-]{1,32}")
STALE_BEATS = 3          # no heartbeat for more than this many intervals: stale

ALIVE, STALE, STOPPED = "alive", "stale", "stopped"


class NodeNameError(BadInput, ValueError):
    """Not a usable node name; the message says why."""


def check_node_name(name: str, where: str) -> str:
    """`name` if it is a usable node name, else NodeNameError naming `where` it came from."""
    if not NODE_RE.fullmatch(name):
        raise NodeNameError(
            f"{where}: a node name is 1 to 32 letters, digits, '.', '_' or '-', got {name!r}")
    return name


@dataclass(frozen=True)
class NodeRow:
    """One row of the nodes table. Times are epoch seconds written by the node's own clock
    (the hosts' clocks must agree: NTP). `live_calls`: its live calls per trunk it runs;
    `cps_shares`: its share of each shared trunk it runs, as it last applied it."""
    name: str
    host: str
    pid: int
    owner: str
    started_at: float
    heartbeat_at: float
    heartbeat_every: float
    stopped_at: float | None = None
    live_calls: Mapping[str, int] = field(default_factory=dict)
    cps_shares: Mapping[str, float] = field(default_factory=dict)
    last_error: str | None = None
    last_error_at: float | None = None


def name_taken(rows: Iterable[NodeRow], name: str, *, host: str, pid: int, now: float,
               dead: Callable[[str], bool]) -> NodeRow | None:
    """The row of another process that runs as node `name` now (alive, and not this
    process: another host or pid, whose owner `dead` cannot tell is gone), or None."""
    for row in rows:
        if row.name != name or node_state(row, now) != ALIVE:
            continue
        if (row.host, row.pid) != (host, pid) and not dead(row.owner):
            return row
    return None


def running(rows: Iterable[NodeRow], now: float,
            dead: Callable[[str], bool]) -> list[NodeRow]:
    """The nodes that run now: alive by their heartbeat, and not known dead (`dead`: its
    process is gone from this host, so a node restarted after a crash is not held up by its
    own last heartbeat)."""
    return [r for r in rows if node_state(r, now) == ALIVE and not dead(r.owner)]


def node_state(row: NodeRow, now: float) -> str:
    """ALIVE, STALE or STOPPED (see the module's docstring)."""
    if row.stopped_at is not None:
        return STOPPED
    if now - row.heartbeat_at > STALE_BEATS * row.heartbeat_every:
        return STALE
    return ALIVE


def cps_share(trunk: str, *, own_cps: float, shared_cps: float, me: str,
              rows: Iterable[NodeRow], now: float) -> float:
    """The call set-ups per second node `me` may use on `trunk` (0: none for now), given the
    nodes table's `rows` (its own row, if there, is left out: it counts itself)."""
    peers = [r for r in rows
             if r.name != me and trunk in r.cps_shares and node_state(r, now) == ALIVE]
    fair = shared_cps / (len(peers) + 1)
    left = shared_cps - sum(r.cps_shares[trunk] for r in peers)
    return max(0.0, min(own_cps, fair, left))
